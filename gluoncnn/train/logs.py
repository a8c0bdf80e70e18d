"""The ``'gluoncnn'`` logger: what training says besides d2l's lines (resuming, rates lowered,
early stops, interruptions, precision fallbacks).

Unless you give it handlers of your own, it prints INFO messages to the current ``sys.stdout``
and warnings to ``sys.stderr`` (the current ones: notebooks and test runners swap them), without
passing them on to the root logger. Silence it with
``logging.getLogger('gluoncnn').setLevel(logging.WARNING)``, or route it anywhere with
``logging.getLogger('gluoncnn').handlers = [your_handler]``.
"""
import logging
import sys

logger = logging.getLogger("gluoncnn")


class ConsoleHandler(logging.Handler):
    """INFO to ``sys.stdout``, WARNING and above to ``sys.stderr``, as they are at the time."""

    def emit(self, record):
        stream = sys.stdout if record.levelno < logging.WARNING else sys.stderr
        try:
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def console_logger() -> logging.Logger:
    """The ``'gluoncnn'`` logger, with the console handler if nobody configured it."""
    if not logger.handlers:
        logger.addHandler(ConsoleHandler())
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    return logger
