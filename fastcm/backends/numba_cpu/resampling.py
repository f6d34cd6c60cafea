"""numba entry point for multinomial resampling of count groups (signature: ``numpy_ref.resampling``)."""

from __future__ import annotations

import threading

import numpy as np

from . import resampling_kernels as kernels
from ._jit import jit, num_threads, run_parallel, split

_resample_sums = jit(kernels.resample_sums)
_resample_sums_poisson = jit(kernels.resample_sums_poisson)
_poisson_tables = jit(kernels.poisson_tables)
_alias_tables = jit(kernels.alias_tables)

#: a group holding at least this many counts is drawn by one binomial (BTRS, ~50 ns), a
#: lighter one sample by sample (~3 ns a sample; both measured on the 2-core machine)
HEAVY = 16

#: groups of this many counts or more are drawn by Poisson draws (8-16 ns), lighter ones
#: sample by sample (~3 ns a count)
POISSON_HEAVY = 6

#: the heavy groups' Poisson means sum to their share less KAPPA times its spread (the
#: Poisson sum's standard deviation, and the share's own where light groups take the rest):
#: about that many single samples are left to draw, and a sum over the share, drawn again,
#: comes in under 1% of resamples
KAPPA = 2.5

#: Poisson means up to this are drawn from an alias table over their probabilities; above
#: it (or past the tables' budget) by PTRS, or walked up from 0 below a mean of 10
TABLE_MAX = 1024.0

#: a table covers 0 .. mean + TABLE_SPREAD standard deviations (+5); its last bucket, the tail
#: beyond, is walked when drawn
TABLE_SPREAD = 4.0

#: entries of every group's alias table together (16 bytes each)
TABLE_BUDGET = 1 << 22

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


def _poisson_plan(counts, targets, width):
    """The Poisson kernel's arrays for one multinomial over ``counts``: heavy groups (at
    least POISSON_HEAVY counts) ordered by sampler (the kernel's branch on it then predicts
    well), light ones unrolled one row per count, zero ones left out."""
    to = np.where(targets < 0, width, targets)
    n = int(counts.sum())
    heavy = counts >= POISSON_HEAVY
    light = (counts > 0) & ~heavy
    l_to = np.ascontiguousarray(np.repeat(to[light], counts[light], axis=0), dtype=np.int32)
    counts, to = counts[heavy], to[heavy]
    mass = int(counts.sum())
    p_heavy = mass / n if n else 1.0
    # the heavy share varies by its binomial's deviation when there are light groups
    spread = np.sqrt(mass) + (np.sqrt(n * p_heavy * (1 - p_heavy)) if l_to.shape[0] else 0.0)
    # groups of equal counts share a mean, so one table: a few dozen small tables stay in
    # cache where one a group missed it (8000 light cells: ~15 -> ~6 ns a draw, measured)
    same, group_of = np.unique(counts, return_inverse=True)
    means = max(mass - KAPPA * spread, 0.0) * (same / max(mass, 1))
    sizes = np.zeros(same.size, dtype=np.int64)
    table = means <= TABLE_MAX
    sizes[table] = np.ceil(means[table] + TABLE_SPREAD * np.sqrt(means[table]) + 5).astype(np.int64)
    table &= np.cumsum(sizes) <= TABLE_BUDGET
    sizes[~table] = 0
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    total = int(sizes.sum())
    pmf, t_prob, t_alias = np.zeros(total), np.ones(total), np.zeros(total, dtype=np.int64)
    _poisson_tables(means, firsts, sizes, pmf)
    scratch = (np.empty(total, np.int64), np.empty(total, np.int64))
    _alias_tables(pmf, np.concatenate([firsts[table], [total]]).astype(np.int64), t_prob, t_alias, *scratch)
    lams, sizes, firsts, table = means[group_of], sizes[group_of], firsts[group_of], table[group_of]
    modes = np.where(table, kernels.TABLE, np.where(lams < 10, kernels.WALK, kernels.PTRS)).astype(np.int64)
    order = np.argsort(modes, kind="stable")
    counts, to, lams, sizes, modes, firsts = counts[order], to[order], lams[order], sizes[order], modes[order], \
        firsts[order]
    prob, alias = np.ones(counts.size), np.zeros(counts.size, dtype=np.int64)
    scratch = (np.empty(counts.size, np.int64), np.empty(counts.size, np.int64))
    if counts.size:
        _alias_tables(counts / mass, np.array([0, counts.size], dtype=np.int64), prob, alias, *scratch)
    return (np.int64(n), float(p_heavy), lams, modes, np.exp(-lams), firsts, sizes, t_prob, t_alias,
            np.ascontiguousarray(to), prob, alias, l_to)


def _poisson_pays(counts, segments):
    """Whether one multinomial is cheaper as Poisson draws of its heavy groups (8-16 ns a
    group, ~12 ns a left-over sample) than as binomials (~50 ns a heavy group), the light
    groups sampled alike (~3 ns a count); costs measured on the 2-core machine."""
    if len(segments) != 2:
        return False
    n = int(counts.sum())
    if n < 64:
        return False
    heavy = counts >= HEAVY
    binomials = 50 * np.count_nonzero(heavy) + 3 * int(counts[~heavy].sum())
    heavy = counts >= POISSON_HEAVY
    mass = int(counts[heavy].sum())
    spread = np.sqrt(mass) + np.sqrt(mass * (n - mass) / n)
    poisson = 50 + 12 * np.count_nonzero(heavy) + 12 * KAPPA * spread + 3 * (n - mass)
    return poisson < binomials


#: the last call's plan: a bootstrap draws block after block of the same groups, and at
#: many classes building the tables costs more than a block's draws
_last = threading.local()


def _cached_plan(counts, segments, targets, width):
    """(poisson, kernel arguments) for these groups, built once for a run of calls on equal
    arrays (compared, O(groups), not trusted by identity)."""
    key = (int(width), TABLE_SPREAD, TABLE_BUDGET, TABLE_MAX, KAPPA, HEAVY, POISSON_HEAVY)
    hit = getattr(_last, "entry", None)
    if hit is not None and hit[0] == key and all(np.array_equal(a, b) for a, b in zip(hit[1], (counts, segments,
                                                                                            targets))):
        return hit[2]
    poisson = _poisson_pays(counts, segments)
    plan = (poisson, _poisson_plan(counts, targets, int(width)) if poisson else _plan(counts, segments, targets,
                                                                                         int(width)))
    _last.entry = (key, (counts.copy(), segments.copy(), targets.copy()), plan)
    return plan


def multinomial_sums(counts, segments, targets, width, seeds):
    counts = np.asarray(counts, dtype=np.int64)
    segments = np.asarray(segments, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    seeds = np.asarray(seeds, dtype=np.uint64)
    out = np.zeros((seeds.size, int(width) + 1), dtype=np.int64)
    poisson, args = _cached_plan(counts, segments, targets, width)
    if poisson:

        def task(a, b):
            if b > a:
                _resample_sums_poisson(seeds[a:b], *args, np.empty(args[2].size, np.int64), out[a:b])
    else:

        def task(a, b):
            if b > a:
                _resample_sums(seeds[a:b], *args, out[a:b])

    parts = max(1, min(num_threads(), seeds.size // _MIN_PER_THREAD))
    run_parallel(task, split(seeds.size, parts))
    return out[:, :-1]
