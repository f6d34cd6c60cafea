"""The classification report of a count matrix, laid out byte for byte as scikit-learn's,
with confidence intervals on request (``fastcm.metrics.report``).

Examples
--------
>>> import numpy as np
>>> report(np.array([[3, 1], [0, 2]]), output_dict=True)["accuracy"]
0.8333333333333334
"""

from __future__ import annotations

import numpy as np

from ..answers.intervals import confidence_intervals
from ..counts.sparse import is_sparse
from ..metrics.matrix import accuracy, as_matrix, cell_sums, counts_of, host_counts, reduce_ratio, sparse_parts, support

__all__ = ["format_report", "report"]

HEADERS = ["precision", "recall", "f1-score", "support"]


def format_report(names, p, r, f, s, averages, *, digits=2, output_dict=False):
    """Lay out per-class rows and average rows as scikit-learn's ``classification_report``.

    ``averages`` is a list of ``(heading, precision, recall, f1, support)``; a row headed
    ``"accuracy"`` carries its value in the f1 slot and prints only that and the support.
    """
    if output_dict:
        out = {
            name: dict(zip(HEADERS, [float(a), float(b), float(c), float(d)])) for name, a, b, c, d in zip(names, p, r, f, s)
        }
        for heading, ap, ar, af, asup in averages:
            if heading == "accuracy":
                out[heading] = float(af)
            else:
                out[heading] = dict(zip(HEADERS, [float(ap), float(ar), float(af), float(asup)]))
        return out
    width = max(max((len(n) for n in names), default=0), len("weighted avg"), digits)
    head_fmt = "{:>{width}s} " + " {:>9}" * len(HEADERS)
    text = head_fmt.format("", *HEADERS, width=width) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    # width and digits baked into the format, numbers as Python scalars (the same text):
    # a million-class report formats in 1.4 s instead of 3.7
    rows_fmt = f"{{:>{width}s}} " + f" {{:>9.{digits}f}}" * 3 + " {:>9}\n"
    columns = [c.tolist() if hasattr(c, "tolist") and getattr(c, "ndim", 0) == 1 else c for c in (p, r, f, s)]
    text += "".join(map(rows_fmt.format, names, *columns))
    text += "\n"
    for heading, ap, ar, af, asup in averages:
        if heading == "accuracy":
            acc_fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            text += acc_fmt.format(heading, "", "", af, asup, width=width, digits=digits)
        else:
            text += row_fmt.format(heading, ap, ar, af, asup, width=width, digits=digits)
    return text


def report(cm, target_names=None, digits=2, output_dict=False, *, zero_division="warn", labels=None, ci=None,
           random_state=0):
    """The classification report of a matrix, formatted exactly as scikit-learn's.

    ``ci`` (an extension, e.g. 0.95) adds confidence intervals at that level from the
    counts alone: Wilson intervals for each class's precision and recall and for the
    accuracy, each class's F1 from the Wilson interval of its IoU (F1 = 2 J / (1 + J)),
    and a percentile bootstrap (10,000 multinomial resamples seeded by ``random_state``)
    for the macro averages. The text report gains a
    table of ``[low, high]`` after scikit-learn's; ``output_dict`` gains
    ``"precision_ci"``, ``"recall_ci"`` and ``"f1-score_ci"`` pairs in each class's row (and
    the macro row), and ``"accuracy_ci"``. NaN bounds where a value is undefined.

    ``labels`` (an extension) lists the rows of ``cm`` to report, in order: scikit-learn's
    ``labels`` on a matrix whose classes are ``0..C-1``. Each listed class still counts every
    sample (a pair with an unlisted class is a false positive or negative), and the
    "accuracy" row becomes "micro avg" over the listed classes when they leave out a class
    with samples.

    >>> print(report(np.array([[3, 1], [0, 2]]), target_names=["cat", "dog"]))  # doctest: +NORMALIZE_WHITESPACE
                  precision    recall  f1-score   support
    <BLANKLINE>
             cat       1.00      0.75      0.86         4
             dog       0.67      1.00      0.80         2
    <BLANKLINE>
        accuracy                           0.83         6
       macro avg       0.83      0.88      0.83         6
    weighted avg       0.89      0.83      0.84         6
    <BLANKLINE>
    >>> print(report(np.array([[3, 1], [0, 2]]), labels=[1]))  # doctest: +NORMALIZE_WHITESPACE
                  precision    recall  f1-score   support
    <BLANKLINE>
               1       0.67      1.00      0.80         2
    <BLANKLINE>
       micro avg       0.67      1.00      0.80         2
       macro avg       0.67      1.00      0.80         2
    weighted avg       0.67      1.00      0.80         2
    <BLANKLINE>
    """
    cm, _ = as_matrix(counts_of(cm))
    rows = _report_rows(cm.shape[0], labels)
    names = [str(i) for i in rows] if target_names is None else list(target_names)
    if len(names) != rows.size:
        raise ValueError(f"Number of classes, {rows.size}, does not match size of target_names, {len(names)}.")
    if not output_dict:
        names = [str(name) for name in names]  # dict keys stay as given, as scikit-learn's
    tp, fp, fn, _, xp = cell_sums(cm)
    pick = xp.asarray(rows)
    tp, pred, true = tp[pick], (tp + fp)[pick], (tp + fn)[pick]
    parts = ((tp, pred, "Precision", "predicted"), (tp, true, "Recall", "true"),
             (2 * tp, true + pred, "F-score", "true nor predicted"))

    def scores(average):  # precision, recall, F1, as scikit-learn's report computes each row
        return [reduce_ratio(num, den, average, zero_division, metric, modifier, true) for num, den, metric, modifier in parts]

    p, r, f = (host_counts(a) for a in scores(None))
    s = _report_support(cm)[rows]
    if _covers_present(cm, rows):
        averages = [("accuracy", None, None, accuracy(cm), s.sum())]
    else:
        averages = [("micro avg", *scores("micro"), s.sum())]
    averages += [(f"{avg} avg", *scores(avg), s.sum()) for avg in ("macro", "weighted")]
    out = format_report(names, p, r, f, s, averages, digits=digits, output_dict=output_dict)
    if ci is None:
        return out
    bounds = _report_intervals(cm, rows, ci, random_state)
    if output_dict:
        for k, name in enumerate(names):
            out[name].update({key: (float(lo[k]), float(hi[k])) for key, (lo, hi) in bounds["classes"].items()})
        if "macro avg" in out:
            out["macro avg"].update({key: tuple(v) for key, v in bounds["macro"].items()})
        if "accuracy" in out:
            out["accuracy_ci"] = tuple(bounds["accuracy"])
        return out
    return out + "\n" + _format_intervals(names, bounds, ci, digits)


def _report_intervals(cm, rows, level, random_state):
    """The bounds ``report(ci=)`` shows: per class (rows ``rows``), macro, accuracy; the
    macro averages' bootstrap reads one set of resamples for all three."""
    names = (("precision_ci", "precision"), ("recall_ci", "recall"), ("f1-score_ci", "f1"))
    asked = {("classes", key): (metric, {"zero_division": np.nan}) for key, metric in names}
    asked.update({("macro", key): (metric, {"average": "macro", "zero_division": 0}) for key, metric in names})
    asked["accuracy"] = "accuracy"
    got = confidence_intervals(host_counts(cm), asked, level=level, random_state=random_state)
    classes = {key: (np.asarray(got["classes", key].low)[rows], np.asarray(got["classes", key].high)[rows])
               for key, _ in names}
    macro = {key: (float(got["macro", key].low), float(got["macro", key].high)) for key, _ in names}
    return {"classes": classes, "macro": macro, "accuracy": (float(got["accuracy"].low), float(got["accuracy"].high))}


def _format_intervals(names, bounds, level, digits):
    def pair(lo, hi):
        return "[" + ", ".join("  nan" if not np.isfinite(v) else f"{v:.{digits}f}" for v in (lo, hi)) + "]"

    keys = ("precision_ci", "recall_ci", "f1-score_ci")
    rows = [(name, *(pair(bounds["classes"][k][0][i], bounds["classes"][k][1][i]) for k in keys))
            for i, name in enumerate(names)]
    rows.append(("macro avg", *(pair(*bounds["macro"][k]) for k in keys)))
    rows.append(("accuracy", "", "", pair(*bounds["accuracy"])))
    width = max(len(str(r[0])) for r in rows)
    cell = max(len(c) for r in rows for c in r[1:])
    pct = f"{100 * level:g}%"
    text = (f"{pct} confidence intervals (precision, recall, accuracy: Wilson; f1-score: Wilson of its IoU; "
            "macro averages: bootstrap, 10,000 resamples)\n\n")
    text += f"{'':>{width}}  " + "  ".join(f"{h:>{cell}}" for h in ("precision", "recall", "f1-score")) + "\n"
    for r in rows:
        text += f"{str(r[0]):>{width}}  " + "  ".join(f"{c:>{cell}}" for c in r[1:]) + "\n"
    return text


def _report_rows(n, labels):
    """Row indices a report lists: all of them, or ``labels`` checked against the matrix."""
    if labels is None:
        return np.arange(n)
    rows = np.asarray(labels)
    if rows.ndim != 1 or (rows.size and rows.dtype.kind not in "iu"):
        raise ValueError(f"Expected `labels` to be a 1-D sequence of row indices, but got {labels!r}")
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"Expected `labels` to be row indices in 0..{n - 1}, but got {rows.tolist()}")
    return rows.astype(np.intp)


def _covers_present(cm, rows):
    """Whether ``rows`` include every class with a sample, true or predicted (scikit-learn's
    condition for an "accuracy" row rather than "micro avg")."""
    if is_sparse(cm):
        _, true, pred, _ = sparse_parts(cm)
    else:
        m = host_counts(cm)
        true, pred = m.sum(axis=1), m.sum(axis=0)
    present = np.flatnonzero((pred != 0) | (true != 0))
    if rows.size == cm.shape[0] and np.array_equal(rows, np.arange(rows.size)):  # every row (the default)
        return True
    return set(present.tolist()) <= set(rows.tolist())


def _report_support(cm):
    """Row sums as scikit-learn's report prints them: float when no sample is on the diagonal.

    scikit-learn sums true positives with ``bincount``; with no true positive at all it
    starts from float zeros instead, so its supports (and their total) print as ``3.0``.
    """
    s = host_counts(support(cm))
    if s.dtype.kind in "iub" and s.sum() and not host_counts(cm.diagonal()).any():
        return s.astype(np.float64)
    return s
