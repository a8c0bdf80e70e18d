"""Argument types the benchmark scripts share: a count or a list that is wrong is refused with one
argparse line (exit status 2) before anything is measured, not with a traceback after.

Standard library only: the benchmarks' parent processes must not import gluoncnn or MXNet (either
would choose MXNet's threads for the parent, which every child chooses for itself). The CLI's own
``_positive_int`` in ``gluoncnn/cli/parser.py`` is this rule's twin for that reason.
"""
import argparse


def whole_number_at_least(minimum: int):
    """An argparse type for a whole number of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {minimum}, got {text!r}")
        return value
    parse.__name__ = f"whole number >= {minimum}"
    return parse


positive_int = whole_number_at_least(1)      # rounds, steps, windows, a batch size
non_negative_int = whole_number_at_least(0)  # warm-up iterations


def positive_int_list(text: str) -> list[int]:
    """An argparse type for comma-separated whole numbers of at least 1 (thread counts)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas, got {text!r}")
    return [positive_int(item) for item in items]


def names_from(known):
    """An argparse type for a comma-separated choice of ``known`` names (cases, workloads)."""
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(repr, unknown)) or 'empty list'}; choose from "
                f"{', '.join(known)}")
        return names
    parse.__name__ = "comma-separated names"
    return parse
