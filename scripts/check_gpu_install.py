"""Check the GPU install as far as a machine without a GPU can: ``make check-gpu``.

1. installs ``requirements-gpu.txt`` (``mxnet-cu112`` and the CUDA 11 libraries as NVIDIA's
   ``nvidia-*-cu11`` wheels, about 4.5 GB) and then gluoncnn itself (not editable) into a venv of
   its own outside the repository (``$TMPDIR/gluoncnn-gpu-check/venv``, kept for the next run;
   ``--fresh`` makes it anew);
2. loads the CUDA libraries as gluoncnn does (``import gluoncnn``: :mod:`gluoncnn.cuda_libs`)
   and checks that every library ``mxnet/libmxnet.so`` needs (``readelf -d``) then resolves, each
   CUDA one from the wheels, and only the driver's ``libcuda.so.1`` does not;
3. without a driver: ``gluoncnn doctor`` says the NVIDIA driver is missing, and importing MXNet
   through gluoncnn (``gluoncnn list`` too) fails with that one line;
4. builds a stand-in ``libcuda.so.1`` with gcc from the driver functions ``libmxnet.so`` calls
   (``nm -D --undefined-only``: the ``cu[A-Z]*`` symbols) plus ``cuInit`` and
   ``cuDriverGetVersion``, each answering ``CUDA_ERROR_NO_DEVICE`` (100), and with it on
   ``LD_LIBRARY_PATH`` checks that ``import mxnet`` of the GPU build succeeds, that MXNet sees
   0 GPUs (so ``gluoncnn train`` runs on the CPU), and that ``gluoncnn doctor`` fails on the
   driver alone, saying it is missing.

Not part of ``make test`` (the download is several GB); needs gcc, readelf and nm (binutils).
Prints each step and what it saw; exit status 0 when every check holds, 1 when one does not, 2
when the machine cannot run the check (no gcc, too little disk space).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "requirements-gpu.txt"
NEEDED_FREE_GB = 8  # the venv takes about 4.5 GB, pip's unpacking as much again at its peak
TOOLS = ("gcc", "readelf", "nm")
# What the package's build does not need (the sdist's files are all else).
TOP_LEVEL_LEFT_OUT = {".git", ".venv", "build", "runs", "gluoncnn.egg-info", "notebooks"}
NO_DEVICE = 100  # CUDA_ERROR_NO_DEVICE

# Run by the venv's Python, outside the repository: which of libmxnet.so's NEEDED libraries
# resolve once gluoncnn has loaded the wheels' libraries, and from where.
RESOLVE = textwrap.dedent("""
    import ctypes, importlib.util, json, os, subprocess, sys
    import gluoncnn                      # loads the CUDA libraries of the wheels (cuda_libs)
    from gluoncnn import cuda_libs
    lib = os.path.join(importlib.util.find_spec("mxnet").submodule_search_locations[0],
                       "libmxnet.so")
    dynamic = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True,
                             check=True).stdout
    def entries(tag):
        return [line.split("[", 1)[1].split("]", 1)[0] for line in dynamic.splitlines()
                if f"({tag})" in line]
    # libmxnet.so's own RPATH (${ORIGIN}: its libopenblas and libgfortran ship beside it)
    rpath = [folder.replace("${ORIGIN}", os.path.dirname(lib)).replace("$ORIGIN",
                                                                       os.path.dirname(lib))
             for entry in entries("RPATH") + entries("RUNPATH") for folder in entry.split(":")]
    resolved = {}
    for name in entries("NEEDED"):
        candidates = [name] + [os.path.join(folder, name) for folder in rpath]
        resolved[name] = None
        for candidate in candidates:
            try:   # already in the process (loaded by gluoncnn), else as the loader finds it
                handle = ctypes.CDLL(candidate, mode=os.RTLD_NOLOAD | ctypes.RTLD_GLOBAL)
            except OSError:
                try:
                    handle = ctypes.CDLL(candidate)
                except OSError:
                    continue
            resolved[name] = cuda_libs.loaded_path(handle)
            break
    print(json.dumps({"gluoncnn": gluoncnn.__file__, "libmxnet": lib, "needed": resolved,
                      "preloaded": [[e.library.soname, e.source, e.path]
                                    for e in cuda_libs.preload()]}))
""")

IMPORT = textwrap.dedent("""
    import json
    import gluoncnn
    from gluoncnn.errors import MXNetUnavailableError
    try:
        mx = gluoncnn.runtime.import_mxnet()
    except MXNetUnavailableError as error:
        print(json.dumps({"error": str(error)}))
    else:
        print(json.dumps({"version": mx.__version__,
                          "cuda": mx.runtime.Features().is_enabled("CUDA"),
                          "gpus": mx.context.num_gpus()}))
""")

IMPORT_WITHOUT_GLUONCNN = textwrap.dedent("""
    try:
        import mxnet
    except OSError as error:
        print(error)
    else:
        print("imported")
""")


class CheckFailed(Exception):
    """One of the checks does not hold."""


class CannotRun(Exception):
    """The machine cannot run the check (a tool or disk space missing)."""


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def expect(condition: bool, what: str) -> None:
    print(f"  {'ok  ' if condition else 'FAIL'}  {what}", flush=True)
    if not condition:
        raise CheckFailed(what)


def run(command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def make_venv(venv: Path, python: str, fresh: bool) -> None:
    """The venv with requirements-gpu.txt, reused while the file is unchanged, and gluoncnn
    installed from the repository (not editable: the installed package is what is checked)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    marker = venv / ".requirements-gpu.sha256"
    if fresh and venv.exists():
        shutil.rmtree(venv)
    if not (marker.exists() and marker.read_text() == digest):
        free = shutil.disk_usage(venv.parent).free / 1e9
        if free < NEEDED_FREE_GB:
            raise CannotRun(f"{free:.1f} GB free in {venv.parent}, the GPU set needs about "
                            f"{NEEDED_FREE_GB} GB: free space or set TMPDIR (or --venv) "
                            f"elsewhere")
        step(f"installing {REQUIREMENTS.name} into {venv} (several GB, minutes)")
        if not venv_python(venv).exists():
            subprocess.run([python, "-m", "venv", str(venv)], check=True)
        pip = [str(venv_python(venv)), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
        marker.write_text(digest)
    else:
        step(f"reusing {venv} ({REQUIREMENTS.name} unchanged; --fresh makes it anew)")
    with tempfile.TemporaryDirectory(prefix="gluoncnn-src-") as copy:
        # built from a copy, so that the build leaves nothing in the repository
        source = Path(copy) / "gluoncnn"
        shutil.copytree(REPO, source, ignore=lambda folder, names: [
            name for name in names if Path(folder) == REPO and name in TOP_LEVEL_LEFT_OUT])
        subprocess.run([str(venv_python(venv)), "-m", "pip", "install", "--quiet", "--no-deps",
                        "--no-build-isolation", "--force-reinstall", str(source)], check=True)
    versions = run([str(venv_python(venv)), "-m", "pip", "list", "--format=json"], check=True)
    wanted = {line.split("==")[0] for line in REQUIREMENTS.read_text().splitlines()
              if line.startswith(("mxnet", "nvidia-"))}
    for package in json.loads(versions.stdout):
        if package["name"] in wanted:
            print(f"  {package['name']}=={package['version']}")


def venv_run(venv: Path, code: str, workdir: Path, env: dict | None = None) -> dict:
    """Run ``code`` with the venv's Python in ``workdir`` (not the repository, so the installed
    gluoncnn is the one imported); its last output line, as JSON."""
    result = run([str(venv_python(venv)), "-c", code], cwd=workdir, env=env)
    if result.returncode != 0:
        raise CheckFailed(f"the venv's Python failed:\n{result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def doctor(venv: Path, workdir: Path, env: dict | None = None) -> tuple[int, str]:
    result = run([str(venv / "bin" / "gluoncnn"), "doctor"], cwd=workdir, env=env)
    return result.returncode, result.stdout


GPU_LINE = re.compile(r"^\s+(OK|WARN|FAIL)\s+(NVIDIA driver|lib\S+|MXNet|MXNet build|GPU)\s")


def show(text: str) -> None:
    """doctor's lines about the GPU install, with their fixes, and its summary."""
    lines = text.strip().splitlines()
    if not lines:
        return
    shown = False
    for line in lines[1:-1]:
        is_fix = line.strip().startswith("fix:")
        shown = (shown and is_fix) or bool(GPU_LINE.match(line))
        if shown:
            print("    " + line)
    print("    " + lines[-1])


def check_libraries(venv: Path, workdir: Path) -> dict:
    step("every library libmxnet.so needs, after `import gluoncnn` loaded the wheels' ones")
    found = venv_run(venv, RESOLVE, workdir)
    expect(Path(found["gluoncnn"]).is_relative_to(venv), f"gluoncnn imported from the venv: "
                                                         f"{found['gluoncnn']}")
    site = Path(found["libmxnet"]).parents[1]
    for name, path in found["needed"].items():
        print(f"    {name:22} {path or 'NOT FOUND'}")
    unresolved = [name for name, path in found["needed"].items() if path is None]
    expect(unresolved == ["libcuda.so.1"], f"only the driver's libcuda.so.1 is unresolved "
                                           f"(unresolved: {', '.join(unresolved) or 'none'})")
    cuda = {soname: path for soname, source, path in found["preloaded"]}
    from_wheels = [name for name, path in found["needed"].items()
                   if name in cuda and path and Path(path).is_relative_to(site / "nvidia")]
    expect(sorted(from_wheels) == sorted(n for n in found["needed"] if n in cuda),
           f"all {len(from_wheels)} CUDA libraries libmxnet.so needs come from the wheels in "
           f"{site / 'nvidia'}")
    return found


def check_without_driver(venv: Path, workdir: Path) -> None:
    step("without a driver (this machine has none)")
    plain = run([str(venv_python(venv)), "-c", IMPORT_WITHOUT_GLUONCNN], cwd=workdir)
    print(f"    `import mxnet` without gluoncnn: {plain.stdout.strip()}")
    result = venv_run(venv, IMPORT, workdir)
    expect(result.get("error", "").startswith(
        "the GPU build of MXNet (mxnet-cu112) needs the NVIDIA driver, and libcuda.so.1"),
        f"gluoncnn.runtime.import_mxnet() says: {result.get('error')}")
    cli = run([str(venv / "bin" / "gluoncnn"), "list"], cwd=workdir)
    expect(cli.returncode == 2 and len(cli.stderr.strip().splitlines()) == 1 and
           "needs the NVIDIA driver" in cli.stderr,
           "`gluoncnn list` stops with that one line, exit status 2")
    code, text = doctor(venv, workdir)
    show(text)
    expect(code == 1 and "FAIL  NVIDIA driver" in text and
           "missing: libcuda.so.1, the driver's CUDA library, is not on this machine" in text,
           "gluoncnn doctor: the NVIDIA driver is missing (exit status 1)")


def build_stand_in(libmxnet: str, folder: Path) -> Path:
    """``folder/libcuda.so.1``: every driver function libmxnet.so calls, plus cuInit and
    cuDriverGetVersion, answering CUDA_ERROR_NO_DEVICE."""
    symbols = run(["nm", "-D", "--undefined-only", libmxnet], check=True).stdout.split()
    driver = sorted({s for s in symbols if s.startswith("cu") and s[2:3].isupper()}
                    | {"cuInit", "cuDriverGetVersion"})
    lines = ["/* A stand-in for the NVIDIA driver's libcuda.so.1: no device. */"]
    for name in driver:
        if name == "cuDriverGetVersion":
            body = f"int {name}(int *version) {{ if (version) *version = 0; return {NO_DEVICE}; }}"
        elif name == "cuGetErrorString":
            body = (f'int {name}(int error, const char **text) {{ if (text) *text = "no '
                    f'CUDA-capable device is detected (gluoncnn stand-in driver)"; return 0; }}')
        else:
            body = f"int {name}(void) {{ return {NO_DEVICE}; }}"
        lines.append(body)
    source = "\n".join(lines) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "libcuda.c").write_text(source)
    library = folder / "libcuda.so.1"
    run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o", str(library),
         str(folder / "libcuda.c")], check=True)
    print(f"    {library}: {len(driver)} functions ({', '.join(driver)})")
    return library


def check_with_stand_in(venv: Path, workdir: Path, libmxnet: str) -> None:
    step("with a stand-in libcuda.so.1 (built with gcc, answers 'no device')")
    stand_in = build_stand_in(libmxnet, workdir / "stand-in-driver")
    env = {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(
        p for p in (str(stand_in.parent), os.environ.get("LD_LIBRARY_PATH", "")) if p)}
    found = venv_run(venv, RESOLVE, workdir, env)
    unresolved = [name for name, path in found["needed"].items() if path is None]
    expect(not unresolved and found["needed"]["libcuda.so.1"] == str(stand_in),
           "every library libmxnet.so needs resolves, libcuda.so.1 to the stand-in")
    result = venv_run(venv, IMPORT, workdir, env)
    expect(result == {"version": "1.9.1", "cuda": True, "gpus": 0},
           f"import mxnet (the GPU build) succeeds: {result}")
    train = run([str(venv / "bin" / "gluoncnn"), "train", "--model", "lenet", "--sample",
                 "--epochs", "1", "--max-batches", "2", "--test-size", "32", "--no-plot",
                 "--out", str(workdir / "run")], cwd=workdir, env=env)
    expect(train.returncode == 0 and "training on cpu(0)" in train.stdout,
           "`gluoncnn train` (LeNet, 2 batches of the shipped sample) runs, on the CPU")
    code, text = doctor(venv, workdir, env)
    show(text)
    expect(code == 1 and f"missing: {stand_in} is no working driver (cuDriverGetVersion: "
           f"CUDA_ERROR_NO_DEVICE)" in text and "OK    MXNet " in text,
           "gluoncnn doctor: MXNet imports, the NVIDIA driver is missing")
    expect(text.strip().splitlines()[-1] == "1 check(s) failed: NVIDIA driver",
           "gluoncnn doctor: the driver is the only failing check")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) /
                        "gluoncnn-gpu-check" / "venv", help="where the GPU venv goes "
                        "(default: %(default)s; outside the repository)")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python 3.11 that makes the venv (default: this one)")
    parser.add_argument("--fresh", action="store_true", help="make the venv anew")
    args = parser.parse_args(argv)
    venv = args.venv.resolve()
    try:
        if not sys.platform.startswith("linux"):
            raise CannotRun("mxnet-cu112 and NVIDIA's CUDA wheels are for Linux x86_64 only")
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        if missing:
            raise CannotRun(f"{', '.join(missing)} not found: install gcc and binutils "
                            f"(apt-get install gcc binutils)")
        if venv.is_relative_to(REPO):
            raise CannotRun(f"--venv {venv} is inside the repository: choose a folder outside")
        venv.parent.mkdir(parents=True, exist_ok=True)
        make_venv(venv, args.python, args.fresh)
        with tempfile.TemporaryDirectory(prefix="gluoncnn-gpu-check-") as work:
            workdir = Path(work)
            found = check_libraries(venv, workdir)
            check_without_driver(venv, workdir)
            check_with_stand_in(venv, workdir, found["libmxnet"])
    except CannotRun as error:
        print(f"check-gpu: {error}", file=sys.stderr)
        return 2
    except CheckFailed as error:
        print(f"\ncheck-gpu: FAILED: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    step(f"the GPU install holds up to the driver; the venv stays in {venv} "
         f"(rm -rf {venv.parent} frees it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
