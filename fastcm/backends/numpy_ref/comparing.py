"""Reference counts for the paired comparison of two predictors."""

from __future__ import annotations

import numpy as np


def _predictions(x, num_classes):
    """(class indices, invalid mask) of labels (N,) or scores (N, C) (argmax, ties to the lowest)."""
    if x.ndim == 2:
        bad = np.isnan(x).any(axis=1) if x.dtype.kind == "f" else np.zeros(x.shape[0], bool)
        return np.argmax(x, axis=1).astype(np.int64), bad
    if x.dtype == np.uint64:  # values above 2**63 would wrap to negatives: invalid either way
        x = np.where(x >= np.uint64(num_classes), np.uint64(num_classes), x)
    p = x.astype(np.int64)
    return p, (p < 0) | (p >= num_classes)


def compare_counts(t, a, b, num_classes):
    """Count triples (true, pred_a, pred_b) for a paired comparison.

    Parameters
    ----------
    t : 1-D integer or bool array of class indices.
    a, b : 1-D integer class indices like ``t``, or (N, C) scores whose row argmax is the
        prediction (ties to the lowest class).
    num_classes : int
        C; valid class indices are ``0..C-1``.

    Returns
    -------
    matrix_a, matrix_b : (C, C) int64 confusion matrices (rows = true class).
    both_right : (C,) int64, triples of each true class both predictors got right.
    invalid : int64 array ``[n_invalid, first_invalid_position]`` (position -1 if none):
        values outside ``0..C-1`` in any array, and score rows holding a NaN.
    """
    C = int(num_classes)
    ti, bad = _predictions(t, C)
    pa, bad_a = _predictions(a, C)
    pb, bad_b = _predictions(b, C)
    bad = bad | bad_a | bad_b
    ok = ~bad
    ti, pa, pb = ti[ok], pa[ok], pb[ok]
    ma = np.bincount(ti * C + pa, minlength=C * C).astype(np.int64).reshape(C, C)
    mb = np.bincount(ti * C + pb, minlength=C * C).astype(np.int64).reshape(C, C)
    both = np.bincount(ti[(pa == ti) & (pb == ti)], minlength=C).astype(np.int64)
    n_bad = int(np.count_nonzero(bad))
    return ma, mb, both, np.array([n_bad, int(np.argmax(bad)) if n_bad else -1], dtype=np.int64)
