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


def _tuned_now():
    """Within it, fastcm compiles its tuned kernels before a call instead of in the background
    (``FASTCM_COMPILE=never``, as in the test suite's tiny run: the plain tier throughout)."""
    import contextlib

    if os.environ.get("FASTCM_COMPILE", "").strip().lower() == "never":
        return contextlib.nullcontext()
    try:
        from fastcm import backends

        return backends.get("numba").compile_synchronously()
    except (ImportError, ValueError):  # no numba: nothing is tiered
        return contextlib.nullcontext()


def time_methods(methods: dict, *, repeat: int = 3, warmup: int = 1, min_time: float = 0.0) -> dict:
    """Time every method of a case in interleaved rounds: ``{name: Timing or the exception}``.

    Each method is warmed up (JIT compile and caches excluded). Then, ``repeat`` times over,
    every method in turn is called at least once and until it has run ``min_time / repeat``
    seconds in that round (short calls need many repeats for a stable median). Interleaving
    puts every method under the same conditions: on a shared machine whose memory bandwidth
    drifts from minute to minute, timing one method after another would turn that drift
    into a ratio between them.

    Afterwards the peak of numpy's allocations during one extra traced call of each method is
    recorded (numpy reports its buffers to tracemalloc), which shows N-sized temporaries such
    as ``t * C + p``.
    """
    out = {}
    for name, fn in methods.items():
        try:
            with _tuned_now():  # steady state: the tuned kernels, not the first-use tier
                for _ in range(warmup):
                    fn()
            out[name] = Timing()
        except Exception as exc:  # an anchor that cannot run this case is reported, not fatal
            out[name] = exc
    live = [name for name, t in out.items() if isinstance(t, Timing)]
    share = min_time / max(1, repeat)
    gc.collect()
    gc.disable()  # as timeit does: a collection inside one call would time the whole heap
    try:
        for _ in range(repeat):
            for name in list(live):
                timing, fn, spent = out[name], methods[name], 0.0
                try:
                    while spent == 0.0 or (spent < share and len(timing.seconds) < 2000):
                        start = time.perf_counter()
                        fn()
                        elapsed = time.perf_counter() - start
                        timing.seconds.append(elapsed)
                        spent += elapsed
                except Exception as exc:
                    out[name] = exc
                    live.remove(name)
    finally:
        gc.enable()
    for name in live:
        tracemalloc.start()
        try:
            methods[name]()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        out[name].peak_bytes = int(peak)
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
