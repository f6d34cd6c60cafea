"""``top_k_accuracy_score``: hits counted by a kernel, without sorting the scores."""

from __future__ import annotations

import reprlib

import numpy as np

from ..backends.arrays import to_host
from .. import backends
from ..core.exceptions import warn_undefined
from ..core.inputs import as_array, check_weights
from .multilabel import ALL_ZERO_WEIGHTS

__all__ = ["top_k_hits"]


def _shown(values) -> str:
    """``values`` for a message: a list, its first few items when long."""
    return reprlib.repr(np.asarray(values).tolist())


def _check_finite(s) -> None:
    """Refuse NaN and infinite scores, as scikit-learn does (the kernels only flag NaN: an
    infinite logit is a fine argmax elsewhere). Two reductions; the row is found on failure."""
    if s.dtype.kind != "f" or not s.size or (np.isfinite(s.min()) and np.isfinite(s.max())):
        return
    bad = ~np.isfinite(s.reshape(s.shape[0], -1))
    row = int(np.argmax(bad.any(axis=1)))
    value = s.reshape(s.shape[0], -1)[row][bad[row]][0]
    raise ValueError(f"Expected finite scores in `y_score`, but got {float(value)!r} in row {row}")


def _check_finite_weights(w) -> None:
    """Refuse NaN and infinite weights: an infinite weight makes the weighted mean NaN
    (scikit-learn returns that NaN with a RuntimeWarning), which is no score."""
    if w is None or w.dtype.kind != "f" or np.isfinite(w).all():
        return
    pos = int(np.argmax(~np.isfinite(w)))
    what = "NaN" if np.isnan(w[pos]) else f"infinity ({float(w[pos])!r})"
    raise ValueError(f"Input sample_weight contains {what} at position {pos}.")


#: rows widened at a time for scores the kernels cannot read (float16): the float32 copy
#: stays bounded (a few MiB) however many rows there are
_BLOCK_CELLS = 1 << 20


def _kernel_hits(be, encoded, s, k, w):
    """The backend's ``top_k_hits``; float16 scores (numba has no half type) are widened to
    float32, which holds every value exactly, one bounded block of rows at a time."""
    if s.dtype != np.float16:
        hits, invalid = be.top_k_hits(encoded, s, k, weights=w)
        return float(hits), [int(v) for v in to_host(invalid)]
    rows = max(1, _BLOCK_CELLS // max(s.shape[1], 1))
    hits, n_bad, first = 0.0, 0, -1
    for a in range(0, s.shape[0], rows):
        b = min(s.shape[0], a + rows)
        h, invalid = be.top_k_hits(encoded[a:b], s[a:b].astype(np.float32), k, weights=None if w is None else w[a:b])
        nb, f = (int(v) for v in to_host(invalid))
        if nb and first < 0:
            first = a + f
        n_bad, hits = n_bad + nb, hits + float(h)
    return hits, [n_bad, first]


def top_k_hits(y_true, y_score, *, k=2, normalize=True, sample_weight=None, labels=None, zero_weights="raise"):
    """scikit-learn's ``top_k_accuracy_score`` (see :func:`fastcm.top_k_accuracy_score`).

    Empty input is refused as by every drop-in. Weights that are all zero are too with
    ``zero_weights="raise"``; ``"sklearn"`` (for :mod:`fastcm.strict`) keeps scikit-learn's
    outcome instead: ``ZeroDivisionError`` when normalizing, ``0.0`` otherwise.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"Expected `k` to be a positive int, but got {k!r}")
    t = as_array(y_true, "y_true", allow_device=False)
    t = t.reshape(-1) if t.ndim == 2 and t.shape[1] == 1 else t
    s = as_array(y_score, "y_score", allow_device=False)
    if t.ndim != 1:
        raise ValueError(f"Expected 1-D `y_true`, but got shape {t.shape}")
    if t.shape[0] == 0:  # no sample gives no score (np.average would divide by zero)
        raise ValueError(
            "Found empty input array (e.g., `y_true` or `y_score`) while a minimum of 1 sample is required."
        )
    if t.dtype.kind == "f" and (not np.isfinite(t).all() or (t != np.floor(t)).any()):
        bad = ~np.isfinite(t) | (t != np.floor(t))
        pos = int(np.argmax(bad))
        raise ValueError(
            "y type must be 'binary' or 'multiclass', got 'continuous' instead: "
            f"y_true holds {float(t[pos])!r} at position {pos}."
        )
    if s.dtype.kind not in "biuf":
        raise ValueError(f"Expected numeric scores in `y_score`, but got dtype {s.dtype}")
    present = np.unique(t)
    kind = "binary" if present.size <= 2 else "multiclass"
    if kind == "binary" and labels is not None and len(labels) > 2:
        kind = "multiclass"
    if kind == "binary":
        if s.ndim == 2 and s.shape[1] != 1:
            raise ValueError(
                f"`y_true` is binary while y_score is 2d with {s.shape[1]} classes. If `y_true` does not contain all "
                "the labels, `labels` must be provided."
            )
        s = s.reshape(-1)
    elif s.ndim != 2:
        raise ValueError(
            "`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains multiple classes. "
            f"Got `y_score.shape={s.shape}`."
        )
    if s.shape[0] != t.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {[t.shape[0], s.shape[0]]}")
    weights = check_weights(sample_weight, t.shape[0], t)
    if zero_weights == "raise" and weights is not None and not weights.any():
        raise ValueError(ALL_ZERO_WEIGHTS)
    _check_finite_weights(weights)
    n_score_classes = s.shape[1] if s.ndim == 2 else 2
    if labels is None:
        classes = present
        if classes.size != n_score_classes:
            raise ValueError(
                f"Number of classes in 'y_true' ({classes.size}) not equal to the number of classes in 'y_score' "
                f"({n_score_classes}).You can provide a list of all known classes by assigning it to the `labels` parameter."
            )
    else:
        lab = np.asarray(labels).reshape(-1)
        classes = np.unique(lab)
        if classes.size != lab.size:
            raise ValueError(f"Parameter 'labels' must be unique. Got labels={_shown(lab)}.")
        if not np.array_equal(classes, lab):
            raise ValueError(f"Parameter 'labels' must be ordered. Got labels={_shown(lab)}.")
        if classes.size != n_score_classes:
            raise ValueError(
                f"Number of given labels ({classes.size}) not equal to the number of classes in 'y_score' ({n_score_classes})."
            )
        missing = np.setdiff1d(t, classes)
        if missing.size:
            raise ValueError(
                f"'y_true' contains labels not in parameter 'labels'. Got {_shown(missing)} not in labels={_shown(lab)}."
            )
    if k >= classes.size:
        warn_undefined(
            f"'k' ({k}) greater than or equal to 'n_classes' ({classes.size}) will result in a perfect score and is "
            "therefore meaningless.",
        )
    encoded = np.searchsorted(classes, t)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    _check_finite(s)
    if kind == "binary":
        if k == 1:
            threshold = 0.5 if s.min() >= 0 and s.max() <= 1 else 0
            hits_mask = (s > threshold).astype(np.int64) == encoded
        else:
            hits_mask = np.ones(t.shape[0], dtype=bool)
        hits = float(hits_mask.sum() if w is None else np.dot(hits_mask, w))
    else:
        be = backends.get(backends.select("auto", t))
        hits, (n_bad, pos) = _kernel_hits(be, encoded, s, int(k), w)
        if n_bad:
            raise ValueError(f"Expected finite scores in `y_score`, but got NaN in row {pos}")
    if not normalize:
        return float(hits)
    total = t.shape[0] if w is None else float(w.sum())
    if not total:
        # scikit-learn's np.average raises this (weights summing to zero); fastcm.strict keeps it
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return float(hits / total)
