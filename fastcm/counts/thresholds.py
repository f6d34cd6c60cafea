"""Confusion matrices from scores: one threshold, or every threshold of a sweep in one pass.

``binary_confusion_matrix`` thresholds once; ``threshold_confusion_matrices`` counts, in one
pass over the scores, a histogram over the gaps between sorted thresholds and turns it
into one (2, 2) matrix per threshold by cumulative sums: O(N + T) work, O(T) memory, and
exactly what thresholding one by one gives. A score is predicted positive iff
``score >= threshold``. Matrices read as scikit-learn's: ``[[tn, fp], [fn, tp]]``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backends
from ..backends.arrays import to_caller, to_host
from ..core.inputs import array_module, as_array, check_weights, to_integer_labels
from ..core.scores import AS_GIVEN, check_scores, logit_thresholds, read_scores, softmax_blocks, softmax_rows

__all__ = ["binary_confusion_matrix", "threshold_confusion_matrices", "check_thresholds", "matrices_from_hist"]

#: every integer of magnitude up to this is a float64, so comparing its float64 value is exact
_FLOAT64_EXACT = 2**53


def check_thresholds(thresholds) -> np.ndarray:
    """The threshold set as a sorted float64 array: an int ``T`` means ``np.linspace(0, 1, T)``.

    Examples
    --------
    >>> check_thresholds(3).tolist()
    [0.0, 0.5, 1.0]
    """
    if isinstance(thresholds, (bool, np.bool_)):
        raise TypeError(f"Expected `thresholds` to be an int or a sorted array of floats, but got {thresholds!r}")
    if isinstance(thresholds, numbers.Integral):
        if thresholds < 1:
            raise ValueError(f"Expected `thresholds` to be a positive int, but got {thresholds!r}")
        return np.linspace(0.0, 1.0, int(thresholds))
    thr = np.asarray(to_host(thresholds) if hasattr(thresholds, "get") else thresholds)
    if thr.dtype.kind not in "biuf" or thr.ndim != 1 or thr.size == 0:
        raise ValueError(
            f"Expected `thresholds` to be an int or a non-empty 1-D array of numbers, but got shape {thr.shape} "
            f"and dtype {thr.dtype}"
        )
    as_float = thr.astype(np.float64)
    if thr.dtype.kind in "iu":
        _check_float_exact(thr, as_float)
    thr = as_float
    if np.isnan(thr).any():
        raise ValueError(f"Expected `thresholds` without NaN, but got NaN at position {int(np.argmax(np.isnan(thr)))}")
    down = np.nonzero(thr[1:] < thr[:-1])[0]
    if down.size:
        i = int(down[0])
        raise ValueError(
            f"Expected `thresholds` sorted in increasing order, but got {float(thr[i])!r} at position {i} "
            f"followed by {float(thr[i + 1])!r}"
        )
    return thr


def _check_float_exact(thr, as_float):
    """Refuse integer thresholds that float64 would round (beyond 2**53): comparing with
    the rounded value would move scores across the cut."""
    big = np.nonzero(np.abs(as_float) >= _FLOAT64_EXACT)[0]
    for i in big.tolist():
        if int(thr[i]) != float(as_float[i]):  # Python compares int with float exactly
            raise ValueError(
                f"Expected `thresholds` that float64 holds exactly, but got {int(thr[i])} at position {i} "
                f"(float64 would round it to {float(as_float[i])!r}); pass float thresholds"
            )


def _scores(y_score):
    s = as_array(y_score, "y_score")
    if s.dtype.kind not in "biuf":
        raise TypeError(f"Expected `y_score` to hold numbers, but got dtype {s.dtype}")
    return s


def prepare(y_true, y_score, sample_weight=None, num_classes=None):
    """Coerce and shape-check ``(y_true, y_score, weights)`` for :func:`threshold_counts`.

    Layouts: 1-D scores with 0/1 truth; (N, C) scores with 1-D class indices (one-vs-rest);
    (N, L) scores with an (N, L) 0/1 indicator truth (multilabel). ``num_classes``, when
    given, is the number of score columns expected (1 for binary).
    """
    t = as_array(y_true, "y_true")
    s = _scores(y_score)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"Expected `y_true` to hold 0/1 or class indices, but got dtype {t.dtype}")
    if s.ndim == 2 and s.shape[1] == 1 and num_classes in (None, 1):
        s = s.reshape(-1)
    if t.ndim == 2 and t.shape[1] == 1 and s.ndim == 1:
        t = t.reshape(-1)
    if s.ndim not in (1, 2) or t.ndim not in (1, 2) or (s.ndim == 1 and t.ndim == 2):
        raise ValueError(
            f"Expected `y_score` of shape (N,) or (N, C) and `y_true` of shape (N,) or (N, C), but got "
            f"{tuple(s.shape)} and {tuple(t.shape)}"
        )
    if t.shape[0] != s.shape[0] or (t.ndim == 2 and t.shape != s.shape):
        raise ValueError(
            f"Expected `y_true` and `y_score` to have matching shapes, but got {tuple(t.shape)} and {tuple(s.shape)}"
        )
    width = 1 if s.ndim == 1 else s.shape[1]
    if num_classes is not None and width != num_classes:
        raise ValueError(f"Expected {num_classes} score column(s), but got `y_score` of shape {tuple(s.shape)}")
    if s.ndim == 2 and t.ndim == 1:
        t = to_integer_labels(t, "y_true")
    weights = check_weights(sample_weight, t.shape[0], s)
    return t, s, weights


def _item(a, *idx):
    """One element as a Python scalar, from a numpy or CuPy array."""
    v = a[idx]
    return v.item() if hasattr(v, "item") else v


def report_invalid(invalid, t, s, weights):
    """Raise the ValueError naming the first element a threshold kernel rejected."""
    n_bad, pos = (int(v) for v in to_host(invalid))  # synchronize!
    if not n_bad:
        return
    K = 1 if s.ndim == 1 else s.shape[1]
    i, k = divmod(pos, K)
    where = f"position {i}" if s.ndim == 1 else f"index ({i}, {k})"
    score = float(_item(s, i) if s.ndim == 1 else _item(s, i, k))
    if not np.isfinite(score):
        raise ValueError(f"Expected finite scores in `y_score`, but got {score!r} at {where}")
    if weights is not None:
        wi = _item(weights, i)
        if not np.isfinite(wi):
            raise ValueError(f"Expected finite `sample_weight`, but got {wi!r} at position {i}")
    if s.ndim == 2 and t.ndim == 1:
        raise ValueError(
            f"Expected class indices 0..{K - 1} in `y_true` (one per score column), but got "
            f"{_item(t, i)!r} at position {i}"
        )
    value = _item(t, i) if t.ndim == 1 else _item(t, i, k)
    raise ValueError(f"Expected 0/1 values in `y_true`, but got {value!r} at {where}")


def matrices_from_hist(hist):
    """(K, T + 1, 2) bucket histogram → (K, T, 2, 2) matrices ``[[tn, fp], [fn, tp]]``.

    Examples
    --------
    >>> matrices_from_hist(np.array([[[1, 0], [0, 1]]]))[0].tolist()
    [[[1, 0], [0, 1]]]
    """
    xp = array_module(hist)
    T = hist.shape[1] - 1
    # above[:, m] = rows with bucket >= T - m + 1 ... reversed cumulative sum over buckets
    rc = xp.cumsum(hist[:, ::-1, :], axis=1)
    predicted_pos = rc[:, :T, :][:, ::-1, :]  # [:, j] = rows with bucket > j (score >= thr[j])
    total = rc[:, T, :][:, None, :]
    fp, tp = predicted_pos[..., 0], predicted_pos[..., 1]
    tn, fn = total[..., 0] - fp, total[..., 1] - tp
    return xp.stack([xp.stack([tn, fp], axis=-1), xp.stack([fn, tp], axis=-1)], axis=-2)


def integer_cuts(thr, dtype):
    """Sorted float thresholds as integers of ``dtype``: ``s >= thr[j]`` iff ``s >= cuts[j]``.

    For an integer ``s`` and a finite float ``x``, ``s >= x`` exactly when
    ``s >= ceil(x)``. Thresholds whose ceiling lies above the dtype's largest value
    predict nothing and are left out (``cuts`` holds the first ``len(cuts)`` of them);
    those below its smallest value predict everything and become that value. Every step
    is exact: ``ceil`` of a float is a whole float, and the bounds (powers of two) are
    compared as floats.

    Examples
    --------
    >>> integer_cuts(np.array([-np.inf, 1.5, 2.0**64]), np.dtype(np.uint64)).tolist()
    [0, 2]
    """
    info = np.iinfo(dtype)
    c = np.ceil(np.asarray(thr, dtype=np.float64))
    c = c[: int(np.searchsorted(c, float(info.max + 1), side="left"))]  # thr is sorted, so c is
    return np.maximum(c, float(info.min)).astype(dtype)


def exact_integer_scores(s, thr):
    """``(scores, thresholds)`` the float64 kernels compare exactly as ``s >= thr`` in integers.

    The kernels read scores as float64, which rounds int64/uint64 values beyond 2**53
    (``float(2**53 + 3)`` is ``2**53 + 4``, which a threshold of ``2**53 + 4`` then
    accepts). For such scores the bucket of each score, ``searchsorted(cuts, s, "right")``
    over the integer cuts (:func:`integer_cuts`, compared in the scores' own dtype), stands
    in for the score, and ``1, 2, ..., len(cuts)`` (then ``inf`` for thresholds no value
    reaches) for the thresholds: the surrogate falls in exactly the bucket the score does.
    Other scores are returned as they are. One N-sized integer array; ``# synchronize!``
    on the device (the range check reads two values back).
    """
    if s.dtype.kind not in "iu" or s.dtype.itemsize < 8 or s.size == 0:
        return s, thr
    if int(s.min()) >= -_FLOAT64_EXACT and int(s.max()) <= _FLOAT64_EXACT:  # synchronize!
        return s, thr
    xp = array_module(s)
    cuts = integer_cuts(thr, s.dtype)
    buckets = xp.searchsorted(xp.asarray(cuts), s, side="right")
    surrogate = np.full(thr.shape[0], np.inf)
    surrogate[: cuts.shape[0]] = np.arange(1, cuts.shape[0] + 1)
    return buckets, surrogate


def count_thresholds(t, s, weights, thr, backend):
    """Run the backend's histogram on validated inputs; raise on invalid elements.

    Integer scores are compared with the thresholds exactly (see :func:`exact_integer_scores`).
    """
    ks, kthr = exact_integer_scores(s, thr)
    be = backends.get(backends.select(backend, t, ks))
    xp_thr = be.xp.asarray(kthr)  # on the backend's side, as the scores
    hist, invalid = be.threshold_counts(t, ks, xp_thr, weights=weights)
    report_invalid(invalid, t, s, weights)
    return hist


def in_unit_interval(thr) -> bool:
    """Whether every threshold is a probability (lies in [0, 1])."""
    return bool(np.all((thr >= 0.0) & (thr <= 1.0)))


def score_reading(scores, s, thr, *, flag="scores='logits'", name="y_score") -> str:
    """How the scores ``s`` are compared with ``thr`` (see :mod:`fastcm.core.scores`): "probabilities",
    "logits", or, under "auto" with thresholds outside [0, 1], :data:`~fastcm.core.scores.AS_GIVEN`."""
    if check_scores(scores) == "auto" and not in_unit_interval(thr):
        return AS_GIVEN
    return read_scores(scores, s, flag=flag, name=name)


def count_scores(t, s, weights, thr, reading, backend):
    """The (K, T + 1, 2) histogram of scores read as ``reading`` against probability thresholds.

    Logits of binary or multilabel scores are compared with the thresholds mapped to logit
    space (exact: the sigmoid is monotone); (N, C) logits with class indices are softmaxed
    in bounded blocks of rows, each counted by the same kernel and added.
    """
    if reading != "logits":
        return count_thresholds(t, s, weights, thr, backend)
    if not (s.ndim == 2 and t.ndim == 1):
        return count_thresholds(t, s, weights, logit_thresholds(thr), backend)
    N, K = int(s.shape[0]), int(s.shape[1])
    be = backends.get(backends.select(backend, t, s))
    xp_thr = be.xp.asarray(thr)  # on the backend's side, as the scores
    hist = None
    for a, b in softmax_blocks(N, K):
        p = softmax_rows(s[a:b])
        h, invalid = be.threshold_counts(t[a:b], p, xp_thr, weights=None if weights is None else weights[a:b])
        n_bad, pos = (int(v) for v in to_host(invalid))  # synchronize!
        if n_bad:
            report_invalid(np.array([n_bad, pos + a * K]), t, s, weights)
        hist = h if hist is None else hist + h
    return hist


def threshold_confusion_matrices(y_true, y_score, *, thresholds=101, sample_weight=None, scores="auto", backend="auto",
                                 like=None):
    """One binary confusion matrix per threshold, all counted in one pass over the scores.

    Parameters
    ----------
    y_true : array-like
        (N,) 0/1 truth for (N,) scores; (N,) class indices for (N, C) scores (each column
        one-vs-rest); or an (N, L) 0/1 indicator matrix for (N, L) scores (multilabel).
    y_score : array-like, (N,) or (N, C)
        Probabilities or logits (see ``scores``); NaN and infinities are rejected. (N, 1)
        scores are (N,) binary ones: ``y_true`` is then 0/1 truth, not class indices (C = 1
        is not one-vs-rest of class 0), and logits go through a sigmoid.
    thresholds : int or array-like, default=101
        ``T`` evenly spaced thresholds in [0, 1] (``np.linspace(0, 1, T)``) or any sorted array.
        Thresholds are probabilities; a set reaching outside [0, 1] is in the scores' own
        units, and under ``scores="auto"`` the scores are then compared as given.
    sample_weight : array-like of shape (N,), optional
    scores : {"auto", "probabilities", "logits"}, default="auto"
        How the scores are read (:mod:`fastcm.core.scores`): logits go through a sigmoid (binary,
        multilabel) or a softmax over the classes ((N, C) scores with class indices), fused
        into the pass; "probabilities" refuses a value outside [0, 1]; "auto" reads any value
        outside [0, 1] as the sign of logits.
    backend : {"auto", "numba", "numpy", "cupy"}
    like : {None, "numpy", "cupy", "torch", "jax", "tensorflow"} or array or module, optional
        The array type of the result; None: that of ``y_true`` (else ``y_score``), so CPU
        torch tensors give a torch tensor sharing the counts' memory (see
        :mod:`fastcm.backends.arrays`).

    Returns
    -------
    array, (T, 2, 2) for 1-D scores, (C, T, 2, 2) for (N, C) scores
        ``out[..., j, :, :]`` is ``[[tn, fp], [fn, tp]]`` predicting positive iff
        ``score >= thresholds[j]``; int64, float64 with float weights; in the inputs'
        array type unless ``like`` says otherwise.

    Examples
    --------
    >>> threshold_confusion_matrices([0, 1, 1], [0.2, 0.6, 0.9], thresholds=[0.5, 0.7]).tolist()
    [[[1, 0], [0, 2]], [[1, 0], [1, 1]]]
    >>> threshold_confusion_matrices([0, 1, 1], [-1.4, 0.4, 2.2], thresholds=[0.5, 0.7]).tolist()  # logits
    [[[1, 0], [0, 2]], [[1, 0], [1, 1]]]
    """
    thr = check_thresholds(thresholds)
    check_scores(scores)
    t, s, weights = prepare(y_true, y_score, sample_weight)
    reading = score_reading(scores, s, thr)
    out = matrices_from_hist(count_scores(t, s, weights, thr, reading, backend))
    return to_caller(out[0] if s.ndim == 1 else out, like, y_true, y_score)


def check_binary_threshold(threshold, logits=False) -> float:
    """The score cut as a float; with ``logits`` a probability threshold becomes its logit."""
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real) or np.isnan(threshold):
        raise ValueError(f"Expected `threshold` to be a number, but got {threshold!r}")
    if isinstance(threshold, numbers.Integral) and float(threshold) != int(threshold):  # exact comparison
        raise ValueError(
            f"Expected a `threshold` that float64 holds exactly, but got {int(threshold)} (float64 would round it to "
            f"{float(threshold)!r}); pass a float threshold"
        )
    threshold = float(threshold)
    if logits:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"Expected `threshold` in [0, 1] with logits=True, but got {threshold!r}")
        with np.errstate(divide="ignore"):
            threshold = float(np.log(threshold) - np.log1p(-threshold))
    return threshold


def binary_threshold(threshold, scores, logits):
    """``(scores, thresholds)`` of a one-threshold entry point: ``logits=True`` is
    ``scores="logits"``, whose threshold must be a probability; the threshold as a (1,) array."""
    scores = check_scores(scores)
    if logits:
        if scores not in ("auto", "logits"):
            raise ValueError(f"Expected `scores` to be 'logits' with logits=True, but got {scores!r}")
        scores = "logits"
    check_binary_threshold(threshold, scores == "logits")  # a threshold outside [0, 1] with logits is refused
    return scores, np.array([check_binary_threshold(threshold)])


def binary_confusion_matrix(y_true, y_score, *, threshold=0.5, sample_weight=None, scores="auto", logits=False,
                            backend="auto", like=None):
    """The (2, 2) matrix ``[[tn, fp], [fn, tp]]`` predicting positive iff ``score >= threshold``.

    Parameters
    ----------
    y_true : array-like of shape (N,), 0/1
    y_score : array-like of shape (N,)
        Probabilities or logits (see ``scores``). Logits are compared with ``logit(threshold)``
        (the same as applying a sigmoid first, without computing it per element).
    threshold : float, default=0.5
        A probability; a threshold outside [0, 1] is in the scores' own units (compared as
        given under ``scores="auto"``, refused with ``scores="logits"``).
    sample_weight : array-like of shape (N,), optional
    scores : {"auto", "probabilities", "logits"}, default="auto"
        As in :func:`threshold_confusion_matrices`: "auto" reads any score outside [0, 1] as
        the sign of logits.
    logits : bool, default=False
        The same as ``scores="logits"`` (kept from earlier releases).
    backend : {"auto", "numba", "numpy", "cupy"}
    like : None, str, array or module, optional
        The array type of the result, as in :func:`threshold_confusion_matrices`.

    Examples
    --------
    >>> binary_confusion_matrix([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.5]).tolist()
    [[1, 1], [1, 1]]
    >>> binary_confusion_matrix([0, 1], [-2.0, 0.3]).tolist()  # -2.0 is a logit: 0.3 is one too
    [[1, 0], [0, 1]]
    """
    scores, thr = binary_threshold(threshold, scores, logits)
    t, s, weights = prepare(y_true, y_score, sample_weight, num_classes=1)
    reading = score_reading(scores, s, thr)
    return to_caller(matrices_from_hist(count_scores(t, s, weights, thr, reading, backend))[0, 0], like, y_true, y_score)
