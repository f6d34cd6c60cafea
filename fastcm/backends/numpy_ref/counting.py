"""Reference label and score counting (entry points: see each docstring)."""

from __future__ import annotations

import numpy as np

from ..arrays import count_dtype


def _invalid(bad):
    n_bad = int(np.count_nonzero(bad))
    return np.array([n_bad, int(np.argmax(bad)) if n_bad else -1], dtype=np.int64)


def _map(t, p, num_classes, ignore_index, lut, lut_offset, extra_bad=None):
    """Return (keep, ti, pi, bad): which pairs count, their indices, and which are invalid."""
    t = t.astype(np.int64)
    p = p.astype(np.int64)
    keep = np.ones(t.shape, dtype=bool) if ignore_index is None else (t != ignore_index)
    if lut is None:
        t, p = t - lut_offset, p - lut_offset
        ok = (t >= 0) & (t < num_classes) & (p >= 0) & (p < num_classes)
        bad = keep & ~ok
        if extra_bad is not None:
            bad |= keep & extra_bad
        return keep & ~bad, t, p, bad
    ti = t - lut_offset
    pi = p - lut_offset
    inside = (ti >= 0) & (ti < lut.size) & (pi >= 0) & (pi < lut.size)
    ti = np.where(inside, lut[np.clip(ti, 0, lut.size - 1)], -1)
    pi = np.where(inside, lut[np.clip(pi, 0, lut.size - 1)], -1)
    keep &= (ti >= 0) & (pi >= 0)
    bad = np.zeros(t.shape, dtype=bool) if extra_bad is None else keep & extra_bad
    return keep & ~bad, ti, pi, bad


def _bincount(keep, ti, pi, num_classes, weights):
    idx = ti[keep] * num_classes + pi[keep]
    if weights is not None and weights.dtype.kind in "biu":
        # integer weights add up in int64, as the numba kernels do (bincount sums in float64,
        # which rounds above 2**53); the caller keeps the sums within int64
        counts = np.zeros(num_classes * num_classes, dtype=np.int64)
        np.add.at(counts, idx, weights[keep].astype(np.int64))
        return counts.reshape(num_classes, num_classes)
    w = None if weights is None else weights[keep].astype(np.float64)
    counts = np.bincount(idx, weights=w, minlength=num_classes * num_classes)
    return counts.astype(count_dtype(weights)).reshape(num_classes, num_classes)


def _weights_bad(weights):
    if weights is None or weights.dtype.kind != "f":
        return None
    return ~np.isfinite(weights)


def count_pairs(t, p, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    """Count label pairs into a (C, C) matrix (rows = true class).

    Parameters
    ----------
    t, p : 1-D integer or bool arrays of the same length.
    num_classes : int
        C. Without ``lut`` values must lie in ``0..C-1``.
    weights : 1-D numeric array or None
        Per-pair weights; float weights give float64 counts, integer weights int64.
    ignore_index : int or None
        Pairs whose true value equals it are skipped.
    lut, lut_offset : int64 array, int
        Value ``v`` maps to class ``lut[v - lut_offset]``; values outside the table or
        mapped to -1 are dropped (scikit-learn's ``labels`` semantics), never invalid.
        Without a table (host backends) value ``v`` is class ``v - lut_offset``.

    Returns
    -------
    counts : (C, C) array
    invalid : int64 array ``[n_invalid, first_invalid_position]`` (position -1 if none):
        labels out of range (without ``lut``) and non-finite weights.
    """
    keep, ti, pi, bad = _map(t, p, num_classes, ignore_index, lut, lut_offset, _weights_bad(weights))
    return _bincount(keep, ti, pi, num_classes, weights), _invalid(bad)


def pair_codes(t, p, num_classes, *, ignore_index=None, lut=None, lut_offset=0):
    """The flat cell ``a * C + b`` of each counted pair, in input order, and the invalid record.

    Arguments as :func:`count_pairs` (no weights): pairs dropped by ``ignore_index`` or the
    table are left out; invalid ones are left out and reported. Streaming at many classes
    adds a batch as the cells it touches instead of as a (C, C) matrix.
    """
    keep, ti, pi, bad = _map(t, p, num_classes, ignore_index, lut, lut_offset)
    return ti[keep] * num_classes + pi[keep], _invalid(bad)


def class_counts(t, p, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    """Per-class counts without a (C, C) matrix: a (3, C) array of the pairs (or weights) of
    each true class, each predicted class, and the correct ones (true == predicted) of each
    class; arguments and invalid record as :func:`count_pairs`. Serves the metrics that need
    only the diagonal and the margins at many classes.
    """
    keep, ti, pi, bad = _map(t, p, num_classes, ignore_index, lut, lut_offset, _weights_bad(weights))
    ti, pi = ti[keep], pi[keep]
    hit = ti == pi
    if weights is not None and weights.dtype.kind in "biu":
        w = weights[keep].astype(np.int64)
        out = np.zeros((3, num_classes), dtype=np.int64)
        np.add.at(out[0], ti, w)
        np.add.at(out[1], pi, w)
        np.add.at(out[2], ti[hit], w[hit])
        return out, _invalid(bad)
    w = None if weights is None else weights[keep].astype(np.float64)
    rows = [
        np.bincount(ti, weights=w, minlength=num_classes),
        np.bincount(pi, weights=w, minlength=num_classes),
        np.bincount(ti[hit], weights=None if w is None else w[hit], minlength=num_classes),
    ]
    return np.stack(rows).astype(count_dtype(weights)), _invalid(bad)


def count_scores(t, s, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    """Like :func:`count_pairs` with predictions ``argmax(s, axis=1)``.

    ``t`` is (N, S) and ``s`` is (N, C, S); ties go to the lowest class, and a NaN score in
    a counted position is invalid (its flat position in ``t`` is reported).
    """
    t = t.reshape(-1)
    nan = np.isnan(s).any(axis=1).reshape(-1) if s.dtype.kind == "f" else np.zeros(t.shape, bool)
    p = np.argmax(s, axis=1).reshape(-1)
    wbad = _weights_bad(weights)
    extra = nan if wbad is None else nan | wbad
    if lut is None:
        keep, ti, pi, bad = _map(t, p, num_classes, ignore_index, None, 0, extra)
    else:
        # predictions are class indices already: map only the truth
        keep, ti, _, bad = _map(t, t, num_classes, ignore_index, lut, lut_offset, extra)
        pi = p
    return _bincount(keep, ti, pi, num_classes, weights), _invalid(bad)


def value_range(t, p):
    """(min, max) over both integer arrays as Python ints; (0, -1) when both are empty."""
    if t.size == 0 and p.size == 0:
        return 0, -1
    lo = min(int(a.min()) for a in (t, p) if a.size)
    hi = max(int(a.max()) for a in (t, p) if a.size)
    return lo, hi


def label_presence(t, p, lo, size, ignore_index=None):
    """Bool array marking the values ``lo..lo+size-1`` present in the pairs that are kept."""
    t = t.astype(np.int64)
    p = p.astype(np.int64)
    if ignore_index is not None:
        keep = t != ignore_index
        t, p = t[keep], p[keep]
    present = np.zeros(size, dtype=bool)
    present[t - lo] = True
    present[p - lo] = True
    return present
