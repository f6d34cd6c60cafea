"""``fastcm demo``: the bundled real examples, reported as ``fastcm report`` reports a file,
and the throughput of a synthetic stream."""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from . import counting
from . import render
from .io import InputError
from .parse import check_plot_possible, parse_requirements

__all__ = ["DEMO_FILE", "DEMO_EXAMPLES", "DEMO_REQUIREMENTS", "synthetic_throughput", "demo_command"]

DEMO_FILE = "digits_predictions.npz"

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

#: the release gate ``fastcm demo`` shows (as ``fastcm report --require ... --require-lower-bound``)
DEMO_REQUIREMENTS = ("accuracy>=0.9", "recall>=0.8")


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
    from ..counts.confusion import confusion_matrix as confusion_matrix_once
    from ..accumulate.confusion import ConfusionMatrix

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


def _demo_example(name, args):
    """The summary of one bundled example, with what the demo adds: the threshold that
    restores a missed rare class's recall, and the release gate explained."""
    from ..accumulate.calibration import CalibrationError
    from ..answers.gates import check

    spec = DEMO_EXAMPLES[name]
    data, path = _demo_arrays(spec["file"])
    y_true, y_pred, proba = data["y_true"], data["y_pred"], data["y_proba"]
    names = [str(n) for n in data["target_names"]]
    calibration = CalibrationError(10)
    cm, curves, n, timing = counting.count_chunks(
        [(y_true, y_pred, proba)], num_classes=proba.shape[1], quiet=True, with_curves=True, calibration=calibration,
    )
    ev = counting.Evaluation(cm, names, n, timing, curves, {"data": spec["data"], "model": spec["model"], "file": path})
    # the questions evaluation is for: how sure (intervals), which threshold reaches the
    # recall a task needs, can the probabilities be trusted, and is it good enough
    ev.ci = 0.95
    ev.operating_points = counting.operating_point_rows(curves, names, [spec["operating_point"]])
    ev.calibration = calibration.compute()
    summary = render.summary(ev, args.normalize)
    summary["example"], summary["title"] = name, spec["title"]
    requirements = parse_requirements(DEMO_REQUIREMENTS)
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


def demo_command(args) -> int:
    check_plot_possible(args.plot)
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
            render.write_plot(out_path, ev, args.normalize, title=f"fastcm demo: {summary['example']}")
            plots.append(out_path)
    if args.format == "json":
        doc = {"examples": [s for s, _ in examples], "synthetic_stream": bench, "plots": plots}
        sys.stdout.write(json.dumps(render.json_safe(doc), indent=2) + "\n")
        return 0
    if args.format == "csv":
        sys.stdout.write(render.render_csv(examples[0][0]))
        return 0
    md = args.format == "markdown"
    out = []
    if len(examples) > 1:
        out += [("# " if md else "") + "fastcm demo: two real examples, reported as `fastcm report` reports a file", ""]
    for k, (summary, _) in enumerate(examples, 1):
        head = f"Example {k} of {len(examples)}: {summary['title']}"
        if md:
            out += [f"# {head}", "", render.render_markdown(summary).rstrip("\n"), ""]
        else:
            out += ["=" * min(len(head), 100), head, "=" * min(len(head), 100), "", render.render_text(summary).rstrip("\n"), ""]
        if summary.get("restored"):
            out += [("**What to do about it:** " if md else "What to do about it: ") + " ".join(_restored_lines(summary["restored"])), ""]
        out += [("- " if md else "  ") + line for line in summary["requirements"]["explained"]] + [""]
    if bench:
        out += ["```"] + render.synthetic_lines(bench) + ["```", ""] if md else render.synthetic_lines(bench) + [""]
    if plots:
        out += [f"Plot written to {p}" for p in plots]
    else:
        out.append("Pictures of each example (matrix, per-class bars, curves): fastcm demo --plot demo.png "
                   "(needs matplotlib: pip install 'fastcm[plot]')")
    sys.stdout.write("\n".join(out) + "\n")
    return 0
