"""The ``gluoncnn`` command (also ``python -m gluoncnn``): parse, call the library, print.

Subcommands::

    gluoncnn train   --model resnet18 --dataset fashion-mnist --epochs 10 --out runs/NAME
    gluoncnn train   --out runs/NAME --resume [--epochs 20]
    gluoncnn eval    --run runs/NAME            (or --model ... --params FILE --dataset ...)
    gluoncnn summary resnet18 --input 1,28,28 [--max-depth 1]
    gluoncnn list    [-v]
    gluoncnn doctor
    gluoncnn export  --run runs/NAME --out export/ [--format symbol|onnx|symbol,onnx]

The work is the package's: the run folder is :mod:`gluoncnn.runs`, export :mod:`gluoncnn.export`,
training and evaluation :mod:`gluoncnn.train`, metrics :mod:`gluoncnn.metrics`. Bad input raises
a :class:`gluoncnn.errors.GluonCNNError` there, printed here as one line on stderr
(``gluoncnn: error: ...``, exit code 2), and so are the machine's own limits and refusals (a
full disk, a read-only folder, a name too long, out of memory, parameters that do not fit the
input: :func:`system_error_message`); anything else is a bug in gluoncnn, reported as one
(exit code 1) with ``--debug`` advice, which shows the traceback instead. Ctrl-C during training
exits with 130 after saying where the last checkpoint is.
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys

from .. import runs, runtime
from ..errors import GluonCNNError
from ..export import symbol_ops, unsupported_onnx_ops  # noqa: F401  (their old home)
from ..utils import first_line
from .commands import COMMANDS, cmd_doctor, cmd_eval, cmd_export, cmd_list, cmd_summary, cmd_train  # noqa: F401
from .parser import (  # noqa: F401
    ArgumentParser,
    CLIError,
    HelpFormatter,
    build_parser,
    command_line,
    parse_input_shape,
    parse_model_option,
    train_config,
    train_settings,
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# Kept importable under their old names; they live in gluoncnn.runs (the datasets' facts in the
# catalogue, gluoncnn.data.DATASETS).
SMALL_INPUT_BELOW = runs.SMALL_INPUT_BELOW
RUN_FILE, CHECKPOINT_DIR, FINAL_PARAMS = runs.RUN_FILE, runs.CHECKPOINT_DIR, runs.FINAL_PARAMS
model_kwargs = runs.model_kwargs


# ----------------------------------------------------------------------------- main

def _unknown_args_message(parser: ArgumentParser, args: argparse.Namespace,
                          extras: list[str]) -> str:
    sub = None
    if getattr(args, "command", None):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                sub = action.choices.get(args.command)
    target = sub or parser
    options = [o for a in target._actions for o in a.option_strings if o.startswith("--")]
    hints = []
    for extra in extras:
        close = difflib.get_close_matches(extra.split("=")[0], options, n=1, cutoff=0.6) \
            if extra.startswith("-") else []
        hints.append(f"{extra} (did you mean {close[0]}?)" if close else extra)
    return f"unrecognized arguments: {' '.join(hints)} (see '{target.prog} --help')"


def _dispatch(parser: ArgumentParser, argv: list[str]) -> int:
    try:
        args, extras = parser.parse_known_args(argv)
    except SystemExit as exit_:  # --help / --version
        return int(exit_.code or 0)
    if extras:
        raise CLIError(_unknown_args_message(parser, args, extras))
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    runtime.configure_threads(_model_of(args))
    # a ps-lite server or scheduler started with the workers' 'train' command serves as soon as
    # MXNet is imported: the run folder is checked first (gluoncnn.runs.plan_training)
    serves = args.command == "train" and os.environ.get("DMLC_ROLE") in ("server", "scheduler")
    if args.command not in WITHOUT_MXNET and not serves:
        runtime.import_mxnet()  # a missing or broken MXNet: one line naming the fix, exit 2
    sub_argv = [a for a in argv[argv.index(args.command) + 1:] if a != "--debug"]
    return int(COMMANDS[args.command](args, sub_argv) or 0)


#: The commands that run without MXNet ('doctor' explains a broken install).
WITHOUT_MXNET = frozenset({"doctor"})


def _model_of(args: argparse.Namespace) -> str | None:
    """The model a command works on, for the thread choice: ``--model`` (or summary's NAME), else
    the model in the run folder's record (``train --resume``, ``--run``); None when unknown. A
    folder that is no run is left for the command to report."""
    if getattr(args, "model", None):
        return args.model
    folder = getattr(args, "run", None) or (args.out if getattr(args, "resume", False) else None)
    if not folder:
        return None
    try:
        return runs.read_run(folder)["settings"].get("model")
    except GluonCNNError:
        return None


_OUT_OF_MEMORY = "the machine is out of memory: lower --batch-size, or close other programs"
#: What to do about an operating-system error, by errno name.
_OS_ADVICE = {
    "ENOSPC": "the disk is full: free some space or write elsewhere (another --out)",
    "EDQUOT": "the disk quota is used up: free some space or write elsewhere (another --out)",
    "EFBIG": "the file is larger than this process may write (ulimit -f): raise the limit or "
             "write elsewhere",
    "EROFS": "the file system is read-only: write elsewhere (another --out)",
    "EACCES": "this user may not write there: choose another place (another --out)",
    "EPERM": "this user may not write there: choose another place (another --out)",
    "ENAMETOOLONG": "a name in the path is too long: choose a shorter one",
    "ENOTDIR": "a part of the path is a file, not a folder: choose another path",
    "EISDIR": "the path is a folder, not a file: name a file",
    "EEXIST": "something is already there: choose another path",
    "ENOENT": "the path does not exist: check it, or create its folder first",
    "ENOMEM": _OUT_OF_MEMORY,
}
#: MXNet's errors that are the machine's limits or the user's input, by a phrase of their text.
_MXNET_ADVICE = (
    ("FileStream.Write incomplete", "writing a file failed part-way (the disk is full, or a file "
                                    "size limit): free some space or write elsewhere"),
    ("out of memory", _OUT_OF_MEMORY),
    ("Failed to allocate", _OUT_OF_MEMORY),
    ("bad_alloc", _OUT_OF_MEMORY),
    ("Shape inconsistent", "the parameters do not fit this input shape: pass the --input (and "
                           "model options) the model was trained with"),
)


def system_error_message(err: BaseException) -> str | None:
    """One line for an error of the machine rather than of gluoncnn (a full disk, a read-only
    folder, a name too long, out of memory, parameters that do not fit the input), or None."""
    import errno
    if isinstance(err, MemoryError):
        return _OUT_OF_MEMORY
    if isinstance(err, OSError) and err.errno in errno.errorcode:
        where = f" ({err.filename})" if err.filename else ""
        advice = _OS_ADVICE.get(errno.errorcode[err.errno], "check the path and try again")
        return f"{err.strerror or first_line(err)}{where}; {advice}"
    if type(err).__name__ == "MXNetError":
        text = str(err)
        for phrase, advice in _MXNET_ADVICE:
            if phrase in text:
                return f"{advice} (MXNet: {first_line(err)})"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the ``gluoncnn`` command with ``argv`` (default ``sys.argv[1:]``); return the exit
    code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return _dispatch(build_parser(), argv)
    except KeyboardInterrupt:
        if debug:
            raise
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. 'gluoncnn list | head': the reader has gone, that is fine
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except runs.DatasetMissingError as err:
        if debug:
            raise
        # The data module's explanation is the whole story: print it whole.
        print(f"gluoncnn: error: {err}\n  - on the command line: --data-root DIR, --download, "
              f"or --sample for the shipped Fashion-MNIST subset.", file=sys.stderr)
        return EXIT_USAGE
    except GluonCNNError as err:
        if debug:
            raise
        print(f"gluoncnn: error: {str(err).strip()}", file=sys.stderr)  # ours: said in full
        return EXIT_USAGE
    except Exception as err:
        if debug:
            raise
        plain = system_error_message(err)
        if plain:  # the machine's limits, not a bug: said as what happened and what to do
            print(f"gluoncnn: error: {plain}", file=sys.stderr)
            return EXIT_USAGE
        print(f"gluoncnn: error: {type(err).__name__}: {first_line(err)} (an internal "
              f"error of gluoncnn; rerun with --debug for the traceback and report it)",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
