"""Plots of confusion matrices and threshold curves (matplotlib, the ``plot`` extra).

matplotlib is imported inside the functions, so ``import fastcm.plot`` costs nothing.

Two ways in, as in scikit-learn:

* Display objects hold what is drawn; their class methods compute it and draw it, and
  ``plot(ax=)`` draws it again into any Axes and returns the display, with ``figure_`` and
  ``ax_`` (and the artists: ``im_``, ``text_``, ``lines_``, ``chance_level_``) for restyling
  after the fact: :class:`ConfusionMatrixDisplay` (``from_matrix``, ``from_predictions``),
  :class:`RocCurveDisplay` and :class:`PrecisionRecallDisplay` (``from_predictions``,
  ``from_accumulator``, ``from_curves``).
* Functions that return the Axes they drew on: :func:`confusion_matrix`,
  :func:`top_confusions`, :func:`per_class_bars`, :func:`roc_curve`, :func:`pr_curve`;
  :func:`summary` and :func:`reliability_diagram` return a Figure built without pyplot (no
  GUI backend touched), which is what ``fastcm report --plot`` saves.

Without ``ax`` a new figure is made through pyplot (shown inline in notebooks; a headless
process falls back to Agg). What a picture leaves out, it says: a heat map above 30
classes is on a log colour scale and labels every k-th class ("every 4th of 100 classes
labelled"); above ``max_classes`` (100) the matrix is drawn as its most confused pairs
("top 20 of 999,000 off-diagonal cells"); per-class bars of many classes show the lowest
F1, ties broken by the larger support, and name the rule; curves beyond ``max_curves`` are
counted in the title. Legends sit outside the axes, so they never cover a bar or a curve.

Curves come from ``(y_true, y_score)`` predictions (exact curves, scores read by the rule
of :mod:`fastcm.core.scores`), from :class:`fastcm.ThresholdConfusionMatrix` accumulators or
threshold matrices (binned, labelled so, with the end points, so the legend's area is the
accumulator's ``auroc()`` / ``average_precision()``), or from curve arrays that are rates
in [0, 1] along a monotone curve; anything else is refused. ROC plots carry the chance
diagonal, precision-recall plots the chance level (the positive class's prevalence).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np
>>> ax = confusion_matrix(np.array([[5, 1], [2, 7]]), labels=["cat", "dog"])
>>> ax.get_xlabel(), ax.get_ylabel()
('Predicted label', 'True label')
>>> disp = ConfusionMatrixDisplay.from_predictions(["cat", "dog", "dog"], ["cat", "cat", "dog"])
>>> disp.display_labels, disp.ax_ is disp.figure_.axes[0]
(['cat', 'dog'], True)
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np

from ..backends.arrays import to_host  # numpy only: reads CuPy, or an accumulator's compute() in the caller's type
from ..core.inputs import as_array
from ..counts.confusion import count, named_like_inputs
from ..metrics import threshold_curves
from ..metrics.threshold_curves import auroc as auroc_from_counts
from ..metrics.threshold_curves import average_precision as average_precision_from_counts
from ..metrics.threshold_curves import pr_points, roc_points

__all__ = [
    "ConfusionMatrixDisplay",
    "RocCurveDisplay",
    "PrecisionRecallDisplay",
    "Curve",
    "confusion_matrix",
    "top_confusions",
    "per_class_bars",
    "roc_curve",
    "pr_curve",
    "summary",
    "reliability_diagram",
    "roc_points",
    "pr_points",
    "auroc_from_counts",
    "average_precision_from_counts",
]

#: above this many classes cell values are not written into the cells, and the colour
#: scale of ``scale="auto"`` is logarithmic
MAX_ANNOTATED = 30
#: above this many classes the matrix is shown as its most confused pairs
MAX_MATRIX = 100
#: at most this many tick labels on an axis: the others are thinned, and the label says so
MAX_TICKS = 25

_LEGEND_OUTSIDE = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small")


def _counts_and_names(cm, labels):
    """Host (C, C) counts and class names from an accumulator (duck-typed) or a count array."""
    if hasattr(cm, "compute") and hasattr(cm, "labels"):  # a ConfusionMatrix, imported nowhere here
        counts = cm.compute()
        default = [str(v) for v in cm.labels]
    else:
        counts = cm
        default = None
    if hasattr(counts, "toarray"):  # a scipy.sparse matrix
        counts = counts.toarray()
    if not isinstance(counts, np.ndarray):
        counts = to_host(counts)
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

    # constrained layout keeps the legends placed beside the axes inside the figure
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _tick_positions(c, most=MAX_TICKS):
    step = max(1, math.ceil(c / most))
    return np.arange(0, c, step)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _thinned(axis_label: str, c: int, step: int) -> str:
    return axis_label if step <= 1 else f"{axis_label} (every {_ordinal(step)} of {c:,} classes labelled)"


def _short(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e4)):
        if abs(n) >= size:
            return f"{n / (size if unit != 'k' else 1e3):.3g}{unit}"
    return str(n)


def _number(v) -> str:
    v = float(v)
    return _short(int(v)) if v == int(v) else f"{v:.3g}"


# -- confusion matrix ------------------------------------------------------------------------------


class ConfusionMatrixDisplay:
    """A confusion matrix to draw: the counts, the class names, and how to show them.

    Rows are true classes, columns predicted ones (as scikit-learn). Build it from counts
    with :meth:`from_matrix` or from labels with :meth:`from_predictions` (both draw it),
    or construct it and call :meth:`plot`.

    Parameters
    ----------
    confusion_matrix : ConfusionMatrix or array (C, C)
        Counts (an accumulator is computed here).
    display_labels : sequence of str, optional
        Class names (default: the accumulator's labels, or 0..C-1).
    normalize : {None, "true", "pred", "all"}
        Draw fractions of each true row, predicted column or of everything.

    Attributes
    ----------
    confusion_matrix : ndarray (C, C)
        The counts, on the host.
    support : ndarray (C,)
        Samples of each true class (row sums).
    im_ : AxesImage or None
        The heat map (None when the matrix was drawn as its most confused pairs).
    text_ : ndarray of Text (C, C) or None
        The cell values, when written.
    colorbar_ : Colorbar or None
    bars_ : BarContainer or None
        The most confused pairs, above ``max_classes``.
    ax_, figure_ : the Axes and Figure drawn on.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> disp = ConfusionMatrixDisplay(np.array([[5, 1], [2, 7]]), display_labels=["a", "b"])
    >>> disp = disp.plot(values_format="d", colorbar=False)
    >>> [t.get_text() for t in disp.text_.ravel()]
    ['5', '1', '2', '7']
    """

    def __init__(self, confusion_matrix, *, display_labels=None, normalize=None):
        if normalize not in (None, "true", "pred", "all"):
            raise ValueError(f"Expected `normalize` to be None, 'true', 'pred' or 'all', but got {normalize!r}")
        self.confusion_matrix, self.display_labels = _counts_and_names(confusion_matrix, display_labels)
        self.normalize = normalize
        self.support = self.confusion_matrix.sum(axis=1)
        self.im_ = self.text_ = self.colorbar_ = self.bars_ = None
        self.ax_ = self.figure_ = None

    @classmethod
    def from_matrix(cls, cm, *, labels=None, normalize=None, **plot_kwargs):
        """Draw counts (a :class:`fastcm.ConfusionMatrix` or a (C, C) array); ``plot_kwargs``
        go to :meth:`plot`. Returns the display."""
        return cls(cm, display_labels=labels, normalize=normalize).plot(**plot_kwargs)

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, labels=None, sample_weight=None, normalize=None,
                         display_labels=None, num_classes=None, **plot_kwargs):
        """Count ``(y_true, y_pred)`` as :func:`fastcm.confusion_matrix` does and draw it.

        ``labels`` / ``num_classes`` as in :func:`fastcm.confusion_matrix`; ``y_pred`` may be
        scores with a class axis (the argmax is taken). ``display_labels`` renames the
        classes; ``plot_kwargs`` go to :meth:`plot`. Returns the display.
        """
        t, p = as_array(y_true, "y_true"), as_array(y_pred, "y_pred")
        res = count(t, p, labels=labels, sample_weight=sample_weight, num_classes=num_classes)
        names = display_labels
        if names is None and res.labels is not None:
            names = [str(v) for v in named_like_inputs(to_host(res.labels), t, p)]
        return cls(to_host(res.counts), display_labels=names, normalize=normalize).plot(**plot_kwargs)

    def _shown(self):
        if not self.normalize:
            return self.confusion_matrix
        from ..counts.confusion import normalize_counts

        return np.asarray(normalize_counts(self.confusion_matrix, self.normalize))

    def plot(self, *, include_values=None, cmap="Blues", xticks_rotation="auto", values_format=None, ax=None,
             colorbar=True, scale="auto", show_support=True, max_classes=MAX_MATRIX, top_pairs=20, title=None,
             im_kw=None, text_kw=None):
        """Draw the matrix; returns the display.

        Parameters
        ----------
        include_values : bool, optional
            Write each cell's value; default: only up to 30 classes.
        cmap : str or Colormap
        xticks_rotation : {"auto", "horizontal", "vertical"} or float
            Rotation of the predicted-class names ("auto": 45 degrees when they would collide).
        values_format : str, optional
            Format of the cell values (e.g. ``"d"``, ``".2f"``); default: counts as
            integers shortened with k/M/G, fractions with two decimals.
        ax : matplotlib Axes, optional
        colorbar : bool
        scale : {"auto", "linear", "log"}
            Colour scale. On a linear scale a large matrix shows its diagonal and little
            else; "auto" is linear up to 30 classes and logarithmic above (zero cells drawn
            white). The colour bar's label names the scale.
        show_support : bool
            Write each true class's support on the right-hand axis.
        max_classes : int
            Above this many classes draw the ``top_pairs`` most confused pairs (off-diagonal
            cells) as bars instead, and say so in the title.
        top_pairs : int
        title : str, optional
        im_kw, text_kw : dict, optional
            Passed to ``imshow`` and to each cell's ``text``.
        """
        counts, names = self.confusion_matrix, self.display_labels
        c = counts.shape[0]
        if c > max_classes:
            ax = _new_axes(ax, (9, max(3.5, 0.32 * top_pairs + 1.5)))
            self.bars_ = _draw_top_pairs(ax, counts, names, top_pairs, self.normalize, title, max_classes=max_classes)
            self.im_ = self.text_ = self.colorbar_ = None
            self.ax_, self.figure_ = ax, ax.figure
            return self
        if scale not in ("auto", "linear", "log"):
            raise ValueError(f"Expected `scale` to be 'auto', 'linear' or 'log', but got {scale!r}")
        import matplotlib as mpl
        from matplotlib.colors import LogNorm, Normalize

        shown = self._shown()
        size = min(4 + 0.35 * c, 16)
        ax = _new_axes(ax, (size + 2.5, size))
        positive = shown[shown > 0] if shown.size else shown
        log = (scale == "log" or (scale == "auto" and c > MAX_ANNOTATED)) and positive.size > 0
        cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
        if log:
            low, high = float(positive.min()), float(positive.max())
            norm = LogNorm(vmin=low / 2, vmax=high if high > low else low * 10)
            cmap = cmap.with_extremes(bad="white")  # zero cells: white, a shade apart from the smallest count
            data = np.ma.masked_less_equal(shown.astype(np.float64), 0)
        else:
            norm = Normalize(vmin=0, vmax=1.0 if self.normalize else None)
            data = shown
        self.im_ = ax.imshow(data, interpolation="nearest", cmap=cmap, norm=norm, aspect="equal", **(im_kw or {}))
        what = {"true": "share of the true class", "pred": "share of the predicted class", "all": "share of all"}.get(
            self.normalize, "count")
        self.colorbar_ = None
        if colorbar:
            # a constrained layout makes room for the support axis itself; a fixed layout needs the pad
            roomy = show_support and type(ax.figure.get_layout_engine()).__name__ != "ConstrainedLayoutEngine"
            self.colorbar_ = ax.figure.colorbar(self.im_, ax=ax, fraction=0.046, pad=0.14 if roomy else 0.03,
                                                label=what + (" (log scale; zero cells white)" if log else ""))
        ticks = _tick_positions(c)
        step = int(ticks[1] - ticks[0]) if ticks.size > 1 else 1
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        long_names = max(map(len, names), default=0) > 3
        if xticks_rotation == "auto":
            rotation = 45 if c > 8 or long_names else 0
        else:
            rotation = xticks_rotation
        ax.set_xticklabels([names[i] for i in ticks], rotation=rotation,
                           ha="right" if rotation not in (0, "horizontal", "vertical", 90) else "center")
        ax.set_yticklabels([names[i] for i in ticks])
        ax.set_xlabel(_thinned("Predicted label", c, step))
        ax.set_ylabel(_thinned("True label", c, step))
        if show_support and c:
            side = ax.secondary_yaxis("right")
            side.set_yticks(ticks)
            side.set_yticklabels([_short(int(self.support[i])) if float(self.support[i]).is_integer()
                                  else f"{self.support[i]:.3g}" for i in ticks], fontsize="small")
            side.set_ylabel("support (samples of the true class)")
        self.text_ = None
        if include_values if include_values is not None else c <= MAX_ANNOTATED:
            self.text_ = np.empty((c, c), dtype=object)
            middle = float(norm(np.nanmax(shown))) / 2 if shown.size and np.nanmax(shown) > 0 else 0.5
            fontsize = max(5, 10 - c // 5)
            for i in range(c):
                for j in range(c):
                    v = shown[i, j]
                    if values_format is not None:
                        text = format(v, values_format)
                    elif self.normalize:
                        text = f"{v:.2f}"
                    else:
                        text = _number(v) if np.asarray(v).dtype.kind == "f" else _short(int(v))
                    dark = v > 0 and float(norm(v)) > middle
                    kw = dict(ha="center", va="center", fontsize=fontsize, color="white" if dark else "black")
                    kw.update(text_kw or {})
                    self.text_[i, j] = ax.text(j, i, text, **kw)
        if title:
            ax.set_title(title)
        self.ax_, self.figure_ = ax, ax.figure
        return self


def confusion_matrix(cm, *, labels=None, normalize=None, ax=None, cmap="Blues", values=None,
                     max_classes=MAX_MATRIX, top_pairs=20, colorbar=True, title=None, scale="auto",
                     show_support=True, values_format=None, xticks_rotation="auto"):
    """Draw a confusion matrix as a heat map (rows: true class, columns: predicted class).

    The function form of :class:`ConfusionMatrixDisplay`: it returns the Axes.

    Parameters
    ----------
    cm : ConfusionMatrix or array (C, C)
    labels : sequence of str, optional
        Class names (default: the accumulator's labels, or 0..C-1).
    normalize : {None, "true", "pred", "all"}
        Show fractions of each true row (the row-normalised view), predicted column or of
        everything.
    ax : matplotlib Axes, optional
    cmap : str or Colormap
    values : bool, optional
        Write the value into each cell; default: only up to 30 classes.
    max_classes : int
        Above this many classes draw :func:`top_confusions` instead (a heat map of
        thousands of rows shows nothing readable); the title says so.
    top_pairs : int
        Pairs shown by the aggregated view.
    colorbar : bool
    title : str, optional
    scale : {"auto", "linear", "log"}
        Colour scale: "auto" is linear up to 30 classes, logarithmic above.
    show_support : bool
        Each true class's support on the right-hand axis.
    values_format : str, optional
    xticks_rotation : {"auto", "horizontal", "vertical"} or float

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
    disp = ConfusionMatrixDisplay(cm, display_labels=labels, normalize=normalize)
    return disp.plot(include_values=values, cmap=cmap, ax=ax, colorbar=colorbar, scale=scale, show_support=show_support,
                     max_classes=max_classes, top_pairs=top_pairs, title=title, values_format=values_format,
                     xticks_rotation=xticks_rotation).ax_


def _top_pairs_title(c, k, off, nonzero, max_classes=None):
    why = f"{c:,} classes" + (f", more than max_classes={max_classes} for a heat map" if max_classes else "")
    return f"Most confused pairs ({why})\ntop {k} of {off:,} off-diagonal cells ({nonzero:,} non-zero)"


def _draw_top_pairs(ax, counts, names, k, normalize, title, max_classes=None):
    from ..counts.confusion import normalize_counts

    c = counts.shape[0]
    support = counts.sum(axis=1)
    m = np.asarray(normalize_counts(counts, normalize) if normalize else counts, dtype=np.float64).copy()
    np.fill_diagonal(m, 0)
    nonzero = int(np.count_nonzero(m))
    k = int(min(k, m.size))
    flat = np.argsort(m, axis=None, kind="stable")[::-1][:k]
    pairs = [(divmod(int(i), m.shape[1])) for i in flat]
    pairs = [(i, j) for i, j in pairs if m[i, j] > 0]
    y = np.arange(len(pairs))
    bars = ax.barh(y, [m[i, j] for i, j in pairs], color="tab:red")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{names[i]} → {names[j]}" for i, j in pairs])
    ax.invert_yaxis()
    for (i, j), bar in zip(pairs, bars):
        n, s = counts[i, j], support[i]
        ax.annotate(f" {_number(n)} of {_number(s)} ({n / s:.0%})" if s else f" {_number(n)}",
                    (bar.get_width(), bar.get_y() + bar.get_height() / 2), va="center", fontsize="small")
    if pairs:
        ax.set_xlim(0, max(m[i, j] for i, j in pairs) * 1.35)  # room for the annotations
    what = "share of the true class" if normalize == "true" else ("fraction" if normalize else "count")
    ax.set_xlabel(what + " (beside each bar: count of the true class's support)")
    ax.set_ylabel("true → predicted")
    full = _top_pairs_title(c, len(pairs), c * c - c, nonzero, max_classes)
    ax.set_title(f"{title}: {full[0].lower()}{full[1:]}" if title else full)
    return bars


def top_confusions(cm, *, labels=None, k=20, normalize=None, ax=None, title=None):
    """The ``k`` largest off-diagonal cells as horizontal bars: the view for many classes.

    With ``normalize="true"`` a bar is the share of the true class predicted as the other
    one; otherwise the count. Each bar is annotated with its count out of the true class's
    support; the title says how many cells are shown of how many.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = top_confusions(np.array([[5, 3, 0], [1, 5, 0], [0, 2, 5]]), k=2)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['0 → 1', '2 → 1']
    >>> ax.get_title().splitlines()[1]
    'top 2 of 6 off-diagonal cells (3 non-zero)'
    """
    counts, names = _counts_and_names(cm, labels)
    ax = _new_axes(ax, (9, max(3.5, 0.32 * k + 1.5)))
    _draw_top_pairs(ax, counts, names, k, normalize, title)
    return ax


# -- per-class bars --------------------------------------------------------------------------------


def per_class_bars(cm, labels=None, *, ax=None, max_classes=40, title=None):
    """Precision, recall and F1 of each class as grouped bars, with each class's support.

    With more than ``max_classes`` classes only ``max_classes`` are drawn: the lowest F1
    first, ties (many classes can share F1 = 0) broken by the larger support, so the
    failures that cost the most samples come first; classes absent from both the truth and
    the predictions come last. The axis label states this rule and how many classes have
    F1 = 0. The legend sits outside the axes, above the bars' range.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = per_class_bars(np.array([[5, 1], [2, 7]]), ["cat", "dog"])
    >>> ax.get_ylabel(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('score', ['precision', 'recall', 'F1'])
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['cat (n=6)', 'dog (n=9)']
    """
    from ..metrics import matrix as metrics

    counts, names = _counts_and_names(cm, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = np.asarray(metrics.precision(counts, zero_division=0))
        r = np.asarray(metrics.recall(counts, zero_division=0))
        f = np.asarray(metrics.f1(counts, zero_division=0))
    support = counts.sum(axis=1)
    c = len(names)
    idx = np.arange(c)
    worst = c > max_classes
    if worst:
        absent = (support == 0) & (counts.sum(axis=0) == 0)
        idx = np.lexsort((np.arange(c), -support, f, absent))[:max_classes]
    n = len(idx)
    ax = _new_axes(ax, (min(5.5 + 0.45 * n, 20), 4.5))
    x = np.arange(n)
    w = 0.27
    ax.bar(x - w, p[idx], w, label="precision")
    ax.bar(x, r[idx], w, label="recall")
    ax.bar(x + w, f[idx], w, label="F1")
    ax.set_xticks(x)
    zero = f[idx] == 0
    if zero.any():  # an empty bar group reads as missing data: mark the zeros
        ax.plot(x[zero], np.zeros(int(zero.sum())), ls="none", marker="x", color="tab:green", clip_on=False,
                label="F1 = 0")
    tick = [f"{names[i]} (n={_number(support[i])})" for i in idx]
    ax.set_xticklabels(tick, rotation=45 if n > 10 else 0, ha="right" if n > 10 else "center",
                       fontsize="small" if n > 10 else None)
    ax.set_ylim(0, 1.05)
    if worst:
        zero = int(np.count_nonzero(f[support > 0] == 0))
        ax.set_xlabel(f"class (n = support)\nthe {n} lowest F1 of {c:,} classes, ties by larger support"
                      + (f"; {zero:,} classes have F1 = 0" if zero else ""))
    else:
        ax.set_xlabel("class (n = support)")
    ax.set_ylabel("score")
    ax.legend(**_LEGEND_OUTSIDE)
    if title:
        ax.set_title(title)
    return ax


# -- threshold curves ------------------------------------------------------------------------------


def _is_threshold_counts(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "ndim") and x.ndim >= 3 and tuple(x.shape[-2:]) == (2, 2)


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
    from ..core.scores import read_scores, to_probabilities

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
    """Exact ROC and PR points of ``(y_true, y_score)`` (:mod:`fastcm.metrics.ranking`)."""

    def __init__(self, y_true, y_score):
        self.y_true, self.y_score = y_true, y_score

    def prevalence(self):
        return float(np.mean(self.y_true == 1)) if self.y_true.size else None

    def points(self, kind):
        from ..metrics import ranking as curves

        if kind == "roc":
            fpr, tpr, _ = curves.roc_curve(self.y_true, self.y_score)
            return _host(fpr), _host(tpr)
        precision, recall, _ = curves.precision_recall_curve(self.y_true, self.y_score)
        return _host(precision), _host(recall)


def _expand(name, obj):
    """[(name, source)]: an accumulator or (C, T, 2, 2) counts are one curve per class."""
    if _is_accumulator(obj):
        obj = _host(obj.compute())
    if _is_threshold_counts(obj) and obj.ndim == 4:
        return [(f"{name}: {k}" if name else str(k), obj[k]) for k in range(obj.shape[0])]
    return [(name, obj)]


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
        return [item for k, v in curves.items() for item in _expand(str(k), v)]
    several = isinstance(curves, (list, tuple)) and len(curves) > 0 and (
        _is_threshold_counts(curves[0]) or not (isinstance(curves[0], np.ndarray) or np.isscalar(curves[0]))
    )
    if several:
        names = [str(n) for n in labels] if labels is not None else [None] * len(curves)
        if len(names) != len(curves):
            raise ValueError(f"Expected {len(curves)} labels for {len(curves)} curves, but got {len(names)}")
        items = [item for name, obj in zip(names, curves) for item in _expand(name, obj)]
        return [(name if name is not None else str(i), obj) for i, (name, obj) in enumerate(items)]
    return [(None if labels is None else str(labels[0]) if not isinstance(labels, str) else labels, curves)]


def _curve_arrays(obj, kind):
    """(x, y, how, prevalence, area) of one curve: ``how`` is "exact", "binned, T thresholds" or ""
    (given arrays); ``prevalence`` is None when the arrays do not tell it; ``area`` is the
    binned curve's AUROC or AP as the accumulator gives it, None where the points decide."""
    if isinstance(obj, _Exact):
        a, b = obj.points(kind)
        return a, b, "exact", obj.prevalence(), None
    if _is_accumulator(obj):
        obj = _host(obj.compute())
        if obj.ndim != 3:
            raise ValueError(f"Expected one curve per accumulator here, but got {obj.shape[0]} classes; pass it alone")
    if _is_threshold_counts(obj):
        if kind == "roc":
            a, b = threshold_curves.roc_points(obj)
            area = threshold_curves.auroc(obj)
        else:
            a, b = threshold_curves.pr_points(obj)
            area = threshold_curves.average_precision(obj)
        return a, b, f"binned, {obj.shape[-3]} thresholds", threshold_curves.prevalence(obj), area
    if isinstance(obj, tuple) and len(obj) >= 2:
        a, b = _checked_rates(obj[0], obj[1], kind)
        return a, b, "", None, None
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
    return np.asarray(to_host(a), dtype=np.float64)


def _step_area(recall, precision) -> float:
    """scikit-learn's step sum over given points, taken in order of recall (best precision
    first among equal recalls)."""
    order = np.lexsort((-precision, recall))
    r, p = recall[order], precision[order]
    return float(np.sum(np.diff(r, prepend=0.0) * p))


def _area(x, y):
    order = np.lexsort((y, x))  # a curve's points by x, and up the vertical steps
    x, y = x[order], y[order]
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def _styles(n):
    """(colour, line style) for ``n`` curves, no two alike: tab10 up to 10 curves, tab20
    (dark shades first) up to 20, then the 20 colours again with other dash patterns."""
    import matplotlib as mpl

    if n <= 10:
        colours = list(mpl.colormaps["tab10"].colors)
    else:
        tab20 = list(mpl.colormaps["tab20"].colors)
        colours = tab20[0::2] + tab20[1::2]
    dashes = ["-", "--", ":", "-."]
    return [(colours[i % len(colours)], dashes[(i // len(colours)) % len(dashes)]) for i in range(n)]


class Curve(NamedTuple):
    """One curve of a :class:`RocCurveDisplay` (x: fpr, y: tpr, area: AUROC) or a
    :class:`PrecisionRecallDisplay` (x: recall, y: precision, area: average precision)."""

    name: str | None
    x: np.ndarray
    y: np.ndarray
    area: float
    how: str  # "exact", "binned, T thresholds" or "" (arrays as given)
    prevalence: float | None  # share of positives: the chance level of a PR curve


class _CurveDisplay:
    _kind = "roc"
    _area_name = "AUROC"

    def _set(self, curves, total=None):
        self.curves = list(curves)
        self.n_curves_total = total if total is not None else len(self.curves)
        self.lines_ = []
        self.chance_level_ = None
        self.ax_ = self.figure_ = None
        return self

    @classmethod
    def _from_items(cls, items, max_curves):
        curves = []
        for name, obj in items[:max_curves]:
            a, b, how, prevalence, area = _curve_arrays(obj, cls._kind)
            curve = cls._curve(name, a, b, how, prevalence)
            curves.append(curve if area is None else curve._replace(area=area))
        return cls.__new__(cls)._set(curves, total=len(items))

    @classmethod
    def from_curves(cls, curves, labels=None, *, max_curves=12, **plot_kwargs):
        """Draw anything :func:`roc_curve` / :func:`pr_curve` accept: an accumulator,
        threshold matrices, predictions, curve arrays, or a list or dict of them. At most
        ``max_curves`` (the first ones) are kept; the title counts the others. Returns the
        display; ``plot_kwargs`` go to :meth:`plot`."""
        return cls._from_items(_as_curve_list(curves, labels), max_curves).plot(**plot_kwargs)

    @classmethod
    def from_predictions(cls, y_true, y_score, *, labels=None, max_curves=12, **plot_kwargs):
        """The exact curve of ``(y_true, y_score)``: 0/1 (or bool) truth with (N,) scores, or
        class labels 0..C-1 with (N, C) scores, one curve per class (one-vs-rest; logits
        are softmaxed as :mod:`fastcm.core.scores` says). Returns the display."""
        return cls.from_curves((np.asarray(y_true), np.asarray(y_score)), labels, max_curves=max_curves, **plot_kwargs)

    @classmethod
    def from_accumulator(cls, acc, labels=None, *, max_curves=12, **plot_kwargs):
        """The binned curves of a :class:`fastcm.ThresholdConfusionMatrix` (one per class for
        a multi-class accumulator) or of (T, 2, 2) / (C, T, 2, 2) threshold matrices,
        through the end points, so the area is the accumulator's. Returns the display."""
        if not (_is_accumulator(acc) or _is_threshold_counts(acc)):
            raise TypeError(f"Expected a ThresholdConfusionMatrix or (T, 2, 2) threshold matrices, but got {type(acc).__name__}")
        return cls.from_curves(acc, labels, max_curves=max_curves, **plot_kwargs)

    def _label(self, curve):
        return f"{curve.name + ' ' if curve.name else ''}({self._area_name} {curve.area:.3f}{', ' + curve.how if curve.how else ''})"

    def plot(self, ax=None, *, plot_chance_level=True, legend=True, title=None, **line_kw):
        """Draw the curves (each its own colour and dash pattern) and the chance level.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        plot_chance_level : bool
            ROC: the diagonal of a random ranking (AUROC 0.5); precision-recall: the
            positive class's prevalence, where it is known (not for bare curve arrays).
        legend : bool
            A legend outside the axes, on the right: names, areas, and how each curve was
            computed (exact or binned).
        title : str, optional
            Default: "ROC" / "Precision-recall", with "(first 12 of 1,000)" when curves
            were left out.
        **line_kw
            Passed to every curve's ``plot`` / ``step``.

        Returns
        -------
        the display, with ``ax_``, ``figure_``, ``lines_`` and ``chance_level_``.
        """
        ax = _new_axes(ax, (7.5, 5))
        self.lines_ = []
        for curve, (colour, dash) in zip(self.curves, _styles(len(self.curves))):
            kw = dict(lw=1.5, color=colour, ls=dash, label=self._label(curve))
            kw.update(line_kw)
            self.lines_.append(self._draw(ax, curve, kw))
        self.chance_level_ = self._chance(ax) if plot_chance_level else None
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        self._axis_labels(ax)
        if legend and (self.lines_ or self.chance_level_ is not None):
            ax.legend(**_LEGEND_OUTSIDE)
        left_out = self.n_curves_total - len(self.curves)
        ax.set_title(title or self._title + (f" (first {len(self.curves)} of {self.n_curves_total:,})" if left_out else ""))
        self.ax_, self.figure_ = ax, ax.figure
        return self


class RocCurveDisplay(_CurveDisplay):
    """ROC curves (true positive rate against false positive rate) with AUROC.

    Build with :meth:`from_predictions` (exact), :meth:`from_accumulator` (binned) or
    :meth:`from_curves` (anything :func:`roc_curve` takes); those draw at once. Or
    construct it from arrays and call :meth:`plot`.

    Parameters
    ----------
    fpr, tpr : array or list of arrays
        One curve, or one array per curve; rates in [0, 1], both monotone.
    roc_auc : float or list of float, optional
        Default: the trapezoid area under the given points.
    name : str or list of str, optional

    Attributes
    ----------
    curves : list of Curve
        ``x`` = fpr, ``y`` = tpr, ``area`` = AUROC, ``how``, ``prevalence``.
    roc_auc : list of float
    lines_, chance_level_, ax_, figure_ : the artists, Axes and Figure drawn on.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> disp = RocCurveDisplay.from_predictions([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    >>> disp.roc_auc, disp.chance_level_.get_label()
    ([0.75], 'chance (AUROC 0.5)')
    """

    _kind = "roc"
    _area_name = "AUROC"
    _title = "ROC"

    def __init__(self, fpr, tpr, *, roc_auc=None, name=None):
        self._set(_given_curves(self, fpr, tpr, roc_auc, name))

    @staticmethod
    def _curve(name, fpr, tpr, how, prevalence):
        return Curve(name, fpr, tpr, _area(fpr, tpr), how, prevalence)

    @property
    def roc_auc(self):
        return [c.area for c in self.curves]

    def _draw(self, ax, curve, kw):
        return ax.plot(curve.x, curve.y, **kw)[0]

    def _chance(self, ax):
        return ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance (AUROC 0.5)")[0]

    def _axis_labels(self, ax):
        ax.set_xlabel("False positive rate")
        ax.set_ylabel("True positive rate")


class PrecisionRecallDisplay(_CurveDisplay):
    """Precision-recall curves with the average precision, and the chance level (prevalence).

    Build with :meth:`from_predictions` (exact), :meth:`from_accumulator` (binned) or
    :meth:`from_curves`; those draw at once. Or construct it from arrays and call
    :meth:`plot`.

    Parameters
    ----------
    precision, recall : array or list of arrays
        One curve, or one array per curve; rates in [0, 1], recall monotone.
    average_precision : float or list of float, optional
        Default: scikit-learn's step sum over the given points.
    name : str or list of str, optional
    prevalence : float or list of float, optional
        The share of positives, drawn as the chance level.

    Attributes
    ----------
    curves : list of Curve
        ``x`` = recall, ``y`` = precision, ``area`` = average precision, ``how``, ``prevalence``.
    average_precision : list of float
    lines_, chance_level_, ax_, figure_ : the artists, Axes and Figure drawn on.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> disp = PrecisionRecallDisplay.from_predictions([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    >>> disp.average_precision, disp.chance_level_.get_label()
    ([0.8333333333333333], 'chance (prevalence 0.500)')
    """

    _kind = "pr"
    _area_name = "AP"
    _title = "Precision-recall"

    def __init__(self, precision, recall, *, average_precision=None, name=None, prevalence=None):
        self._set(_given_curves(self, precision, recall, average_precision, name, prevalence))

    @staticmethod
    def _curve(name, precision, recall, how, prevalence):
        order = np.lexsort((-precision, recall))
        return Curve(name, recall[order], precision[order], _step_area(recall, precision), how, prevalence)

    @property
    def average_precision(self):
        return [c.area for c in self.curves]

    @property
    def prevalence(self):
        return [c.prevalence for c in self.curves]

    def _draw(self, ax, curve, kw):
        return ax.step(curve.x, curve.y, where="post", **kw)[0]

    def _chance(self, ax):
        known = [(c.prevalence, line) for c, line in zip(self.curves, self.lines_) if c.prevalence is not None]
        if not known:
            return None
        levels = {round(p, 12) for p, _ in known}
        if len(levels) == 1:
            p = known[0][0]
            return ax.axhline(p, ls="--", color="grey", lw=1, label=f"chance (prevalence {p:.3f})")
        first = None
        for p, line in known:  # each class's own chance level, in its colour
            seg = ax.axhline(p, ls=":", color=line.get_color(), lw=1, alpha=0.8,
                             label=None if first else "chance: each curve's prevalence (dotted)")
            first = first or seg
        return first

    def _axis_labels(self, ax):
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")


def _given_curves(disp, a, b, area, name, prevalence=None):
    """Curves from arrays given to a display's constructor: one curve, or lists of them."""
    several = isinstance(a, (list, tuple)) and len(a) > 0 and np.ndim(a[0]) == 1
    a_list, b_list = (list(a), list(b)) if several else ([a], [b])
    n = len(a_list)

    def per_curve(v):
        return list(v) if isinstance(v, (list, tuple)) and several else [v] * n

    areas, names, prevalences = per_curve(area), per_curve(name), per_curve(prevalence)
    if len(b_list) != n or len(names) != n:
        raise ValueError(f"Expected one array pair and name per curve, but got {n} and {len(b_list)} arrays, {len(names)} names")
    curves = []
    for x, y, given, nm, prev in zip(a_list, b_list, areas, names, prevalences):
        x, y = _checked_rates(x, y, disp._kind)
        curve = disp._curve(nm, x, y, "", prev)
        curves.append(curve._replace(area=float(given)) if given is not None else curve)
    return curves


def roc_curve(curves, labels=None, *, ax=None, max_curves=12, title=None, plot_chance_level=True):
    """ROC curves (true positive rate against false positive rate), with AUROC in the legend.

    The function form of :class:`RocCurveDisplay`: it returns the Axes.

    Parameters
    ----------
    curves : (y_true, y_score), ThresholdConfusionMatrix, threshold matrices, list/dict of them, or (fpr, tpr)
        ``(y_true, y_score)`` predictions (integer or 0/1 truth; (N,) scores, or (N, C)
        scores one-vs-rest per class, logits softmaxed as :mod:`fastcm.core.scores` says) give
        the exact curve. An accumulator or the (T, 2, 2) / one-vs-rest (C, T, 2, 2) counts of
        :func:`fastcm.counts.thresholds.threshold_confusion_matrices` give the binned curve through
        (0, 0) and (1, 1), whose area is ``ThresholdConfusionMatrix.auroc()``; the legend says
        "binned". A multi-class accumulator in a list or dict is one curve per class.
        ``(fpr, tpr)`` arrays must be rates in [0, 1], both monotone; anything else is a
        ValueError or TypeError.
    labels : sequence of str, optional
        A name per curve.
    max_curves : int
        At most this many curves are drawn (the first ones); the title says how many of how many.
    plot_chance_level : bool
        The diagonal of a random ranking.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = roc_curve((np.array([0.0, 0.2, 1.0]), np.array([0.0, 0.8, 1.0])), ["model"])
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('False positive rate', 'True positive rate')
    >>> roc_curve((np.array([0, 1, 1, 0]), np.array([-1.5, 2.0, 0.3, 0.9]))).get_legend().get_texts()[0].get_text()
    '(AUROC 0.750, exact)'
    """
    return RocCurveDisplay.from_curves(curves, labels, max_curves=max_curves, ax=ax, title=title,
                                       plot_chance_level=plot_chance_level).ax_


def pr_curve(curves, labels=None, *, ax=None, max_curves=12, title=None, plot_chance_level=True):
    """Precision-recall curves, with the average precision in the legend.

    The function form of :class:`PrecisionRecallDisplay`: it returns the Axes.

    Parameters
    ----------
    curves : (y_true, y_score), ThresholdConfusionMatrix, threshold matrices, list/dict of them, or (precision, recall)
        As in :func:`roc_curve`; ``(precision, recall)`` arrays must be rates in [0, 1] with
        recall monotone.
    labels : sequence of str, optional
    max_curves : int
    plot_chance_level : bool
        The positive class's prevalence as a horizontal line (where it is known).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = pr_curve((np.array([0.5, 0.8, 1.0]), np.array([1.0, 0.5, 0.0])))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Recall', 'Precision')
    """
    return PrecisionRecallDisplay.from_curves(curves, labels, max_curves=max_curves, ax=ax, title=title,
                                              plot_chance_level=plot_chance_level).ax_


def summary(cm, *, labels=None, normalize=None, curves=None, title=None):
    """A figure with the confusion matrix, per-class bars and, given curves, ROC and PR.

    Built without pyplot, so saving it never touches a GUI backend:
    ``summary(cm).savefig("report.png")``. ``curves`` is anything :func:`roc_curve` takes:
    a :class:`fastcm.ThresholdConfusionMatrix` (one curve per class), threshold matrices,
    ``(y_true, y_score)`` predictions, or a list or dict of them; curves named by the
    matrix's classes when there is one per class. Above 100 classes the matrix panel is
    the most confused pairs, titled so.

    Examples
    --------
    >>> fig = summary(np.array([[5, 1], [2, 7]]), labels=["cat", "dog"])
    >>> len(fig.axes) >= 2
    True
    """
    from matplotlib.figure import Figure

    counts, names = _counts_and_names(cm, labels)
    c = counts.shape[0]
    items = None
    if curves is not None:
        items = _as_curve_list(curves, None)
        if len(items) == c:
            items = [(names[k], obj) for k, (_, obj) in enumerate(items)]
        elif len(items) == 1 and c == 2 and items[0][0] is None:
            items = [(names[1], items[0][1])]
    has_curves = bool(items)
    side = min(5 + 0.3 * c, 12) if c <= MAX_MATRIX else 8
    if has_curves:
        fig = Figure(figsize=(2 * side + 4, 2 * side * 0.75 + 1), layout="constrained")
        axes = fig.subplots(2, 2)
        mat_ax, bar_ax, roc_ax, pr_ax = axes[0, 0], axes[0, 1], axes[1, 0], axes[1, 1]
    else:
        fig = Figure(figsize=(2 * side + 4, side), layout="constrained")
        mat_ax, bar_ax = fig.subplots(1, 2)
    heading = "Confusion matrix" + (f" (normalized over {normalize})" if normalize else "")
    ConfusionMatrixDisplay(counts, display_labels=names, normalize=normalize).plot(
        ax=mat_ax, title=heading if c <= MAX_MATRIX else None)
    per_class_bars(counts, names, ax=bar_ax, title="Per-class scores", max_classes=40 if c <= 40 else 20)
    if has_curves:
        RocCurveDisplay._from_items(items, 12).plot(ax=roc_ax)
        PrecisionRecallDisplay._from_items(items, 12).plot(ax=pr_ax)
    if title:
        fig.suptitle(title)
    return fig


def reliability_diagram(result, *, ax=None, title=None):
    """Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration.

    Parameters
    ----------
    result : fastcm.answers.calibration.CalibrationResult or CalibrationError
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
    >>> from fastcm import CalibrationError
    >>> acc = CalibrationError(n_bins=10).update([0, 1, 1], np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]))
    >>> fig = reliability_diagram(acc)
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('Confidence', 'Accuracy')
    """
    res = result.compute() if hasattr(result, "compute") else result  # an accumulator: duck-typed
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
