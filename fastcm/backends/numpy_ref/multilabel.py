"""Reference multilabel counts and top-k hits."""

from __future__ import annotations

import numpy as np


def multilabel_counts(t, p, thresholds, *, weights=None, samplewise=False):
    """Counts [tn, fp, fn, tp] of (N, L) 0/1 truth ``t`` against ``p >= thresholds``.

    Returns ``(counts, invalid)``: counts (L, 4) float64, or (N, 4) with ``samplewise``;
    invalid ``[n_invalid, first_flat_position]`` for truth outside {0, 1} or a NaN or infinite ``p``.
    """
    t = t.astype(np.int64)
    bad = (t < 0) | (t > 1)
    if p.dtype.kind == "f":
        bad |= ~np.isfinite(p)
    pred = (p >= thresholds).astype(np.int64)
    k = 2 * np.clip(t, 0, 1) + pred
    w = np.ones(t.shape[0]) if weights is None else weights.astype(np.float64)
    ww = np.where(bad, 0.0, w[:, None])
    axis = 1 if samplewise else 0
    counts = np.stack([((k == j) * ww).sum(axis=axis) for j in range(4)], axis=1)
    n_bad = int(bad.sum())
    return counts, np.array([n_bad, int(np.argmax(bad.reshape(-1))) if n_bad else -1], dtype=np.int64)


def top_k_hits(t, s, k, *, weights=None):
    """Weighted number of rows whose true class is within the top ``k`` of its scores."""
    t = t.astype(np.int64)
    n, c = s.shape
    bad = (t < 0) | (t >= c)
    tc = np.clip(t, 0, c - 1)
    ref = s[np.arange(n), tc][:, None]
    j = np.arange(c)[None, :]
    rank = ((s > ref) | ((s == ref) & (j > tc[:, None]))).sum(axis=1)
    if s.dtype.kind == "f":
        bad |= np.isnan(s).any(axis=1)
    hit = (rank < k) & ~bad
    w = np.ones(n) if weights is None else weights.astype(np.float64)
    n_bad = int(bad.sum())
    return float((hit * w).sum()), np.array([n_bad, int(np.argmax(bad)) if n_bad else -1], dtype=np.int64)
