"""Reference multinomial resampling of count groups: numpy's own multinomial draws."""

from __future__ import annotations

import numpy as np


def multinomial_sums(counts, segments, targets, width, seeds):
    """Sums of multinomial resamples of count groups, one row per seed.

    Parameters
    ----------
    counts : (K,) int64
        Non-negative counts of K groups.
    segments : (S + 1,) int64
        Offsets into ``counts``: groups ``segments[s]:segments[s + 1]`` form one multinomial
        over the segment's total (the segments are drawn independently).
    targets : (K, T) int64
        The columns of the result each group's draw is added to; -1 for none.
    width : int
        Columns of the result.
    seeds : (B,) uint64
        One per resample. Here the call's resamples come from one generator seeded by all
        of them (numpy draws them in one call); numba's resample ``b`` depends on
        ``seeds[b]`` alone.

    Returns
    -------
    (B, width) int64
        Row ``b``: for every group ``k``, its count ``x_k`` in ``Multinomial(n_s, counts_s / n_s)``
        added to the columns ``targets[k]``. Backends draw the same distribution from their
        own random streams (numba: splitmix64, conditional binomials and alias tables); only
        a backend's own results repeat for a seed.

    Examples
    --------
    >>> out = multinomial_sums(np.array([3, 1, 2]), np.array([0, 2, 3]), np.array([[0], [1], [1]]), 2,
    ...                        np.array([1, 2], dtype=np.uint64))
    >>> out.sum(axis=1).tolist()  # every resample keeps each segment's total: 4 and 2
    [6, 6]
    >>> bool((out[:, 1] >= 2).all())
    True
    """
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.asarray(segments, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    n_seg = starts.size - 1
    sizes = np.diff(starts)
    longest = int(sizes.max()) if n_seg else 0
    # segments padded to one length with empty groups: numpy draws them all in one call
    seg = np.repeat(np.arange(n_seg), sizes)
    slot = np.arange(counts.size) - starts[:-1][seg]
    padded = np.zeros((n_seg, longest), dtype=np.int64)
    padded[seg, slot] = counts
    totals = padded.sum(axis=1)
    pvals = padded / np.maximum(totals, 1)[:, None]
    seeds = np.asarray(seeds, dtype=np.uint64)
    out = np.zeros((seeds.size, int(width)), dtype=np.int64)
    if seeds.size == 0 or counts.size == 0:
        return out
    rng = np.random.default_rng(np.random.SeedSequence([int(x) for x in seeds]))
    draws = rng.multinomial(totals, pvals, size=(seeds.size, n_seg))[:, seg, slot]  # (B, K)
    for t in range(targets.shape[1]):
        keep = np.flatnonzero(targets[:, t] >= 0)
        np.add.at(out, (slice(None), targets[keep, t]), draws[:, keep])
    return out
