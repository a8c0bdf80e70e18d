"""The README's examples, executed: a README example that stops working fails the tests.

Every fenced ```python block and every command of every ```bash block of README.md is a test
case, run in a fresh temporary folder on the shipped Fashion-MNIST sample:

- a ``gluoncnn ...`` command runs as ``python -m gluoncnn ...``. A long one is shortened by
  its own options, appended from ``SHORTER`` (argparse lets a later option win, so
  ``--epochs 10 ... --epochs 1`` trains one epoch); ``NEEDS`` lists the commands that must run
  first in the same folder (``eval`` needs the run that ``train`` saves);
- a ``python`` block runs in a subprocess after the replacements in ``PYTHON_SHORTER``, each of
  which must still match the README (so an edited example cannot silently escape the test);
- what cannot run here is listed in ``SKIPPED`` with the reason (GPUs, an ssh cluster, the
  two set-up commands that build a virtual environment, a JupyterLab server);
- any other command fails the test until it gets an entry: a new README example is either run
  or explicitly skipped.

To add an example: write it in the README; if it runs in seconds as written, nothing else is
needed; otherwise add its shortening to ``SHORTER``/``PYTHON_SHORTER`` or its reason to
``SKIPPED``.
"""
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
TIMEOUT = 600

# Options appended to a README command (keyed by the start of the command) to make it short.
SHORTER = {
    "gluoncnn train --model resnet18": "--sample --epochs 1 --max-batches 2 --batch-size 16 "
                                       "--test-size 32 --ctx cpu --no-plot",
    "gluoncnn train --model nin": "--sample --epochs 1 --max-batches 2 --batch-size 16 "
                                  "--test-size 32 --no-plot",
    "gluoncnn eval --model resnet18": "--sample --test-size 32 --batch-size 16",
    "gluoncnn train --model resnet20_cifar": "--sample --epochs 1 --max-batches 2 "
                                            "--batch-size 16 --test-size 32 --no-plot",
    "gluoncnn train --model lenet --optimizer adam": "--sample --epochs 2 --max-batches 2 "
                                                    "--test-size 32 --no-plot",
    "gluoncnn train --model lenet --optimizer adam --find-lr": "--sample --max-batches 5 "
                                                              "--batch-size 16",
}
# Commands that must run before a README command, in the same folder (shortened likewise).
NEEDS = {
    "gluoncnn eval --model resnet18": [
        "gluoncnn train --model resnet18 --dataset fashion-mnist --epochs 10 --batch-size 256 "
        "--lr 0.05 --ctx gpu:0,gpu:1 --out runs/resnet18"],
    # The README's export reads the run that `make run` saves.
    "gluoncnn export --model lenet": [
        "gluoncnn train --model lenet --sample --epochs 1 --max-batches 2 --test-size 32 "
        "--no-plot --out runs/lenet-fashion-mnist"],
}
# Exit statuses other than 0 that a command may end with here.
EXIT_OK = {
    "gluoncnn doctor": (0, 1),   # 1 when a check fails, e.g. no real datasets on this machine
}
SKIPPED = {
    "make run": "the set-up command: creates .venv, installs the pins, trains 10 full epochs",
    "make test": "the set-up command that runs this very suite",
    "make lab": "starts a JupyterLab server",
    "make clean && make run GPU=1": "needs an NVIDIA GPU and its driver (and recreates .venv)",
    "python -m gluoncnn.train launch": "needs ssh access to the machines of a hosts file "
                                       "(tests/test_distributed.py runs it with --launcher "
                                       "local)",
    "pip install": "installs from the package index (tests never touch the network)",
    "tensorboard --logdir": "starts the TensorBoard server (pip install tensorboard, not a "
                            "dependency); tests/test_tensorboard.py reads the event files",
    "make chapters": "executes every chapter in the cpu preset (about 1.5 hours of training)",
    "python -m gluoncnn.course run": "executes whole chapters (minutes each); "
                                     "tests/test_course.py tests the runner",
}
# Replacements in the README's python blocks: (README text, what the test runs instead).
PYTHON_SHORTER = [
    ("load_data_fashion_mnist(batch_size=64)",
     "load_data_fashion_mnist(batch_size=16, sample=True, test_size=32)"),
    ("epochs=3, optimizer='adam'",
     "epochs=1, max_batches=2, plot=False, progress=False, optimizer='adam'"),
    ("load_data_fashion_mnist(batch_size=256)",
     "load_data_fashion_mnist(batch_size=16, sample=True, test_size=32)"),
    ("epochs=10, lr=0.05", "epochs=1, max_batches=2, plot=False, progress=False, lr=0.05"),
    ("lr, num_epochs, batch_size, ctx = 0.9, 5, 256",
     "lr, num_epochs, batch_size, ctx = 0.9, 1, 256"),
    ("d2l.load_data_fashion_mnist(batch_size)",
     "d2l.load_data_fashion_mnist(batch_size, sample=True)"),
    ("load_data_fashion_mnist(batch_size=128)",
     "load_data_fashion_mnist(batch_size=16, sample=True, train_size=32, test_size=32)"),
    ("num_epochs=10, lr=0.1", "num_epochs=1, lr=0.1"),
    ("optimizer='sgd', momentum=0.9, seed=0", "num_iter=5, optimizer='sgd', momentum=0.9, seed=0"),
]


def fenced_blocks(language, text=README):
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


def bash_commands(block):
    """The commands of a bash block: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    commands = []
    for line in joined.splitlines():
        command = re.split(r"\s+#", line, maxsplit=1)[0].strip()
        if command and not command.startswith("#"):
            commands.append(" ".join(command.split()))
    return commands


def entry(table, command):
    """The value of the longest key of ``table`` that starts ``command``, else None."""
    keys = [key for key in table if command == key or command.startswith(key + " ")]
    return table[max(keys, key=len)] if keys else None


def argv(command):
    """``gluoncnn ...`` as run here: ``python -m gluoncnn ...`` with its shortening options."""
    words = shlex.split(command)
    assert words[0] == "gluoncnn", command
    shorter = shlex.split(entry(SHORTER, command) or "")
    return [sys.executable, "-m", "gluoncnn", *words[1:], *shorter]


def environment():
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, MPLBACKEND="Agg")


def run_command(command, cwd):
    done = subprocess.run(argv(command), cwd=cwd, env=environment(), capture_output=True,
                          text=True, timeout=TIMEOUT)
    allowed = entry(EXIT_OK, command) or (0,)
    assert done.returncode in allowed, (
        f"README command failed (exit {done.returncode}): {command}\n"
        f"run as: {shlex.join(argv(command))}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    assert "internal error" not in done.stderr, done.stderr
    return done


COMMANDS = [command for block in fenced_blocks("bash") for command in bash_commands(block)]
PYTHON_BLOCKS = fenced_blocks("python")


def test_the_readme_has_examples_to_run():
    assert len(PYTHON_BLOCKS) >= 1 and len(COMMANDS) >= 8
    assert any(c.startswith("gluoncnn train") for c in COMMANDS)


def test_every_table_entry_is_a_readme_command():
    """A stale entry would hide a README command that changed."""
    for table in (SHORTER, NEEDS, EXIT_OK, SKIPPED):
        for key in table:
            assert any(c == key or c.startswith(key + " ") for c in COMMANDS), \
                f"{key!r} is in the table but no README command starts with it"
    for needs in NEEDS.values():
        for command in needs:
            assert command.startswith("gluoncnn "), command


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c.split()[:4]) for c in COMMANDS])
def test_readme_command(command, tmp_path):
    reason = entry(SKIPPED, command)
    if reason is not None:
        pytest.skip(f"{command!r}: {reason}")
    assert command.startswith("gluoncnn "), (
        f"README command {command!r} is neither a gluoncnn command nor in SKIPPED: add it to "
        f"tests/test_readme.py (SKIPPED with the reason, or a way to run it)")
    for needed in entry(NEEDS, command) or []:
        run_command(needed, tmp_path)
    run_command(command, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_readme_python_block(index, tmp_path):
    code = PYTHON_BLOCKS[index]
    for readme_text, shorter in PYTHON_SHORTER:
        if readme_text in README:
            code = code.replace(readme_text, shorter)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environment(),
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, (f"README python block {index + 1} failed:\n{code}\n"
                                  f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def test_every_python_shortening_still_matches_the_readme():
    for readme_text, _ in PYTHON_SHORTER:
        assert any(readme_text in block for block in PYTHON_BLOCKS), \
            f"{readme_text!r} is no longer in a README python block: update PYTHON_SHORTER"


def test_the_readme_counts_the_notebook_cells_nbval_compares():
    """`make test` runs strict nbval: every code cell's saved output is compared unless the cell
    is marked NBVAL_IGNORE_OUTPUT (and none is skipped); the README says how many of each."""
    cells = [cell for path in sorted((REPO / "notebooks").glob("*.ipynb"))
             for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]
    sources = ["".join(cell["source"]) for cell in cells]
    assert not [s for s in sources if "NBVAL_SKIP" in s or "NBVAL_RAISES_EXCEPTION" in s]
    ignored = sum("NBVAL_IGNORE_OUTPUT" in s for s in sources)
    text = " ".join(README.split())
    assert (f"Of the {len(cells)} code cells, {len(cells) - ignored} have their saved output "
            f"compared") in text
    assert f"The other {ignored}, marked `# NBVAL_IGNORE_OUTPUT`, are not compared" in text


def test_the_readme_shows_the_recorded_cpu_runs_as_the_records_say():
    """The README's table of the cpu preset's runs is `python scripts/course_tables.py --preset
    cpu`, computed from notebooks/results/cpu: a re-run chapter that changes a number fails here
    until the README is regenerated (`make tables`)."""
    from gluoncnn.course.report import markdown_table
    assert markdown_table("cpu", REPO / "notebooks" / "results") in \
        (REPO / "README.md").read_text()


def test_the_readme_shows_the_full_mode_runs_as_their_records_say():
    """`python scripts/course_tables.py --full-mode`, from benchmarks/results/full_mode.json."""
    from gluoncnn.course.report import full_mode_table
    assert full_mode_table(REPO / "benchmarks" / "results" / "full_mode.json") in \
        (REPO / "README.md").read_text()


@pytest.mark.parametrize("script, results", [("epoch", "epoch.json"), ("run", "latest.json")])
def test_the_readme_shows_the_benchmarks_as_their_results_say(benchmark_script, script, results):
    """`python benchmarks/epoch.py --readme` and `python benchmarks/run.py --readme` put their
    tables into the README: each is what its JSON in benchmarks/results/ says."""
    recorded = json.loads((REPO / "benchmarks" / "results" / results).read_text())
    assert benchmark_script(script).render_markdown(recorded) in \
        (REPO / "README.md").read_text()
