"""Run folders that never lose or mix what is in them (issue 15, items 1-3 and 7's CLI cases).

Each test reproduces one case of the issue against ``gluoncnn train/eval/export`` and shows the
fix: the folder byte-for-byte unchanged after a refusal, a user's files kept, a live lock refused
and a stale one taken over, a model.params that run.json does not record refused. Runs are LeNet
on the shipped sample for 3 batches, so each training takes a second or two.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from gluoncnn import cli, runs
from gluoncnn.errors import OptionError

TRAIN = ["train", "--model", "lenet", "--sample", "--epochs", "1", "--max-batches", "3",
         "--batch-size", "64", "--optimizer", "adam", "--lr", "0.002", "--ctx", "cpu",
         "--seed", "0", "--progress", "off", "--no-plot"]


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder):
    """Every file under ``folder`` with its bytes."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    assert cli.main(TRAIN + ["--out", str(out)]) == 0
    return out


@pytest.fixture()
def run_dir(finished_run, tmp_path):
    """A private copy of a finished run (tests may break it)."""
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    return out


def one_line_error(code, err, *words):
    assert code == 2, err
    assert err.startswith("gluoncnn: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


# ------------------------------------------------------------------ 1. no data loss on re-run
def test_rerun_with_bad_options_keeps_the_earlier_run(run_dir, capsys):
    """Issue 15.1: a run rejected for --warmup-epochs 5 --epochs 3 used to wipe the old one."""
    before = snapshot(run_dir)
    code, _, err = run_cli(capsys, *TRAIN, "--epochs", "3", "--warmup-epochs", "5",
                           "--out", run_dir, "--overwrite")
    one_line_error(code, err, "warmup_epochs")
    assert snapshot(run_dir) == before


@pytest.mark.parametrize("bad", [["--model-option", "nope=1"], ["--optimizer", "adamw"],
                                 ["--model", "resnet19"], ["--ctx", "tpu"],
                                 ["--schedule", "sometimes"]])
def test_every_option_is_checked_before_anything_is_written(run_dir, tmp_path, capsys, bad):
    before = snapshot(run_dir)
    code, _, err = run_cli(capsys, *TRAIN, *bad, "--out", run_dir, "--overwrite")
    one_line_error(code, err)
    assert snapshot(run_dir) == before
    fresh = tmp_path / "fresh"
    assert run_cli(capsys, *TRAIN, *bad, "--out", fresh)[0] == 2
    assert not fresh.exists()


def test_a_folder_holding_a_run_is_refused_with_how_to_go_on(run_dir, capsys):
    before = snapshot(run_dir)
    code, _, err = run_cli(capsys, *TRAIN, "--out", run_dir)
    one_line_error(code, err, "holds a run (lenet on fashion-mnist, 1 of 1 epochs, finished)",
                   "--resume", "--overwrite")
    assert snapshot(run_dir) == before


def test_overwrite_removes_only_the_runs_own_files(run_dir, capsys):
    (run_dir / "notes.txt").write_text("my notes")
    (run_dir / "checkpoints" / "README").write_text("keep me")
    (run_dir / "checkpoints" / "epoch-0007.params").write_bytes(b"an old run's checkpoint")
    code, out, err = run_cli(capsys, *TRAIN, "--out", run_dir, "--overwrite", "--seed", "1")
    assert code == 0, err
    assert "replaced the earlier run" in out
    assert (run_dir / "notes.txt").read_text() == "my notes"
    assert (run_dir / "checkpoints" / "README").read_text() == "keep me"
    assert not (run_dir / "checkpoints" / "epoch-0007.params").exists()
    assert json.loads((run_dir / "run.json").read_text())["settings"]["seed"] == 1


def test_foreign_files_with_run_names_are_not_overwritten(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "model.params").write_bytes(b"someone's own model")
    code, _, err = run_cli(capsys, *TRAIN, "--out", out)
    one_line_error(code, err, "model.params", "--overwrite")
    assert (out / "model.params").read_bytes() == b"someone's own model"


def test_run_files_names_only_what_a_run_writes(tmp_path):
    for name in ("run.json", "model.params", "notes.txt", "history.csv"):
        (tmp_path / name).write_text("x")
    (tmp_path / "checkpoints").mkdir()
    for name in ("epoch-0001.params", "epoch-0001.states", "epoch-0001.json", "last.json",
                 "interrupted.params", ".epoch-0002.params.99.tmp", "best.params", "my.txt"):
        (tmp_path / "checkpoints" / name).write_text("x")
    names = sorted(os.path.relpath(p, tmp_path) for p in runs.run_files(str(tmp_path)))
    assert names == ["checkpoints/.epoch-0002.params.99.tmp", "checkpoints/epoch-0001.json",
                     "checkpoints/epoch-0001.params", "checkpoints/epoch-0001.states",
                     "checkpoints/interrupted.params", "checkpoints/last.json",
                     "history.csv", "model.params", "run.json"]


# ------------------------------------------------------------------ 2. lock and consistency
def test_a_live_lock_refuses_a_second_training(run_dir, capsys):
    """Issue 15.2: two trainings on one --out mixed their histories."""
    lock = {"pid": os.getpid(), "host": __import__("socket").gethostname(),
            "started": "2026-12-01T12:00:00"}
    (run_dir / runs.LOCK_FILE).write_text(json.dumps(lock))
    before = snapshot(run_dir)
    code, _, err = run_cli(capsys, "train", "--out", run_dir, "--resume", "--epochs", "2")
    one_line_error(code, err, "in use by another training", f"process {os.getpid()}")
    assert snapshot(run_dir) == before


def test_a_stale_lock_is_said_and_taken_over(run_dir, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = {"pid": dead.pid, "host": __import__("socket").gethostname(), "started": "earlier"}
    (run_dir / runs.LOCK_FILE).write_text(json.dumps(lock))
    code, out, err = run_cli(capsys, "train", "--out", run_dir, "--resume", "--epochs", "2")
    assert code == 0, err
    assert f"took over train.lock of process {dead.pid}, which no longer runs" in out
    assert not (run_dir / runs.LOCK_FILE).exists()


def test_the_lock_is_held_during_training_and_released(tmp_path, capsys, monkeypatch):
    import gluoncnn.train as train
    real_fit, seen = train.fit, []

    def watching_fit(*args, **kwargs):
        seen.append(json.loads((tmp_path / "run" / runs.LOCK_FILE).read_text()))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train, "fit", watching_fit)
    assert run_cli(capsys, *TRAIN, "--out", tmp_path / "run")[0] == 0
    assert seen[0]["pid"] == os.getpid() and seen[0]["command"][:2] == ["gluoncnn", "train"]
    assert not (tmp_path / "run" / runs.LOCK_FILE).exists()


def test_run_json_records_the_digest_of_model_params(run_dir):
    run = json.loads((run_dir / "run.json").read_text())
    assert run["format"] == runs.FORMAT and run["status"] == "finished"
    assert run["model_params_sha256"] == runs.sha256_of(str(run_dir / "model.params"))
    assert runs.check_finished(str(run_dir)) == str(run_dir / "model.params")


def test_eval_refuses_a_model_params_that_run_json_does_not_record(run_dir, capsys):
    """Issue 15.2: a re-run killed mid-way left the old model.params beside the new run.json."""
    shutil.copy(run_dir / "checkpoints" / "epoch-0001.states", run_dir / "model.params")
    code, _, err = run_cli(capsys, "eval", "--run", run_dir, "--ctx", "cpu")
    one_line_error(code, err, "not the model", "sha256", "mixes two runs")


def test_eval_refuses_an_unfinished_run(run_dir, capsys):
    run = json.loads((run_dir / "run.json").read_text())
    run["status"] = "running"
    (run_dir / "run.json").write_text(json.dumps(run))
    code, _, err = run_cli(capsys, "eval", "--run", run_dir, "--ctx", "cpu")
    one_line_error(code, err, "is running, not finished", "--resume",
                   "checkpoints/epoch-0001.params")


def test_a_failed_final_write_keeps_the_earlier_model(run_dir, capsys, monkeypatch):
    """model.params is replaced atomically: a crash while writing it leaves the old file whole."""
    from mxnet import gluon
    before = (run_dir / "model.params").read_bytes()

    real = gluon.Block.save_parameters

    def crash_on_the_final_write(self, path, *args, **kwargs):
        if not os.path.basename(path).startswith(".model.params"):
            return real(self, path, *args, **kwargs)
        with open(path, "wb") as f:
            f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(gluon.Block, "save_parameters", crash_on_the_final_write)
    code, _, err = run_cli(capsys, "train", "--out", run_dir, "--resume", "--epochs", "2")
    monkeypatch.setattr(gluon.Block, "save_parameters", real)
    assert code == 1 and "OSError: disk full" in err
    assert (run_dir / "model.params").read_bytes() == before
    assert json.loads((run_dir / "run.json").read_text())["status"] == "failed"
    assert not [f for f in os.listdir(run_dir) if f.endswith(".tmp")]


# ------------------------------------------------------------------ 3. resume
@pytest.mark.parametrize("change, words", [
    (["--model", "lenet_bn"], "another model"),
    (["--optimizer", "sgd"], "another optimizer (optimizer 'adam' -> 'sgd')"),
    (["--dataset", "mnist"], "another dataset"),
    (["--model-option", "activation=relu"], "another model_options"),
])
def test_resume_refuses_incompatible_changes_and_leaves_the_folder(run_dir, capsys, change,
                                                                   words):
    """Issue 15.3: another --model/--optimizer was an internal error that broke run.json."""
    before = snapshot(run_dir)
    code, _, err = run_cli(capsys, "train", "--out", run_dir, "--resume", "--epochs", "2",
                           *change)
    one_line_error(code, err, "cannot resume", words)
    assert snapshot(run_dir) == before
    # ... and the folder still resumes and evaluates
    assert run_cli(capsys, "eval", "--run", run_dir, "--ctx", "cpu", "--max-batches", "1")[0] == 0


def test_resume_states_compatible_changes(run_dir, capsys):
    code, out, err = run_cli(capsys, "train", "--out", run_dir, "--resume", "--epochs", "2",
                             "--lr", "0.001", "--optimizer", "adam")
    assert code == 0, err
    assert "resuming with changes: epochs 1 -> 2; lr 0.002 -> 0.001" in out
    run = json.loads((run_dir / "run.json").read_text())
    assert run["settings"]["epochs"] == 2 and run["settings"]["lr"] == 0.001
    assert run["resumed"][-1]["changes"] == ["epochs 1 -> 2", "lr 0.002 -> 0.001"]
    assert run["model_params_sha256"] == runs.sha256_of(str(run_dir / "model.params"))


def test_merge_resume_keeps_what_the_checkpoints_depend_on():
    previous = {"settings": {"model": "lenet", "optimizer": "adam",
                             "model_options": [("activation", "sigmoid")]}}
    config, said = runs.merge_resume(previous, {"model": "LeNet", "optimizer": "Adam",
                                                "model_options": [["activation", "sigmoid"]],
                                                "epochs": 20}, "runs/x")
    assert config.epochs == 20 and said == ["epochs 10 -> 20"]
    with pytest.raises(runs.RunFolderError, match="another nesterov"):
        runs.merge_resume(previous, {"nesterov": True}, "runs/x")
    zoo = {"settings": {"model": "resnet18"}}
    assert runs.merge_resume(zoo, {"model": "resnet18_v1"}, "runs/x")[1] == []  # the zoo's name
    with pytest.raises(runs.RunFolderError, match="another model"):
        runs.merge_resume(zoo, {"model": "resnet18_v2"}, "runs/x")


# ------------------------------------------------------------------ 7. clear errors
@pytest.mark.parametrize("content", [b"", b"\x12\x01\x00", None])
@pytest.mark.parametrize("command", ["eval", "export"])
def test_a_broken_params_file_is_named_in_one_line(run_dir, tmp_path, capsys, content, command):
    """Issue 15.7: a truncated/empty/corrupt file gave 'Traceback (most recent call last):'."""
    bad = tmp_path / "bad.params"
    data = (run_dir / "model.params").read_bytes()
    bad.write_bytes(data[:len(data) // 2] if content is None else content)
    extra = ["--sample", "--ctx", "cpu"] if command == "eval" else ["--out", tmp_path / "e"]
    code, _, err = run_cli(capsys, command, "--model", "lenet", "--params", bad, *extra)
    one_line_error(code, err, f"{bad} is not a valid MXNet parameter file")
    assert "Traceback" not in err


def test_a_text_model_option_gives_a_clean_message(capsys):
    code, _, err = run_cli(capsys, "summary", "resnet18", "--model-option",
                           "stochastic_depth=abc")
    one_line_error(code, err, "stochastic_depth='abc'", "is text")


def test_errors_that_are_not_the_users_are_reported_as_bugs(capsys, monkeypatch):
    from gluoncnn.cli import commands

    def broken(args, argv):
        raise KeyError("oops")

    monkeypatch.setitem(commands.COMMANDS, "summary", broken)
    code, _, err = run_cli(capsys, "summary", "lenet")
    assert code == 1 and "KeyError: oops (an internal error" in err and "--debug" in err


# ------------------------------------------------------------------ the library
def test_runs_train_is_the_library_behind_the_command(tmp_path):
    said = []
    result = runs.train(str(tmp_path / "lib"), {"model": "lenet", "sample": True, "epochs": 1,
                                                "max_batches": 2, "ctx": "cpu", "seed": 0,
                                                "progress": "off", "verbose": False},
                        plot=False, say=said.append)
    assert result.status == "finished" and len(result.history) == 1
    assert said[0].startswith("training lenet(") and said[0].endswith(str(tmp_path / "lib"))
    run = runs.read_run(str(tmp_path / "lib"))
    assert run["command"][0] == "gluoncnn.runs.train"
    with pytest.raises(runs.RunFolderError, match="holds a run"):
        runs.train(str(tmp_path / "lib"), {"model": "lenet", "sample": True})
    with pytest.raises(OptionError, match="unknown run setting"):
        runs.plan_training(str(tmp_path / "x"), {"modle": "lenet"})


def test_only_worker_0_of_a_distributed_run_keeps_the_folder(tmp_path, monkeypatch):
    """Every worker runs the same command with the same --out; the others neither lock nor
    write the folder (fit writes checkpoints on worker 0 only)."""
    import gluoncnn.train as train

    class Worker:
        rank, num_workers = 1, 2

    seen, said = {}, []

    def fit(net, train_iter, test_iter, config, **kwargs):
        seen.update(kwargs, kvstore=config.kvstore)
        return train.History()

    monkeypatch.setattr(runs, "_distributed_kvstore", lambda kvstore: Worker())
    monkeypatch.setattr(train, "fit", fit)
    (tmp_path / "run").mkdir()
    result = runs.train(str(tmp_path / "run"), {"model": "lenet", "sample": True, "epochs": 1,
                                                "kvstore": "dist_sync", "ctx": "cpu"},
                        say=said.append)
    assert result.status == "finished" and isinstance(seen["kvstore"], Worker)
    assert os.listdir(tmp_path / "run") == []
    assert len(said) == 1 and said[0].startswith("[worker 1/2] training lenet(")
    assert said[0].endswith(" on fashion-mnist (1x28x28) for 1 epoch(s); worker 0 writes the "
                            "run folder")


@pytest.mark.parametrize("role", ["server", "scheduler"])
def test_a_server_or_scheduler_process_serves_and_touches_no_folder(tmp_path, monkeypatch, role):
    """A job started by hand may run the same 'gluoncnn train' everywhere: in a process whose
    DMLC_ROLE is server or scheduler, importing MXNet serves that role and exits the process
    (here MXNet is imported already, as a worker, so only the exit is left)."""
    import mxnet  # noqa: F401  (imported as a worker, before DMLC_ROLE is set)
    monkeypatch.setenv("DMLC_ROLE", role)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "--model", "lenet", "--sample", "--out", str(tmp_path / "run")])
    assert exit_.value.code == 0
    assert not (tmp_path / "run").exists()
    with pytest.raises(SystemExit):
        runs.train(str(tmp_path / "lib"), {"model": "nope"})  # before any check
    assert not (tmp_path / "lib").exists()


# ------------------------------------------------------------------ amp and pretrained
def test_bfloat16_without_kernels_is_refused_before_the_folder(tmp_path, capsys, monkeypatch):
    from gluoncnn import runtime
    from gluoncnn.train import precision
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(precision, "cpu_can_emulate_bf16", lambda: False)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, *TRAIN, "--amp", "bfloat16", "--out", out)
    one_line_error(code, err, "bfloat16 only on AVX-512 CPUs")
    assert not out.exists()


def test_pretrained_weights_start_a_run_and_not_a_resume(finished_run, tmp_path):
    import mxnet as mx
    params = str(finished_run / runs.FINAL_PARAMS)
    settings = cli.train_settings([*TRAIN[1:], "--pretrained", params])
    plan = runs.plan_training(str(tmp_path / "new"), settings)
    saved = mx.nd.load(params)
    for name, param in plan.net._collect_params_with_prefix().items():
        assert (param.data() == saved[name]).asnumpy().all(), name
    with pytest.raises(runs.RunFolderError, match="another pretrained"):
        runs.plan_training(str(finished_run), {"pretrained": params}, resume=True)


# ------------------------------------------------------------------ issue 30: trust, second pass
def _rewrite_last(run_dir, **changes):
    """Change fields of the run's checkpoint record (last.json and epoch-0001.json)."""
    for name in ("last.json", "epoch-0001.json"):
        path = run_dir / "checkpoints" / name
        record = json.loads(path.read_text())
        record.update(changes)
        path.write_text(json.dumps(record))


def _foreign_checkpoint(run_dir):
    """The checkpoint's .params replaced by another model's, its digests made to match."""
    import mxnet as mx
    from mxnet import gluon
    other = gluon.nn.Dense(3, in_units=4)
    other.initialize(mx.init.Xavier())
    path = run_dir / "checkpoints" / "epoch-0001.params"
    other.save_parameters(str(path))
    digests = json.loads((run_dir / "checkpoints" / "last.json").read_text())["sha256"]
    digests["epoch-0001.params"] = runs.sha256_of(str(path))
    _rewrite_last(run_dir, sha256=digests)


def _flip_a_byte(run_dir):
    path = run_dir / "checkpoints" / "epoch-0001.params"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(run_dir):
    path = run_dir / "checkpoints" / "epoch-0001.params"
    path.write_bytes(path.read_bytes()[:100])


@pytest.mark.parametrize("break_it, words", [
    (_truncate, "does not match the sha256"),
    (_flip_a_byte, "does not match the sha256"),
    (_foreign_checkpoint, "holds the parameters of another model"),
    (lambda d: _rewrite_last(d, epoch="abc"), "gives epoch 'abc'"),
    (lambda d: _rewrite_last(d, epoch=-1), "gives epoch -1"),
    (lambda d: _rewrite_last(d, epoch=3), "says 3 epoch(s) were done but its history holds"),
])
def test_a_failed_resume_leaves_the_run_byte_for_byte(run_dir, capsys, break_it, words):
    """Issue 30: a resume that failed on its checkpoint rewrote run.json as 'failed' (the final
    model's digest gone, eval --run refused); epoch -1 trained '6 of 3 epochs'."""
    break_it(run_dir)
    before = snapshot(run_dir)
    code, _, err = run_cli(capsys, "train", "--out", run_dir, "--resume", "--epochs", "3")
    one_line_error(code, err, words)
    assert snapshot(run_dir) == before
    assert runs.check_finished(str(run_dir)) == str(run_dir / "model.params")


def test_a_divergence_right_after_resuming_keeps_the_finished_run(run_dir, capsys, monkeypatch):
    from gluoncnn.train.loop import DivergenceWatch
    monkeypatch.setattr(DivergenceWatch, "first_bad", lambda self, losses: (0, float("nan")))
    before = snapshot(run_dir)
    code, _, err = run_cli(capsys, "train", "--out", run_dir, "--resume", "--epochs", "2")
    one_line_error(code, err, "training diverged: the loss became nan in epoch 2, batch 1")
    assert snapshot(run_dir) == before
    assert runs.check_finished(str(run_dir)) == str(run_dir / "model.params")


def test_two_trainings_planned_on_one_new_folder_never_share_it(tmp_path):
    """Issue 30: the folder was checked before the lock, with the data loading in between: a
    second 'train --out D' started 0.3 s later replaced the first's files and said 'saved'."""
    folder = str(tmp_path / "new")
    settings = {"model": "lenet", "sample": True, "epochs": 1, "max_batches": 1, "ctx": "cpu",
                "progress": "off", "verbose": False}
    first = runs.plan_training(folder, settings)
    second = runs.plan_training(folder, dict(settings, seed=1))
    assert runs.run_training(first, plot=False, say=lambda _: None).status == "finished"
    before = snapshot(folder)
    with pytest.raises(runs.RunFolderError, match="holds a run"):
        runs.run_training(second, plot=False, say=lambda _: None)
    assert snapshot(folder) == before


def test_a_training_that_fails_before_its_first_epoch_leaves_no_folder(tmp_path, monkeypatch):
    import gluoncnn.train as train

    def failing_fit(*args, **kwargs):
        raise MemoryError()

    plan = runs.plan_training(str(tmp_path / "a" / "b"), {"model": "lenet", "sample": True})
    monkeypatch.setattr(train, "fit", failing_fit)
    with pytest.raises(MemoryError):
        runs.run_training(plan, plot=False, say=lambda _: None)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad, words", [
    (["--warmup-epochs", "5", "--epochs", "3"], "warmup_epochs"),
    (["--model-option", "nope=1"], "nope"),
])
def test_a_bad_option_is_said_before_an_occupied_folder(run_dir, capsys, bad, words):
    """Issue 27/30: with a bad option and a folder that holds a run, the option is the mistake
    to fix first; the folder is not touched either way."""
    before = snapshot(run_dir)
    code, _, err = run_cli(capsys, *TRAIN, *bad, "--out", run_dir)
    one_line_error(code, err, words)
    assert "holds a run" not in err
    assert snapshot(run_dir) == before


def test_every_worker_checks_the_folder_before_it_joins_a_distributed_job(run_dir, monkeypatch):
    """Issue 30: worker 0 refused a folder holding a run after joining, so the others hung."""
    joined = []
    monkeypatch.setattr(runs, "_distributed_kvstore", lambda kvstore: joined.append(kvstore))
    with pytest.raises(runs.RunFolderError, match="holds a run"):
        runs.plan_training(str(run_dir), {"model": "lenet", "sample": True,
                                          "kvstore": "dist_sync"})
    assert joined == []


@pytest.mark.parametrize("role", ["server", "scheduler"])
def test_a_server_or_scheduler_refuses_a_folder_the_workers_refuse(run_dir, capsys, monkeypatch,
                                                                     role):
    """Issue 30: a job started by hand into a folder holding a run hung; now the server and the
    scheduler refuse it as the workers do, instead of serving workers that never come."""
    import mxnet  # noqa: F401  (imported as a worker, before DMLC_ROLE is set)
    monkeypatch.setenv("DMLC_ROLE", role)
    before = snapshot(run_dir)
    code, _, err = run_cli(capsys, *TRAIN, "--kvstore", "dist_sync", "--out", run_dir)
    one_line_error(code, err, "holds a run")
    assert snapshot(run_dir) == before


def test_a_run_folder_that_cannot_be_created_is_one_line(tmp_path, monkeypatch):
    """Issue 30: --out /proc/x passed the up-front check (nothing there says no) and was an
    internal error when the folder was made."""
    plan = runs.plan_training(str(tmp_path / "a" / "b"), {"model": "lenet", "sample": True})

    def refuse(path, *args, **kwargs):
        os.mkdir(os.path.dirname(os.path.abspath(path)))  # a parent made, then the refusal
        raise FileNotFoundError(2, "No such file or directory", path)

    monkeypatch.setattr(os, "makedirs", refuse)
    with pytest.raises(runs.RunFolderError, match=r"cannot create the run folder .*b: No such "
                                                  r"file or directory; choose another --out"):
        runs.run_training(plan, plot=False, say=lambda _: None)
    assert os.listdir(tmp_path) == []
