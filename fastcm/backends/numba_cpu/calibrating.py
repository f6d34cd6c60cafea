"""Entry point of the numba backend for the fused calibration pass (see ``numpy_ref``)."""

from __future__ import annotations

import numpy as np

from . import calibration_kernels
from . import strategy
from ._jit import MIN_PARALLEL, jit, num_threads, run_parallel, split

_calibration_rows = jit(calibration_kernels.calibration_rows)


def _chunks(rows: int, width: int) -> list[tuple[int, int]]:
    """Row ranges, one per thread once the batch holds enough scores to pay the hand-off."""
    n = rows * max(1, width)
    if n < 2 * MIN_PARALLEL:
        return [(0, rows)]
    return split(rows, min(num_threads(), max(1, n // MIN_PARALLEL)))


def calibration_counts(t, s, edges, num_classes, *, logits=False, per_class=False):
    C = int(num_classes)
    K = edges.size
    if s.dtype == np.float16:
        s = s.astype(np.float32)  # numba has no half type; widening is exact
    if t.dtype.kind in "biu":  # labels in the compiled dtypes (a copy only for the others)
        t = strategy.labels_as(t, strategy.label_dtype(t.dtype))
    n_int = C * C + 2 * K + (2 * C * K if per_class else 0)
    n_flt = K + (C * K if per_class else 0)
    ranges = _chunks(s.shape[0], C)
    iouts = [np.zeros(n_int, dtype=np.int64) for _ in ranges]
    fouts = [np.zeros(n_flt, dtype=np.float64) for _ in ranges]
    index = {r: k for k, r in enumerate(ranges)}

    def task(a, b):
        k = index[(a, b)]
        return _calibration_rows(t, s, edges, C, bool(logits), bool(per_class), iouts[k], fouts[k], a, b)

    results = run_parallel(task, ranges)
    iout, fout = iouts[0], fouts[0]
    for k in range(1, len(ranges)):  # private histograms, summed in a fixed order
        iout += iouts[k]
        fout += fouts[k]
    firsts = [int(r[1]) for r in results if r[1] >= 0]
    invalid = np.array([sum(int(r[0]) for r in results), min(firsts) if firsts else -1], dtype=np.int64)
    return iout, fout, invalid
