"""Counting for the command line: chunks of the input files into a
:class:`~fastcm.ConfusionMatrix`, the threshold matrices of the scores, and what the report
derives from the counts (curves' AUROC and AP, operating points, the release gate).

Errors in the data come out as :class:`~fastcm.cli.io.InputError` (exit 2).

Examples
--------
>>> import numpy as np
>>> cm, curves, n, timing = count_chunks([(np.array([0, 1, 1]), np.array([0, 1, 0]), None)], quiet=True)
>>> cm.compute().tolist(), n, curves is None
([[1, 0], [1, 1]], 3, True)
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from ..backends.arrays import to_host
from .io import InputError
from .parse import parse_operating_point

__all__ = [
    "CURVE_THRESHOLDS", "Evaluation", "ScoreReading", "count_chunks", "ignore_label", "curve_rows",
    "operating_point_rows", "judge", "check_binary_truth",
]

#: thresholds (evenly spaced in [0, 1]) of the curves drawn from --scores
CURVE_THRESHOLDS = 1001


@dataclass
class Evaluation:
    """What one pass over the inputs produced."""

    cm: object  # ConfusionMatrix
    names: list
    n: int
    timing: dict  # seconds: see count_chunks
    curves: object = None  # summed threshold matrices: (C, T, 2, 2) one-vs-rest, or (T, 2, 2)
    sources: dict = field(default_factory=dict)
    labels: object = None  # the classes to report (--labels), or None: every class of the data
    ci: float = None  # --ci: the level of the report's confidence intervals
    operating_points: list = None  # --operating-point rows
    calibration: object = None  # --calibration: a CalibrationResult
    scores: object = None  # --scores-are: a ScoreReading (how the scores were read)
    ignore_index: object = None  # --ignore-index, read as a label of the data's kind

    def counts(self):
        """(full counts, rows to report, their labels): see :func:`_select_labels`."""
        return _select_labels(self.cm, self.labels)


def _select_labels(cm, labels):
    """The counts over every class of the data (plus requested labels it lacks), the rows of
    ``labels`` in them, and those labels.

    scikit-learn's report with ``labels`` counts every sample for each listed class (a pair
    with an unlisted class is still a false positive or a false negative), so the data is
    counted over all its classes and the listed rows are picked afterwards.
    """
    counts = np.asarray(to_host(cm.compute()))
    have = np.asarray(cm.labels)
    if labels is None:
        return counts, np.arange(have.size), have
    # "--labels 1" parses as an int; against string labels from a .csv it means the text "1"
    as_text = (have.dtype.kind in "biu") != (labels.dtype.kind in "biu")
    key = str if as_text else (lambda v: v.item() if isinstance(v, np.generic) else v)
    index = {key(v): i for i, v in enumerate(have)}
    missing = [v for v in dict.fromkeys(key(v) for v in labels) if v not in index]
    for v in missing:  # listed but never seen: an empty row and column, as scikit-learn
        index[v] = len(index)
    if missing:
        counts = np.pad(counts, ((0, len(missing)), (0, len(missing))))
    rows = np.array([index[key(v)] for v in labels], dtype=np.intp)
    return counts, rows, labels


def _progress(total, quiet):
    from ..accumulate.evaluate import progress_bar

    # the rule of fastcm.evaluate: on a terminal or in a notebook only; a bar without tqdm too
    return progress_bar(total, enabled=not quiet, unit="row", desc="counting")


class ScoreReading:
    """How ``--scores`` are read (``--scores-are``, the rule of :mod:`fastcm.core.scores`).

    Under "auto" the first chunk with scores decides (any value outside [0, 1]: logits); a
    later chunk of logits after probabilities is refused, so curves never mix the two.
    """

    FLAG = "--scores-are logits"

    def __init__(self, rule="auto"):
        from ..core.scores import check_scores

        self.rule = check_scores(rule)
        self.read_as = None if rule == "auto" else rule

    def chunk(self, s, index, offset):
        """The reading of one chunk's scores ("probabilities" or "logits"); InputError when refused."""
        from ..core.scores import contradiction, outside_unit, read_scores

        where = f" (in the chunk starting at row {offset})" if index else ""
        try:
            if self.read_as is None:
                self.read_as = read_scores(self.rule, s, flag=self.FLAG) if s.size else None
            elif self.read_as == "probabilities" and self.rule == "auto" and outside_unit(s):
                raise contradiction(index + 1, "probabilities", flag=self.FLAG)
            elif self.rule == "probabilities":
                read_scores("probabilities", s, flag=self.FLAG)
        except ValueError as exc:
            raise InputError(f"--scores: {exc}{where}") from None
        return self.read_as or "probabilities"

    def describe(self) -> str:
        if self.rule != "auto":
            return f"{self.read_as or self.rule} (--scores-are {self.rule})"
        why = "values outside [0, 1]" if self.read_as == "logits" else "all values in [0, 1]"
        return f"{self.read_as} (--scores-are auto: {why})"


def count_chunks(chunks, *, total=None, num_classes=None, labels=None, ignore_index=None, quiet=False,
                 with_curves=False, thresholds=None, backend="auto", calibration=None, scores=None):
    """Count ``(y_true, y_pred_or_None, scores_or_None)`` chunks; returns (cm, curves, n, timing).

    ``timing`` (seconds): ``reading_seconds`` waiting for the chunks (files read and
    parsed), ``load_seconds`` loading or compiling the kernels on the first rows (numba's
    start-up included; not part of the rest), ``counting_seconds`` inside
    :meth:`ConfusionMatrix.update`, ``scores_seconds`` for the curves and calibration, and
    ``seconds`` the whole pass less the loading.

    ``scores``: a :class:`ScoreReading` (default: "auto"), which holds the reading decided.
    One score column gives predictions at probability 0.5, i.e. logit 0 for logits. Errors
    in the data (values out of range, mismatched shapes, mixed label kinds) come out as
    :class:`~fastcm.cli.io.InputError`.
    """
    from ..accumulate.confusion import ConfusionMatrix

    scores = ScoreReading() if scores is None else scores

    thresholds = CURVE_THRESHOLDS if thresholds is None else thresholds

    def new_matrix(ignore):
        try:
            return ConfusionMatrix(num_classes, labels=labels, ignore_index=ignore, backend=backend)
        except (ValueError, TypeError) as exc:
            raise InputError(str(exc)) from None

    # --ignore-index is text on the command line: it is read as a label of y_true's kind on
    # the first chunk, so the matrix is made there (options are checked before any file)
    cm = new_matrix(ignore_index) if ignore_index is None or not isinstance(ignore_index, str) else None
    curves = None
    bar = _progress(total, quiet)
    n, count_s, load_s, read_s, scores_s = 0, 0.0, 0.0, 0.0, 0.0
    started = time.perf_counter()
    chunks = iter(chunks)
    try:
        for i in itertools.count():
            t0 = time.perf_counter()
            try:
                t, p, s = next(chunks)  # reading and parsing the files
            except StopIteration:
                break
            finally:
                read_s += time.perf_counter() - t0
            if s is not None and s.ndim == 2 and s.shape[1] == 1:
                s = s[:, 0]  # one score column: the positive class of a binary problem
            reading = None if s is None else scores.chunk(s, i, n)
            pred = p
            if pred is None:  # probability 0.5 is logit 0; argmax is the same for logits and probabilities
                pred = (s >= (0.0 if reading == "logits" else 0.5)).astype(np.int8) if s.ndim == 1 else s
            t, pred = _alike(t, pred)
            if cm is None:
                ignore_index = ignore_label(ignore_index, t)
                cm = new_matrix(ignore_index)
            if i == 0:
                load_s = _load_kernels(cm, t, pred)
                chunk_rows = len(t)
            t0 = time.perf_counter()
            try:
                cm.update(t, pred)
            except (ValueError, TypeError) as exc:
                raise InputError(f"{exc} (in the chunk starting at row {i * chunk_rows}; positions count from there)" if i else str(exc)) from None
            count_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            if with_curves and s is not None and t.ndim == 1:
                curves = _update_curves(curves, t, s, ignore_index, thresholds, n, reading)
            if calibration is not None and s is not None and s.ndim == 2:
                try:
                    calibration.update(t, s)
                except (ValueError, TypeError) as exc:
                    raise InputError(f"--calibration: {exc}") from None
            scores_s += time.perf_counter() - t0
            n += int(np.size(t))  # pairs: an (N, H, W) mask chunk holds N*H*W of them
            if bar is not None:
                bar.update(len(t))
    finally:
        if bar is not None:
            bar.close()
    if cm is None:  # no rows: the caller says so
        cm = new_matrix(None)
    timing = {"seconds": time.perf_counter() - started - load_s, "reading_seconds": read_s,
              "load_seconds": load_s, "counting_seconds": count_s, "scores_seconds": scores_s}
    return cm, curves, n, timing


def ignore_label(text, y_true):
    """``--ignore-index`` as a label of ``y_true``'s kind: an integer for integer labels, a
    number for float labels, the text itself for string labels.

    >>> ignore_label("255", np.array([0, 1], dtype=np.uint8)), ignore_label("void", np.array(["cat"]))
    (255, 'void')
    """
    if not isinstance(text, str):
        return text
    kind = np.asarray(y_true).dtype.kind
    if kind in "US" or kind == "O":
        return text
    try:
        if kind in "biu":
            return int(text)
        return float(text)
    except ValueError:
        what = "integers" if kind in "biu" else "numbers"
        raise InputError(f"--ignore-index {text!r} is not a label of the data's kind: y_true holds {what}") from None


def _alike(t, p):
    """Give label chunks from different files one dtype and one writeable flag.

    The numba label-range kernel iterates over the tuple ``(y_true, y_pred)`` and fails to
    type a tuple of two different array types (int64 next to int16, or a read-only
    memory-mapped chunk next to an ordinary array). Chunks are bounded, so the cast is cheap;
    a read-only view costs nothing.
    """
    if not (isinstance(t, np.ndarray) and isinstance(p, np.ndarray)) or t.ndim != p.ndim:
        return t, p
    if t.dtype != p.dtype and t.dtype.kind in "biu" and p.dtype.kind in "biu":
        common = np.promote_types(t.dtype, p.dtype)
        if common.kind == "f":  # int64 with uint64: no integer type holds both
            common = np.dtype(np.int64)
        t, p = t.astype(common, copy=False), p.astype(common, copy=False)
    if t.flags.writeable != p.flags.writeable:
        t, p = _readonly(t), _readonly(p)
    return t, p


def _readonly(a):
    if not a.flags.writeable:
        return a
    v = a.view()
    v.flags.writeable = False
    return v


def _load_kernels(cm, t, pred):
    """Load (or compile) the kernels on a few rows, so throughput measures counting.

    A small first call is counted by the numpy reference while numba loads in the
    background (see :func:`fastcm.backends.select`): the load is waited for here, and the
    rows counted again by the kernel the stream will use, so neither lands in the timed part.
    """
    from .. import backends

    t0 = time.perf_counter()
    try:
        cm.copy().update(t[:64], pred[:64])
        backends.wait_until_loaded()
        cm.copy().update(t[:64], pred[:64])
    except (ValueError, TypeError):
        pass  # the real update reports it
    return time.perf_counter() - t0


def _update_curves(curves, t, s, ignore_index, thresholds, offset, reading="auto"):
    """Add one chunk's one-vs-rest threshold matrices: (C, T, 2, 2), or (T, 2, 2) for one
    score column (the positive class 1). A fixed threshold set makes chunks add exactly;
    ``reading`` is the one decided for every chunk ("probabilities" or "logits")."""
    from ..counts.thresholds import threshold_confusion_matrices

    t = np.asarray(t)
    s = np.asarray(s)
    if ignore_index is not None:
        keep = t != ignore_index
        t, s = t[keep], s[keep]
    if t.dtype.kind not in "biuf":
        return None  # string labels cannot index score columns
    truth = (t == 1).astype(np.int8) if s.ndim == 1 else t
    try:
        m = threshold_confusion_matrices(truth, s, thresholds=thresholds, scores=reading)
    except (ValueError, TypeError) as exc:
        raise InputError(f"scores: {exc} (in the chunk starting at row {offset})") from None
    return m if curves is None else curves + m


def curve_rows(curves, names):
    """Per class: AUROC and average precision through the threshold matrices' points."""
    from ..present.plots import auroc_from_counts, average_precision_from_counts

    if curves is None:
        return []
    per_class = [curves] if curves.ndim == 3 else [curves[i] for i in range(curves.shape[0])]
    binary = len(per_class) == 1 and len(names) == 2
    rows = []
    for i, m in enumerate(per_class):
        name = names[1] if binary else (names[i] if i < len(names) else str(i))
        positives, negatives = m[0, 1].sum() > 0, m[0, 0].sum() > 0
        if not positives or not negatives:  # undefined, as in scikit-learn: "n/a", null in JSON
            rows.append({"class": str(name), "auroc": None, "average_precision": None if not positives else 1.0})
            continue
        rows.append({"class": str(name), "auroc": auroc_from_counts(m), "average_precision": average_precision_from_counts(m)})
    return rows


def operating_point_rows(curves, names, specs):
    """One dict per (criterion, class) for the writers."""
    from ..answers.operating_points import threshold_for

    thr = np.linspace(0, 1, CURVE_THRESHOLDS)
    rows = []
    for spec in specs:
        name, v = parse_operating_point(spec)
        point = threshold_for(curves, thr, **{name: v})
        classes = [names[1] if len(names) == 2 else "positive"] if curves.ndim == 3 else list(names)
        for k, cls in enumerate(classes):
            def get(a, k=k):
                return a if curves.ndim == 3 else a[k]

            rows.append({"criterion": point.criterion, "class": str(cls), "achieved": bool(get(point.achieved)),
                         "threshold": float(get(point.threshold)), "precision": float(get(point.precision)),
                         "recall": float(get(point.recall)), "fpr": float(get(point.fpr)), "f1": float(get(point.f1)),
                         "tp": int(get(point.tp)), "fp": int(get(point.fp)), "tn": int(get(point.tn)),
                         "fn": int(get(point.fn))})
    return rows


def judge(cm, requirements, labels, lower_bound):
    """The failures of the requirements, as lines: every requirement judged, none replacing
    another on the same metric."""
    from ..answers.gates import check

    result = check(cm, require=requirements, classes=None if labels is None else list(labels),
                   use_lower_bound=lower_bound)
    return [f"  {f}" for f in result.failures], result.n_checked


def check_binary_truth(cm, spec):
    """One score column is the positive class's score: predictions are 0/1, so a truth with
    other classes would be counted against them silently; refuse it instead."""
    counts = np.asarray(to_host(cm.compute()))
    in_truth = [v.item() if isinstance(v, np.generic) else v for v, n in zip(cm.labels, counts.sum(axis=1)) if n]
    other = [v for v in in_truth if isinstance(v, str) or v not in (0, 1)]
    if other:
        shown = ", ".join(map(str, other[:5])) + (", ..." if len(other) > 5 else "")
        raise InputError(f"--scores {spec} has one column, the positive class's score of a binary problem, "
                         f"but y_true holds other labels than 0 and 1: {shown}; give one score column per class")
