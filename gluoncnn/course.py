"""What the chapter notebooks share: quick or full mode, and a line saying how outputs were made.

Every chapter starts with::

    QUICK = course.quick_mode()   # True when GLUONCNN_QUICK=1; write QUICK = True/False to choose
    course.banner(QUICK)

Quick mode (CI, a first read on a laptop) trains on a small subset at a reduced size for one
short epoch; full mode uses the chapter's real settings on the best device, GPU first.
"""
import datetime
import os
import platform

QUICK_ENV = "GLUONCNN_QUICK"


def quick_mode(default=False):
    """True when the ``GLUONCNN_QUICK`` environment variable is set to 1/true/yes."""
    value = os.environ.get(QUICK_ENV)
    if value is None or value.strip() == "":
        return bool(default)
    return value.strip().lower() in ("1", "true", "yes", "on")


def pick(quick, full, quick_value):
    """``quick_value`` in quick mode, else ``full``: keeps a settings cell readable."""
    return quick_value if quick else full


def banner(quick, ctx=None):
    """Print the mode, device, versions and date the notebook's outputs come from."""
    import mxnet as mx
    from . import __version__
    from .train import try_gpu
    ctx = ctx if ctx is not None else try_gpu()
    mode = f"QUICK mode ({QUICK_ENV}=1: small subset, reduced size, short training)" if quick \
        else "FULL mode (the chapter's real settings)"
    print(f"Outputs produced in {mode}")
    print(f"on {ctx} ({platform.processor() or platform.machine()}), mxnet {mx.__version__}, "
          f"gluoncnn {__version__}, {datetime.date.today().isoformat()}")
    return ctx
