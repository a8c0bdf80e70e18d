"""The benchmark scripts refuse a count below 1 with one argparse line (exit status 2) before
anything runs, instead of a traceback after the first measurements."""
import os
import sys

import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "benchmarks")


@pytest.fixture()
def scripts(monkeypatch):
    monkeypatch.syspath_prepend(BENCHMARKS)  # profile_lenet and threads import epoch beside them
    import epoch
    import profile_lenet
    import threads
    yield epoch, profile_lenet, threads
    for name in ("epoch", "profile_lenet", "threads"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("script, argv", [
    (0, ["--rounds", "0"]), (0, ["--rounds", "two"]), (0, ["--threads", "0"]),
    (1, ["--rounds", "0"]), (1, ["--steps", "-5"]), (1, ["--batch-size", "0"]),
    (2, ["--rounds", "0"]),
])
def test_counts_below_one_are_refused(scripts, script, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        scripts[script].main(argv)
    assert exit_info.value.code == 2
    assert f"{argv[0]}: expected a whole number of at least 1, got {argv[1]!r}" in \
        capsys.readouterr().err
