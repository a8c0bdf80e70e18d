"""benchmarks/full_mode.py: its runs are valid `gluoncnn train` commands, and --resume continues a
run folder instead of starting over (the long runs span several sittings on a CPU)."""
import importlib.util
import json
import os

import pytest

from gluoncnn import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture()
def full_mode(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "full_mode", os.path.join(ROOT, "benchmarks", "full_mode.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", str(tmp_path))
    monkeypatch.setattr(module, "RESULTS", str(tmp_path / "full_mode.json"))
    return module


@pytest.mark.parametrize("name", ["lenet", "lenet_bn", "nin", "resnet18"])
def test_every_run_is_a_valid_train_command(full_mode, name):
    chapter, target, args = full_mode.RUNS[name]
    assert os.path.isfile(os.path.join(ROOT, "notebooks", chapter + ".ipynb"))
    assert target is None or 0 < target < 1
    settings = cli.build_parser().parse_args(["train", *args])
    assert settings.model == name and settings.epochs >= 1


def test_resume_continues_the_run_folder(full_mode, tmp_path, monkeypatch):
    calls = []

    def fake_main(argv):
        calls.append(argv)
        out = argv[argv.index("--out") + 1]
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "run.json"), "w") as f:
            json.dump({"status": "running"}, f)
        records = [{"epoch": e, "test_acc": 0.8 + e / 100, "train_acc": 0.9, "loss": 0.3,
                    "time": 10.0} for e in (1, 2)]
        with open(os.path.join(out, "history.json"), "w") as f:
            json.dump({"records": records}, f)
        return 0

    monkeypatch.setattr(cli, "main", fake_main)
    out = str(tmp_path / "runs" / "full" / "lenet")

    first = full_mode.run("lenet", "cpu", 0, resume=True)     # nothing to resume: a new run
    assert calls[0][:3] == ["train", "--model", "lenet"] and "--resume" not in calls[0]
    assert first["wall_seconds"] is not None and first["test_acc"] == pytest.approx(0.82)

    again = full_mode.run("lenet", "cpu", 0, resume=True)     # the folder holds a run
    assert calls[1] == ["train", "--out", out, "--resume", "--progress", "off"]
    assert again["wall_seconds"] is None and again["train_seconds"] == 20.0
    assert again["command"] == first["command"]                # the run's own command, not the resume

    full_mode.run("lenet", "cpu", 0)                          # without --resume: starts over
    assert "--resume" not in calls[2]
