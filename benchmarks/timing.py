"""Timing, memory and machine-description helpers shared by every benchmark case."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field


@dataclass
class Timing:
    """Seconds of each timed repeat (after warm-up) and the peak extra bytes numpy allocated."""

    seconds: list = field(default_factory=list)
    peak_bytes: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def worst(self) -> float:
        return max(self.seconds)


def time_call(fn, *, repeat: int = 3, warmup: int = 1, min_time: float = 0.0) -> Timing:
    """Warm ``fn`` up (JIT compile and caches excluded), then time ``repeat`` calls, and more
    until ``min_time`` seconds were timed (short calls need many repeats for a stable median).

    The peak of numpy's allocations during one extra traced call is recorded (numpy reports
    its buffers to tracemalloc), which shows N-sized temporaries such as ``t * C + p``.
    """
    for _ in range(warmup):
        fn()
    out = Timing()
    total = 0.0
    gc.collect()
    gc.disable()  # as timeit does: a collection inside one call would time the whole heap
    try:
        while len(out.seconds) < repeat or total < min_time:
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            out.seconds.append(elapsed)
            total += elapsed
            if len(out.seconds) >= 2000:
                break
    finally:
        gc.enable()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out.peak_bytes = int(peak)
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str):
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def gpu_name():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount():
            props = cupy.cuda.runtime.getDeviceProperties(0)
            name = props["name"]
            return name.decode() if isinstance(name, bytes) else name
    except Exception:
        return None
    return None


def machine() -> dict:
    """What the numbers were measured on."""
    import numba

    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "memory_gib": None if mem_kb is None else round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gpu": gpu_name(),
        "versions": {
            m: _version(m)
            for m in ("fastcm", "numpy", "numba", "scikit-learn", "torch", "torchmetrics", "pycm", "dask", "cupy-cuda12x")
        },
    }
