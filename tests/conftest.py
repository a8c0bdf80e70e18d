"""Fixtures shared by the test files: the real datasets, an empty working folder per test, and
a guard against network access."""
import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir():
    """``$GLUONCNN_DATA`` if set, else ``shared/data`` beside the repository (the course layout)."""
    env = os.environ.get("GLUONCNN_DATA", "").strip()
    return Path(env).expanduser() if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """The folder holding the real ``fashion-mnist/`` and ``mnist/``; skips the test without it."""
    path = shared_data_dir()
    missing = [name for name in ("fashion-mnist", "mnist") if not (path / name).is_dir()]
    if missing:
        pytest.skip(f"real datasets not found: {', '.join(missing)} missing in {path}; set "
                    f"GLUONCNN_DATA to a folder holding fashion-mnist/ and mnist/ "
                    f"(the course's shared/data)")
    return path


@pytest.fixture()
def benchmark_script(monkeypatch):
    """``benchmark_script("epoch")``: ``benchmarks/epoch.py`` as a module, loaded with its folder
    on ``sys.path`` (the scripts import ``argtypes`` and each other beside them); every module
    loaded from that folder is forgotten after the test."""
    import importlib
    import sys
    folder = REPO / "benchmarks"
    names = {path.stem for path in folder.glob("*.py")}
    monkeypatch.syspath_prepend(str(folder))
    yield importlib.import_module
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture(autouse=True, scope="session")
def _own_speed_cache(tmp_path_factory):
    """What fit measures (threads, precision) goes to a cache of this test session, never the
    user's: tests do not depend on what an earlier run on this machine measured. Child processes
    inherit it, so a run and its resumed run in two processes train with the same choice."""
    os.environ["GLUONCNN_CACHE_DIR"] = str(tmp_path_factory.mktemp("gluoncnn-cache"))
    yield


@pytest.fixture(autouse=True)
def _in_a_folder_of_its_own(tmp_path_factory, monkeypatch):
    """Every test runs in an empty working folder of its own (not its ``tmp_path``): what the
    checkout holds (``make run``'s ``runs/lenet-fashion-mnist``, a user's files) changes no
    test, and a relative path a test or the CLI writes (``--out``'s default) lands there."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def _never_download(monkeypatch):
    """No test downloads data, even if the developer's shell has GLUONCNN_DOWNLOAD=1."""
    monkeypatch.delenv("GLUONCNN_DOWNLOAD", raising=False)


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test at once if anything opens a network connection or calls MXNet's downloader.

    Yields the list of attempts (empty when the test passes)."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:2])
        pytest.fail(f"network access attempted: {args[:2]!r}")

    import mxnet.gluon.utils
    monkeypatch.setattr(mxnet.gluon.utils, "download", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
