"""Counting for calibration: the confidence bins and the one pass that fills them.

The bins are torchmetrics' (see :mod:`fastcm.answers.calibration` for the definitions): the
pass counts, per slot, the predictions, the sum of their top-class confidence and how many
were right, and the confusion matrix beside them; with ``per_class`` the same for each
class's one-vs-rest probability.

Examples
--------
>>> bin_edges(4).tolist()
[0.0, 0.25, 0.5, 0.75, 1.0]
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backends
from ..backends.arrays import to_host
from ..backends.numpy_ref.calibrating import ROW_SUM_TOLERANCE
from ..core.inputs import array_module, as_array, to_integer_labels

__all__ = ["ROW_SUM_TOLERANCE", "bin_edges", "check_n_bins", "count_bins", "prepare"]


def check_n_bins(n_bins) -> int:
    if isinstance(n_bins, (bool, np.bool_)) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"Expected `n_bins` to be a positive int, but got {n_bins!r}")
    return int(n_bins)


def bin_edges(n_bins=15, dtype=np.float32) -> np.ndarray:
    """The ``n_bins + 1`` bin edges as float64 values of ``torch.linspace(0, 1, n_bins + 1)``
    computed in ``dtype`` (the first half counted up from 0, the second down from 1).

    Examples
    --------
    >>> bin_edges(4).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    n = check_n_bins(n_bins)
    dt = np.dtype(dtype) if np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize >= 4 else np.dtype(np.float32)
    i = np.arange(n + 1, dtype=np.float64)
    half = (n + 1) // 2
    if dt == np.float32:
        # torch's vectorised linspace computes ``end - step * k`` with one fused multiply-add:
        # a float32 step times an integer is exact in float64, so one rounding to float32
        # after the float64 sum gives the same value (checked against torch for n < 2000)
        step = np.float64(np.float32(1.0) / np.float32(n))
    else:
        step = 1.0 / n
    edges = np.where(i < half, i * step, 1.0 - (n - i) * step).astype(dt)
    return edges.astype(np.float64)


def prepare(y_true, y_score, num_classes, scores):
    """Validated (t, s, backend module inputs): 1-D integer labels and (N, C) float scores."""
    s = as_array(y_score, "y_score")
    t = as_array(y_true, "y_true")
    if s.dtype.kind != "f":
        raise TypeError(f"Expected floating-point {'scores' if scores == 'auto' else scores} in `y_score`, but got dtype {s.dtype}")
    if s.ndim != 2:
        raise ValueError(
            f"Expected `y_score` of shape (N, C), one column per class, but got {tuple(s.shape)}"
            + ("; for binary scores pass np.stack([1 - p, p], axis=1)" if s.ndim == 1 else "")
        )
    if s.shape[1] < 1:
        raise ValueError("Expected at least one class column in `y_score`, but got 0")
    if num_classes is not None and s.shape[1] != num_classes:
        raise ValueError(f"Expected `y_score` with num_classes={num_classes} columns, but got {s.shape[1]}")
    if t.ndim == 2 and t.shape[1] == 1:
        t = t.reshape(-1)
    if t.ndim != 1 or t.shape[0] != s.shape[0]:
        raise ValueError(f"Expected `y_true` of shape ({s.shape[0]},) matching `y_score` {tuple(s.shape)}, but got {tuple(t.shape)}")
    if t.dtype.kind in "US":
        raise TypeError("Expected integer class indices in `y_true`, but got strings")
    t = to_integer_labels(t, "y_true")
    if t.dtype == np.bool_:
        t = t.view(np.uint8)
    return t, s


def invalid_message(invalid, t, s, C, logits) -> str:
    """The error for the first invalid row a kernel reported (host copies of that row only)."""
    n_bad, pos = int(invalid[0]), int(invalid[1])
    more = f" ({n_bad} invalid rows in total)" if n_bad > 1 else ""
    tv = int(to_host(t[pos : pos + 1])[0])
    if not 0 <= tv < C:
        return f"Expected `y_true` labels in 0..{C - 1} (num_classes={C}), but got {tv} at position {pos}{more}"
    row = to_host(s[pos]).astype(np.float64)
    nan = np.flatnonzero(np.isnan(row))
    if nan.size:
        return f"Expected finite scores in `y_score`, but got NaN at index ({pos}, {int(nan[0])}){more}"
    if logits:
        col = int(np.argmax(row))
        return f"Expected finite logits in `y_score`, but got {float(row[col])!r} at index ({pos}, {col}){more}"
    out = np.flatnonzero(~((row >= 0) & (row <= 1)))
    if not out.size:
        total = float(row.sum())
        return (
            f"Expected probabilities that sum to 1 (within {ROW_SUM_TOLERANCE:g}) in each row of `y_score`, but row "
            f"{pos} sums to {total:.6g}{more}: these are not probabilities (logits in [0, 1], per-class sigmoids?); "
            "pass scores='logits' for unnormalised scores (a softmax is applied)"
        )
    col = int(out[0])
    return (
        f"Expected probabilities in [0, 1] in `y_score`, but got {float(row[col])!r} at index ({pos}, {col}){more}; "
        "pass scores='logits' for unnormalised scores (a softmax is applied)"
    )


def count_bins(t, s, n_bins, num_classes, logits, per_class, backend):
    """One fused pass: host (matrix, counts, conf sums, correct, class counts, class sums, class hits)."""
    name = backends.select(backend, t, s)
    be = backends.get(name)
    if array_module(t) is not be.xp:
        t = be.xp.asarray(t)
    if array_module(s) is not be.xp:
        s = be.xp.asarray(s)
    C, K = int(s.shape[1]), n_bins + 1
    edges = bin_edges(n_bins, s.dtype)
    iout, fout, invalid = be.calibration_counts(t, s, edges, C, logits=logits, per_class=per_class)
    invalid = to_host(invalid)  # synchronize! (the one check that reads the pass back)
    if int(invalid[0]):
        raise ValueError(invalid_message(invalid, t, s, C, logits))
    iout, fout = to_host(iout), to_host(fout)
    cut = np.cumsum([C * C, K, K, C * K])
    matrix, counts, correct, ccounts, chits = np.split(iout, cut)
    conf, cconf = fout[:K], fout[K:]
    if not per_class:
        return matrix.reshape(C, C), counts, conf, correct, None, None, None
    return matrix.reshape(C, C), counts, conf, correct, ccounts.reshape(C, K), cconf.reshape(C, K), chits.reshape(C, K)
