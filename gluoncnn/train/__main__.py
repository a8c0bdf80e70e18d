"""``python -m gluoncnn.train launch ...``: MXNet's launcher (see :func:`distributed.launch`)."""
import sys

from .distributed import launch

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "launch":
        sys.exit("usage: python -m gluoncnn.train launch -n WORKERS [-s SERVERS] [-H HOSTFILE] "
                 "[--launcher local|ssh|mpi] COMMAND...  (MXNet's tools/launch.py)")
    launch(sys.argv[2:])
