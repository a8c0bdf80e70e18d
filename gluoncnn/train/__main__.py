"""``python -m gluoncnn.train launch ...``: start a distributed job and watch it
(:mod:`gluoncnn.launcher`)."""
import sys

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "launch":
        sys.exit("usage: python -m gluoncnn.train launch -n WORKERS [-s SERVERS] [-H HOSTFILE] "
                 "[--launcher local|ssh] COMMAND...  (--help: every option)")
    from ..launcher import main as launcher_main
    sys.exit(launcher_main(sys.argv[2:]))
