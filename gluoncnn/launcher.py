"""Start a distributed training job and watch every process of it: ``python -m gluoncnn.train
launch``.

A job is MXNet's parameter server (ps-lite): one scheduler, ``-s`` servers and ``-n`` workers,
each a process with its ``DMLC_*`` environment (:func:`dist_env`, also
``gluoncnn.train.dist_env``). The workers run the command (``gluoncnn train ... --kvstore
dist_sync``); the scheduler and the servers run ``python -c "import mxnet"``, which serves until
the workers are done.

Why not MXNet's own launcher (``tools/launch.py``, the dmlc tracker) alone: it waits on the
scheduler and nothing else. When a worker or a server dies, the others wait forever, because
ps-lite's barriers and synchronous pushes have no timeout (see "ps-lite's own timeouts" below),
and so does the launcher, without a word. This launcher starts the same processes with the same
environment and polls all of them: the first one that ends badly (an exit code other than 0
or a signal) makes it stop the others (SIGTERM, then SIGKILL after ``--grace`` seconds) and
say what died, e.g.::

    gluoncnn launch: worker 1 (pid 4242) died with signal 9 (SIGKILL); stopped the other 3
    processes (scheduler, server 0, worker 0)

and it exits with that process's status (128 + the signal number for a signal). When every
worker has finished, the scheduler and the servers have ``--grace`` seconds to exit on their own.

``--launcher local`` runs every process on this machine, on the loopback interface.
``--launcher ssh -H HOSTFILE`` places servers and workers on the hosts round-robin, as MXNet's
launcher does, each through ``ssh -tt`` (a terminal per process, so that stopping the ``ssh``
here hangs up, and so ends, the process there); the scheduler runs here. Other MXNet launchers
(``mpi``, ``sge``, ``yarn``) are handed to MXNet's ``tools/launch.py`` unchanged, unwatched.

ps-lite's own timeouts (the ps-lite inside mxnet 1.9.1, dmlc/ps-lite 34fd45c), for processes
started by hand with the ``DMLC_*`` variables. By default there are none: every wait is
forever.

- ``PS_RESEND=1`` (``PS_RESEND_TIMEOUT`` in milliseconds, default 1000): a message that is not
  acknowledged is sent again after 1, 2, ... timeouts, and at the tenth retry the process
  aborts ("Check failed: it.second.num_retry < max_num_retry_ (10 vs. 10)"), i.e. about ten
  timeouts after the peer died. Measured on 127.0.0.1 (2 workers, 1 server, timeout 1 s): with
  the server killed, both workers aborted 10-11 s later; with a worker killed, the server
  aborted 11 s later (its answer to the dead worker went unacknowledged) but the other worker,
  whose push the server had acknowledged before dying, and the scheduler waited on (for good).
  On a loaded machine a late acknowledgement is resent too ("Duplicated message" warnings),
  so give a timeout well above the longest stall, e.g. ``PS_RESEND_TIMEOUT=10000``.
- ``PS_HEARTBEAT_INTERVAL`` (seconds, default 0 = off) makes servers and workers send
  heartbeats to the scheduler, and ``PS_HEARTBEAT_TIMEOUT`` (seconds, default 0 = off) is how
  old a heartbeat may be before ps-lite counts a node dead. ps-lite only *counts* dead nodes
  (for MXNet's ``get_num_dead_node`` and to let a restarted node take a dead one's place); it
  stops nothing. With ``PS_RESEND=1`` the heartbeats do give every server and worker a
  message to the scheduler that goes unanswered when the scheduler dies, so they abort then.

So only a watcher that knows every process ends every job with a dead member: this
launcher.
"""
import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

from .errors import OptionError

POLL_SECONDS = 0.2
#: Environment variables passed to remote processes when they are set here (as MXNet's
#: launcher does), besides the DMLC_* ones, ``--env`` names and ``--env-server/-worker`` pairs.
PASSED_ENV = ("OMP_NUM_THREADS", "KMP_AFFINITY", "LD_LIBRARY_PATH", "DMLC_INTERFACE",
              "PS_VERBOSE", "PS_RESEND", "PS_RESEND_TIMEOUT", "PS_HEARTBEAT_INTERVAL",
              "PS_HEARTBEAT_TIMEOUT", "MXNET_KVSTORE_BIGARRAY_BOUND")
UNWATCHED_LAUNCHERS = ("mpi", "sge", "yarn")


def _death_signal_setter():
    """On Linux, a function that asks the kernel to send the calling process SIGTERM when its
    parent (the launcher) dies; elsewhere None. Looked up here, in the parent: a child between
    fork and exec should only call it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    PR_SET_PDEATHSIG = 1
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """One process of the job: its role, its number among that role, the host it runs on."""

    def __init__(self, role, index, argv, env, host=None):
        self.role, self.index, self.host = role, index, host
        self.name = role if role == "scheduler" else f"{role} {index}"
        # a session of its own: stopping it stops what it started too (a shell, ssh's children);
        # and SIGTERM when the launcher dies, even by kill -9, so nothing is left waiting. (The
        # launcher starts no thread, so preexec_fn is safe.)
        self.popen = subprocess.Popen(argv, env=env, start_new_session=True,
                                      preexec_fn=_death_signal_setter())  # noqa: PLW1509
        self.pid = self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def how_it_ended(self):
        code = self.popen.returncode
        if code is None:
            return "is running"
        if code < 0:
            return f"died with signal {-code} ({signal.Signals(-code).name})"
        return f"exited with code {code}"

    def signal(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def __str__(self):
        where = f" on {self.host}" if self.host else ""
        return f"{self.name} (pid {self.pid}{where})"


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m gluoncnn.train launch",
        description="Start a distributed job (MXNet's ps-lite: a scheduler, servers, workers) "
                    "and stop all of it, saying what died, as soon as one process fails.")
    p.add_argument("-n", "--num-workers", type=int, required=True,
                   help="number of worker processes")
    p.add_argument("-s", "--num-servers", type=int,
                   help="number of server processes (default: as many as workers)")
    p.add_argument("-H", "--hostfile",
                   help="file listing the machines, one 'host[:ssh_port]' a line (ssh launcher)")
    p.add_argument("--launcher", choices=("local", "ssh") + UNWATCHED_LAUNCHERS,
                   help="local (this machine, loopback), ssh (the hosts of -H) or one of "
                        "MXNet's unwatched mpi/sge/yarn (default: ssh with -H, else local)")
    p.add_argument("--host-ip", help="this machine's address as the other hosts reach it "
                                     "(ssh launcher; default: the address of its default route)")
    p.add_argument("--port", type=int, help="the scheduler's port (default: a free one)")
    p.add_argument("--python", default=sys.executable,
                   help="the Python that runs the scheduler and the servers "
                        "(default: this one, at the same path on every host)")
    p.add_argument("--env", action="append", default=[], metavar="NAME",
                   help="pass this environment variable to every remote process (repeatable)")
    p.add_argument("--env-server", action="append", default=[], metavar="NAME:VALUE",
                   help="set a variable for the servers (repeatable)")
    p.add_argument("--env-worker", action="append", default=[], metavar="NAME:VALUE",
                   help="set a variable for the workers (repeatable)")
    p.add_argument("--grace", type=float, default=10.0, metavar="SECONDS",
                   help="how long stopped processes get before SIGKILL, and how long the "
                        "scheduler and servers get to exit after the workers (default: 10)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="stop the whole job after this long (default: no limit)")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="what each worker runs, e.g. gluoncnn train --model lenet "
                        "--kvstore dist_sync")
    return p


def _pairs(items, option):
    out = {}
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name:
            raise OptionError(f"{option} {item!r}: write NAME:VALUE, e.g. {option} "
                              f"OMP_NUM_THREADS:4")
        out[name] = value
    return out


def _read_hostfile(path):
    try:
        with open(path) as f:
            lines = [line.split("slots=")[0].strip() for line in f]
    except OSError as err:
        raise OptionError(f"cannot read the hostfile {path!r}: {err.strerror}; list the "
                          f"machines one 'host[:ssh_port]' a line") from None
    hosts = []
    for line in lines:
        if line and not line.startswith("#"):
            host, _, port = line.partition(":")
            hosts.append((host, port or "22"))
    if not hosts:
        raise OptionError(f"the hostfile {path!r} lists no host; write one 'host[:ssh_port]' "
                          f"a line")
    return hosts


def _check(args):
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        raise OptionError("no command given; put the workers' command last, e.g. "
                          "... launch -n 2 -s 1 --launcher local gluoncnn train --model lenet "
                          "--kvstore dist_sync")
    if args.num_workers < 1:
        raise OptionError(f"-n must be at least 1 worker, got {args.num_workers}")
    if args.num_servers is None:
        args.num_servers = args.num_workers
    if args.num_servers < 1:
        raise OptionError(f"-s must be at least 1 server, got {args.num_servers}")
    if args.launcher is None:
        args.launcher = "ssh" if args.hostfile else "local"
    if args.launcher == "ssh" and not args.hostfile:
        raise OptionError("--launcher ssh needs -H HOSTFILE (the machines, one a line); "
                          "use --launcher local to run everything on this machine")
    if args.grace <= 0 or (args.timeout is not None and args.timeout <= 0):
        raise OptionError("--grace and --timeout are positive numbers of seconds")
    return args


def _free_port(address):
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _own_address():
    """The address of this machine's default route (no packet is sent), as the dmlc tracker
    guesses it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        return s.getsockname()[0]


def _address(host):
    """``host``'s IP address: ps-lite binds to ``DMLC_NODE_HOST`` as given, and ZeroMQ binds to
    addresses only, not names."""
    try:
        return socket.gethostbyname(host)
    except OSError:
        raise OptionError(f"cannot find the address of {host!r} (from the hostfile); write its "
                          f"IP address instead") from None


def dist_env(role, root_port, num_workers, num_servers=1, root_uri="127.0.0.1", base=None,
             node_host=None):
    """The environment a ps-lite process needs: ``role`` is 'scheduler', 'server' or 'worker'.

    Every process (on every machine) gets the same ``DMLC_PS_ROOT_URI``/``PORT`` (the scheduler's
    address) and counts; then workers run the training script with ``fit(...,
    kvstore='dist_sync')``, servers and the scheduler run ``python -c "import mxnet"``.
    ``node_host`` (``DMLC_NODE_HOST``) is the address this process listens on; by default
    127.0.0.1 when the scheduler is on a loopback address, so that a one-machine job stays on
    the loopback interface (ps-lite otherwise picks the first non-loopback interface), and
    ps-lite's own choice (or ``DMLC_INTERFACE``) otherwise.
    """
    env = dict(os.environ if base is None else base)
    env.update(DMLC_ROLE=role, DMLC_PS_ROOT_URI=str(root_uri), DMLC_PS_ROOT_PORT=str(root_port),
               DMLC_NUM_SERVER=str(num_servers), DMLC_NUM_WORKER=str(num_workers))
    if node_host is None and str(root_uri) in ("127.0.0.1", "localhost"):
        node_host = "127.0.0.1"
    if node_host is not None:
        env["DMLC_NODE_HOST"] = str(node_host)
    return env



def _plan(args):
    """``[(role, index, host, argv, env)]`` of every process: the scheduler first, then the
    servers, then the workers."""
    serve = [args.python, "-c", "import mxnet"]
    extra = {"server": _pairs(args.env_server, "--env-server"),
             "worker": _pairs(args.env_worker, "--env-worker"), "scheduler": {}}
    if args.launcher == "local":
        root = "127.0.0.1"
        port = args.port or _free_port(root)
        plan = []
        for role, count in (("scheduler", 1), ("server", args.num_servers),
                            ("worker", args.num_workers)):
            for i in range(count):
                env = dist_env(role, port, args.num_workers, args.num_servers, root)
                env.update(extra[role])
                plan.append((role, i, None, serve if role != "worker" else args.command, env))
        return plan

    hosts = _read_hostfile(args.hostfile)
    root = args.host_ip or _own_address()
    port = args.port or _free_port("")
    scheduler_env = dist_env("scheduler", port, args.num_workers, args.num_servers, root)
    plan = [("scheduler", 0, None, serve, scheduler_env)]
    passed = [k for k in PASSED_ENV + tuple(args.env) if k in os.environ]
    cwd = os.getcwd()
    # servers first, then workers, round-robin over the hosts (MXNet's ssh launcher's order)
    roles = [("server", i) for i in range(args.num_servers)] + \
            [("worker", i) for i in range(args.num_workers)]
    for n, (role, i) in enumerate(roles):
        host, ssh_port = hosts[n % len(hosts)]
        env = dist_env(role, port, args.num_workers, args.num_servers, root, base={},
                       node_host=_address(host))
        env.update({k: os.environ[k] for k in passed})
        env.update(extra[role])
        remote = (f"cd {shlex.quote(cwd)} && env "
                  + " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items())) + " "
                  + shlex.join(serve if role != "worker" else args.command))
        argv = ["ssh", "-tt", "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes",
                "-p", ssh_port, host, remote]
        plan.append((role, i, host, argv, dict(os.environ)))
    return plan


def _say(message):
    print(f"gluoncnn launch: {message}", file=sys.stderr, flush=True)


def _names(children):
    return ", ".join(c.name for c in children)


def _count(children):
    return f"{len(children)} process" + ("" if len(children) == 1 else "es")


def _stop(children, grace):
    """SIGTERM to every running child, SIGKILL to those still running after ``grace``."""
    running = [c for c in children if c.running()]
    for c in running:
        c.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(c.running() for c in running) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    for c in running:
        if c.running():
            c.signal(signal.SIGKILL)
    for c in running:
        c.popen.wait()
    return running


def _status(child):
    code = child.popen.returncode
    return 128 - code if code < 0 else code


#: Who is blamed when several processes are found ended at one poll: a worker's own failure
#: (e.g. 'gluoncnn train' refusing its --out) makes the server abort right after it ("init 0
#: first"), never the other way round within a poll.
_BLAME_ORDER = {"worker": 0, "server": 1, "scheduler": 2}


def _first_failure(children):
    """The child that ended with a non-zero status or a signal, a worker first when several
    did (see :data:`_BLAME_ORDER`). (A scheduler or server that exits with 0 is not one: they
    do so as soon as every worker has released its kvstore, which may be long before the
    workers' last evaluation and saving are done.)"""
    failed = [c for c in children if not c.running() and c.popen.returncode != 0]
    return min(failed, key=lambda c: _BLAME_ORDER.get(c.role, 3), default=None)


def watch(children, grace, timeout=None):
    """Poll ``children`` until the job ends; return the launcher's exit status."""
    start = time.monotonic()
    while True:
        failed = _first_failure(children)
        if failed is not None:
            stopped = _stop(children, grace)
            others = (f"stopped the other {_count(stopped)} ({_names(stopped)})"
                      if stopped else "no other process was still running")
            _say(f"{failed} {failed.how_it_ended()}; {others}")
            return _status(failed) or 1
        workers = [c for c in children if c.role == "worker"]
        if not any(c.running() for c in workers):
            return _wait_for_servers(children, grace)
        if timeout is not None and time.monotonic() - start > timeout:
            stopped = _stop(children, grace)
            _say(f"the job ran past --timeout {timeout:g} s; stopped its {_count(stopped)} still "
                 f"running ({_names(stopped)})")
            return 124
        time.sleep(POLL_SECONDS)


def _wait_for_servers(children, grace):
    """Every worker finished well: the scheduler and servers now exit by themselves."""
    deadline = time.monotonic() + grace
    while any(c.running() for c in children) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    failed = [c for c in children if not c.running() and c.popen.returncode != 0]
    late = _stop(children, grace)
    if late:
        _say(f"the workers finished, but {_names(late)} did not exit within {grace:g} s; "
             f"stopped {'it' if len(late) == 1 else 'them'}")
        return 1
    if failed:
        _say(f"the workers finished, but {failed[0]} {failed[0].how_it_ended()}")
        return _status(failed[0]) or 1
    return 0


def _run_mxnet_launcher(argv):
    """MXNet's tools/launch.py as it is (the dmlc tracker calls Thread.isAlive, which
    Python 3.9 removed: the old name is put back)."""
    import runpy
    import threading

    import mxnet as mx
    if not hasattr(threading.Thread, "isAlive"):
        threading.Thread.isAlive = threading.Thread.is_alive
    path = os.path.join(os.path.dirname(mx.__file__), "tools", "launch.py")
    saved = sys.argv
    sys.argv = [path] + list(argv)
    try:
        runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv = saved
    return 0


def launch(argv):
    """Run a job from launcher arguments (``-n 2 -s 1 --launcher local COMMAND...``); return
    the exit status: 0 when every worker finished well, else the status of what died (see
    the module's docstring)."""
    args = _check(_parser().parse_args(list(argv)))
    if args.launcher in UNWATCHED_LAUNCHERS:
        _say(f"--launcher {args.launcher} is MXNet's own launcher: a process that dies is not "
             f"detected, the others may wait forever")
        return _run_mxnet_launcher(argv)
    children = []
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for role, i, host, cmd, env in _plan(args):
            children.append(Child(role, i, cmd, env, host))
        return watch(children, args.grace, args.timeout)
    except KeyboardInterrupt:
        stopped = _stop(children, args.grace)
        _say(f"interrupted; stopped {_count(stopped)} ({_names(stopped)})")
        return 130
    except BaseException:
        _stop(children, args.grace)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    try:
        return launch(sys.argv[1:] if argv is None else argv)
    except OptionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
