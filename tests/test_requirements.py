"""The CPU and GPU requirement files pin the same set; only the MXNet wheel differs, and the GPU
set adds the CUDA 11 libraries as NVIDIA's wheels."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(name):
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_gpu_requirements_differ_only_in_the_mxnet_wheel_and_the_cuda_wheels():
    cpu, gpu = _pins("requirements.txt"), _pins("requirements-gpu.txt")
    assert "mxnet==1.9.1" in cpu and "mxnet-cu112==1.9.1" in gpu
    cuda = [p for p in gpu if p.startswith("nvidia-") and "-cu11==" in p]
    assert len(cuda) == 9 and "nvidia-cudnn-cu11==8.9.6.50" in cuda   # cuDNN 8: libcudnn.so.8
    assert [p for p in cpu if p != "mxnet==1.9.1"] \
        == [p for p in gpu if p != "mxnet-cu112==1.9.1" and p not in cuda]


def test_numpy_is_pinned_below_1_24():
    numpy = [p for p in _pins("requirements.txt") if p.startswith("numpy")]
    assert numpy == ["numpy==1.23.5"]
