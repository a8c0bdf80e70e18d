"""benchmarks/full_mode.py: its runs are valid `gluoncnn train` commands, trained by the library
behind the command (gluoncnn.runs.train, not cli.main), and --resume continues a run folder
instead of starting over (the long runs span several sittings on a CPU)."""
import json
import os

import pytest

from gluoncnn import cli, runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture()
def full_mode(tmp_path, monkeypatch, benchmark_script):
    module = benchmark_script("full_mode")
    monkeypatch.setattr(module, "ROOT", str(tmp_path))
    monkeypatch.setattr(module, "RESULTS", str(tmp_path / "full_mode.json"))
    return module


@pytest.mark.parametrize("name", ["lenet", "lenet_bn", "nin", "resnet18"])
def test_every_run_is_a_valid_train_command(full_mode, name):
    chapter, target, config = full_mode.RUNS[name]
    assert os.path.isfile(os.path.join(ROOT, "notebooks", chapter + ".ipynb"))
    assert target is None or 0 < target < 1
    argv = cli.command_line(config)
    settings = cli.build_parser().parse_args(["train", *argv])
    assert settings.model == name and settings.epochs >= 1
    assert cli.train_config(settings, argv) == config


def test_resume_continues_the_run_folder(full_mode, tmp_path, monkeypatch):
    calls = []

    def fake_train(out, settings, resume=False, overwrite=False, command=None, say=print,
                   **kwargs):
        calls.append({"out": out, "settings": settings, "resume": resume,
                      "overwrite": overwrite, "command": command})
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, runs.RUN_FILE), "w") as f:
            json.dump({"status": "finished"}, f)
        records = [{"epoch": e, "test_acc": 0.8 + e / 100, "train_acc": 0.9, "loss": 0.3,
                    "time": 10.0} for e in (1, 2)]
        with open(os.path.join(out, "history.json"), "w") as f:
            json.dump({"records": records}, f)
        return runs.RunResult(out, "finished")

    monkeypatch.setattr(runs, "train", fake_train)
    monkeypatch.setattr(cli, "main", lambda argv: pytest.fail("full_mode drives cli.main"))
    out = str(tmp_path / "runs" / "full" / "lenet")

    first = full_mode.run("lenet", "cpu", 0, resume=True)     # nothing to resume: a new run
    assert not calls[0]["resume"] and calls[0]["overwrite"] and calls[0]["out"] == out
    assert calls[0]["settings"].model == "lenet" and calls[0]["settings"].lr == 0.003
    assert calls[0]["command"][:4] == ["gluoncnn", "train", "--model", "lenet"]
    assert first["wall_seconds"] is not None and first["test_acc"] == pytest.approx(0.82)

    again = full_mode.run("lenet", "cpu", 0, resume=True)     # the folder holds a run
    assert calls[1]["resume"] and calls[1]["settings"] == {"progress": "off"}
    assert again["wall_seconds"] is None and again["train_seconds"] == 20.0
    assert again["command"] == first["command"]  # the run's own command, not the resume
    assert again["command"].startswith("gluoncnn train --model lenet")

    full_mode.run("lenet", "cpu", 0)                          # without --resume: starts over
    assert not calls[2]["resume"] and calls[2]["overwrite"]


def test_a_full_mode_run_trains_through_the_library(full_mode, monkeypatch):
    """The real thing, shortened: LeNet on the shipped sample for 2 batches."""
    monkeypatch.setitem(full_mode.RUNS, "lenet", ("01-lenet", 0.88, runs.TrainConfig(
        model="lenet", epochs=1, batch_size=64, optimizer="adam", lr=0.003, sample=True,
        max_batches=2, hybridize=False)))
    result = full_mode.run("lenet", "cpu", 0)
    assert result["epochs"] == 1 and 0 <= result["test_acc"] <= 1
    assert result["command"].startswith("gluoncnn train --model lenet --batch-size 64 --sample "
                                        "--epochs 1")
    folder = os.path.join(full_mode.ROOT, "runs", "full", "lenet")
    assert runs.check_finished(folder) == os.path.join(folder, runs.FINAL_PARAMS)


@pytest.mark.parametrize("name, chapter, variant", [
    ("lenet", "01-lenet", None), ("lenet_bn", "06-batch-norm", "BN-LeNet"),
    ("resnet18", "07-resnet", None)])
def test_runs_are_the_chapters_gpu_preset(full_mode, name, chapter, variant):
    from gluoncnn import course
    assert full_mode.RUNS[name][0] == chapter
    assert full_mode.RUNS[name][2] == course.settings(chapter, "gpu").config(variant)
