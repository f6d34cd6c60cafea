"""Operating points: which threshold reaches a required recall, precision or false positive rate.

Works on the threshold matrices of :func:`fastcm.threshold_confusion_matrices` and
:class:`fastcm.ThresholdConfusionMatrix`: (T, 2, 2) or one-vs-rest (C, T, 2, 2) counts
``[[tn, fp], [fn, tp]]``, where threshold ``j`` predicts positive iff
``score >= thresholds[j]`` and ``thresholds`` is sorted ascending. So recall and the false
positive rate never rise as the threshold rises; precision may go either way.

* ``recall=r``: the highest threshold whose recall is at least ``r`` (the most precise
  point that still finds that share of the positives);
* ``precision=p``: the lowest threshold whose precision is at least ``p`` (the most
  recall at that precision); a threshold predicting nothing positive has no precision
  and never qualifies;
* ``fpr=f``: the lowest threshold whose false positive rate is at most ``f``.

Examples
--------
>>> import numpy as np
>>> import fastcm
>>> y, s = [0, 0, 1, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.7, 0.6, 0.9]
>>> thr = [0.0, 0.25, 0.5, 0.75, 1.0]
>>> point = threshold_for(fastcm.threshold_confusion_matrices(y, s, thresholds=thr), thr, recall=0.75)
>>> point.threshold, point.recall, point.precision, point.tp, point.fp
(0.5, 0.75, 0.75, 3, 1)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..backends.arrays import to_host

__all__ = ["OperatingPoint", "threshold_for"]


@dataclass(frozen=True)
class OperatingPoint:
    """The threshold meeting a criterion and the metrics there.

    Scalars for (T, 2, 2) counts; (C,) arrays, one entry per class, for (C, T, 2, 2).
    Where no threshold meets the criterion, ``achieved`` is False, ``threshold`` and the
    rates are NaN and the counts are 0. A rate whose denominator is 0 at the chosen
    threshold (e.g. precision where nothing is predicted positive) is NaN.

    Attributes
    ----------
    criterion : str
        e.g. ``"recall>=0.95"``.
    threshold, precision, recall, fpr, specificity, f1 : float or ndarray
    tp, fp, tn, fn : int or ndarray
        Counts at the threshold (float when the matrices hold weighted counts).
    achieved : bool or ndarray of bool
    index : int or ndarray
        Position of the threshold in ``thresholds`` (-1 where not achieved).
    """

    criterion: str
    threshold: object
    precision: object
    recall: object
    fpr: object
    specificity: object
    f1: object
    tp: object
    fp: object
    tn: object
    fn: object
    achieved: object
    index: object


def _criterion(recall, precision, fpr):
    given = [(name, v) for name, v in (("recall", recall), ("precision", precision), ("fpr", fpr)) if v is not None]
    if len(given) != 1:
        raise ValueError(
            "Expected exactly one of `recall`, `precision` or `fpr`, but got "
            + (", ".join(f"{n}={v!r}" for n, v in given) if given else "none")
        )
    name, value = given[0]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"Expected `{name}` to be a number in [0, 1], but got {value!r}")
    return name, float(value)


def threshold_for(counts, thresholds, *, recall=None, precision=None, fpr=None) -> OperatingPoint:
    """The operating point reaching ``recall``, ``precision`` or ``fpr`` (exactly one).

    Parameters
    ----------
    counts : array-like of shape (T, 2, 2) or (C, T, 2, 2)
        Threshold matrices ``[[tn, fp], [fn, tp]]`` (host or CuPy; read on the host).
    thresholds : array-like of shape (T,)
        The thresholds, sorted ascending; matrix ``j`` predicts positive iff ``score >= thresholds[j]``.
    recall, precision, fpr : float in [0, 1]
        The requirement (see the module docstring for which threshold each picks).

    Returns
    -------
    OperatingPoint

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[[0, 2], [0, 2]], [[1, 1], [0, 2]], [[2, 0], [1, 1]]])  # thresholds 0.2, 0.5, 0.8
    >>> p = threshold_for(m, [0.2, 0.5, 0.8], fpr=0.5)
    >>> p.threshold, p.fpr, p.recall, p.achieved
    (0.5, 0.5, 1.0, True)
    >>> threshold_for(m, [0.2, 0.5, 0.8], precision=1.0).threshold
    0.8
    """
    name, target = _criterion(recall, precision, fpr)
    m = np.asarray(to_host(counts))  # synchronize! (device counts)
    thr = np.asarray(to_host(thresholds), dtype=np.float64).reshape(-1)
    if m.ndim not in (3, 4) or m.shape[-2:] != (2, 2):
        raise ValueError(f"Expected threshold matrices of shape (T, 2, 2) or (C, T, 2, 2), but got {m.shape}")
    if m.dtype.kind not in "iuf":
        raise TypeError(f"Expected numeric counts, but got dtype {m.dtype}")
    if thr.size != m.shape[-3]:
        raise ValueError(f"Expected {m.shape[-3]} thresholds for the {m.shape[-3]} matrices, but got {thr.size}")
    if thr.size > 1 and not np.all(np.diff(thr) >= 0):
        raise ValueError("Expected `thresholds` sorted ascending")
    single = m.ndim == 3
    m = m[None] if single else m
    tn, fp, fn, tp = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    f = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore"):
        rec = np.where(tp + fn > 0, f(tp) / f(tp + fn), np.nan)
        prec = np.where(tp + fp > 0, f(tp) / f(tp + fp), np.nan)
        rate = np.where(fp + tn > 0, f(fp) / f(fp + tn), np.nan)
        spec = np.where(fp + tn > 0, f(tn) / f(fp + tn), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, f(2 * tp) / f(2 * tp + fp + fn), np.nan)
    T = thr.size
    if name == "recall":  # recall falls as the threshold rises: the last one still reaching it
        ok = rec >= target
    elif name == "precision":
        ok = prec >= target
    else:
        ok = rate <= target
    achieved = ok.any(axis=1)
    if T == 0:
        j = np.zeros(m.shape[0], dtype=np.int64)
    elif name == "recall":
        j = T - 1 - np.argmax(ok[:, ::-1], axis=1)
    else:  # the lowest threshold reaching the precision, or the false positive rate
        j = np.argmax(ok, axis=1)
    rows = np.arange(m.shape[0])

    def at(a, fill):
        if T == 0:
            return np.full(m.shape[0], fill, dtype=np.result_type(a.dtype, type(fill)))
        return np.where(achieved, a[rows, j], fill)

    out = dict(
        threshold=np.where(achieved, thr[j] if T else np.nan, np.nan).astype(np.float64),
        precision=at(prec, np.nan), recall=at(rec, np.nan), fpr=at(rate, np.nan),
        specificity=at(spec, np.nan), f1=at(f1, np.nan),
        tp=at(tp, 0), fp=at(fp, 0), tn=at(tn, 0), fn=at(fn, 0),
        achieved=achieved, index=np.where(achieved, j, -1),
    )
    if single:
        out = {k: v[0].item() for k, v in out.items()}
    return OperatingPoint(criterion=f"{name}{'<=' if name == 'fpr' else '>='}{target:g}", **out)
