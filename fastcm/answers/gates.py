"""Quality gates: does a confusion matrix meet its minimum metrics?

:func:`check` judges accuracy, and per-class (or macro-averaged) recall, precision and F1
against thresholds and returns every failure with the numbers behind it. With
``use_lower_bound=True`` a metric passes only when the lower bound of its confidence
interval (:func:`fastcm.answers.intervals.confidence_interval`) clears the threshold, so a small
test set cannot pass by luck. :func:`read_requirement` reads the command line's
``--require "recall>=0.85"`` (``>=`` at least, ``>`` strictly above, a threshold in [0, 1]);
``check(require=[...])`` judges every one of them.

Examples
--------
>>> import numpy as np
>>> from fastcm.answers.gates import check
>>> cm = np.array([[45, 5], [20, 30]])
>>> result = check(cm, min_recall=0.7)
>>> bool(result)
False
>>> print(result)
FAILED: 1 of 2 requirements
  recall of class 1 = 0.6000 < 0.7
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field

import numpy as np

from ..metrics import matrix as _metrics
from ..backends.arrays import to_host
from .intervals import confidence_interval, percentile_interval, resampled_values
from ..counts.sparse import is_sparse

__all__ = ["CheckResult", "Failure", "OPERATORS", "check", "parse_requirement", "read_requirement"]

OPERATORS = (">=", ">", "<=", "<")

#: the metrics ``check`` judges, by their keyword
_MINIMUMS = ("accuracy", "recall", "precision", "f1")


@dataclass(frozen=True)
class Failure:
    """One requirement not met.

    ``class_label`` is None for accuracy and for macro averages; ``lower_bound`` is the
    interval's lower bound the judgement used (None when judged on the value itself).
    """

    metric: str
    class_label: object
    value: float
    threshold: float
    lower_bound: float | None = None
    #: the requirement's comparison: ">=" (at least the threshold) or ">" (above it)
    op: str = ">="

    def __str__(self) -> str:
        what = self.metric if self.class_label is None else f"{self.metric} of class {self.class_label}"
        short = "<" if self.op == ">=" else "<="  # what the judged number did instead
        if self.lower_bound is None:
            return f"{what} = {self.value:.4f} {short} {self.threshold:g}"
        return f"{what} = {self.value:.4f}, lower bound {self.lower_bound:.4f} {short} {self.threshold:g}"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`: ``passed`` (also its truth value) and the ``failures``.

    ``n_checked`` counts the (metric, class) judgements made.
    """

    failures: list = field(default_factory=list)
    n_checked: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return f"PASSED: {self.n_checked} of {self.n_checked} requirements"
        lines = [f"FAILED: {len(self.failures)} of {self.n_checked} requirements"]
        lines += [f"  {f}" for f in self.failures]
        return "\n".join(lines)


def _check_threshold(name, value):
    if value is None:
        return None
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"Expected `{name}` to be a number in [0, 1] or None, but got {value!r}")
    return float(value)


def _matrix_and_labels(cm):
    """Counts and the label of each row: a ConfusionMatrix's labels, else ``0..C-1``."""
    if hasattr(cm, "compute") and hasattr(cm, "labels"):
        labels = np.asarray(cm.labels)
        m = cm.compute()
    else:
        m = cm
        labels = None
    if not is_sparse(m):  # a scipy.sparse matrix (many classes) is read as it is
        m = to_host(m)  # synchronize! (CuPy, or an accumulator's compute() in the caller's type)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"Expected a square (C, C) count matrix, but got shape {tuple(m.shape)}")
    if labels is None:
        labels = np.arange(m.shape[0])
    return m, labels


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _select(labels, classes):
    """Row positions of ``classes`` (labels), in the order given; a ValueError names unknown ones."""
    if classes is None:
        return np.arange(labels.size)
    if isinstance(classes, (str, bytes)) or np.ndim(classes) == 0:
        classes = [classes]
    where = {_plain(v): i for i, v in enumerate(labels.tolist())}
    missing = [c for c in classes if _plain(c) not in where]
    if missing:
        raise ValueError(f"Expected `classes` to be labels of the matrix, but {missing} are not among "
                         f"{labels.tolist()[:20]}{' ...' if labels.size > 20 else ''}")
    return np.array([where[_plain(c)] for c in classes], dtype=np.intp)


def read_requirement(text):
    """``"macro f1>0.8"`` -> ``("f1", ">", 0.8, True)``: a requirement ``check`` can judge.

    The metric is accuracy, recall, precision or f1, optionally prefixed ``macro`` (judge
    the macro average rather than each class); the comparison ``>=`` (at least) or ``>``
    (strictly above); the threshold a number in [0, 1] (``>`` 1 could never be met).

    Raises
    ------
    ValueError
        Anything else, quoting the requirement.

    Examples
    --------
    >>> read_requirement("recall>=0.85"), read_requirement("macro f1 > 0.7")
    (('recall', '>=', 0.85, False), ('f1', '>', 0.7, True))
    """
    metric, op, value = parse_requirement(text)
    name = metric.removeprefix("macro ").removeprefix("macro_")
    if op not in (">=", ">") or name not in _MINIMUMS:
        raise ValueError(f"Expected accuracy, recall, precision or f1 (or 'macro f1') with >= or > in requirement "
                         f"{text!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"Expected the threshold of requirement {text!r} to be in [0, 1] (a {name} is), "
                         f"but got {value:g}")
    if op == ">" and value >= 1:
        raise ValueError(f"Requirement {text!r} can never be met: a {name} lies in [0, 1]")
    return name, op, value, name != metric


def check(cm, *, min_accuracy=None, min_recall=None, min_precision=None, min_f1=None, per_class=True,
          classes=None, use_lower_bound=False, level=0.95, random_state=0, require=None):
    """Judge a confusion matrix against minimum metrics.

    Parameters
    ----------
    cm : array_like of shape (C, C) or ConfusionMatrix
        Counts, rows = true class. A :class:`~fastcm.ConfusionMatrix` names its classes by
        its labels; a plain matrix by row index.
    min_accuracy, min_recall, min_precision, min_f1 : float in [0, 1], optional
        Minimum values (met when the value is at least the minimum); None skips the metric.
    per_class : bool, default True
        Judge recall, precision and F1 of each class; False judges their macro averages
        (over ``classes`` when given, else over every class).
    classes : sequence of labels, optional
        The classes judged (all by default).
    use_lower_bound : bool, default False
        Judge the lower bound of the ``level`` confidence interval instead of the value:
        Wilson intervals for accuracy, recall and precision of a class, for F1 of a class
        through its IoU (see :mod:`fastcm.answers.intervals`), the percentile bootstrap (seeded by
        ``random_state``) for macro averages.
    level : float, default 0.95
        Confidence level of those intervals.
    random_state : int, Generator or None, default 0
        Seed of the bootstrap, so a gate gives the same verdict on the same matrix.
    require : str or sequence of str, optional
        Requirements as ``fastcm report --require`` takes them (see :func:`read_requirement`):
        ``"recall>=0.85"`` (at least), ``"recall>0.85"`` (strictly above), ``"macro f1>=0.8"``
        (the macro average; without ``macro`` a per-class metric follows ``per_class``).
        Every requirement is judged, several on one metric included (with the ``min_*``
        ones too): the strictest decides, none replaces another.

    Returns
    -------
    CheckResult
        ``passed`` (also ``bool(result)``), ``failures`` (a list of :class:`Failure`:
        metric, class_label, value, threshold, lower_bound, op) and ``n_checked``. An
        undefined value (recall of a class without samples, precision of one never
        predicted, a NaN bound) fails: a gate cannot vouch for what was not measured.

    Examples
    --------
    >>> import numpy as np
    >>> cm = np.array([[9, 1], [1, 9]])
    >>> check(cm, min_accuracy=0.8).passed
    True
    >>> result = check(cm, min_accuracy=0.8, use_lower_bound=True)
    >>> result.failures[0].metric, round(result.failures[0].lower_bound, 3)
    ('accuracy', 0.699)
    >>> print(check(cm, min_f1=0.85, per_class=False))
    PASSED: 1 of 1 requirements
    >>> print(check(cm, require=["recall>=0.5", "recall>0.9"]))
    FAILED: 2 of 4 requirements
      recall of class 0 = 0.9000 <= 0.9
      recall of class 1 = 0.9000 <= 0.9
    """
    requirements = [(name, ">=", threshold, not per_class) for name, threshold in
                    ((name, _check_threshold(f"min_{name}", value)) for name, value in
                     zip(_MINIMUMS, (min_accuracy, min_recall, min_precision, min_f1))) if threshold is not None]
    if require is not None:
        for text in [require] if isinstance(require, str) else list(require):
            name, op, threshold, macro = read_requirement(text)
            requirements.append((name, op, threshold, macro or not per_class))
    if not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"Expected `level` to be a number strictly between 0 and 1, but got {level!r}")
    m, labels = _matrix_and_labels(cm)
    rows = _select(labels, classes)
    failures = []
    n_checked = 0
    cache = {}

    def judge(metric, label, value, threshold, op, low=None):
        nonlocal n_checked
        n_checked += 1
        judged = value if low is None else low
        met = judged is not None and not math.isnan(judged) and (judged > threshold if op == ">" else judged >= threshold)
        if not met:
            failures.append(Failure(metric, None if label is None else _plain(label), float(value), threshold,
                                    None if low is None else float(low), op))

    def numbers_of(name, macro):  # (values, lower bounds or None), computed once per metric and form
        key = (name, macro or name == "accuracy")
        if key in cache:
            return cache[key]
        if name == "accuracy":
            got = (_metrics.accuracy(m), confidence_interval(m, "accuracy", method="wilson", level=level).low
                   if use_lower_bound else None)
        elif not macro:
            if use_lower_bound:
                ci = confidence_interval(m, name, method="wilson", level=level, zero_division=np.nan)
                got = (ci.estimate, ci.low)
            else:
                got = (getattr(_metrics, name)(m, zero_division=np.nan), None)
        elif use_lower_bound:
            got = _macro_interval(m, name, rows, level, random_state)
        else:
            got = (_nanmean(getattr(_metrics, name)(m, zero_division=np.nan)[rows]), None)
        cache[key] = got
        return got

    for name, op, threshold, macro in requirements:
        values, lows = numbers_of(name, macro)
        if name == "accuracy":
            judge("accuracy", None, values, threshold, op, lows)
        elif macro:
            judge(f"macro {name}", None, values, threshold, op, lows)
        else:
            for r in rows:
                judge(name, labels[r], values[r], threshold, op, None if lows is None else lows[r])
    return CheckResult(failures, n_checked)


def _nanmean(per):
    keep = ~np.isnan(per)
    return float(per[keep].mean()) if keep.any() else math.nan


def _macro_interval(m, name, rows, level, random_state, n_resamples=10_000):
    """Macro average over ``rows`` (classes undefined in a matrix left out, as
    ``zero_division=np.nan``) and its percentile-bootstrap lower bound, from the
    per-class values of each resample (drawn jointly: recall 2C groups, F1 every cell)."""
    per = getattr(_metrics, name)(m, zero_division=np.nan)[rows]
    values = resampled_values(m, name, n_resamples=n_resamples, random_state=random_state,
                              zero_division=np.nan)[:, rows]
    keep = ~np.isnan(values)
    count = keep.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        macro = np.where(count > 0, np.where(keep, values, 0.0).sum(axis=1) / count, np.nan)
    return _nanmean(per), percentile_interval(macro, level)[0]


_REQUIREMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ ]*?)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def parse_requirement(text):
    """``"recall>=0.85"`` -> ``("recall", ">=", 0.85)``: a metric, an operator, a number.

    Operators are ``>=``, ``>``, ``<=`` and ``<``; spaces around them are allowed.

    Raises
    ------
    ValueError
        Text that is not ``METRIC OP NUMBER``; the message quotes it.

    Examples
    --------
    >>> parse_requirement("recall>=0.85")
    ('recall', '>=', 0.85)
    >>> parse_requirement(" macro f1 > .7 ")
    ('macro f1', '>', 0.7)
    >>> parse_requirement("recall=0.85")
    Traceback (most recent call last):
      ...
    ValueError: Expected a requirement METRIC OP NUMBER with OP one of >=, >, <=, <, e.g. 'recall>=0.85', but got 'recall=0.85'
    """
    if not isinstance(text, str):
        raise ValueError(f"Expected a requirement string such as 'recall>=0.85', but got {text!r}")
    match = _REQUIREMENT.match(text)
    if match is None:
        raise ValueError(f"Expected a requirement METRIC OP NUMBER with OP one of {', '.join(OPERATORS)}, "
                         f"e.g. 'recall>=0.85', but got {text!r}")
    metric, op, number = match.groups()
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"Expected a finite number in requirement {text!r}")
    return " ".join(metric.split()), op, value
