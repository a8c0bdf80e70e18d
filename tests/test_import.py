"""``import gluoncnn``: light (no MXNet), submodules reachable as attributes, and one clear error
when MXNet is missing or broken. Each case runs in a fresh interpreter, since the point is what
happens before and during the first ``import mxnet``."""
import os
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBMODULES = ("models", "data", "train", "analysis", "compress")


def python(code, extra_path=()):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join((*extra_path, REPO)))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_is_light_and_submodules_are_attributes():
    out = python(f"""
        import sys
        import gluoncnn
        print('mxnet' in sys.modules)
        for name in {SUBMODULES!r}:
            print(name, getattr(gluoncnn, name).__name__)
        print(set({SUBMODULES!r}) <= set(dir(gluoncnn)))
        print(gluoncnn.models.get_model('lenet').__class__.__name__)
    """)
    lines = out.split("\n")
    assert lines[0] == "False"
    assert lines[1:6] == [f"{name} gluoncnn.{name}" for name in SUBMODULES]
    assert lines[6:8] == ["True", "LeNet"]


MISSING = """
    import sys
    sys.modules['mxnet'] = None   # as if MXNet were not installed
    import gluoncnn
    from gluoncnn.errors import GluonCNNError, MXNetUnavailableError
    for attempt in ('gluoncnn.models', 'gluoncnn.get_model', 'gluoncnn.train',
                    '__import__("gluoncnn", fromlist=["data"]).data'):
        try:
            eval(attempt)
        except MXNetUnavailableError as error:
            assert isinstance(error, ImportError) and isinstance(error, GluonCNNError)
            print(error)
    print(gluoncnn.analysis.conv_output_size(28, 5, p=2))  # no MXNet needed
    print(gluoncnn.doctor.__name__)
"""


def test_missing_mxnet_is_one_error_naming_the_wheels_and_doctor():
    lines = python(MISSING).strip().split("\n")
    message = ("MXNet is not installed: pip install mxnet==1.9.1 (CPU) or mxnet-cu112==1.9.1 "
               "(CUDA 11.2); `gluoncnn doctor` checks the whole install")
    assert lines == [message] * 4 + ["28", "gluoncnn.doctor"]


def test_numpy_too_new_names_numpy_below_1_24(tmp_path):
    fake = tmp_path / "mxnet"
    fake.mkdir()
    # What `import mxnet` 1.9.1 does under numpy >= 1.24 (mxnet/numpy/utils.py uses np.bool).
    (fake / "__init__.py").write_text(
        "raise AttributeError(\"module 'numpy' has no attribute 'bool'.\\n`np.bool` was a "
        "deprecated alias for the builtin `bool`.\")\n")
    out = python("""
        import gluoncnn
        try:
            gluoncnn.data
        except ImportError as error:
            print(type(error).__name__, error)
            print(type(error.__cause__).__name__)
    """, extra_path=(str(tmp_path),))
    first, cause = out.strip().split("\n")
    assert first.startswith("MXNetUnavailableError MXNet 1.9.1 does not work with numpy ")
    assert "pip install 'numpy<1.24'" in first and "mxnet-cu112==1.9.1" in first
    assert "gluoncnn doctor" in first and cause == "AttributeError"


DIRECT_IMPORTS = """
    import sys, traceback
    sys.modules['mxnet'] = None   # as if MXNet were not installed
    from gluoncnn.errors import MXNetUnavailableError
    for statement in ('from gluoncnn.models import get_model', 'import gluoncnn.train',
                      'import gluoncnn.data', 'from gluoncnn.compress import prune'):
        try:
            exec(statement)
        except MXNetUnavailableError as error:
            files = [f.filename for f in traceback.extract_tb(error.__traceback__)]
            print(error, [f.split('gluoncnn')[-1] for f in files if not f.startswith('<')])
"""


def test_importing_a_subpackage_without_mxnet_is_the_same_one_error():
    """The error comes from the subpackage's first line, before any of its modules imports mxnet."""
    lines = python(DIRECT_IMPORTS).strip().split("\n")
    message = ("MXNet is not installed: pip install mxnet==1.9.1 (CPU) or mxnet-cu112==1.9.1 "
               "(CUDA 11.2); `gluoncnn doctor` checks the whole install")
    assert lines == [f"{message} ['/{name}/__init__.py', '/runtime.py']"
                     for name in ("models", "train", "data", "compress")]
