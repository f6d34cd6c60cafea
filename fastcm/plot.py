"""Plots of confusion matrices and threshold curves (matplotlib, the ``plot`` extra).

matplotlib is imported inside the functions, so ``import fastcm.plot`` costs nothing.
Every function draws into ``ax`` when given one and otherwise makes a new figure through
pyplot (shown inline in notebooks; a headless process falls back to Agg). Each returns the
Axes it drew on. :func:`summary` builds a figure without pyplot (no GUI backend touched),
which is what ``fastcm report --plot`` saves.

* :func:`confusion_matrix`: counts or normalized, class names, colour bar; cell values up
  to 30 classes, thinned tick labels up to ``max_classes``, and above that the aggregated
  view of :func:`top_confusions` (the most confused pairs as bars);
* :func:`per_class_bars`: precision, recall and F1 per class (the worst classes by F1 when
  there are many);
* :func:`roc_curve`, :func:`pr_curve`: from ``(y_true, y_score)`` predictions (exact curves,
  scores read by the rule of :mod:`fastcm.scores`), from :class:`fastcm.ThresholdConfusionMatrix`
  accumulators or threshold matrices (binned, labelled so, with the end points, so the
  legend's area is the accumulator's ``auroc()`` / ``average_precision()``), or from curve
  arrays that are rates in [0, 1] along a monotone curve; anything else is refused.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np
>>> ax = confusion_matrix(np.array([[5, 1], [2, 7]]), labels=["cat", "dog"])
>>> ax.get_xlabel(), ax.get_ylabel()
('Predicted label', 'True label')
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = [
    "confusion_matrix",
    "top_confusions",
    "per_class_bars",
    "roc_curve",
    "pr_curve",
    "summary",
    "roc_points",
    "pr_points",
    "auroc_from_counts",
    "average_precision_from_counts",
]

#: above this many classes cell values are not written into the cells
MAX_ANNOTATED = 30
#: above this many classes the matrix is shown as its most confused pairs
MAX_MATRIX = 100


def _counts_and_names(cm, labels):
    """Host (C, C) counts and class names from a ConfusionMatrix or a count array."""
    from .stream import ConfusionMatrix

    if isinstance(cm, ConfusionMatrix):
        counts = cm.compute()
        default = [str(v) for v in cm.labels]
    else:
        counts = cm
        default = None
    counts = counts if isinstance(counts, np.ndarray) else (counts.get() if hasattr(counts, "get") else np.asarray(counts))
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"Expected a square (C, C) confusion matrix, but got shape {counts.shape}")
    c = counts.shape[0]
    names = [str(n) for n in labels] if labels is not None else (default or [str(i) for i in range(c)])
    if len(names) != c:
        raise ValueError(f"Expected {c} labels for a {c}x{c} matrix, but got {len(names)}")
    return counts, names


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _tick_positions(c, most=25):
    step = max(1, math.ceil(c / most))
    return np.arange(0, c, step)


def confusion_matrix(cm, *, labels=None, normalize=None, ax=None, cmap="Blues", values=None,
                     max_classes=MAX_MATRIX, top_pairs=20, colorbar=True, title=None):
    """Draw a confusion matrix as a heat map (rows: true class, columns: predicted class).

    Parameters
    ----------
    cm : ConfusionMatrix or array (C, C)
    labels : sequence of str, optional
        Class names (default: the accumulator's labels, or 0..C-1).
    normalize : {None, "true", "pred", "all"}
        Show fractions of each true row, predicted column or of everything.
    ax : matplotlib Axes, optional
    cmap : str or Colormap
    values : bool, optional
        Write the value into each cell; default: only up to 30 classes.
    max_classes : int
        Above this many classes draw :func:`top_confusions` instead (a heat map of
        thousands of rows shows nothing readable).
    top_pairs : int
        Pairs shown by the aggregated view.
    colorbar : bool
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = confusion_matrix(np.eye(3, dtype=int) * 4, normalize="true", title="eye")
    >>> ax.get_title()
    'eye'
    """
    from .confusion import normalize_counts

    counts, names = _counts_and_names(cm, labels)
    c = counts.shape[0]
    if c > max_classes:
        return top_confusions(counts, labels=names, k=top_pairs, normalize=normalize, ax=ax, title=title)
    shown = np.asarray(normalize_counts(counts, normalize)) if normalize else counts
    size = min(4 + 0.35 * c, 16)
    ax = _new_axes(ax, (size + 1.5, size))
    vmax = 1.0 if normalize else None
    im = ax.imshow(shown, interpolation="nearest", cmap=cmap, vmin=0, vmax=vmax, aspect="equal")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction" if normalize else "count")
    ticks = _tick_positions(c)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels([names[i] for i in ticks], rotation=45 if c > 8 or max(map(len, names), default=0) > 3 else 0, ha="right" if c > 8 else "center")
    ax.set_yticklabels([names[i] for i in ticks])
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    if values if values is not None else c <= MAX_ANNOTATED:
        threshold = (np.nanmax(shown) if shown.size else 0) / 2
        fontsize = max(5, 10 - c // 5)
        for i in range(c):
            for j in range(c):
                v = shown[i, j]
                text = f"{v:.2f}" if normalize else (f"{v:.3g}" if np.asarray(v).dtype.kind == "f" else _short(int(v)))
                ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                        color="white" if v > threshold else "black")
    if title:
        ax.set_title(title)
    return ax


def _short(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e4)):
        if abs(n) >= size:
            return f"{n / (size if unit != 'k' else 1e3):.3g}{unit}"
    return str(n)


def top_confusions(cm, *, labels=None, k=20, normalize=None, ax=None, title=None):
    """The ``k`` largest off-diagonal cells as horizontal bars: the view for many classes.

    With ``normalize="true"`` a bar is the share of the true class predicted as the other
    one; otherwise the count.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = top_confusions(np.array([[5, 3, 0], [1, 5, 0], [0, 2, 5]]), k=2)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['0 → 1', '2 → 1']
    """
    from .confusion import normalize_counts

    counts, names = _counts_and_names(cm, labels)
    m = np.asarray(normalize_counts(counts, normalize) if normalize else counts, dtype=np.float64).copy()
    np.fill_diagonal(m, 0)
    k = int(min(k, m.size))
    flat = np.argsort(m, axis=None, kind="stable")[::-1][:k]
    pairs = [(divmod(int(i), m.shape[1])) for i in flat]
    pairs = [(i, j) for i, j in pairs if m[i, j] > 0]
    ax = _new_axes(ax, (8, max(3, 0.3 * len(pairs) + 1)))
    y = np.arange(len(pairs))
    ax.barh(y, [m[i, j] for i, j in pairs], color="tab:red")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{names[i]} → {names[j]}" for i, j in pairs])
    ax.invert_yaxis()
    ax.set_xlabel("share of the true class" if normalize == "true" else ("fraction" if normalize else "count"))
    ax.set_ylabel("true → predicted")
    ax.set_title(title or f"Most confused pairs ({counts.shape[0]} classes)")
    return ax


def per_class_bars(cm, labels=None, *, ax=None, max_classes=40, title=None):
    """Precision, recall and F1 of each class as grouped bars.

    With more than ``max_classes`` classes only the ``max_classes`` worst by F1 are drawn.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = per_class_bars(np.array([[5, 1], [2, 7]]), ["cat", "dog"])
    >>> ax.get_ylabel(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('score', ['precision', 'recall', 'F1'])
    """
    from . import metrics

    counts, names = _counts_and_names(cm, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = np.asarray(metrics.precision(counts, zero_division=0))
        r = np.asarray(metrics.recall(counts, zero_division=0))
        f = np.asarray(metrics.f1(counts, zero_division=0))
    idx = np.arange(len(names))
    worst = len(names) > max_classes
    if worst:
        idx = np.argsort(f, kind="stable")[:max_classes]
    n = len(idx)
    ax = _new_axes(ax, (min(4 + 0.45 * n, 18), 4))
    x = np.arange(n)
    w = 0.27
    ax.bar(x - w, p[idx], w, label="precision")
    ax.bar(x, r[idx], w, label="recall")
    ax.bar(x + w, f[idx], w, label="F1")
    ax.set_xticks(x)
    ax.set_xticklabels([names[i] for i in idx], rotation=45 if n > 10 else 0, ha="right" if n > 10 else "center")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("class" + (f" ({n} lowest F1 of {len(names)})" if worst else ""))
    ax.set_ylabel("score")
    ax.legend(loc="lower right", fontsize="small", ncol=3)
    if title:
        ax.set_title(title)
    return ax


def _is_threshold_counts(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "ndim") and x.ndim >= 3 and tuple(x.shape[-2:]) == (2, 2)


def roc_points(counts):
    """False and true positive rates of (T, 2, 2) threshold matrices ``[[tn, fp], [fn, tp]]``,
    from the lowest threshold up, with the curve's end points (1, 1) and (0, 0) added.

    >>> fpr, tpr = roc_points(np.array([[[0, 2], [0, 2]], [[1, 1], [0, 2]], [[2, 0], [1, 1]]]))
    >>> fpr.tolist(), tpr.tolist()
    ([1.0, 1.0, 0.5, 0.0, 0.0], [1.0, 1.0, 1.0, 0.5, 0.0])
    """
    m = _host(counts).reshape(-1, 2, 2)
    tn, fp, fn, tp = m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = np.where(fp + tn > 0, fp / np.where(fp + tn > 0, fp + tn, 1), 0.0)
        tpr = np.where(tp + fn > 0, tp / np.where(tp + fn > 0, tp + fn, 1), 0.0)
    return np.concatenate([[1.0], fpr, [0.0]]), np.concatenate([[1.0], tpr, [0.0]])


def pr_points(counts):
    """Precision and recall of (T, 2, 2) threshold matrices; precision is 1 where nothing is
    predicted positive (scikit-learn's end point).

    >>> p, r = pr_points(np.array([[[0, 2], [0, 2]], [[2, 0], [1, 1]]]))
    >>> p.tolist(), r.tolist()
    ([0.5, 1.0], [1.0, 0.5])
    """
    m = _host(counts).reshape(-1, 2, 2)
    fp, fn, tp = m[:, 0, 1], m[:, 1, 0], m[:, 1, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1), 1.0)
        recall = np.where(tp + fn > 0, tp / np.where(tp + fn > 0, tp + fn, 1), 0.0)
    return precision, recall


def auroc_from_counts(counts) -> float:
    """Area under the ROC curve through the points of (T, 2, 2) threshold matrices (trapezoids)."""
    fpr, tpr = roc_points(counts)
    return _area(fpr, tpr)


def average_precision_from_counts(counts) -> float:
    """Average precision (scikit-learn's step sum) over the points of (T, 2, 2) threshold matrices."""
    precision, recall = pr_points(counts)
    return _step_area(recall, precision)


def _step_area(recall, precision) -> float:
    order = np.lexsort((-precision, recall))  # increasing recall; the best precision first on ties
    r, p = recall[order], precision[order]
    return float(np.sum(np.diff(r, prepend=0.0) * p))


def _is_accumulator(x) -> bool:
    return hasattr(x, "compute") and hasattr(x, "thresholds") and hasattr(x, "roc_curve")


def _is_predictions(pair) -> bool:
    """Whether a 2-tuple is ``(y_true, y_score)`` rather than curve arrays: integer or bool
    truth, scores with a class axis, or float 0/1 truth that is no monotone curve."""
    if not (isinstance(pair, tuple) and len(pair) == 2):
        return False
    a, b = np.asarray(pair[0]), np.asarray(pair[1])
    if a.ndim != 1 or b.ndim not in (1, 2) or a.shape[0] != b.shape[0]:
        return False
    if a.dtype.kind in "biu" or b.ndim == 2:
        return True
    return a.dtype.kind == "f" and bool(np.all((a == 0) | (a == 1))) and not _monotone(a)


def _monotone(x) -> bool:
    d = np.diff(x)
    return bool(np.all(d >= 0) or np.all(d <= 0))


def _prediction_curves(pair, names):
    """[(name, exact curve source)] from ``(y_true, y_score)``, one per class for (N, C) scores."""
    from .scores import read_scores, to_probabilities

    y_true, y_score = np.asarray(pair[0]), np.asarray(pair[1])
    if y_score.dtype.kind not in "biuf":
        raise TypeError(f"Expected `y_score` to hold numbers, but got dtype {y_score.dtype}")
    if y_score.ndim == 1:  # the exact curves rank the scores: the same for logits and their sigmoid
        return [(names[0] if names else None, _Exact(y_true, y_score))]
    probs = to_probabilities(y_score, read_scores("auto", y_score), multiclass=True)
    C = y_score.shape[1]
    names = names if names and len(names) == C else [str(k) for k in range(C)]
    return [(names[k], _Exact((y_true == k).astype(np.int8), probs[:, k])) for k in range(C)]


class _Exact:
    """Exact ROC and PR points of ``(y_true, y_score)`` (:mod:`fastcm.curves`)."""

    def __init__(self, y_true, y_score):
        self.y_true, self.y_score = y_true, y_score

    def points(self, kind):
        from . import curves

        if kind == "roc":
            fpr, tpr, _ = curves.roc_curve(self.y_true, self.y_score)
            return _host(fpr), _host(tpr)
        precision, recall, _ = curves.precision_recall_curve(self.y_true, self.y_score)
        return _host(precision), _host(recall)


def _as_curve_list(curves, labels):
    """[(name, curve source)] from threshold matrices ((T, 2, 2) or (C, T, 2, 2)), one or
    several accumulators, a dict, ``(y_true, y_score)`` predictions, or curve arrays."""
    if _is_accumulator(curves):
        curves = _host(curves.compute())
    if _is_predictions(curves):
        names = None if labels is None else ([labels] if isinstance(labels, str) else [str(n) for n in labels])
        return _prediction_curves(curves, names)
    if _is_threshold_counts(curves):
        if curves.ndim == 3:
            return [(None if labels is None else str(labels[0] if not isinstance(labels, str) else labels), curves)]
        curves = [curves[i] for i in range(curves.shape[0])]
    if isinstance(curves, dict):
        return [(str(k), v) for k, v in curves.items()]
    several = isinstance(curves, (list, tuple)) and curves and (
        _is_threshold_counts(curves[0]) or not (isinstance(curves[0], np.ndarray) or np.isscalar(curves[0]))
    )
    if several:
        names = [str(n) for n in labels] if labels is not None else [str(i) for i in range(len(curves))]
        if len(names) != len(curves):
            raise ValueError(f"Expected {len(curves)} labels for {len(curves)} curves, but got {len(names)}")
        return list(zip(names, curves))
    return [(None if labels is None else str(labels[0]) if not isinstance(labels, str) else labels, curves)]


def _curve_arrays(obj, kind):
    """(x, y, how) of one curve: ``how`` is "exact", "binned, T thresholds" or "" (given arrays)."""
    if isinstance(obj, _Exact):
        a, b = obj.points(kind)
        return a, b, "exact"
    if _is_accumulator(obj):
        obj = _host(obj.compute())
        if obj.ndim != 3:
            raise ValueError(f"Expected one curve per accumulator here, but got {obj.shape[0]} classes; pass it alone")
    if _is_threshold_counts(obj):
        a, b = roc_points(obj) if kind == "roc" else pr_points(obj)
        return a, b, f"binned, {obj.shape[-3]} thresholds"
    if isinstance(obj, tuple) and len(obj) >= 2:
        a, b = _checked_rates(obj[0], obj[1], kind)
        return a, b, ""
    raise TypeError(
        f"Expected a ThresholdConfusionMatrix, threshold matrices, (y_true, y_score) predictions or curve arrays, "
        f"but got {type(obj).__name__}"
    )


def _checked_rates(a, b, kind):
    """Curve arrays, refused unless they are what the axes mean: rates in [0, 1] along a monotone curve."""
    names = ("fpr", "tpr") if kind == "roc" else ("precision", "recall")
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        raise TypeError(f"Expected ({names[0]}, {names[1]}) arrays of numbers, but got dtypes {a.dtype} and {b.dtype}")
    a, b = a.astype(np.float64), b.astype(np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"Expected ({names[0]}, {names[1]}) as two 1-D arrays of one length, but got shapes {a.shape} and {b.shape}")
    for name, v in zip(names, (a, b)):
        if not np.all((v >= 0) & (v <= 1)):
            raise ValueError(f"Expected `{name}` to hold rates in [0, 1], but got {float(v[~((v >= 0) & (v <= 1))][0])!r}; "
                             "pass (y_true, y_score) predictions for a curve from scores")
    if kind == "roc":
        d_a, d_b = np.diff(a), np.diff(b)
        if not ((np.all(d_a >= 0) and np.all(d_b >= 0)) or (np.all(d_a <= 0) and np.all(d_b <= 0))):
            raise ValueError("Expected (fpr, tpr) along a ROC curve, both monotone in the same direction, but they "
                             "are not; pass (y_true, y_score) predictions for a curve from scores")
    elif not _monotone(b):
        raise ValueError("Expected (precision, recall) with recall monotone along the curve, but it is not; pass "
                         "(y_true, y_score) predictions for a curve from scores")
    return a, b


def _host(a):
    a = a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a
    return np.asarray(a, dtype=np.float64)


def _area(x, y):
    order = np.lexsort((y, x))  # a curve's points by x, and up the vertical steps
    x, y = x[order], y[order]
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def roc_curve(curves, labels=None, *, ax=None, max_curves=12, title=None):
    """ROC curves (true positive rate against false positive rate), with AUROC in the legend.

    Parameters
    ----------
    curves : (y_true, y_score), ThresholdConfusionMatrix, threshold matrices, list/dict of them, or (fpr, tpr)
        ``(y_true, y_score)`` predictions (integer or 0/1 truth; (N,) scores, or (N, C)
        scores one-vs-rest per class, logits softmaxed as :mod:`fastcm.scores` says) give
        the exact curve. An accumulator or the (T, 2, 2) / one-vs-rest (C, T, 2, 2) counts of
        :func:`fastcm.thresholds.threshold_confusion_matrices` give the binned curve through
        (0, 0) and (1, 1), whose area is ``ThresholdConfusionMatrix.auroc()``; the legend says
        "binned". ``(fpr, tpr)`` arrays must be rates in [0, 1], both monotone; anything
        else is a ValueError or TypeError.
    labels : sequence of str, optional
        A name per curve.
    max_curves : int
        At most this many curves are drawn (the first ones).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = roc_curve((np.array([0.0, 0.2, 1.0]), np.array([0.0, 0.8, 1.0])), ["model"])
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('False positive rate', 'True positive rate')
    >>> roc_curve((np.array([0, 1, 1, 0]), np.array([-1.5, 2.0, 0.3, 0.9]))).get_legend().get_texts()[0].get_text()
    '(AUROC 0.750, exact)'
    """
    items = _as_curve_list(curves, labels)
    ax = _new_axes(ax, (5, 5))
    for name, obj in items[:max_curves]:
        fpr, tpr, how = _curve_arrays(obj, "roc")
        auc = _area(fpr, tpr)
        ax.plot(fpr, tpr, lw=1.5, label=f"{name + ' ' if name else ''}(AUROC {auc:.3f}{', ' + how if how else ''})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(title or "ROC" + (f" (first {max_curves} of {len(items)})" if len(items) > max_curves else ""))
    return ax


def pr_curve(curves, labels=None, *, ax=None, max_curves=12, title=None):
    """Precision-recall curves, with the average precision in the legend.

    Parameters
    ----------
    curves : (y_true, y_score), ThresholdConfusionMatrix, threshold matrices, list/dict of them, or (precision, recall)
        As in :func:`roc_curve`; ``(precision, recall)`` arrays must be rates in [0, 1] with
        recall monotone.
    labels : sequence of str, optional
    max_curves : int

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = pr_curve((np.array([0.5, 0.8, 1.0]), np.array([1.0, 0.5, 0.0])))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Recall', 'Precision')
    """
    items = _as_curve_list(curves, labels)
    ax = _new_axes(ax, (5, 5))
    for name, obj in items[:max_curves]:
        precision, recall, how = _curve_arrays(obj, "pr")
        ap = _step_area(recall, precision)
        order = np.lexsort((-precision, recall))
        ax.step(recall[order], precision[order], where="post", lw=1.5,
                label=f"{name + ' ' if name else ''}(AP {ap:.3f}{', ' + how if how else ''})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.legend(loc="lower left", fontsize="small")
    ax.set_title(title or "Precision-recall" + (f" (first {max_curves} of {len(items)})" if len(items) > max_curves else ""))
    return ax


def summary(cm, *, labels=None, normalize=None, curves=None, title=None):
    """A figure with the confusion matrix, per-class bars and, given accumulators, ROC and PR.

    Built without pyplot, so saving it never touches a GUI backend:
    ``summary(cm).savefig("report.png")``.

    Examples
    --------
    >>> fig = summary(np.array([[5, 1], [2, 7]]), labels=["cat", "dog"])
    >>> len(fig.axes) >= 2
    True
    """
    from matplotlib.figure import Figure

    counts, names = _counts_and_names(cm, labels)
    c = counts.shape[0]
    if curves is not None and _is_threshold_counts(curves):
        curves = [curves] if curves.ndim == 3 else [curves[i] for i in range(curves.shape[0])]
    has_curves = bool(curves)
    side = min(5 + 0.3 * c, 12) if c <= MAX_MATRIX else 8
    if has_curves:
        fig = Figure(figsize=(2 * side + 2, 2 * side * 0.75 + 1), layout="constrained")
        axes = fig.subplots(2, 2)
        mat_ax, bar_ax, roc_ax, pr_ax = axes[0, 0], axes[0, 1], axes[1, 0], axes[1, 1]
    else:
        fig = Figure(figsize=(2 * side + 2, side), layout="constrained")
        mat_ax, bar_ax = fig.subplots(1, 2)
    confusion_matrix(counts, labels=names, normalize=normalize, ax=mat_ax,
                     title="Confusion matrix" + (f" (normalized over {normalize})" if normalize else ""))
    per_class_bars(counts, names, ax=bar_ax, title="Per-class scores")
    if has_curves:
        curve_names = names if len(curves) == len(names) else ([names[1]] if len(curves) == 1 and len(names) == 2 else None)
        roc_curve(list(curves), curve_names, ax=roc_ax)
        pr_curve(list(curves), curve_names, ax=pr_ax)
    if title:
        fig.suptitle(title)
    return fig


def reliability_diagram(result, *, ax=None, title=None):
    """Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration.

    Parameters
    ----------
    result : fastcm.calibration.CalibrationResult or CalibrationError
        A computed result, or an accumulator (computed here).
    ax : matplotlib Axes, optional
        Draw into it; otherwise a new Figure is built without pyplot.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on. Bars: fraction correct per bin (empty bins drawn empty);
        red segments: the gap to the bin's mean confidence; the bin of confidences equal
        to 1 is a point at x = 1. The legend gives ECE and MCE.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcm.calibration import CalibrationError
    >>> acc = CalibrationError(n_bins=10).update([0, 1, 1], np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]))
    >>> fig = reliability_diagram(acc)
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('Confidence', 'Accuracy')
    """
    from .calibration import CalibrationError

    res = result.compute() if isinstance(result, CalibrationError) else result
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5, 5), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    edges = np.asarray(res.bin_edges, dtype=np.float64)
    n = edges.size - 1
    counts = np.asarray(res.bin_counts)
    acc = np.nan_to_num(np.asarray(res.bin_accuracy, dtype=np.float64)[:n])
    conf = np.asarray(res.bin_confidence, dtype=np.float64)[:n]
    width = np.diff(edges)
    ax.bar(edges[:-1], acc, width=width, align="edge", color="tab:blue", edgecolor="black", lw=0.6,
           label=f"Accuracy (ECE {res.ece:.3f}, MCE {res.mce:.3f})")
    full = counts[:n] > 0
    centers = edges[:-1] + width / 2
    ax.vlines(centers[full], acc[full], conf[full], color="tab:red", lw=3, alpha=0.7, label="Gap to mean confidence")
    if counts.size > n and counts[n] > 0:  # confidences of exactly 1: a bin of zero width
        ax.plot([1.0], [res.bin_accuracy[n]], "o", color="tab:blue", mec="black", label=f"Confidence = 1 ({_short(int(counts[n]))})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="Perfect calibration")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Confidence")
    ax.set_ylabel("Accuracy")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(title or f"Reliability diagram ({_short(int(res.n_samples))} predictions, {n} bins)")
    return fig
