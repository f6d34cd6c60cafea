"""Throughput of ``fastcm.compare`` against ``fastcm.confusion_matrix`` on one array.

int32 labels, C = 10, N = 10**8 by default (``python -m benchmarks.compare_case [N]``):
the data are generated once, each call is warmed up (the cold start timed separately),
then the median of 3 timed calls is reported in G pairs/s (one pair: one sample).
"""

from __future__ import annotations

import sys
import time

import numpy as np


def _median_time(fn, rounds=3):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(n: int = 10**8, C: int = 10) -> dict:
    import fastcm
    from fastcm.backends.numba_cpu import num_threads

    rng = np.random.default_rng(0)
    t = rng.integers(0, C, n, dtype=np.int32)
    a = np.where(rng.random(n) < 0.9, t, rng.integers(0, C, n, dtype=np.int32)).astype(np.int32)
    b = np.where(rng.random(n) < 0.92, t, rng.integers(0, C, n, dtype=np.int32)).astype(np.int32)
    run_cmp = lambda: fastcm.compare(t, a, b, num_classes=C, n_resamples=0)  # noqa: E731
    run_cm = lambda: fastcm.confusion_matrix(t, a, num_classes=C)  # noqa: E731
    t0 = time.perf_counter()
    run_cmp()
    cold = time.perf_counter() - t0
    run_cm()
    t_cmp, t_cm = _median_time(run_cmp), _median_time(run_cm)
    t_boot = _median_time(lambda: fastcm.compare(t[:1000], a[:1000], b[:1000], num_classes=C, random_state=0))
    res = {
        "n": n, "classes": C, "threads": num_threads(), "compare_cold_s": cold,
        "compare_gps": n / t_cmp / 1e9, "confusion_matrix_gps": n / t_cm / 1e9,
        "compare_bootstrap_10k_s": t_boot,
    }
    print(f"N={n:.0e} int32 labels, C={C}, {res['threads']} threads")
    print(f"  fastcm.answers.compare (3 arrays, no bootstrap): {res['compare_gps']:.2f} G pairs/s  (first call {cold:.2f} s)")
    print(f"  fastcm.confusion_matrix (2 arrays):      {res['confusion_matrix_gps']:.2f} G pairs/s")
    print(f"  compare with 10**4 bootstrap resamples on top: {t_boot * 1e3:.1f} ms")
    return res


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 10**8)
