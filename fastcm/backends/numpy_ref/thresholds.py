"""Reference threshold counting and exact score grouping (entry points: see each docstring).

Two entry points, which every backend implements with these signatures:

* :func:`threshold_counts` -- the one-pass histogram behind ``binary_confusion_matrix``,
  ``threshold_confusion_matrices`` and ``ThresholdConfusionMatrix`` (O(N + T));
* :func:`score_groups` -- the sorted, tie-grouped cumulative counts behind the exact
  scikit-learn curves (``roc_curve``, ``precision_recall_curve``, ``roc_auc_score``...).

Both compare scores as float64 (float16/float32 widen exactly; int64/uint64 scores beyond
2**53, which float64 would round, arrive from the Python layer as exact surrogates: bucket
indices for the sweep, ranks for the groups), never raise on bad data and
report invalid positions as ``invalid = [n_invalid, first_position]`` (position -1 if none);
the Python layer turns that into an error naming the value and position.
"""

from __future__ import annotations

import numpy as np

from ..arrays import count_dtype


def _invalid(bad):
    n_bad = int(np.count_nonzero(bad))
    return np.array([n_bad, int(np.argmax(bad)) if n_bad else -1], dtype=np.int64)


def _finite(a):
    return np.isfinite(a) if a.dtype.kind == "f" else np.ones(a.shape, dtype=bool)


def threshold_counts(t, s, thresholds, *, weights=None):
    """Histogram of scores over the gaps between sorted thresholds, split by truth.

    Parameters
    ----------
    t : integer, bool or float array
        The truth, in one of three layouts:

        * ``s`` is 1-D (N,): ``t`` is (N,) with values 0 or 1 (binary);
        * ``s`` is 2-D (N, K) and ``t`` is 1-D (N,): ``t`` holds class indices ``0..K-1``
          and column ``k`` is scored one-vs-rest (positive iff ``t == k``);
        * ``s`` is 2-D (N, K) and ``t`` is 2-D (N, K): a 0/1 indicator per column (multilabel).
    s : float (or integer) array, (N,) or (N, K), any strides
        Scores; NaN and infinities are invalid.
    thresholds : float64 array (T,), T >= 1, sorted non-decreasing, no NaN
    weights : 1-D numeric array (N,) or None
        One weight per row; non-finite float weights are invalid.

    Returns
    -------
    hist : (K, T + 1, 2) array, int64 (float64 with float weights); K = 1 for 1-D ``s``
        ``hist[k, b, y]`` is the (weighted) number of rows with truth ``y`` for column
        ``k`` whose score has exactly ``b`` thresholds ``<=`` it, i.e.
        ``b = searchsorted(thresholds, score, side="right")``. A score is predicted
        positive at threshold ``j`` iff ``b > j`` (``score >= thresholds[j]``).
    invalid : int64 array ``[n_invalid, first_position]``
        Positions are flat indices into ``s`` (row-major: ``i * K + k``). An invalid element
        (non-finite score, non-finite weight, truth not 0/1, class index outside ``0..K-1``)
        is not counted.

    Examples
    --------
    >>> hist, invalid = threshold_counts(np.array([0, 1]), np.array([0.2, 0.7]), np.array([0.5]))
    >>> hist.tolist(), invalid.tolist()
    ([[[1, 0], [0, 1]]], [0, -1])
    """
    thr = np.asarray(thresholds, dtype=np.float64)
    T = thr.shape[0]
    s2 = s.reshape(s.shape[0], 1) if s.ndim == 1 else s
    N, K = s2.shape
    sf = s2.astype(np.float64)
    bad = ~np.isfinite(sf)
    if weights is not None:
        bad |= ~_finite(weights)[:, None]
    if s.ndim == 1 or t.ndim == 2:
        t2 = t.reshape(N, 1) if t.ndim == 1 else t
        ok_truth = (t2 == 0) | (t2 == 1)
        bad |= ~ok_truth
        pos = t2 == 1
    else:
        ti = t.astype(np.int64) if t.dtype.kind != "u" else t
        inside = (ti >= 0) & (ti < K) if t.dtype.kind != "b" else np.ones(N, dtype=bool)
        bad |= ~inside[:, None]
        pos = ti[:, None] == np.arange(K)[None, :]
    buckets = np.searchsorted(thr, np.where(bad, 0.0, sf), side="right")
    idx = (np.arange(K)[None, :] * (T + 1) + buckets) * 2 + pos.astype(np.int64)
    w = None
    if weights is not None:
        w = np.broadcast_to(weights.astype(np.float64)[:, None], (N, K))[~bad]
    hist = np.bincount(idx[~bad], weights=w, minlength=K * (T + 1) * 2)
    return hist.astype(count_dtype(weights)).reshape(K, T + 1, 2), _invalid(bad.reshape(-1))


def score_groups(t, s, *, weights=None, positive=None):
    """Cumulative counts at each distinct score, scores descending (scikit-learn's curve core).

    Parameters
    ----------
    t : 1-D integer, bool or float array (N,)
        With ``positive=None`` the truth is 0/1 and any other value is invalid; otherwise a
        row is positive iff ``t == positive`` (every other value is negative).
    s : 1-D float (or integer) array (N,), any strides
        Scores; NaN and infinities are invalid. ``-0.0`` equals ``0.0``.
    weights : 1-D numeric array (N,) or None
        Rows of weight 0 are left out entirely (as scikit-learn does); non-finite float
        weights are invalid.
    positive : int or None

    Returns
    -------
    fps, tps : float64 arrays (D,)
        (Weighted) false and true positives when predicting positive for ``score >=
        thresholds[i]``; non-decreasing. D is the number of distinct scores kept.
    thresholds : float64 array (D,)
        The distinct scores, strictly decreasing.
    invalid : int64 array ``[n_invalid, first_position]`` (position -1 if none)
        When invalid rows exist the other outputs are unspecified.

    Examples
    --------
    >>> fps, tps, thr, invalid = score_groups(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> fps.tolist(), tps.tolist(), thr.tolist()
    ([0.0, 1.0, 1.0, 2.0], [1.0, 1.0, 2.0, 2.0], [0.8, 0.4, 0.35, 0.1])
    """
    sf = s.astype(np.float64) + 0.0  # + 0.0 turns -0.0 into 0.0
    bad = ~np.isfinite(sf)
    if weights is not None:
        bad |= ~_finite(weights)
    if positive is None:
        bad |= ~((t == 0) | (t == 1))
        pos = t == 1
    else:
        pos = t == positive
    invalid = _invalid(bad)
    keep = ~bad
    if weights is not None:
        keep &= weights != 0
    sf, pos = sf[keep], pos[keep]
    order = np.argsort(-sf, kind="stable")
    sf, pos = sf[order], pos[order].astype(np.float64)
    if sf.size == 0:
        empty = np.empty(0, dtype=np.float64)
        return empty, empty.copy(), empty.copy(), invalid
    last = np.r_[np.nonzero(np.diff(sf))[0], sf.size - 1]
    if weights is None:
        tps = np.cumsum(pos)[last]
        fps = 1.0 + last - tps
    else:
        w = weights[keep].astype(np.float64)[order]
        tps = np.cumsum(pos * w)[last]
        fps = np.cumsum((1.0 - pos) * w)[last]
    return fps, tps, sf[last], invalid


def binary_auc(t, s, *, positive=None):
    """Exact ``2 * U`` (Mann-Whitney, ties half) and the class sizes, unweighted, from the
    tie-grouped counts of :func:`score_groups`, in integers.

    Returns ``(twice_u, n_pos, n_neg, invalid)``; ``auc = twice_u / (2 * n_pos * n_neg)``.
    The optional entry of the same name (see :mod:`fastcm.backends.contract`): the numba
    backend sums ranks instead, with the same result.

    Examples
    --------
    >>> binary_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))[:3]
    (6, 2, 2)
    """
    fps, tps, _, invalid = score_groups(t, s, positive=positive)
    if invalid[0]:
        return 0, 0, 0, invalid
    fp, tp = fps.astype(np.int64), tps.astype(np.int64)
    # each group of tied scores adds its negatives times the positives above them, plus half
    # of its own positives (the trapezoid), doubled to stay in integers
    twice_u = int(np.sum(np.diff(fp, prepend=0) * (tp + np.r_[0, tp[:-1]])))
    return twice_u, int(tp[-1]) if tp.size else 0, int(fp[-1]) if fp.size else 0, invalid


def drop_intermediate(fps, tps, thr):
    """scikit-learn's ``drop_intermediate``: keep the ends and the corners of the curve.

    Examples
    --------
    >>> fps, tps, thr = drop_intermediate(np.array([0., 1., 2., 2.]), np.array([1., 1., 1., 2.]), np.array([.9, .8, .7, .6]))
    >>> fps.tolist(), tps.tolist(), thr.tolist()
    ([0.0, 2.0, 2.0], [1.0, 1.0, 2.0], [0.9, 0.7, 0.6])
    """
    if fps.size <= 2:  # no intermediate point
        return fps, tps, thr
    keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
    return fps[keep], tps[keep], thr[keep]
