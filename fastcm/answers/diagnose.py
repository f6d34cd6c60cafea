"""``diagnose``: findings about a confusion matrix that a person should act on.

High accuracy can hide a useless classifier for a rare class (the accuracy paradox);
imbalance, classes never predicted or absent from the truth, and the most confused pairs
are what to look at next. Each finding states the numbers behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..backends.arrays import to_host
from ..metrics import matrix as metrics
from ..counts.confusion import count
from ..counts.sparse import as_sparse_counts, is_sparse

__all__ = ["Diagnosis", "Finding", "diagnose"]


@dataclass(frozen=True)
class Finding:
    """One observation: a ``kind`` (e.g. "accuracy_paradox"), a sentence, and its numbers."""

    kind: str
    message: str
    numbers: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class Diagnosis(list):
    """The list of :class:`Finding`; prints one line per finding."""

    def kinds(self) -> list[str]:
        return [f.kind for f in self]

    def __str__(self) -> str:
        if not self:
            return "No findings: no accuracy paradox, no strong imbalance, every class predicted."
        return "\n".join(f"- {f.message}" for f in self)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def diagnose(
    cm_or_y_true,
    y_pred=None,
    *,
    labels=None,
    target_names=None,
    accuracy_threshold=0.9,
    recall_threshold=0.5,
    imbalance_ratio=10.0,
    top_confusions=3,
    min_confusion_share=0.05,
    train=None,
    level=0.95,
    max_interval_width=0.3,
    overfit_gap=0.05,
):
    """Findings about a classifier's confusion matrix.

    Parameters
    ----------
    cm_or_y_true : (C, C) count matrix, or true labels (then ``y_pred`` is required)
        A scipy.sparse matrix (``confusion_matrix(..., sparse=True)``, a sparse
        accumulator's ``compute()``) is read without densifying it: the most confused pairs
        come from its listed cells. Labels are counted sparse, so 10^6 classes fit.
    y_pred : array-like, optional
        Predicted labels when the first argument holds true labels.
    labels, target_names : optional
        Classes (as in :func:`fastcm.confusion_matrix`) and names to print for them.
    accuracy_threshold, recall_threshold : float
        The accuracy paradox is reported when accuracy is at least ``accuracy_threshold``
        while a class present in the truth has recall below ``recall_threshold``.
    imbalance_ratio : float
        Report imbalance when the largest class has this many times the samples of the
        smallest present class.
    top_confusions : int
        How many of the largest off-diagonal cells to report.
    min_confusion_share : float
        Only report a confused pair holding at least this share of its true class.
    train : (C, C) count matrix or ConfusionMatrix, optional
        The same classifier's matrix on its training set (same classes). Adds two checks:
        *overfitting* (training accuracy more than ``overfit_gap`` above the test accuracy,
        and their ``level`` Wilson intervals apart), and *possible leakage* (the test
        accuracy's ``level`` Wilson interval lies wholly above the training accuracy's: a
        result too good to come from unseen data). Both are judged on the intervals, not
        on the point estimates: a test accuracy a little above the training one by chance
        (99.2% against 99.1%) is no finding.
    level : float
        Confidence level of the intervals behind the findings (Wilson).
    max_interval_width : float
        A class whose recall's ``level`` interval is wider than this is flagged as too small
        a sample for its recall to mean much.
    overfit_gap : float
        Smallest training-minus-test accuracy reported as overfitting.

    Examples
    --------
    >>> cm = np.array([[970, 10], [18, 2]])
    >>> print(diagnose(cm, target_names=["ok", "fraud"]))
    - Accuracy paradox: accuracy is 97.2%, but class 'fraud' has recall 10.0% (20 of 1000 samples, 2.0%).
    - Class imbalance: 'ok' has 980 samples, 'fraud' 20 (ratio 49.0).
    - Most confused: 'fraud' predicted as 'ok' 18 times (90.0% of 'fraud').
    """
    if y_pred is None:
        cm = cm_or_y_true if is_sparse(cm_or_y_true) else np.asarray(to_host(cm_or_y_true))
        if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
            raise ValueError(f"Expected a square (C, C) count matrix or y_true with y_pred, but got shape {cm.shape}")
        class_labels = np.arange(cm.shape[0]) if labels is None else np.asarray(labels)
    else:
        res = count(cm_or_y_true, y_pred, labels=labels, sparse=True)  # the cells: any number of classes
        counted = res.counts
        cm = counted.to_dense() if counted.num_classes <= _DENSE_UP_TO else counted.to_scipy()
        class_labels = res.labels if res.labels is not None else np.arange(cm.shape[0])
    names = [str(n) for n in (target_names if target_names is not None else class_labels)]
    if len(names) != cm.shape[0]:
        raise ValueError(f"Expected {cm.shape[0]} target_names, but got {len(names)}")
    if is_sparse(cm):
        cells = as_sparse_counts(cm)
        _, support, predicted = (a.astype(np.float64) for a in cells.class_sums())
        total = float(support.sum())
    else:
        m = cm.astype(np.float64)
        support = m.sum(axis=1)
        predicted = m.sum(axis=0)
        total = float(m.sum())
    findings = Diagnosis()
    if total == 0:
        findings.append(Finding("empty", "The confusion matrix is empty: no samples were counted.", {"total": 0}))
        return findings
    # the metrics' ratios: correctly rounded even where float64 sums of huge counts would round
    accuracy = metrics.accuracy(cm)
    recall = np.asarray(metrics.recall(cm, zero_division=np.nan))

    present = np.flatnonzero(support > 0)
    weak = [i for i in present if recall[i] < recall_threshold]
    if accuracy >= accuracy_threshold and weak:
        for i in sorted(weak, key=lambda i: recall[i]):
            findings.append(
                Finding(
                    "accuracy_paradox",
                    f"Accuracy paradox: accuracy is {_pct(accuracy)}, but class {names[i]!r} has recall "
                    f"{_pct(recall[i])} ({int(support[i])} of {int(total)} samples, {_pct(support[i] / total)}).",
                    {"accuracy": accuracy, "class": names[i], "recall": float(recall[i]), "support": float(support[i])},
                )
            )
    if present.size >= 2:
        big, small = present[np.argmax(support[present])], present[np.argmin(support[present])]
        ratio = support[big] / support[small]
        if ratio >= imbalance_ratio:
            findings.append(
                Finding(
                    "imbalance",
                    f"Class imbalance: {names[big]!r} has {int(support[big])} samples, {names[small]!r} "
                    f"{int(support[small])} (ratio {ratio:.1f}).",
                    {"largest": names[big], "smallest": names[small], "ratio": float(ratio)},
                )
            )
    for i in present:
        if predicted[i] == 0:
            findings.append(
                Finding(
                    "never_predicted",
                    f"Class {names[i]!r} is never predicted, though it has {int(support[i])} true samples.",
                    {"class": names[i], "support": float(support[i])},
                )
            )
    for i in np.flatnonzero(support == 0):
        findings.append(
            Finding(
                "absent_from_truth",
                f"Class {names[i]!r} never occurs in the truth"
                + (f" but is predicted {int(predicted[i])} times." if predicted[i] else " nor in the predictions."),
                {"class": names[i], "predicted": float(predicted[i])},
            )
        )
    findings += _small_sample_findings(cm, names, support, present, level, max_interval_width)
    if train is not None:
        findings += _train_findings(cm, train, level, overfit_gap)
    for i, j, n in _most_confused(cm, top_confusions):
        if n <= 0 or n / support[i] < min_confusion_share:
            continue
        findings.append(
            Finding(
                "confused_pair",
                f"Most confused: {names[i]!r} predicted as {names[j]!r} {int(n)} times "
                f"({_pct(n / support[i])} of {names[i]!r}).",
                {"true": names[i], "predicted": names[j], "count": float(n), "share": float(n / support[i])},
            )
        )
    return findings


#: labels given to ``diagnose`` are counted as cells; up to this many classes the matrix is
#: then made dense (what the findings read fastest), beyond it stays sparse
_DENSE_UP_TO = 1024


def _most_confused(cm, top):
    """The ``top`` largest off-diagonal cells as (row, column, count), largest first, ties
    to the later cell in row-major order; a sparse matrix from its listed cells only."""
    if is_sparse(cm):
        cells = as_sparse_counts(cm)
        rows, cols = cells.rows_cols()
        off = rows != cols
        values, codes = cells.values[off].astype(np.float64), cells.codes[off]
        order = np.lexsort((codes, values))[::-1][:top]
        return [(int(rows[off][k]), int(cols[off][k]), float(values[k])) for k in order]
    off = cm.astype(np.float64)
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None, kind="stable")[::-1][:top]
    return [(*divmod(int(flat), cm.shape[0]), float(off.reshape(-1)[flat])) for flat in order]


def _small_sample_findings(cm, names, support, present, level, max_width):
    """Classes whose recall interval is too wide for the number to be trusted."""
    from .intervals import confidence_interval

    recall = confidence_interval(cm, "recall", level=level, method="wilson", zero_division=np.nan)
    out = []
    for i in present:
        lo, hi = float(recall.low[i]), float(recall.high[i])
        if np.isfinite(lo) and hi - lo > max_width:
            out.append(
                Finding(
                    "small_sample",
                    f"Small sample: class {names[i]!r} has {int(support[i])} true samples, so its recall "
                    f"{_pct(float(recall.estimate[i]))} is uncertain: the {level:.0%} interval spans "
                    f"{lo:.2f}-{hi:.2f}.",
                    {"class": names[i], "support": float(support[i]), "recall": float(recall.estimate[i]),
                     "low": lo, "high": hi, "level": level},
                )
            )
    return out


def _train_findings(test_cm, train, level, overfit_gap):
    """Overfitting and possible leakage, from the training matrix beside the test one."""
    from .intervals import confidence_interval

    train_cm = train.compute() if hasattr(train, "compute") else train
    train_cm = train_cm if is_sparse(train_cm) else np.asarray(to_host(train_cm))
    if train_cm.shape != test_cm.shape:
        raise ValueError(f"Expected a training matrix of the test matrix's shape {test_cm.shape}, but got {train_cm.shape}")
    if train_cm.sum() == 0:
        return []
    test = confidence_interval(test_cm, "accuracy", level=level, method="wilson")
    fit = confidence_interval(train_cm, "accuracy", level=level, method="wilson")
    numbers = {
        "test_accuracy": test.estimate, "test_low": test.low, "test_high": test.high,
        "train_accuracy": fit.estimate, "train_low": fit.low, "train_high": fit.high, "level": level,
    }
    gap = fit.estimate - test.estimate
    out = []
    if gap > overfit_gap and fit.low > test.high:
        out.append(
            Finding(
                "overfitting",
                f"Overfitting: training accuracy {_pct(fit.estimate)} ({fit.low:.3f}-{fit.high:.3f}) is "
                f"{100 * gap:.1f} points above the test accuracy {_pct(test.estimate)} "
                f"({test.low:.3f}-{test.high:.3f}, {level:.0%} intervals).",
                {**numbers, "gap": gap},
            )
        )
    if test.low > fit.high:
        out.append(
            Finding(
                "possible_leakage",
                f"Possible leakage: test accuracy {_pct(test.estimate)} ({test.low:.4f}-{test.high:.4f}) is above "
                f"the training accuracy {_pct(fit.estimate)} ({fit.low:.4f}-{fit.high:.4f}), beyond their "
                f"{level:.0%} intervals: unseen data should not beat the data the model was fitted on; check that "
                "test samples are not in the training set.",
                numbers,
            )
        )
    return out
