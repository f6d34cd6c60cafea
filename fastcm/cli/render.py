r"""Rendering a report: an :class:`~fastcm.cli.counting.Evaluation` as plain data
(:func:`summary`), that data as text, markdown, JSON or CSV (:func:`render`), and the plot.

Labels and names come from the data, so they are escaped wherever they are shown: a
terminal runs the escape sequences of a label, a spreadsheet runs a label as a formula.
The summary keeps them exact (JSON's encoder escapes what it must); each renderer escapes.

Examples
--------
>>> print(printable("\x1b[31mred"), json_safe({"x": float("nan")}))
\x1b[31mred {'x': None}
"""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np

from .counting import CURVE_THRESHOLDS, Evaluation, curve_rows
from .io import InputError

__all__ = [
    "MAX_PRINTED_CLASSES", "printable", "names_for", "summary", "json_safe", "render", "render_text",
    "render_markdown", "render_csv", "synthetic_lines", "write_plot",
]

MAX_PRINTED_CLASSES = 30
#: what makes a spreadsheet read a CSV cell as a formula (OWASP's CSV injection list)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: a cell that is a plain number is left alone, so a label -1 or -0.5 stays a number
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def printable(text) -> str:
    r"""``text`` with every non-printable character (ESC, CR, LF, tab, bidi controls...)
    written as its Python escape, so a terminal shows it instead of obeying it.

    >>> print(printable("\x1b[31mred\x1b[0m"), printable("two\nlines"), printable("plain"))
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


def names_for(labels, names):
    """The names of ``labels`` from a ``--names`` file, mapped, never renamed by position.

    Plain lines: line i names the integer label i, so a class missing from the data does
    not shift the names after it; a label that is not an integer in ``0..len(names)-1`` is
    refused. ``LABEL<TAB>NAME`` lines map each label by its text; a label without a name is
    refused.

    >>> names_for(np.array([0, 2]), ["zero", "one", "two"]), names_for(np.array(["b", "a"]), ["a\\tA", "b\\tB"])
    (['zero', 'two'], ['B', 'A'])
    """
    shown = [str(_python_value(v)) for v in labels]
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
                raise InputError(f"--names names the label {printable(label)!r} twice")
            table[label] = name.strip()
        missing = [s for s in shown if s not in table]
        if missing:
            raise InputError(f"--names maps labels by their text (LABEL<TAB>NAME lines), but gives no name to "
                             f"{_few(missing)}")
        return [table[s] for s in shown]

    def index(v):
        v = _python_value(v)
        return int(v) if isinstance(v, (bool, int)) and 0 <= int(v) < len(names) else None

    bad = [s for v, s in zip(labels, shown) if index(v) is None]
    if bad:
        raise InputError(f"--names has {len(names)} plain lines, line i naming the integer label i (0..{len(names) - 1}), "
                         f"but the data's labels include {_few(bad)}; to name labels by their text, write "
                         "LABEL<TAB>NAME lines")
    return [names[index(v)] for v in labels]


def _few(items, k=10) -> str:
    return ", ".join(printable(v) for v in items[:k]) + (f", ... ({len(items)} in all)" if len(items) > k else "")


def summary(ev: Evaluation, normalize):
    """Everything a report shows, as plain Python data."""
    from ..answers.diagnose import diagnose
    from ..counts.confusion import normalize_counts
    from ..present.report import report as classification_report

    full, rows, labels = ev.counts()
    counts = full[np.ix_(rows, rows)]  # the listed classes' matrix, as confusion_matrix(labels=...)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = classification_report(full, ev.names, output_dict=True, zero_division=0, labels=rows, ci=ev.ci)
        findings = diagnose(counts, target_names=ev.names)
    shown = normalize_counts(counts, normalize) if normalize else counts
    counted = int(full.sum())  # the CLI counts unweighted pairs: every counted pair is in a cell
    return {
        # pairs counted into the matrix; n_read also holds the pairs --ignore-index skipped
        "n_predictions": counted,
        "n_ignored": ev.n - counted,
        "n_read": ev.n,
        "ignore_index": _python_value(ev.ignore_index),
        "n_classes": len(ev.names),
        "labels": [_python_value(v) for v in labels],
        "target_names": list(ev.names),
        "inputs": ev.sources,
        "scores_are": None if ev.scores is None else ev.scores.read_as,
        "scores_rule": None if ev.scores is None else ev.scores.rule,
        "report": report,
        "confusion_matrix": shown.tolist(),
        "confusion_matrix_counts": counts.tolist(),  # the raw counts, also when the shown matrix is normalized
        "normalize": normalize,
        "diagnostics": [{"kind": f.kind, "message": f.message, "numbers": {k: _python_value(v) for k, v in f.numbers.items()}} for f in findings],
        "curves": curve_rows(ev.curves, ev.names) or None,
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


def _python_value(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return _python_value(obj)


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
    from ..present.report import format_report

    rep = s["report"]
    raw = s["target_names"]
    per = [rep[n] for n in raw]
    names = [printable(n) for n in raw]
    averages = [("accuracy", None, None, rep["accuracy"], int(sum(r["support"] for r in per)))] if "accuracy" in rep else []
    averages += [(h, rep[h]["precision"], rep[h]["recall"], rep[h]["f1-score"], int(rep[h]["support"]))
                 for h in _average_rows(rep)]
    table = format_report(
        names, [r["precision"] for r in per], [r["recall"] for r in per], [r["f1-score"] for r in per],
        [int(r["support"]) for r in per], averages, digits=4,
    )
    out = [_headline(s)]
    for role, src in s["inputs"].items():
        out.append(f"  {role}: {printable(src)}")
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
        out += [f"- {printable(d['message'])}" for d in s["diagnostics"]]
    else:
        out.append("- No findings: no accuracy paradox, no strong imbalance, every class predicted.")
    out.append("")
    if s["curves"]:
        out += [f"Curves from the scores ({'' if len(s['curves']) == 1 else 'one-vs-rest, '}binned at {CURVE_THRESHOLDS} "
                "thresholds in [0, 1]: streamed, not the exact curves of scores held in memory)", ""]
        classes = [printable(r["class"]) for r in s["curves"]]
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
            f"{printable(s['ignore_index'])}, --ignore-index), {s['n_classes']} classes")


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
            head = f"  {r['criterion']:<16} {printable(r['class']):<12}"
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
        out += [f"  {printable(line)}" for line in req["failures"]]
        out.append("")
    return out


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
        out += [f"scores read as: {printable(s['scores_describe'])}", ""]
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
    out += [f"- {printable(d['message'])}" for d in s["diagnostics"]] or ["- No findings."]
    if s["curves"]:
        out += ["", "## Curves (one-vs-rest)", "", "| class | AUROC | average precision |", "| --- | ---: | ---: |"]
        out += [f"| {_md(r['class'])} | {_fmt(r['auroc']).strip()} | {_fmt(r['average_precision']).strip()} |" for r in s["curves"]]
    out += _extra_markdown(s)
    if s.get("synthetic_stream"):
        out += ["", "## Throughput", "", "```"] + synthetic_lines(s["synthetic_stream"]) + ["```"]
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


def synthetic_lines(b) -> list:
    return [
        f"Synthetic stream: {b['n']:,} int32 predictions, {b['num_classes']} classes, in chunks of {b['chunk']:,}:",
        f"  ConfusionMatrix.update   {b['stream_seconds']:.3f} s  {_rate(b['n'], b['stream_seconds'])}",
        f"  confusion_matrix (once)  {b['one_shot_seconds']:.3f} s  {_rate(b['n'], b['one_shot_seconds'])}",
        f"  first call (kernel load or compile): {b['first_call_seconds']:.3f} s",
    ]


def _md(text) -> str:
    """A markdown table cell: printable, and a ``|`` in a label does not split the cell."""
    return printable(text).replace("|", "\\|")


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
        return json.dumps(json_safe(s), indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(s)
    if fmt == "csv":
        return render_csv(s)
    return render_text(s)


def write_plot(path, ev: Evaluation, normalize, title=None):
    full, rows, _ = ev.counts()
    try:
        from ..present import plots as plot
        fig = plot.summary(full[np.ix_(rows, rows)], labels=ev.names, normalize=normalize, curves=ev.curves, title=title)
    except ImportError:
        raise InputError("--plot needs matplotlib, which is not installed: pip install 'fastcm[plot]'") from None
    try:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot write the plot to {path!r}: {exc}") from None
