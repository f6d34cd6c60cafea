"""numba entry point for multinomial resampling of count groups (signature: ``numpy_ref.resampling``)."""

from __future__ import annotations

import numpy as np

from . import resampling_kernels as kernels
from ._jit import jit, num_threads, run_parallel, split

_resample_sums = jit(kernels.resample_sums)

#: a group holding at least this many counts is drawn by one binomial (BTRS, ~50 ns), a
#: lighter one sample by sample (~3 ns a sample; both measured on the 2-core machine)
HEAVY = 16

#: resamples per thread below which a call stays on the calling thread
_MIN_PER_THREAD = 64


def _plan(counts, segments, targets, width):
    """The kernel's arrays: heavy groups heaviest first within each segment with their
    conditional probabilities, light groups unrolled one row per count; targets of -1 point
    at a spare column ``width`` (no branch in the kernel)."""
    starts = np.asarray(segments, dtype=np.int64)
    n_seg = starts.size - 1
    seg = np.repeat(np.arange(n_seg), np.diff(starts))
    seg_n = np.zeros(n_seg, dtype=np.int64)
    np.add.at(seg_n, seg, counts)  # exact int64 sums
    to = np.where(targets < 0, width, targets)
    groups = np.arange(counts.size)
    heavy = groups[counts >= HEAVY]
    heavy = heavy[np.lexsort((-counts[heavy], seg[heavy]))]
    light = groups[(counts > 0) & (counts < HEAVY)]  # in segment order already
    h_seg = seg[heavy]
    seg_heavy = np.searchsorted(h_seg, np.arange(n_seg + 1)).astype(np.int64)
    h_count = counts[heavy]
    drawn = np.concatenate([[0], np.cumsum(h_count)])
    before = drawn[:-1] - drawn[seg_heavy[h_seg]]  # the segment's heavier groups, drawn first
    h_cond = h_count / np.maximum(seg_n[h_seg] - before, 1).astype(np.float64)
    l_count = counts[light]
    l_total = np.bincount(seg[light], weights=l_count, minlength=n_seg).astype(np.int64)
    seg_light = np.concatenate([[0], np.cumsum(l_total)]).astype(np.int64)
    last = seg_heavy[1:][(seg_heavy[1:] > seg_heavy[:-1]) & (l_total == 0)] - 1
    h_cond[last] = 1.0  # nothing lighter left: the last heavy group takes what remains, exactly
    h_to = np.ascontiguousarray(to[heavy], dtype=np.int64)
    l_to = np.ascontiguousarray(np.repeat(to[light], l_count, axis=0), dtype=np.int32)
    return seg_n, seg_heavy, seg_light, h_cond, h_to, l_to


def multinomial_sums(counts, segments, targets, width, seeds):
    counts = np.asarray(counts, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    seeds = np.asarray(seeds, dtype=np.uint64)
    args = _plan(counts, segments, targets, int(width))
    out = np.zeros((seeds.size, int(width) + 1), dtype=np.int64)

    def task(a, b):
        if b > a:
            _resample_sums(seeds[a:b], *args, out[a:b])

    parts = max(1, min(num_threads(), seeds.size // _MIN_PER_THREAD))
    run_parallel(task, split(seeds.size, parts))
    return out[:, :-1]
