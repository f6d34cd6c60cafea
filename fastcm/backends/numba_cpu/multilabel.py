"""numba entry points for multilabel counts and top-k hits (signatures: ``numpy_ref.multilabel``)."""

from __future__ import annotations

import numpy as np

from . import multilabel_kernels as kernels
from ._jit import jit, run_parallel, split, num_threads, MIN_PARALLEL

_multilabel_counts = jit(kernels.multilabel_counts)
_top_k_hits = jit(kernels.top_k_hits)
_NO_WEIGHTS = np.empty(0, dtype=np.float64)


def _ranges(rows, cells):
    parts = 1 if rows * cells < 2 * MIN_PARALLEL else num_threads()
    return split(rows, parts)


def multilabel_counts(t, p, thresholds, *, weights=None, samplewise=False):
    n, L = t.shape
    w = _NO_WEIGHTS if weights is None else weights.astype(np.float64, copy=False)
    if samplewise:
        out = np.zeros((n, 4), dtype=np.float64)
        results = run_parallel(lambda a, b: _multilabel_counts(t, p, thresholds, w, True, out, a, b), _ranges(n, L))
        total = out
    else:
        ranges = _ranges(n, L)
        outs = {r: np.zeros((L, 4), dtype=np.float64) for r in ranges}
        results = run_parallel(lambda a, b: _multilabel_counts(t, p, thresholds, w, False, outs[(a, b)], a, b), ranges)
        total = sum(outs.values())
    firsts = [int(r[1]) for r in results if r[1] >= 0]
    invalid = np.array([sum(int(r[0]) for r in results), min(firsts) if firsts else -1], dtype=np.int64)
    return total, invalid


def top_k_hits(t, s, k, *, weights=None):
    w = _NO_WEIGHTS if weights is None else weights.astype(np.float64, copy=False)
    results = run_parallel(lambda a, b: _top_k_hits(t, s, k, w, a, b), _ranges(t.shape[0], s.shape[1]))
    firsts = [int(r[2]) for r in results if r[2] >= 0]
    invalid = np.array([sum(int(r[1]) for r in results), min(firsts) if firsts else -1], dtype=np.int64)
    return float(sum(r[0] for r in results)), invalid
