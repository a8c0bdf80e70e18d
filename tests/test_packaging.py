"""What `pip install` gives a user: the metadata, the extras, the sdist, and the one clear error
when MXNet is missing.

The fresh-venv checks that need the network (`pip install -e .`, `.[cpu]`, `.[cpu,notebooks,
test]`) are documented commands in the README ("Installing"); these tests check, offline, the
facts those installs rest on.
"""
import ast
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
EXTRAS = PROJECT["optional-dependencies"]


def requirements(*extras):
    """The requirements of ``extras``, with the package's own extras they name
    (``gluoncnn[onnx,tensorboard]``) expanded into theirs."""
    found = []
    for line in (line for extra in extras for line in EXTRAS[extra]):
        req = Requirement(line)
        if canonicalize_name(req.name) == PROJECT["name"]:
            found += requirements(*sorted(req.extras))
        else:
            found.append(req)
    return found


def names(*extras):
    return {canonicalize_name(req.name) for req in requirements(*extras)}


def pins(filename):
    """``name -> version`` of a requirements file's ``name==version`` lines."""
    found = {}
    for line in (REPO / filename).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{filename}: {line} is not an exact pin"
            found[canonicalize_name(req.name)] = spec.version
    return found


# ------------------------------------------------------------------------------------------
# Metadata and extras
# ------------------------------------------------------------------------------------------
def test_requires_python_is_what_numpy_1_23_and_the_build_backend_install_on():
    spec = SpecifierSet(PROJECT["requires-python"])
    # numpy 1.23.5 (MXNet 1.9.1 needs < 1.24) has wheels for CPython 3.8-3.11 only, and the
    # build backend (setuptools >= 77) needs 3.9: a 3.12 must stop at pip's version check.
    assert [v for v in ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13") if v in spec] \
        == ["3.9", "3.10", "3.11"]
    assert any(r.startswith("setuptools>=77") for r in PYPROJECT["build-system"]["requires"])


def test_license_metadata_is_an_spdx_expression_with_its_files():
    assert PROJECT["license"] == "Apache-2.0 AND MIT"
    for name in PROJECT["license-files"]:
        assert (REPO / name).is_file(), name
    text = (REPO / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text      # the full text, not a notice


def test_extras_install_what_their_names_promise():
    assert [str(r) for r in requirements("cpu")] == ["mxnet==1.9.1"]
    gpu = [str(r) for r in requirements("gpu")]
    assert gpu[0] == "mxnet-cu112==1.9.1"
    assert "nvidia-cudnn-cu11<9,>=8.5" in gpu   # MXNet 1.9.1 links libcudnn.so.8
    assert {"jupyterlab", "ipywidgets", "nbval"} <= names("notebooks")
    assert {"pytest", "nbval", "onnx", "onnxruntime", "tensorboardx", "ruff", "d2l"} \
        <= names("test")
    assert [str(r) for r in requirements("bench")] == ["torch==2.13.0"]
    assert [str(r) for r in requirements("onnx")] == ["onnx<1.16,>=1.10", "onnxruntime"]
    assert [str(r) for r in requirements("tensorboard")] == ["tensorboardX"]
    assert names("all") == names("onnx", "tensorboard", "notebooks")
    assert names("onnx", "tensorboard") <= names("test")
    numpy = [Requirement(r) for r in PROJECT["dependencies"] if r.startswith("numpy")]
    assert numpy and "1.23.5" in numpy[0].specifier and "1.24.0" not in numpy[0].specifier
    # Only the [cpu]/[gpu] extras name MXNet, so '.[gpu,test]' never pulls the CPU wheel.
    for extra, reqs in EXTRAS.items():
        if extra not in ("cpu", "gpu"):
            assert not any(Requirement(r).name.startswith("mxnet") for r in reqs), extra


def test_requirements_txt_pins_every_extra_within_its_range():
    pinned = pins("requirements.txt")
    for req in [Requirement(r) for r in PROJECT["dependencies"]] \
            + requirements("cpu", "notebooks", "test"):
        name = canonicalize_name(req.name)
        assert name in pinned, f"requirements.txt does not pin {req.name} (from pyproject.toml)"
        assert req.specifier.contains(pinned[name], prereleases=True), \
            f"requirements.txt pins {name}=={pinned[name]}, outside pyproject's {req}"


def test_gpu_set_brings_the_wheel_of_every_cuda_library_the_loader_loads():
    from gluoncnn.cuda_libs import CUDA_LIBRARIES
    wheels = {canonicalize_name(library.wheel) for library in CUDA_LIBRARIES}
    assert names("gpu") == wheels | {"mxnet-cu112"}
    pinned = pins("requirements-gpu.txt")
    assert wheels | {"mxnet-cu112"} <= set(pinned)
    for req in requirements("gpu"):
        name = canonicalize_name(req.name)
        assert req.specifier.contains(pinned[name]), \
            f"requirements-gpu.txt pins {name}=={pinned[name]}, outside pyproject's {req}"


# ------------------------------------------------------------------------------------------
# Every third-party import of the package and the tests comes from a declared requirement
# ------------------------------------------------------------------------------------------
def _imported_top_modules(paths):
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def _closure(reqs):
    """The distributions ``reqs`` install, following the installed ones' own requirements."""
    todo, seen = list(reqs), set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in importlib.metadata.requires(req.name) or []]
        except importlib.metadata.PackageNotFoundError:
            pass
    return seen


@pytest.mark.skipif(sys.version_info < (3, 10), reason="needs sys.stdlib_module_names (3.10)")
def test_every_third_party_import_is_declared_by_the_package_or_its_test_extra():
    files = [*REPO.glob("gluoncnn/**/*.py"), *REPO.glob("tests/*.py")]
    local = {"gluoncnn", *(p.stem for p in REPO.glob("tests/*.py")),
             *(p.stem for p in REPO.glob("benchmarks/*.py")),
             "tomllib", "tomli"}        # tomllib is stdlib from 3.11; tomli is its 3.10 backport
    third_party = _imported_top_modules(files) - set(sys.stdlib_module_names) - local
    declared = _closure([Requirement(r) for r in PROJECT["dependencies"]]
                        + requirements("cpu", "test"))
    providers = importlib.metadata.packages_distributions()
    missing = {module: providers.get(module) for module in third_party
               if not {canonicalize_name(d) for d in providers.get(module, [])} & declared}
    assert not missing, f"imported but not installed by '.[cpu,test]': {missing}"


# ------------------------------------------------------------------------------------------
# The sdist is the repository
# ------------------------------------------------------------------------------------------
def _tracked_files():
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: the sdist is compared with the tracked files")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    return sorted(name for name in out.stdout.decode().split("\0") if name)


def test_sdist_holds_every_tracked_file_and_the_license_metadata(tmp_path):
    """Builds the sdist offline with the installed setuptools, as `python -m build --sdist
    --no-isolation` would: `pip install 'setuptools>=77'` (in the [test] extra) for it."""
    setuptools_version = importlib.metadata.version("setuptools")
    if int(setuptools_version.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools_version} < 77 cannot read the SPDX license; "
                    f"pip install 'setuptools>=77'")
    tracked = _tracked_files()
    source = tmp_path / "src"
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    build = textwrap.dedent("""
        import sys
        from setuptools import build_meta
        print(build_meta.build_sdist(sys.argv[1]))
    """)
    done = subprocess.run([sys.executable, "-c", build, str(tmp_path / "dist")], cwd=source,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SetuptoolsDeprecationWarning" not in done.stderr, done.stderr
    sdist = tmp_path / "dist" / done.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tar:
        prefix = sdist.name[:-len(".tar.gz")] + "/"
        members = {m.name[len(prefix):] for m in tar.getmembers() if m.isfile()}
        pkg_info = tar.extractfile(prefix + "PKG-INFO").read().decode()
    missing = sorted(set(tracked) - {".gitignore"} - members)
    assert not missing, f"tracked files left out of the sdist (MANIFEST.in): {missing}"
    assert "tests/conftest.py" in members and "LICENSE" in members
    assert not [m for m in members if "__pycache__" in m or m.endswith(".pyc")]
    assert "License-Expression: Apache-2.0 AND MIT" in pkg_info
    assert "License-File: LICENSE" in pkg_info
    assert "Requires-Python: <3.12,>=3.9" in pkg_info
    assert "Provides-Extra: cpu" in pkg_info and "Provides-Extra: test" in pkg_info


# ------------------------------------------------------------------------------------------
# Without MXNet: one clear message
# ------------------------------------------------------------------------------------------
HIDE_MXNET = '''\
"""Hides MXNet from this interpreter, as on a machine where `pip install -e .` ran alone."""
import sys


class _WithoutMXNet:
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name == "mxnet" or name.startswith("mxnet."):
            return None
        find_spec = getattr(self.finder, "find_spec", None)
        return find_spec(name, path, target) if find_spec else None

    def __getattr__(self, attr):
        return getattr(self.finder, attr)


sys.meta_path[:] = [_WithoutMXNet(finder) for finder in sys.meta_path]
'''


@pytest.fixture
def without_mxnet(tmp_path):
    """Runs Python code or `python -m gluoncnn` in a subprocess that cannot import MXNet."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(HIDE_MXNET)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), str(REPO)]),
               MPLBACKEND="Agg")

    def run(*args):
        return subprocess.run([sys.executable, *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    return run


def _mxnet_error_class():
    import gluoncnn.errors
    if not hasattr(gluoncnn.errors, "MXNetUnavailableError"):
        pytest.skip("gluoncnn.errors.MXNetUnavailableError is not in this tree yet (it comes "
                    "with the import-error work of issue 17)")
    return gluoncnn.errors.MXNetUnavailableError


def test_the_blocker_really_hides_mxnet(without_mxnet):
    done = without_mxnet("-c", "import mxnet")
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'mxnet'" in done.stderr


def test_get_model_without_mxnet_names_the_two_wheels_and_doctor(without_mxnet):
    _mxnet_error_class()
    code = textwrap.dedent("""
        import json
        import gluoncnn                          # importing works without MXNet
        from gluoncnn.errors import GluonCNNError, MXNetUnavailableError
        try:
            gluoncnn.get_model("lenet")
        except MXNetUnavailableError as err:
            print(json.dumps({"message": str(err),
                              "gluoncnn_error": isinstance(err, GluonCNNError)}))
    """)
    done = without_mxnet("-c", code)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["gluoncnn_error"]
    for needed in ("mxnet==1.9.1", "mxnet-cu112==1.9.1", "gluoncnn doctor"):
        assert needed in result["message"]


def test_cli_without_mxnet_prints_one_line_and_exits_2(without_mxnet):
    _mxnet_error_class()
    done = without_mxnet("-m", "gluoncnn", "summary", "lenet")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "internal error" not in lines[0]
    for needed in ("mxnet==1.9.1", "mxnet-cu112==1.9.1", "gluoncnn doctor"):
        assert needed in lines[0]


def test_doctor_without_mxnet_says_what_failed(without_mxnet):
    done = without_mxnet("-m", "gluoncnn", "doctor")
    assert done.returncode != 0
    assert "FAIL" in done.stdout and "MXNet" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    # the fix names the extras, which a user of the wheel has (requirements.txt is the clone's)
    mxnet = done.stdout[done.stdout.index("MXNet"):]
    mxnet = mxnet[:mxnet.index("\n", mxnet.index("pip install"))]
    assert "pip install 'gluoncnn[cpu]'" in mxnet and "pip install 'gluoncnn[gpu]'" in mxnet
    assert "requirements" not in mxnet


def test_every_extra_an_install_hint_names_exists():
    """``runtime.install_extra('onnx')`` and its kind name extras of pyproject.toml."""
    import re

    from gluoncnn.runtime import install_extra
    assert install_extra("onnx") == "pip install 'gluoncnn[onnx]'"
    named = set()
    for path in REPO.glob("gluoncnn/**/*.py"):
        for args in re.findall(r"install_extra\(([^)]*)\)", path.read_text()):
            named |= set(re.findall(r"['\"](\w+)['\"]", args))
    assert {"cpu", "gpu", "onnx", "tensorboard"} <= named
    assert named <= set(EXTRAS)


def test_messages_for_a_missing_optional_package_name_its_extra(monkeypatch):
    from gluoncnn.errors import OptionError
    from gluoncnn.export import ExportError, check_onnx, export_onnx
    from gluoncnn.train.tensorboard import summary_writer_class
    for module in ("tensorboardX", "onnx", "onnxruntime"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(OptionError, match=r"pip install 'gluoncnn\[tensorboard\]'"):
        summary_writer_class()
    with pytest.raises(ExportError, match=r"pip install 'gluoncnn\[onnx\]'"):
        export_onnx("lenet", "x-symbol.json", "x-0000.params", (1, 28, 28), "x.onnx")
    assert check_onnx("x.onnx", None, None) == (
        None, "not run: onnxruntime is not installed (pip install 'gluoncnn[onnx]')")
