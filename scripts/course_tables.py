"""The README's tables of the course's recorded runs, from this repository's records:
``make tables``.

    python scripts/course_tables.py --preset cpu               # notebooks/results/cpu, Markdown
    python scripts/course_tables.py --full-mode                 # benchmarks/results/full_mode.json
    python scripts/course_tables.py --preset cpu --readme       # also into README.md

The tables are the package's (:mod:`gluoncnn.course.report`), given this repository's files: the
installed package never looks for a repository around it. ``--readme`` puts a table into
README.md between its ``<!-- cpu-results`` (``full-mode-results``) and ``<!-- /... -->`` lines;
``tests/test_readme.py`` checks that the README's tables are what the records say.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "notebooks" / "results"
FULL_MODE = ROOT / "benchmarks" / "results" / "full_mode.json"


def table(preset: str | None = None, full_mode: bool = False) -> tuple[str, str]:
    """``(markdown, README marker)`` of a preset's recorded chapters, or of the full-mode runs."""
    from gluoncnn.course import report
    if full_mode:
        return report.full_mode_table(FULL_MODE), "full-mode-results"
    return report.markdown_table(preset, RESULTS), f"{preset}-results"


def main(argv=None) -> int:
    from gluoncnn.course import PRESET_NAMES
    from gluoncnn.errors import OptionError
    from gluoncnn.utils import replace_marked_block
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--preset", choices=PRESET_NAMES)
    which.add_argument("--full-mode", action="store_true",
                       help="the runs of benchmarks/full_mode.py (benchmarks/results/)")
    parser.add_argument("--readme", action="store_true",
                        help="also put the table into README.md between its markers")
    args = parser.parse_args(argv)
    markdown, marker = table(args.preset, args.full_mode)
    print(markdown)
    if args.readme:
        try:
            replace_marked_block(README, marker, markdown)
        except OptionError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
