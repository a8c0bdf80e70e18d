"""What this machine's processor can do, read once: the facts the speed choices rest on."""
import functools
import platform

BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # oneDNN runs bfloat16 natively with either


@functools.lru_cache(maxsize=None)
def cpu_flags():
    """The processor's feature flags as a frozenset ('avx2', 'avx512_bf16', ...); empty where
    /proc/cpuinfo does not exist (macOS, Windows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bf16():
    """True when the CPU computes bfloat16 natively (AVX512_BF16 or AMX), so mixed precision
    is faster than float32 there; elsewhere bfloat16 is emulated and slower."""
    return platform.machine() in ("x86_64", "AMD64") and any(f in cpu_flags() for f in BF16_FLAGS)
