"""numba entry point for paired comparison (signature: ``numpy_ref.comparing``)."""

from __future__ import annotations

import numpy as np

from . import compare_kernels as kernels
from . import strategy
from ._jit import MIN_PARALLEL, jit, num_threads, run_parallel, split

_compare_joint = jit(kernels.compare_joint)
_compare_direct = jit(kernels.compare_direct)
_compare_scores = jit(kernels.compare_scores)

#: the joint (true, a, b) histogram is used up to this many classes: C**3 = 4096 bins, four
#: rotating 32-bit tables of 64 KB per thread; above it the kernel counts the two matrices
#: and the per-class "both right" cells directly
JOINT_MAX_CLASSES = 16


def _chunks(n: int) -> list[tuple[int, int]]:
    if n < 2 * MIN_PARALLEL:  # small batches: no thread hand-off
        return [(0, n)]
    return split(n, min(num_threads(), max(1, n // MIN_PARALLEL)))


def compare_counts(t, a, b, num_classes):
    C = int(num_classes)
    # labels in one of the compiled dtypes (kernels compare the uint64 of each value's bits)
    labels = [x for x in (t, a, b) if x.ndim == 1]
    dtype = strategy.label_dtype(*(x.dtype for x in labels))
    t, a, b = (strategy.labels_as(x, dtype) if x.ndim == 1 else x for x in (t, a, b))
    n = t.shape[0]
    joint = C <= JOINT_MAX_CLASSES
    size = C**3 if joint else 2 * C * C + C
    if a.ndim == 2 or b.ndim == 2:
        a2 = a if a.ndim == 2 else a.reshape(n, 1)
        b2 = b if b.ndim == 2 else b.reshape(n, 1)
        a2 = a2.astype(np.float32) if a2.dtype == np.float16 else a2  # numba has no half type; exact
        b2 = b2.astype(np.float32) if b2.dtype == np.float16 else b2
        kernel, args = _compare_scores, (t.reshape(n, 1), a2, b2, a.ndim == 2, b.ndim == 2, C, joint)
    elif joint:
        narrow = max(t.itemsize, a.itemsize, b.itemsize) <= 4
        kernel, args = _compare_joint, (t, a, b, C, narrow)
    else:
        kernel, args = _compare_direct, (t, a, b, C)
    ranges = _chunks(n)
    outs = [np.zeros(size, dtype=np.int64) for _ in ranges]  # private per thread, summed after
    index = {r: k for k, r in enumerate(ranges)}
    results = run_parallel(lambda s, e: kernel(*args, outs[index[(s, e)]], s, e), ranges)
    tally = outs[0]
    for o in outs[1:]:
        tally += o
    firsts = [int(r[1]) for r in results if r[1] >= 0]
    invalid = np.array([sum(int(r[0]) for r in results), min(firsts) if firsts else -1], dtype=np.int64)
    if joint:
        cube = tally.reshape(C, C, C)  # [true, pred_a, pred_b]
        ma, mb = cube.sum(axis=2), cube.sum(axis=1)
        both = cube[np.arange(C), np.arange(C), np.arange(C)].copy()
    else:
        ma = tally[: C * C].reshape(C, C)
        mb = tally[C * C : 2 * C * C].reshape(C, C)
        both = tally[2 * C * C :]
    return ma, mb, both, invalid
