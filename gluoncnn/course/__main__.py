"""``python -m gluoncnn.course run --preset cpu [--chapters 01,05] [--force]``."""
import sys

from .runner import main

sys.exit(main())
