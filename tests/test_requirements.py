"""The CPU and GPU requirement files pin the same set; only the MXNet wheel differs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(name):
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_gpu_requirements_differ_only_in_the_mxnet_wheel():
    cpu, gpu = _pins("requirements.txt"), _pins("requirements-gpu.txt")
    assert "mxnet==1.9.1" in cpu and "mxnet-cu112==1.9.1" in gpu
    assert [p for p in cpu if p != "mxnet==1.9.1"] == [p for p in gpu if p != "mxnet-cu112==1.9.1"]


def test_numpy_is_pinned_below_1_24():
    numpy = [p for p in _pins("requirements.txt") if p.startswith("numpy")]
    assert numpy == ["numpy==1.23.5"]
