"""The one base class of every error gluoncnn raises on bad input.

A ``GluonCNNError`` is the user's to fix: the command line prints its message as one line (no
traceback) and exits with status 2. So are the machine's own errors (a full disk, a read-only
folder, out of memory: ``gluoncnn.cli.system_error_message``). Anything else that escapes is a
bug in gluoncnn and is reported as one, with ``--debug`` advice. Subclasses also derive from
the built-in type a Python caller would expect (``ValueError``, ``FileNotFoundError``, ...), so
``except ValueError`` keeps working.
"""


class GluonCNNError(Exception):
    """Bad input to gluoncnn: the message says what was wrong and what to do."""


class OptionError(GluonCNNError, ValueError):
    """An option or argument out of range, of the wrong type, or unknown."""


class InputError(GluonCNNError, TypeError):
    """Data of the wrong type, dtype or shape handed to a model or a loop."""


class FileFormatError(GluonCNNError, ValueError):
    """A file that exists but cannot be read as what it should be (truncated, corrupt, foreign)."""


class MXNetUnavailableError(GluonCNNError, ImportError):
    """MXNet is not installed, or does not import (e.g. numpy >= 1.24 breaks MXNet 1.9.1): the
    message names the packages to install and ``gluoncnn doctor``."""
