"""Distributed training on 127.0.0.1: ``fit(..., kvstore='dist_sync')`` with the zoo's models on
2 workers + 1 server, started by ``python -m gluoncnn.train launch``, and the launcher's watch:
a process that dies ends the job within seconds, with a message naming it.

Every subprocess has a timeout, every address is the loopback one, the children run with
OMP_NUM_THREADS=1 on small data (the shipped sample, 2 batches an epoch).
"""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gluoncnn.errors import OptionError
from gluoncnn.launcher import launch
from gluoncnn.train import dist_env

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "dist_worker.py")
JOB_TIMEOUT = 400  # a bound against hangs on a loaded machine, not a speed requirement


def child_env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO + os.pathsep +
               os.environ.get("PYTHONPATH", ""))
    env.pop("DMLC_ROLE", None)
    return env


def start_launcher(*args):
    return subprocess.Popen([sys.executable, "-m", "gluoncnn.train", "launch", *args],
                            env=child_env(), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=JOB_TIMEOUT):
    """``(stdout, stderr)`` of the launcher; on a hang, stop it (it stops its children)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"the job did not end within {timeout} s:\n{out[-3000:]}\n{err[-3000:]}")


def stop_if_running(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_both_workers_train(proc, out):
    """Wait for both workers' ``started-<rank>`` markers (written after their first step)."""
    deadline = time.monotonic() + JOB_TIMEOUT
    while not all((out / f"started-{r}").exists() for r in (0, 1)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the workers did not start training"
        time.sleep(0.5)


def job_children(launcher_pid):
    """``{role: [pid, ...]}`` of the launcher's children, read from /proc."""
    roles = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != launcher_pid:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
        except (OSError, ValueError, IndexError):
            continue
        roles.setdefault(env.get(b"DMLC_ROLE", b"?").decode(), []).append(int(entry))
    return roles


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def assert_workers_agree(folder):
    a, b = np.load(folder / "worker-0.npz"), np.load(folder / "worker-1.npz")
    assert sorted(a.files) == sorted(b.files) and a.files
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    return a.files


# ------------------------------------------------------------------------------ dist_sync
@pytest.mark.slow
@pytest.mark.parametrize("model", ["lenet", "resnet20_cifar"])
def test_dist_sync_workers_agree(tmp_path, model):
    """2 workers + 1 server: each worker trains on its shard with a seed of its own, and both
    end with the same parameters, BatchNorm's running statistics included (ResNet-20).
    LeNet once aborted the server with "init 3 first": its second convolution's weight, in
    oneDNN's layout after fit's inference-mode check, could not be pushed."""
    proc = start_launcher("-n", "2", "-s", "1", "--launcher", "local",
                          sys.executable, WORKER, str(tmp_path), model)
    try:
        out, err = finish(proc)
    finally:
        stop_if_running(proc)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    assert "[worker 0/2] epoch 1" in out and "[worker 1/2] epoch 1" in out
    names = assert_workers_agree(tmp_path)
    if model == "resnet20_cifar":
        assert any(name.endswith("running_mean") for name in names)


@pytest.mark.slow
def test_dist_async_trains(tmp_path):
    """dist_async: the servers update (the optimizer is sent to them with the normalisation by
    the batch size before the first step); workers need not agree."""
    proc = start_launcher("-n", "2", "-s", "1", "--launcher", "local",
                          sys.executable, WORKER, str(tmp_path), "resnet20_cifar", "1",
                          "dist_async")
    try:
        out, err = finish(proc)
    finally:
        stop_if_running(proc)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    assert "[worker 0/2] epoch 1" in out and "[worker 1/2] epoch 1" in out


@pytest.mark.slow
def test_readme_several_machines_command_runs_on_this_machine(tmp_path):
    """README's command (``launch -n 2 -s 2 -H hosts --launcher ssh gluoncnn train --model
    resnet18 --dataset fashion-mnist --epochs 10 --kvstore dist_sync``) with the local
    launcher, the shipped sample and one short epoch."""
    run = tmp_path / "run"
    proc = start_launcher("-n", "2", "-s", "2", "--launcher", "local",
                          sys.executable, "-m", "gluoncnn", "train", "--model", "resnet18",
                          "--dataset", "fashion-mnist", "--epochs", "1", "--kvstore",
                          "dist_sync", "--sample", "--train-size", "128", "--test-size", "32",
                          "--batch-size", "16", "--max-batches", "2", "--ctx", "cpu",
                          "--progress", "off", "--no-plot", "--out", str(run))
    try:
        out, err = finish(proc)
    finally:
        stop_if_running(proc)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    assert "[worker 0/2] epoch 1" in out and "[worker 1/2] epoch 1" in out
    assert_one_consistent_run_folder(run, out)


def assert_one_consistent_run_folder(run, out):
    """Only worker 0 kept the folder: one "saved" line, a finished run.json that records the
    model.params beside it, no lock left, the other workers' notes naming worker 0."""
    from gluoncnn import runs
    assert out.count("saved in") == 1 and "earlier run" not in out, out
    assert out.count("; worker 0 writes the run folder") == 1, out
    assert runs.read_run(run)["status"] == "finished"
    assert runs.check_finished(run) == os.path.join(run, "model.params")
    assert not (run / runs.LOCK_FILE).exists()


@pytest.mark.slow
def test_processes_started_by_hand_with_one_command(tmp_path):
    """Started by hand, every process (scheduler, server, workers) runs the same 'gluoncnn
    train' with its own DMLC_ROLE: the scheduler and the server serve, and touch no folder."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = tmp_path / "run"
    command = [sys.executable, "-m", "gluoncnn", "train", "--model", "lenet", "--sample",
               "--epochs", "1", "--kvstore", "dist_sync", "--train-size", "128", "--test-size",
               "32", "--batch-size", "16", "--max-batches", "2", "--ctx", "cpu", "--progress",
               "off", "--no-plot", "--out", str(run)]
    procs = [subprocess.Popen(command, env=dist_env(role, port, 2, 1, base=child_env()),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
             for role in ("scheduler", "server", "worker", "worker")]
    try:
        outs = [finish(proc)[0] for proc in procs]
    finally:
        for proc in procs:
            stop_if_running(proc)
    assert [proc.returncode for proc in procs] == [0] * 4, outs
    assert outs[0] == outs[1] == "", outs  # the scheduler and the server: nothing to say
    assert_one_consistent_run_folder(run, outs[2] + outs[3])


FAKE_SSH = """#!/bin/bash
# ssh stand-in for the test: records its arguments, then runs the remote command here
printf '%s\\n' "$*" >> "$FAKE_SSH_LOG"
for last; do :; done
exec bash -c "$last"
"""


@pytest.mark.slow
def test_ssh_launcher_places_servers_and_workers_on_the_hosts(tmp_path):
    """``--launcher ssh -H hosts``: servers first, then workers, round-robin over the hosts,
    each through ``ssh -tt ... HOST 'cd CWD && env DMLC_...=... COMMAND'`` (here an ``ssh`` that
    runs the command on this machine), the scheduler here."""
    bin_dir, out = tmp_path / "bin", tmp_path / "out"
    bin_dir.mkdir()
    out.mkdir()
    (bin_dir / "ssh").write_text(FAKE_SSH)
    (bin_dir / "ssh").chmod(0o755)
    (tmp_path / "hosts").write_text("127.0.0.1\nlocalhost:2222 slots=4\n")
    log = tmp_path / "ssh.log"
    env = dict(child_env(), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               FAKE_SSH_LOG=str(log))
    proc = subprocess.Popen([sys.executable, "-m", "gluoncnn.train", "launch", "-n", "2", "-s",
                             "1", "-H", str(tmp_path / "hosts"), "--host-ip", "127.0.0.1",
                             sys.executable, WORKER, str(out), "lenet"],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        stdout, err = finish(proc)
    finally:
        stop_if_running(proc)
    assert proc.returncode == 0, stdout[-3000:] + err[-3000:]
    assert_workers_agree(out)
    calls = sorted(log.read_text().splitlines(), key=lambda c: "DMLC_ROLE=worker" in c)
    assert len(calls) == 3  # 1 server + 2 workers; the scheduler runs here
    for call, (host, port, role) in zip(calls, [("127.0.0.1", "22", "server"),
                                                ("localhost", "2222", "worker"),
                                                ("127.0.0.1", "22", "worker")]):
        assert call.startswith(f"-tt -o StrictHostKeyChecking=no -o BatchMode=yes -p {port} "
                               f"{host} cd {REPO} && env "), call
        assert f"DMLC_ROLE={role}" in call and "DMLC_NODE_HOST=127.0.0.1" in call
        assert "DMLC_PS_ROOT_URI=127.0.0.1" in call


# ------------------------------------------------------------------------------ the watch
@pytest.mark.slow
@pytest.mark.parametrize("victim", ["worker", "server", "scheduler"])
def test_a_killed_process_ends_the_job_with_a_message(tmp_path, victim):
    """kill -9 of a worker, the server or the scheduler mid-training: the launcher stops the
    other three processes and says what died (ps-lite alone would leave them waiting forever)."""
    proc = start_launcher("-n", "2", "-s", "1", "--launcher", "local", "--grace", "5",
                          sys.executable, WORKER, str(tmp_path), "lenet", "100000")
    try:
        wait_until_both_workers_train(proc, tmp_path)
        children = job_children(proc.pid)
        assert sorted(children) == ["scheduler", "server", "worker"], children
        target = children[victim][0]
        os.kill(target, signal.SIGKILL)
        _, err = finish(proc, timeout=60)  # "within a minute"
    finally:
        stop_if_running(proc)
    found = re.search(r"gluoncnn launch: (scheduler|server \d|worker \d) \(pid (\d+)\) died with "
                      r"signal 9 \(SIGKILL\); stopped the other 3 processes \((.*)\)", err)
    assert found, err
    dead, pid, others = found.groups()
    assert dead.split()[0] == victim and int(pid) == target
    assert sorted(others.split(", ") + [dead]) == ["scheduler", "server 0", "worker 0",
                                                   "worker 1"]
    assert proc.returncode == 128 + 9
    assert not [pid for pids in children.values() for pid in pids if alive(pid)]


@pytest.mark.slow
def test_a_failing_worker_ends_the_job_before_training(tmp_path):
    """A worker that exits with an error (here at once): the scheduler and the server, which
    would wait for it forever, are stopped, and the launcher exits with its status."""
    proc = start_launcher("-n", "2", "-s", "1", "--launcher", "local", "--grace", "5",
                          sys.executable, "-c", "import sys; sys.exit(3)")
    try:
        _, err = finish(proc, timeout=120)
    finally:
        stop_if_running(proc)
    assert proc.returncode == 3, err
    assert re.search(r"gluoncnn launch: worker [01] \(pid \d+\) exited with code 3; stopped "
                     r"the other [23] processes \(scheduler, server 0", err), err


def test_dist_env_keeps_a_one_machine_job_on_loopback():
    env = dist_env("worker", 9000, num_workers=2, num_servers=1, base={})
    assert env == {"DMLC_ROLE": "worker", "DMLC_PS_ROOT_URI": "127.0.0.1",
                   "DMLC_PS_ROOT_PORT": "9000", "DMLC_NUM_SERVER": "1", "DMLC_NUM_WORKER": "2",
                   "DMLC_NODE_HOST": "127.0.0.1"}
    remote = dist_env("server", 9000, 2, 2, root_uri="10.0.0.1", base={})
    assert "DMLC_NODE_HOST" not in remote
    assert dist_env("server", 9000, 2, 2, "10.0.0.1", base={},
                    node_host="10.0.0.2")["DMLC_NODE_HOST"] == "10.0.0.2"


@pytest.mark.parametrize("argv, message", [
    (["-n", "2", "--launcher", "local"], "no command given"),
    (["-n", "0", "--launcher", "local", "python"], "-n must be at least 1"),
    (["-n", "2", "-s", "0", "--launcher", "local", "python"], "-s must be at least 1"),
    (["-n", "2", "--launcher", "ssh", "python"], "--launcher ssh needs -H HOSTFILE"),
    (["-n", "2", "-H", "/nonexistent/hosts", "python"], "cannot read the hostfile"),
    (["-n", "2", "--env-worker", "OMP_NUM_THREADS", "--launcher", "local", "python"],
     "write NAME:VALUE"),
])
def test_launcher_refuses_bad_options_before_starting_anything(argv, message):
    with pytest.raises(OptionError, match=re.escape(message)):
        launch(argv)


@pytest.mark.slow
def test_timeout_stops_the_whole_job():
    proc = start_launcher("-n", "2", "-s", "1", "--launcher", "local", "--grace", "5",
                          "--timeout", "5", sys.executable, "-c", "import time; time.sleep(600)")
    try:
        _, err = finish(proc, timeout=120)
    finally:
        stop_if_running(proc)
    assert proc.returncode == 124, err
    assert ("gluoncnn launch: the job ran past --timeout 5 s; stopped its 4 processes still "
            "running (scheduler, server 0, worker 0, worker 1)") in err


@pytest.mark.slow
def test_a_killed_launcher_leaves_no_process_behind(tmp_path):
    """kill -9 of the launcher itself: its children get SIGTERM from the kernel (Linux's
    parent-death signal) instead of waiting forever."""
    proc = start_launcher("-n", "2", "-s", "1", "--launcher", "local",
                          sys.executable, WORKER, str(tmp_path), "lenet", "100000")
    try:
        wait_until_both_workers_train(proc, tmp_path)
        children = [pid for pids in job_children(proc.pid).values() for pid in pids]
        assert len(children) == 4
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = [pid for pid in children if alive(pid)]
    finally:
        stop_if_running(proc)
    for pid in left:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert not left


# ------------------------------------------------------------------------------ issue 30
def test_the_launcher_blames_the_worker_whose_failure_ended_the_job(capsys):
    """Issue 30: worker 0 refused its --out, the server aborted right after it ('init 0
    first'), and the launcher, finding both ended at one poll, blamed the server (exit 134)."""
    from gluoncnn.launcher import Child, watch
    env = child_env()
    children = [Child("scheduler", 0, [sys.executable, "-c", "import time; time.sleep(60)"],
                      env),
                Child("server", 0, [sys.executable, "-c", "raise SystemExit(134)"], env),
                Child("worker", 0, [sys.executable, "-c", "raise SystemExit(2)"], env)]
    for child in children[1:]:
        child.popen.wait(timeout=60)
    assert watch(children, grace=5) == 2
    err = capsys.readouterr().err
    assert re.search(r"gluoncnn launch: worker 0 \(pid \d+\) exited with code 2; stopped the "
                     r"other 1 process \(scheduler\)", err), err


@pytest.mark.slow
def test_workers_refuse_a_folder_holding_a_run_before_joining(tmp_path):
    """Issue 30: into a folder holding a finished run, worker 0 refused after joining the job
    and the others hung in broadcast; now every worker refuses before it joins, says why, and
    the launcher ends the job with the worker's status."""
    import json
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"settings": {"model": "lenet",
                                                           "dataset": "fashion-mnist"},
                                              "status": "finished"}))
    before = (run / "run.json").read_bytes()
    proc = start_launcher("-n", "2", "-s", "1", "--launcher", "local", "--grace", "5",
                          sys.executable, "-m", "gluoncnn", "train", "--model", "lenet",
                          "--sample", "--kvstore", "dist_sync", "--epochs", "1",
                          "--max-batches", "1", "--out", str(run))
    try:
        _, err = finish(proc, timeout=120)
    finally:
        stop_if_running(proc)
    assert proc.returncode == 2, err
    assert "gluoncnn: error: " in err and "holds a run" in err, err
    assert re.search(r"gluoncnn launch: worker [01] \(pid \d+\) exited with code 2", err), err
    assert sorted(os.listdir(run)) == ["run.json"] and (run / "run.json").read_bytes() == before
