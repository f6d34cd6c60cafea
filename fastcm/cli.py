"""The ``fastcm`` command line: ``report`` on prediction files, ``demo``, ``bench``.

``fastcm report --true y.npy --pred preds.parquet:label`` streams both files chunk by chunk
into a :class:`~fastcm.ConfusionMatrix` and prints the classification report, the confusion
matrix, the diagnostics and the measured throughput. ``fastcm demo`` does the same on the
bundled predictions of a real classifier. Exit codes: 0 ok, 2 bad arguments or unreadable
input (one line on stderr, no traceback), 1 internal error. A damaged file (a bad CRC, a
truncated or corrupt compressed stream, a pickled .npz member, text that is not UTF-8) is
unreadable input. Labels and names from the data are shown escaped: control characters as
their Python escapes in text, markdown and error messages (and ``|`` in markdown cells), a
leading ``'`` on CSV cells that a spreadsheet would run as a formula; JSON keeps them exact.

Examples
--------
>>> import numpy as np, tempfile, os
>>> d = tempfile.mkdtemp()
>>> np.save(os.path.join(d, "t.npy"), np.array([0, 1, 1, 0])); np.save(os.path.join(d, "p.npy"), np.array([0, 1, 0, 0]))
>>> main(["report", "--true", os.path.join(d, "t.npy"), "--pred", os.path.join(d, "p.npy"), "--format", "csv", "--quiet"])
class,precision,recall,f1-score,support,predicted 0,predicted 1
0,0.6667,1.0000,0.8000,2,2,0
1,1.0000,0.5000,0.6667,2,1,1
accuracy,,,0.7500,4,,
macro avg,0.8333,0.7500,0.7333,4,,
weighted avg,0.8333,0.7500,0.7333,4,,
0

Every format carries every section asked for (``--ci``, ``--operating-point``,
``--calibration``, ``--require``): CSV as columns of its one table (a row per class) and
statement rows in the class column; JSON keeps the raw counts
(``confusion_matrix_counts``) beside a matrix normalized by ``--normalize``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .backends.arrays import to_host
from .io import DEFAULT_CHUNK_SIZE, InputError, aligned_chunks, open_columns, read_names

__all__ = ["main"]

PROG = "fastcm"
#: exit code of ``fastcm report --require ...`` when a requirement is not met (0 ok, 1 internal
#: error, 2 bad arguments or input)
EXIT_REQUIREMENT_FAILED = 3
MAX_PRINTED_CLASSES = 30
#: thresholds (evenly spaced in [0, 1]) of the curves drawn from --scores
CURVE_THRESHOLDS = 1001
DEMO_FILE = "digits_predictions.npz"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# -- counting ------------------------------------------------------------------------------
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


def _parse_labels(values):
    if not values:
        return None
    items = [v for chunk in values for v in chunk.split(",") if v != ""]
    try:
        return np.array([int(v) for v in items], dtype=np.int64)
    except ValueError:
        return np.array(items, dtype=str)


def _progress(total, quiet):
    from .accumulate.evaluate import progress_bar

    # the rule of fastcm.accumulate.evaluate: on a terminal or in a notebook only; a bar without tqdm too
    return progress_bar(total, enabled=not quiet, unit="row", desc="counting")


class ScoreReading:
    """How ``--scores`` are read (``--scores-are``, the rule of :mod:`fastcm.scores`).

    Under "auto" the first chunk with scores decides (any value outside [0, 1]: logits); a
    later chunk of logits after probabilities is refused, so curves never mix the two.
    """

    FLAG = "--scores-are logits"

    def __init__(self, rule="auto"):
        from .core.scores import check_scores

        self.rule = check_scores(rule)
        self.read_as = None if rule == "auto" else rule

    def chunk(self, s, index, offset):
        """The reading of one chunk's scores ("probabilities" or "logits"); InputError when refused."""
        from .core.scores import contradiction, outside_unit, read_scores

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
    :class:`~fastcm.io.InputError`.
    """
    from .accumulate.confusion import ConfusionMatrix

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
            t, pred = _uniform(t, pred)
            if cm is None:
                ignore_index = ignore_label(ignore_index, t)
                cm = new_matrix(ignore_index)
            if i == 0:
                load_s = _warm_up(cm, t, pred)
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


def _uniform(t, p):
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


def _warm_up(cm, t, pred):
    """Load (or compile) the kernels on a few rows, so throughput measures counting.

    A small first call is counted by the numpy reference while numba loads in the
    background (see :func:`fastcm.backends.select`): the load is waited for here, and the
    rows counted again by the kernel the stream will use, so neither lands in the timed part.
    """
    from . import backends

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
    from .counts.thresholds import threshold_confusion_matrices

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


def _curve_rows(curves, names):
    """Per class: AUROC and average precision through the threshold matrices' points."""
    from .present.plots import auroc_from_counts, average_precision_from_counts

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


# -- rendering -----------------------------------------------------------------------------
# Labels and names come from the data, so they are escaped wherever they are shown: a
# terminal runs the escape sequences of a label, a spreadsheet runs a label as a formula.
# The summary keeps them exact (JSON's encoder escapes what it must); each renderer escapes.
#: what makes a spreadsheet read a CSV cell as a formula (OWASP's CSV injection list)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: a cell that is a plain number is left alone, so a label -1 or -0.5 stays a number
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _printable(text) -> str:
    r"""``text`` with every non-printable character (ESC, CR, LF, tab, bidi controls...)
    written as its Python escape, so a terminal shows it instead of obeying it.

    >>> print(_printable("\x1b[31mred\x1b[0m"), _printable("two\nlines"), _printable("plain"))
    \x1b[31mred\x1b[0m two\nlines plain
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _csv_text(text) -> str:
    """A text cell for CSV output: a leading ``'`` stops a spreadsheet from reading a label
    that starts with ``= + - @``, tab or CR as a formula; plain numbers are kept.

    >>> _csv_text("=cmd"), _csv_text("@SUM(1+1)"), _csv_text("-0.5"), _csv_text("cat")
    ("'=cmd", "'@SUM(1+1)", '-0.5', 'cat')
    """
    text = str(text)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _names_for(labels, names):
    """The names of ``labels`` from a ``--names`` file, mapped, never renamed by position.

    Plain lines: line i names the integer label i, so a class missing from the data does
    not shift the names after it; a label that is not an integer in ``0..len(names)-1`` is
    refused. ``LABEL<TAB>NAME`` lines map each label by its text; a label without a name is
    refused.

    >>> _names_for(np.array([0, 2]), ["zero", "one", "two"]), _names_for(np.array(["b", "a"]), ["a\\tA", "b\\tB"])
    (['zero', 'two'], ['B', 'A'])
    """
    shown = [str(_plain(v)) for v in labels]
    if names is None:
        return shown
    parts = [n.partition("\t") for n in names]
    mapped = sum(bool(sep) for _, sep, _ in parts)
    if mapped and mapped != len(names):
        raise InputError(f"--names mixes {mapped} LABEL<TAB>NAME lines with {len(names) - mapped} plain names: "
                         "use one form for the whole file")
    if mapped:
        table = {}
        for label, _, name in parts:
            label = label.strip()
            if label in table:
                raise InputError(f"--names names the label {_printable(label)!r} twice")
            table[label] = name.strip()
        missing = [s for s in shown if s not in table]
        if missing:
            raise InputError(f"--names maps labels by their text (LABEL<TAB>NAME lines), but gives no name to "
                             f"{_few(missing)}")
        return [table[s] for s in shown]

    def index(v):
        v = _plain(v)
        return int(v) if isinstance(v, (bool, int)) and 0 <= int(v) < len(names) else None

    bad = [s for v, s in zip(labels, shown) if index(v) is None]
    if bad:
        raise InputError(f"--names has {len(names)} plain lines, line i naming the integer label i (0..{len(names) - 1}), "
                         f"but the data's labels include {_few(bad)}; to name labels by their text, write "
                         "LABEL<TAB>NAME lines")
    return [names[index(v)] for v in labels]


def _few(items, k=10) -> str:
    return ", ".join(_printable(v) for v in items[:k]) + (f", ... ({len(items)} in all)" if len(items) > k else "")


def _summary(ev: Evaluation, normalize):
    """Everything a report shows, as plain Python data."""
    from .metrics import matrix as metrics
    from .counts.confusion import normalize_counts
    from .answers.diagnose import diagnose

    full, rows, labels = ev.counts()
    counts = full[np.ix_(rows, rows)]  # the listed classes' matrix, as confusion_matrix(labels=...)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = metrics.report(full, ev.names, output_dict=True, zero_division=0, labels=rows, ci=ev.ci)
        findings = diagnose(counts, target_names=ev.names)
    shown = normalize_counts(counts, normalize) if normalize else counts
    counted = int(full.sum())  # the CLI counts unweighted pairs: every counted pair is in a cell
    return {
        # pairs counted into the matrix; n_read also holds the pairs --ignore-index skipped
        "n_predictions": counted,
        "n_ignored": ev.n - counted,
        "n_read": ev.n,
        "ignore_index": _plain(ev.ignore_index),
        "n_classes": len(ev.names),
        "labels": [_plain(v) for v in labels],
        "target_names": list(ev.names),
        "inputs": ev.sources,
        "scores_are": None if ev.scores is None else ev.scores.read_as,
        "scores_rule": None if ev.scores is None else ev.scores.rule,
        "report": report,
        "confusion_matrix": shown.tolist(),
        "confusion_matrix_counts": counts.tolist(),  # the raw counts, also when the shown matrix is normalized
        "normalize": normalize,
        "diagnostics": [{"kind": f.kind, "message": f.message, "numbers": {k: _plain(v) for k, v in f.numbers.items()}} for f in findings],
        "curves": _curve_rows(ev.curves, ev.names) or None,
        "curves_binned": None if ev.curves is None else CURVE_THRESHOLDS,
        "scores_describe": None if ev.scores is None or ev.scores.read_as is None else ev.scores.describe(),
        "ci": ev.ci,
        "operating_points": ev.operating_points,
        "calibration": None if ev.calibration is None else {
            "n_bins": int(len(ev.calibration.bin_counts) - 1), "ece": float(ev.calibration.ece),
            "mce": float(ev.calibration.mce),
        },
        # over the pairs read (n_read): the ignored ones are read and skipped too; loading the
        # kernels (numba's start-up, a first compile) is measured apart and in no rate
        "throughput": {
            **ev.timing,
            "predictions_per_second": ev.n / ev.timing["seconds"] if ev.timing["seconds"] > 0 else None,
            "counting_predictions_per_second": (ev.n / ev.timing["counting_seconds"]
                                                if ev.timing["counting_seconds"] > 0 else None),
        },
    }


def _plain(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return _plain(obj)


def _rate(n, seconds):
    if not seconds or seconds <= 0:
        return "n/a"
    r = n / seconds
    return f"{r / 1e9:.2f} G predictions/s" if r >= 1e9 else (f"{r / 1e6:.1f} M predictions/s" if r >= 1e6 else f"{r:,.0f} predictions/s")


def _matrix_text(matrix, names, normalized):
    m = np.asarray(matrix)
    cells = [[(f"{v:.2f}" if normalized else f"{int(v)}") for v in row] for row in m]
    width = max([len(n) for n in names] + [len(c) for row in cells for c in row] + [4])
    head = " " * width + "  " + " ".join(f"{n[:width]:>{width}}" for n in names)
    lines = [head] + [f"{n[:width]:>{width}}  " + " ".join(f"{c:>{width}}" for c in row) for n, row in zip(names, cells)]
    return "\n".join(lines)


def _top_confusions(matrix, names, k=10):
    m = np.asarray(matrix, dtype=np.float64).copy()
    np.fill_diagonal(m, 0)
    flat = np.argsort(m, axis=None)[::-1][:k]
    out = []
    for idx in flat:
        i, j = divmod(int(idx), m.shape[1])
        if m[i, j] <= 0:
            break
        out.append((names[i], names[j], m[i, j]))
    return out


def render_text(s) -> str:
    from .present.report import format_report

    rep = s["report"]
    raw = s["target_names"]
    per = [rep[n] for n in raw]
    names = [_printable(n) for n in raw]
    averages = [("accuracy", None, None, rep["accuracy"], int(sum(r["support"] for r in per)))] if "accuracy" in rep else []
    averages += [(h, rep[h]["precision"], rep[h]["recall"], rep[h]["f1-score"], int(rep[h]["support"]))
                 for h in _average_rows(rep)]
    table = format_report(
        names, [r["precision"] for r in per], [r["recall"] for r in per], [r["f1-score"] for r in per],
        [int(r["support"]) for r in per], averages, digits=4,
    )
    out = [_headline(s)]
    for role, src in s["inputs"].items():
        out.append(f"  {role}: {_printable(src)}")
    if s.get("scores_describe"):
        out.append(f"  scores read as: {s['scores_describe']}")
    out += ["", "Classification report", "", table.rstrip("\n"), ""]
    normalized = s["normalize"] is not None
    how = f", normalized over {s['normalize']}" if normalized else ""
    if s["n_classes"] <= MAX_PRINTED_CLASSES:
        out += [f"Confusion matrix (rows: true, columns: predicted{how})", "", _matrix_text(s["confusion_matrix"], names, normalized), ""]
    else:
        out += [f"Confusion matrix: {s['n_classes']} classes, too many to print; most confused pairs{how}:"]
        # repr() is the printable representation: the raw names go in
        for a, b, v in _top_confusions(s["confusion_matrix"], raw):
            out.append(f"  {a!r} predicted as {b!r}: {v:.4g}" if normalized else f"  {a!r} predicted as {b!r}: {int(v):,}")
        out.append("")
    out.append("Diagnostics")
    if s["diagnostics"]:
        out += [f"- {_printable(d['message'])}" for d in s["diagnostics"]]
    else:
        out.append("- No findings: no accuracy paradox, no strong imbalance, every class predicted.")
    out.append("")
    if s["curves"]:
        out += [f"Curves from the scores ({'' if len(s['curves']) == 1 else 'one-vs-rest, '}binned at {CURVE_THRESHOLDS} "
                "thresholds in [0, 1]: streamed, not the exact curves of scores held in memory)", ""]
        classes = [_printable(r["class"]) for r in s["curves"]]
        w = max(len("class"), *(len(c) for c in classes))
        out.append(f"{'class':>{w}}    AUROC  avg precision")
        for c, r in zip(classes, s["curves"]):
            out.append(f"{c:>{w}}  {_fmt(r['auroc'])}         {_fmt(r['average_precision'])}")
        aurocs = [r["auroc"] for r in s["curves"] if r["auroc"] is not None and math.isfinite(r["auroc"])]
        if aurocs and len(s["curves"]) > 1:
            out.append(f"{'macro':>{w}}  {_fmt(float(np.mean(aurocs)))}")
        out.append("")
    out += _extra_text(s, names, raw)
    t = s["throughput"]
    if t is None:
        return "\n".join(out) + "\n"
    out += _throughput_lines(s)
    return "\n".join(out) + "\n"


def _throughput_lines(s) -> list:
    t = s["throughput"]
    n = s.get("n_read", s["n_predictions"])
    parts = [f"reading {t['reading_seconds']:.3f} s", f"counting {t['counting_seconds']:.3f} s"]
    if s.get("curves") or s.get("calibration"):
        parts.append(f"curves and calibration {t['scores_seconds']:.3f} s")
    lines = [f"Throughput: {n:,} pairs read in {t['seconds']:.3f} s ({', '.join(parts)}): {_rate(n, t['seconds'])} "
             f"reading included, {_rate(n, t['counting_seconds'])} counting alone",
             f"  loading the kernels: {t['load_seconds']:.3f} s, not in the rates (numba's start-up, and on a "
             "machine's first run the compile that `fastcm warm-up` does ahead)"]
    return lines


def _headline(s) -> str:
    """"N predictions, C classes", saying the pairs --ignore-index skipped apart."""
    if s.get("ignore_index") is None:
        return f"{s['n_predictions']:,} predictions, {s['n_classes']} classes"
    return (f"{s['n_predictions']:,} predictions counted, {s['n_ignored']:,} ignored (true label "
            f"{_printable(s['ignore_index'])}, --ignore-index), {s['n_classes']} classes")


def _interval(pair) -> str:
    return "[" + ", ".join("n/a" if v is None or not math.isfinite(v) else f"{v:.4f}" for v in pair) + "]"


def _extra_text(s, names, raw) -> list:
    """The sections --ci, --operating-point and --calibration add to the text report."""
    out = []
    rep = s["report"]
    if s.get("ci"):
        out += [f"{100 * s['ci']:g}% confidence intervals (precision, recall, accuracy: Wilson; f1-score, macro: "
                "bootstrap over the counts, 10,000 resamples)", ""]
        w = max(len("macro avg"), *(len(n) for n in names))
        out.append(f"{'':>{w}}  {'precision':>18}  {'recall':>18}  {'f1-score':>18}")
        for shown, key in list(zip(names, raw)) + [("macro avg", "macro avg")]:
            row = rep.get(key, {})
            if "precision_ci" in row:
                out.append(f"{shown:>{w}}  " + "  ".join(f"{_interval(row[k]):>18}" for k in ("precision_ci", "recall_ci", "f1-score_ci")))
        if "accuracy_ci" in rep:
            out.append(f"{'accuracy':>{w}}  {'':>18}  {'':>18}  {_interval(rep['accuracy_ci']):>18}")
        out.append("")
    if s.get("operating_points"):
        out += [f"Operating points (binned curves, {CURVE_THRESHOLDS} thresholds in [0, 1])", ""]
        for r in s["operating_points"]:
            head = f"  {r['criterion']:<16} {_printable(r['class']):<12}"
            if not r["achieved"]:
                out.append(f"{head} not reached")
            else:
                out.append(f"{head} threshold {r['threshold']:.4g}: precision {r['precision']:.4f}, "
                           f"recall {r['recall']:.4f}, fpr {r['fpr']:.4f}")
        out.append("")
    if s.get("calibration"):
        c = s["calibration"]
        out += [f"Calibration of the top-class confidence ({c['n_bins']} equal-width bins): "
                f"ECE {c['ece']:.4f}, MCE {c['mce']:.4f}", ""]
    req = s.get("requirements")
    if req:
        out.append(_requirements_verdict(req))
        out += [f"  {_printable(line)}" for line in req["failures"]]
        out.append("")
    return out


def _parse_operating_point(spec):
    name, sep, value = spec.partition("=")
    name = name.strip().lower()
    if not sep or name not in ("recall", "precision", "fpr"):
        raise InputError(f"--operating-point expects recall=R, precision=P or fpr=F, but got {spec!r}")
    try:
        v = float(value)
    except ValueError:
        raise InputError(f"--operating-point {spec!r}: {value!r} is not a number") from None
    if not 0.0 <= v <= 1.0:
        raise InputError(f"--operating-point {spec!r}: the value must lie in [0, 1]")
    return name, v


def _operating_point_rows(curves, names, specs):
    """One dict per (criterion, class) for the writers."""
    from .answers.operating_points import threshold_for

    thr = np.linspace(0, 1, CURVE_THRESHOLDS)
    rows = []
    for spec in specs:
        name, v = _parse_operating_point(spec)
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


#: the release gate ``fastcm demo`` shows (as ``fastcm report --require ... --require-lower-bound``)
DEMO_REQUIREMENTS = ("accuracy>=0.9", "recall>=0.8")

def _parse_requirements(texts):
    """``--require`` texts, each checked (metric, >= or >, a threshold in [0, 1]); a bad one is
    exit 2 before counting."""
    from .answers.gates import read_requirement

    for text in texts:
        try:
            read_requirement(text)
        except ValueError as exc:
            raise InputError(f"--require: {exc}") from None
    return list(texts)


def _judge(cm, requirements, labels, lower_bound):
    """The failures of the requirements, as lines: every requirement judged, none replacing
    another on the same metric."""
    from .answers.gates import check

    result = check(cm, require=requirements, classes=None if labels is None else list(labels),
                   use_lower_bound=lower_bound)
    return [f"  {f}" for f in result.failures], result.n_checked


def _average_rows(rep):
    """The average rows besides accuracy: "micro avg" replaces it when --labels leave out a
    class with samples (scikit-learn's rule), then macro and weighted."""
    return [h for h in ("micro avg", "macro avg", "weighted avg") if h in rep]


def _fmt(v):
    return "   n/a" if v is None or not math.isfinite(v) else f"{v:.4f}"


def render_markdown(s) -> str:
    rep = s["report"]
    names = s["target_names"]
    out = [f"**{_md(_headline(s))}**", ""]
    if s.get("scores_describe"):
        out += [f"scores read as: {_printable(s['scores_describe'])}", ""]
    out += ["## Classification report", ""]
    out += ["| class | precision | recall | f1-score | support |", "| --- | ---: | ---: | ---: | ---: |"]
    for n in names:
        r = rep[n]
        out.append(f"| {_md(n)} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1-score']:.4f} | {int(r['support'])} |")
    if "accuracy" in rep:  # before the averages, as in the text report and scikit-learn's
        total = int(sum(rep[n]["support"] for n in names))
        out.append(f"| accuracy | | | {rep['accuracy']:.4f} | {total} |")
    for n in _average_rows(rep):
        r = rep[n]
        out.append(f"| {n} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1-score']:.4f} | {int(r['support'])} |")
    out.append("")
    normalized = s["normalize"] is not None
    if s["n_classes"] <= MAX_PRINTED_CLASSES:
        out += ["## Confusion matrix", "", "rows: true, columns: predicted" + (f" (normalized over {s['normalize']})" if normalized else ""), ""]
        out.append("| true \\ pred | " + " | ".join(_md(n) for n in names) + " |")
        out.append("| --- |" + " ---: |" * len(names))
        for n, row in zip(names, s["confusion_matrix"]):
            out.append(f"| **{_md(n)}** | " + " | ".join(f"{v:.2f}" if normalized else str(int(v)) for v in row) + " |")
    else:
        out += ["## Most confused pairs", "", "| true | predicted | count |", "| --- | --- | ---: |"]
        for a, b, v in _top_confusions(s["confusion_matrix"], names):
            out.append(f"| {_md(a)} | {_md(b)} | {v:.4g} |")
    out += ["", "## Diagnostics", ""]
    out += [f"- {_printable(d['message'])}" for d in s["diagnostics"]] or ["- No findings."]
    if s["curves"]:
        out += ["", "## Curves (one-vs-rest)", "", "| class | AUROC | average precision |", "| --- | ---: | ---: |"]
        out += [f"| {_md(r['class'])} | {_fmt(r['auroc']).strip()} | {_fmt(r['average_precision']).strip()} |" for r in s["curves"]]
    out += _extra_markdown(s)
    if s.get("synthetic_stream"):
        out += ["", "## Throughput", "", "```"] + _synthetic_lines(s["synthetic_stream"]) + ["```"]
    t = s["throughput"]
    if t is None:
        return "\n".join(out) + "\n"
    out += [""] + [ln.strip() + "  " for ln in _throughput_lines(s)]
    return "\n".join(out) + "\n"


def _extra_markdown(s) -> list:
    """The sections --ci, --operating-point, --calibration and --require add, as markdown."""
    out = []
    rep, names = s["report"], s["target_names"]
    if s.get("ci"):
        out += ["", f"## {100 * s['ci']:g}% confidence intervals", "",
                "precision, recall, accuracy: Wilson; f1-score, macro: bootstrap over the counts, 10,000 resamples", "",
                "| class | precision | recall | f1-score |", "| --- | ---: | ---: | ---: |"]
        for key in names + ["macro avg"]:
            row = rep.get(key, {})
            if "precision_ci" in row:
                out.append(f"| {_md(key)} | " + " | ".join(_interval(row[k]) for k in ("precision_ci", "recall_ci", "f1-score_ci")) + " |")
        if "accuracy_ci" in rep:
            out.append(f"| accuracy | | | {_interval(rep['accuracy_ci'])} |")
    if s.get("operating_points"):
        out += ["", "## Operating points", "", f"binned curves, {CURVE_THRESHOLDS} thresholds in [0, 1]", "",
                "| criterion | class | threshold | precision | recall | fpr |", "| --- | --- | ---: | ---: | ---: | ---: |"]
        for r in s["operating_points"]:
            if r["achieved"]:
                out.append(f"| {r['criterion']} | {_md(r['class'])} | {r['threshold']:.4g} | {r['precision']:.4f} | "
                           f"{r['recall']:.4f} | {r['fpr']:.4f} |")
            else:
                out.append(f"| {r['criterion']} | {_md(r['class'])} | not reached | | | |")
    if s.get("calibration"):
        c = s["calibration"]
        out += ["", "## Calibration", "", f"Top-class confidence, {c['n_bins']} equal-width bins: "
                f"ECE {c['ece']:.4f}, MCE {c['mce']:.4f}"]
    req = s.get("requirements")
    if req:
        out += ["", "## Requirements", "", _md(_requirements_verdict(req))]
        out += [f"- {_md(line)}" for line in req["failures"]]
    return out


def _requirements_verdict(req) -> str:
    how = " (judged on the 95% lower bounds)" if req.get("lower_bound") else ""
    verdict = "PASSED" if req["passed"] else f"FAILED ({len(req['failures'])} of {req['checked']})"
    return f"Requirements {', '.join(req['required'])}{how}: {verdict}"


def _synthetic_lines(b) -> list:
    return [
        f"Synthetic stream: {b['n']:,} int32 predictions, {b['num_classes']} classes, in chunks of {b['chunk']:,}:",
        f"  ConfusionMatrix.update   {b['stream_seconds']:.3f} s  {_rate(b['n'], b['stream_seconds'])}",
        f"  confusion_matrix (once)  {b['one_shot_seconds']:.3f} s  {_rate(b['n'], b['one_shot_seconds'])}",
        f"  first call (kernel load or compile): {b['first_call_seconds']:.3f} s",
    ]


def _md(text) -> str:
    """A markdown table cell: printable, and a ``|`` in a label does not split the cell."""
    return _printable(text).replace("|", "\\|")


def _csv_line(cells) -> str:
    """One CSV line; a field holding a comma, a quote, CR or LF is quoted (RFC 4180).

    The csv module leaves a lone CR unquoted when the line ends in LF, and a reader then
    takes it for the end of the row.
    """
    quoted = ['"' + c.replace('"', '""') + '"' if any(ch in c for ch in ',"\r\n') else c for c in map(str, cells)]
    return ",".join(quoted) + "\n"


def render_csv(s) -> str:
    """The report as one table: a row per class (then accuracy and the averages, as
    scikit-learn), a column per quantity: the report, the confusion matrix row
    (``predicted <class>``), and what was asked: intervals (``<metric> ci low/high``),
    curves (``auroc``, ``average_precision``), operating points (``<criterion> threshold``,
    ...). What belongs to no class (calibration, requirements, ignored pairs, how scores
    were read, a normalized matrix) follows as statements in the class column, so the
    numeric columns stay numeric."""
    rep = s["report"]
    names = s["target_names"]
    head = ["class", "precision", "recall", "f1-score", "support"]
    rows = {n: [_csv_text(n), f"{rep[n]['precision']:.4f}", f"{rep[n]['recall']:.4f}", f"{rep[n]['f1-score']:.4f}",
                int(rep[n]["support"])] for n in names}
    order = list(names)
    if "accuracy" in rep:
        total = int(sum(rep[n]["support"] for n in names))
        rows["accuracy"] = ["accuracy", "", "", f"{rep['accuracy']:.4f}", total]
        order.append("accuracy")
    for h in _average_rows(rep):
        r = rep[h]
        rows[h] = [h, f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1-score']:.4f}", int(r["support"])]
        order.append(h)

    def column(title, values):  # values: {row key: cell}; other rows get an empty cell
        head.append(_csv_text(title))
        for key in order:
            rows[key].append(values.get(key, ""))

    normalized = s["normalize"] is not None
    for j, predicted in enumerate(names):
        column(f"predicted {predicted}", {n: (f"{row[j]:.4f}" if normalized else int(row[j]))
                                          for n, row in zip(names, s["confusion_matrix"])})
    if s.get("ci"):
        for metric in ("precision", "recall", "f1-score"):
            for side, k in (("low", 0), ("high", 1)):
                cells = {key: _csv_number(rep[key][f"{metric}_ci"][k]) for key in order
                         if isinstance(rep.get(key), dict) and f"{metric}_ci" in rep[key]}
                if metric == "f1-score" and "accuracy_ci" in rep:  # accuracy sits in the f1-score column
                    cells["accuracy"] = _csv_number(rep["accuracy_ci"][k])
                column(f"{metric} ci {side}", cells)
    if s.get("curves"):
        by_name = {r["class"]: r for r in s["curves"]}
        for metric in ("auroc", "average_precision"):
            column(metric, {n: _csv_number(by_name[str(n)][metric]) for n in names if str(n) in by_name})
    for criterion in dict.fromkeys(r["criterion"] for r in s.get("operating_points") or []):
        points = {r["class"]: r for r in s["operating_points"] if r["criterion"] == criterion}
        for metric in ("threshold", "precision", "recall", "fpr"):
            column(f"{criterion} {metric}", {n: _csv_number(points[str(n)][metric]) for n in names
                                             if str(n) in points and points[str(n)]["achieved"]})
    width = len(head)
    statements = []
    if normalized:
        statements.append(f"confusion matrix normalized over {s['normalize']}")
    if s.get("ignore_index") is not None:
        statements.append(_headline(s))
    if s.get("calibration"):
        c = s["calibration"]
        statements.append(f"calibration of the top-class confidence ({c['n_bins']} equal-width bins): "
                          f"ECE {c['ece']:.4f}, MCE {c['mce']:.4f}")
    req = s.get("requirements")
    if req:
        statements.append(_requirements_verdict(req).replace("Requirements", "requirements", 1))
        statements += [f"requirement failed: {line}" for line in req["failures"]]
    if s.get("scores_describe"):  # the last row, as before
        statements.append(f"scores read as: {s['scores_describe']}")
    lines = [head] + [rows[key] for key in order] + [[_csv_text(t)] + [""] * (width - 1) for t in statements]
    return "".join(_csv_line(row) for row in lines)


def _csv_number(v) -> str:
    return "" if v is None or not math.isfinite(v) else f"{v:.4f}"


def render(s, fmt) -> str:
    if fmt == "json":
        return json.dumps(_json_safe(s), indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(s)
    if fmt == "csv":
        return render_csv(s)
    return render_text(s)


def _check_plot_possible(path):
    """Fail before any work when --plot cannot be honoured."""
    if not path:
        return
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise InputError("--plot needs matplotlib, which is not installed: pip install 'fastcm[plot]'")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"Cannot write the plot to {path!r}: no folder {folder!r}")


def _write_plot(path, ev: Evaluation, normalize, title=None):
    full, rows, _ = ev.counts()
    try:
        from .present import plots as plot
        fig = plot.summary(full[np.ix_(rows, rows)], labels=ev.names, normalize=normalize, curves=ev.curves, title=title)
    except ImportError:
        raise InputError("--plot needs matplotlib, which is not installed: pip install 'fastcm[plot]'") from None
    try:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot write the plot to {path!r}: {exc}") from None


# -- subcommands -----------------------------------------------------------------------------
def _cmd_report(args) -> int:
    if args.pred is None and args.scores is None:
        raise InputError("report needs --pred or --scores (or both)")
    _check_plot_possible(args.plot)
    if args.chunk_size < 1:
        raise InputError(f"--chunk-size must be a positive number of rows, but got {args.chunk_size}")
    requests = {"y_true": (args.true, "y_true", False)}
    if args.pred is not None:
        requests["y_pred"] = (args.pred, "y_pred", False)
    if args.scores is not None:
        requests["scores"] = (args.scores, "scores", True)
    # columns of one .csv/.parquet file share a reader: the file is parsed once
    cols = open_columns(list(requests.values()))
    described = {}
    for c in cols:
        for part, role in enumerate(c.roles):
            described[list(requests)[role]] = c.describe(part)
    names = read_names(args.names) if args.names else None
    labels = _parse_labels(args.labels)
    total = next((c.length for c in cols if c.length is not None), None)
    num_classes = args.num_classes
    if num_classes is not None and num_classes < 1:
        raise InputError(f"--num-classes must be a positive int, but got {num_classes}")
    # option errors are exit 2 before any file is read
    if args.ci is not None and not 0 < args.ci < 1:
        raise InputError(f"--ci must be a confidence level strictly between 0 and 1, e.g. 0.95, but got {args.ci}")
    requirements = _parse_requirements(args.require)
    if args.require_lower_bound and not requirements:
        print(f"{PROG} report: note: --require-lower-bound does nothing without --require (no --require given)",
              file=sys.stderr)
    for spec in args.operating_point:
        _parse_operating_point(spec)
    if args.operating_point and args.scores is None:
        raise InputError("--operating-point needs --scores")
    calibration = None
    if args.calibration is not None:
        if args.scores is None:
            raise InputError("--calibration needs --scores (probabilities, one column per class)")
        if args.calibration < 1:
            raise InputError(f"--calibration needs a positive number of bins, but got {args.calibration}")
        from .accumulate.calibration import CalibrationError

        calibration = CalibrationError(args.calibration, scores=args.scores_are)
    reading = ScoreReading(args.scores_are)

    thresholded = []  # set when one score column gives the predictions (score >= 0.5)

    def chunks():
        for parts in aligned_chunks(cols, args.chunk_size):
            got = dict(zip(requests, parts))
            s = got.get("scores")
            if not thresholded and args.pred is None and (s.ndim == 1 or s.shape[1] == 1):
                thresholded.append(True)
            yield got["y_true"], got.get("y_pred"), s

    # every class is counted, --labels picked afterwards: see _select_labels
    cm, curves, n, timing = count_chunks(
        chunks(), total=total, num_classes=num_classes, ignore_index=args.ignore_index,
        quiet=args.quiet, with_curves=args.scores is not None, calibration=calibration, scores=reading,
    )
    if n == 0:
        raise InputError("the inputs hold no rows")
    if thresholded:
        _check_binary_truth(cm, args.scores)
    shown = cm.labels if labels is None else labels
    ev = Evaluation(cm, _names_for(shown, names), n, timing, curves, {k: described[k] for k in requests}, labels)
    ev.ignore_index = cm.ignore_index
    one_vs_rest = ev.curves is not None and ev.curves.ndim == 4
    if one_vs_rest and labels is not None and labels.dtype.kind in "iu":
        if labels.min() < 0 or labels.max() >= ev.curves.shape[0]:
            raise InputError(f"--labels {labels.tolist()} are not all columns of the {ev.curves.shape[0]} scores")
        ev.curves = ev.curves[labels]  # the chosen classes' curves, in their order
    if one_vs_rest and ev.curves.shape[0] != len(ev.names):
        raise InputError(f"--scores has {ev.curves.shape[0]} columns, but the data has {len(ev.names)} classes")
    ev.ci = args.ci
    ev.scores = reading if args.scores is not None else None
    if args.operating_point:
        if ev.curves is None:
            raise InputError("--operating-point needs scores of 1-D truth (no curves were counted)")
        ev.operating_points = _operating_point_rows(ev.curves, ev.names, args.operating_point)
    if calibration is not None and calibration.n_samples:
        ev.calibration = calibration.compute()
    summary = _summary(ev, args.normalize)
    failures, checked = _judge(cm, requirements, labels, args.require_lower_bound) if requirements else ([], 0)
    summary["requirements"] = None if not requirements else {
        "required": list(requirements), "checked": checked, "passed": not failures,
        "failures": [line.strip() for line in failures],
    }
    if args.plot:
        _write_plot(args.plot, ev, args.normalize)
    sys.stdout.write(render(summary, args.format))
    sys.stdout.flush()
    if args.plot and not args.quiet:
        print(f"plot written to {args.plot}", file=sys.stderr)
    if failures:  # a release gate: exit 3, the failures on stderr
        print(f"{PROG} report: requirements not met ({len(failures)} of {checked}):", file=sys.stderr)
        for line in failures:
            print(_printable(line), file=sys.stderr)
        return EXIT_REQUIREMENT_FAILED
    return 0


def _check_binary_truth(cm, spec):
    """One score column is the positive class's score: predictions are 0/1, so a truth with
    other classes would be counted against them silently; refuse it instead."""
    counts = np.asarray(to_host(cm.compute()))
    in_truth = [v.item() if isinstance(v, np.generic) else v for v, n in zip(cm.labels, counts.sum(axis=1)) if n]
    other = [v for v in in_truth if isinstance(v, str) or v not in (0, 1)]
    if other:
        shown = ", ".join(map(str, other[:5])) + (", ..." if len(other) > 5 else "")
        raise InputError(f"--scores {spec} has one column, the positive class's score of a binary problem, "
                         f"but y_true holds other labels than 0 and 1: {shown}; give one score column per class")


def _demo_arrays(file=DEMO_FILE):
    from importlib import resources

    ref = resources.files("fastcm") / "data" / file
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}, str(path)


def synthetic_throughput(n, num_classes=10, chunk=1 << 20, seed=0):
    """Stream ``n`` synthetic predictions through ConfusionMatrix.update; returns timings.

    Labels are int32, 90% correct. The first update is timed apart: it loads (or compiles)
    the kernels.
    """
    from .counts.confusion import confusion_matrix as confusion_matrix_once
    from .accumulate.confusion import ConfusionMatrix

    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, num_classes, n, dtype=np.int32)
    noise = rng.integers(0, num_classes, n, dtype=np.int32)
    y_pred = np.where(rng.random(n, dtype=np.float32) < 0.1, noise, y_true)
    del noise
    # the first update loads (or compiles) the kernels for the chunk size used below
    warm = ConfusionMatrix(num_classes)
    t0 = time.perf_counter()
    warm.update(y_true[:chunk], y_pred[:chunk])
    first = time.perf_counter() - t0
    confusion_matrix_once(y_true[:chunk], y_pred[:chunk], num_classes=num_classes)
    cm = ConfusionMatrix(num_classes)
    t0 = time.perf_counter()
    for lo in range(0, n, chunk):
        cm.update(y_true[lo : lo + chunk], y_pred[lo : lo + chunk])
    stream_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    one = confusion_matrix_once(y_true, y_pred, num_classes=num_classes)
    once_s = time.perf_counter() - t0
    if not np.array_equal(np.asarray(one), np.asarray(cm.compute())):
        raise RuntimeError("streamed and one-shot confusion matrices differ")
    return {"n": n, "num_classes": num_classes, "chunk": chunk, "first_call_seconds": first,
            "stream_seconds": stream_s, "stream_predictions_per_second": n / stream_s if stream_s else None,
            "one_shot_seconds": once_s, "one_shot_predictions_per_second": n / once_s if once_s else None}


#: the bundled real examples of ``fastcm demo`` (files in fastcm/data, made by scripts/)
DEMO_EXAMPLES = {
    "digits": {
        "file": DEMO_FILE,
        "title": "a logistic regression's predictions on scikit-learn's handwritten digits",
        "data": "scikit-learn's handwritten digits (load_digits), held-out half",
        "model": "logistic regression on 4x4-pooled images (scripts/make_demo_data.py)",
        "operating_point": "recall=0.95",
    },
    "rare": {
        "file": "breast_cancer_rare_predictions.npz",
        "title": "a rare class missed at high accuracy: scikit-learn's breast cancer data, malignant made rare",
        "data": "scikit-learn's breast cancer data (load_breast_cancer): every benign tumour, every 10th "
                "malignant one (22 of 379)",
        "model": "logistic regression on tumour size (mean radius), out-of-fold predictions of a 5-fold "
                 "cross-validation (scripts/make_rare_class_demo_data.py)",
        "operating_point": "recall=0.8",
        "rare_class": "malignant",
    },
}


def _demo_example(name, args):
    """The summary of one bundled example, with what the demo adds: the threshold that
    restores a missed rare class's recall, and the release gate explained."""
    from .accumulate.calibration import CalibrationError
    from .answers.gates import check

    spec = DEMO_EXAMPLES[name]
    data, path = _demo_arrays(spec["file"])
    y_true, y_pred, proba = data["y_true"], data["y_pred"], data["y_proba"]
    names = [str(n) for n in data["target_names"]]
    calibration = CalibrationError(10)
    cm, curves, n, timing = count_chunks(
        [(y_true, y_pred, proba)], num_classes=proba.shape[1], quiet=True, with_curves=True, calibration=calibration,
    )
    ev = Evaluation(cm, names, n, timing, curves, {"data": spec["data"], "model": spec["model"], "file": path})
    # the questions evaluation is for: how sure (intervals), which threshold reaches the
    # recall a task needs, can the probabilities be trusted, and is it good enough
    ev.ci = 0.95
    ev.operating_points = _operating_point_rows(curves, names, [spec["operating_point"]])
    ev.calibration = calibration.compute()
    summary = _summary(ev, args.normalize)
    summary["example"], summary["title"] = name, spec["title"]
    requirements = _parse_requirements(DEMO_REQUIREMENTS)
    gate = check(cm, require=requirements, use_lower_bound=True)
    summary["requirements"] = {"required": list(DEMO_REQUIREMENTS), "checked": gate.n_checked, "passed": gate.passed,
                               "failures": [str(f) for f in gate.failures], "lower_bound": True,
                               "explained": _gate_explained(gate)}
    summary["throughput"] = None  # a few hundred rows time the kernels' loading: the synthetic stream measures counting
    rare = spec.get("rare_class")
    if rare is not None:
        point = next(r for r in ev.operating_points if r["class"] == rare)
        total = point["tp"] + point["fp"] + point["tn"] + point["fn"]
        summary["restored"] = {
            "class": rare, "criterion": point["criterion"], "achieved": point["achieved"],
            "threshold": point["threshold"], "recall": point["recall"], "precision": point["precision"],
            "recall_at_0.5": summary["report"][rare]["recall"],
            "accuracy": (point["tp"] + point["tn"]) / total if total else None,
            **{k: point[k] for k in ("tp", "fp", "tn", "fn")},
        }
    return summary, ev


def _gate_explained(gate) -> list:
    """What a failed demo gate means, in sentences: what ``fastcm report`` would do with the
    same options, and what the failures show."""
    options = " ".join(f"--require '{r}'" for r in DEMO_REQUIREMENTS) + " --require-lower-bound"
    if gate.passed:
        return [f"fastcm report {options} would exit 0 here: every requirement is met."]
    out = [f"fastcm report {options} would exit 3 here ({len(gate.failures)} of {gate.n_checked} requirements not met "
           "on their 95% lower bounds), failing a CI job; the demo shows the gate and exits 0."]
    failed = {f.metric for f in gate.failures}
    if "accuracy" not in failed and "recall" in failed:
        out.append("Accuracy passes and recall does not: a gate on accuracy alone would have let this model through.")
    else:
        out.append("Each line gives the value and its lower bound: with this many test samples a class needs a "
                   "recall well above the requirement for its interval to clear it.")
    return out


def _restored_lines(r) -> list:
    if not r["achieved"]:
        return [f"No threshold reaches {r['criterion']} for {r['class']!r}."]
    return [
        f"the threshold that restores the rare class's recall: predicting {r['class']!r} when its probability is at "
        f"least {r['threshold']:.3g} (not 0.5) raises its recall from {100 * r['recall_at_0.5']:.1f}% to "
        f"{100 * r['recall']:.1f}% ({r['tp']} of {r['tp'] + r['fn']}), at precision {100 * r['precision']:.1f}% "
        f"({r['fp']} false alarms among {r['fp'] + r['tn']}); accuracy becomes {100 * r['accuracy']:.1f}%.",
        "(fastcm report --operating-point recall=0.8 finds it from any --scores file.)",
    ]


def _demo_plot_path(path, name, several):
    if not several:
        return path
    root, ext = os.path.splitext(path)
    return f"{root}-{name}{ext or '.png'}"


def _cmd_demo(args) -> int:
    _check_plot_possible(args.plot)
    if args.stream_size < 0:
        raise InputError(f"--stream-size must be 0 or more predictions, but got {args.stream_size}")
    chosen = list(DEMO_EXAMPLES) if args.example == "all" else [args.example]
    if args.format == "csv" and len(chosen) > 1:
        raise InputError("--format csv holds one table: add --example digits or --example rare")
    examples = [_demo_example(name, args) for name in chosen]
    bench = None
    if args.stream_size > 0:
        if not args.quiet and args.format == "text":
            print(f"measuring throughput on {args.stream_size:,} synthetic predictions...", file=sys.stderr)
        bench = synthetic_throughput(args.stream_size)
    plots = []
    if args.plot:
        for summary, ev in examples:
            out_path = _demo_plot_path(args.plot, summary["example"], len(examples) > 1)
            _write_plot(out_path, ev, args.normalize, title=f"fastcm demo: {summary['example']}")
            plots.append(out_path)
    if args.format == "json":
        doc = {"examples": [s for s, _ in examples], "synthetic_stream": bench, "plots": plots}
        sys.stdout.write(json.dumps(_json_safe(doc), indent=2) + "\n")
        return 0
    if args.format == "csv":
        sys.stdout.write(render_csv(examples[0][0]))
        return 0
    md = args.format == "markdown"
    out = []
    if len(examples) > 1:
        out += [("# " if md else "") + "fastcm demo: two real examples, reported as `fastcm report` reports a file", ""]
    for k, (summary, _) in enumerate(examples, 1):
        head = f"Example {k} of {len(examples)}: {summary['title']}"
        if md:
            out += [f"# {head}", "", render_markdown(summary).rstrip("\n"), ""]
        else:
            out += ["=" * min(len(head), 100), head, "=" * min(len(head), 100), "", render_text(summary).rstrip("\n"), ""]
        if summary.get("restored"):
            out += [("**What to do about it:** " if md else "What to do about it: ") + " ".join(_restored_lines(summary["restored"])), ""]
        out += [("- " if md else "  ") + line for line in summary["requirements"]["explained"]] + [""]
    if bench:
        out += ["```"] + _synthetic_lines(bench) + ["```", ""] if md else _synthetic_lines(bench) + [""]
    if plots:
        out += [f"Plot written to {p}" for p in plots]
    else:
        out.append("Pictures of each example (matrix, per-class bars, curves): fastcm demo --plot demo.png "
                   "(needs matplotlib: pip install 'fastcm[plot]')")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def _import_benchmarks():
    try:
        from benchmarks.__main__ import main as bench_main

        return bench_main
    except ImportError:
        pass
    # The suite lives in the repository, not in the installed package: look in the working
    # directory and next to the package (an editable install).
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root in (os.getcwd(), here):
        if os.path.isfile(os.path.join(root, "benchmarks", "__main__.py")):
            sys.path.insert(0, root)
            try:
                from benchmarks.__main__ import main as bench_main

                return bench_main
            except ImportError:
                sys.path.remove(root)
    return None


def _cmd_bench(argv) -> int:
    bench_main = _import_benchmarks()
    if bench_main is None:
        print(f"{PROG} bench: the benchmark suite ships with the source, not the wheel; run it from the root "
              "of a checkout of the repository: fastcm bench --quick (or python -m benchmarks --quick)", file=sys.stderr)
        return 2
    result = bench_main(list(argv))
    return int(result or 0)


# -- entry point -----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Confusion matrices and classification reports over large prediction files.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"fastcm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{report,demo,bench,warm-up}", parser_class=_Parser)

    rep = sub.add_parser("report", help="report on prediction files", description=(
        "Stream prediction files into a confusion matrix and print the classification report, the matrix, "
        "the diagnostics and the throughput. FILE is .npy, .npz, .csv, .tsv, .parquet or .txt; "
        "COLUMN is a column name or 0-based position (.csv/.tsv/.parquet), a key (.npz) or a column index (.npy)."))
    rep.add_argument("--true", required=True, metavar="FILE[:COLUMN]", help="true labels")
    rep.add_argument("--pred", metavar="FILE[:COLUMN]", help="predicted labels")
    rep.add_argument("--scores", metavar="FILE[:COL,...]", help="scores/probabilities, one column per class "
                     "(or one column: the positive class's score); gives the curves, and the predictions when --pred is absent")
    rep.add_argument("--num-classes", type=int, metavar="C", help="labels are 0..C-1 (fastest)")
    rep.add_argument("--labels", nargs="+", metavar="LABEL", help="classes to report, in this order (space or comma "
                     "separated); as scikit-learn's labels=, each still counts every sample")
    rep.add_argument("--ignore-index", metavar="LABEL", help="skip pairs whose true label is LABEL (e.g. 255, or void "
                     "for string labels); the report says how many were skipped")
    rep.add_argument("--names", metavar="FILE", help="class names: one per line, line i naming integer label i "
                     "(0-based), or LABEL<TAB>NAME lines mapping each label of the data by its text; a label "
                     "without a name is exit 2")
    rep.add_argument("--ci", type=float, metavar="LEVEL",
                     help="add confidence intervals at this level (e.g. 0.95): Wilson for precision, recall and "
                     "accuracy, bootstrap over the counts for F1 and the macro averages")
    rep.add_argument("--require", action="append", default=[], metavar="METRIC>=X",
                     help="exit 3 unless METRIC (accuracy, recall, precision, f1: of every class; 'macro f1' etc.: "
                     "the average) reaches X (>=) or exceeds it (>), X in [0, 1]; repeatable, every one judged, "
                     "e.g. --require 'recall>=0.85'")
    rep.add_argument("--require-lower-bound", action="store_true",
                     help="judge --require on the 95%% confidence interval's lower bound, so a small test set "
                     "cannot pass by luck")
    rep.add_argument("--operating-point", action="append", default=[], metavar="METRIC=VALUE",
                     help="with --scores: the threshold reaching recall=R, precision=P or fpr=F, per class (repeatable)")
    rep.add_argument("--scores-are", choices=("auto", "probabilities", "logits"), default="auto",
                     help="how --scores are read: logits go through a sigmoid (one column, multilabel) or a "
                          "softmax over the classes; auto (default): any value outside [0, 1] means logits, "
                          "decided on the first chunk; probabilities refuses values outside [0, 1]")
    rep.add_argument("--calibration", type=int, metavar="BINS",
                     help="with --scores (probabilities or logits, see --scores-are): expected and maximum calibration error over BINS "
                     "equal-width bins of the top-class confidence")
    _output_options(rep)
    rep.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, metavar="ROWS",
                     help=f"rows read per chunk (default {DEFAULT_CHUNK_SIZE:,})")
    rep.set_defaults(func=_cmd_report)

    demo = sub.add_parser("demo", help="report on the bundled real examples", description=(
        "Run the report on two bundled real examples (true labels, predictions, probabilities): a logistic "
        "regression on scikit-learn's handwritten digits, and one on its breast cancer data with malignant "
        "tumours made rare, where 96%% accuracy hides a missed rare class (the accuracy paradox) and a lower "
        "threshold restores it; then measure throughput on a synthetic stream. The release gate is shown, "
        "not enforced: the demo exits 0 and says what fastcm report would do."))
    demo.add_argument("--example", choices=("all", *DEMO_EXAMPLES), default="all",
                      help="which example: digits, rare (the accuracy paradox) or all (default)")
    _output_options(demo)
    demo.add_argument("--stream-size", type=int, default=10_000_000, metavar="N",
                      help="synthetic predictions for the throughput measurement (default 10,000,000; 0 skips it)")
    demo.set_defaults(func=_cmd_demo)

    sub.add_parser("bench", help="run the benchmark suite (from a source checkout); options as python -m benchmarks",
                   add_help=False)

    warm = sub.add_parser("warm-up", help="compile the CPU kernels ahead of first use (images, CI, workers)", description=(
        "Compile (or load from numba's disk cache) every CPU kernel of fastcm, tuned strategies included, so that "
        "later processes on this machine start counting at once."))
    warm.set_defaults(func=_cmd_warm_up)
    return parser


def _cmd_warm_up(args) -> int:
    from .warmup import warm_up

    stats = warm_up()
    print(f"{PROG} warm-up: kernels ready in {stats['seconds']:.1f} s ({stats['cpu_seconds']:.1f} s CPU)")
    return 0


def _output_options(p):
    p.add_argument("--format", choices=("text", "json", "markdown", "csv"), default="text", help="output format (default text)")
    p.add_argument("--plot", metavar="OUT.png", help="also draw the confusion matrix, per-class bars and curves (needs matplotlib)")
    p.add_argument("--normalize", choices=("true", "pred", "all"), help="normalize the shown matrix over true rows, predicted columns or all")
    p.add_argument("--quiet", action="store_true", help="no progress bar or notes on stderr")


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 1 internal error, 3 a
    ``--require`` not met)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        return _cmd_bench(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) or a usage error (2)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    # messages quote labels, column names and file names from the inputs: escaped, they
    # cannot drive the terminal, and a newline in one cannot make the message two lines
    except InputError as exc:
        print(f"{PROG} {args.command}: error: {_printable(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # unreadable file, permission, disk full
        name = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"{PROG} {args.command}: error:{name} {_printable(exc.strerror or exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in fastcm: say so, keep the traceback for a report
        if os.environ.get("FASTCM_DEBUG"):
            import traceback

            traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"{PROG} {args.command}: internal error: {type(exc).__name__}: {_printable(first)} "
              "(set FASTCM_DEBUG=1 for the traceback; please report it)", file=sys.stderr)
        return 1
