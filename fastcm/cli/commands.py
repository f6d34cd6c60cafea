"""``fastcm report`` and ``fastcm warm-up``: files opened (:mod:`~fastcm.cli.io`), counted
(:mod:`~fastcm.cli.counting`) and shown (:mod:`~fastcm.cli.render`)."""

from __future__ import annotations

import sys

from . import counting
from . import render
from .io import InputError, aligned_chunks, open_columns, read_names
from .parse import EXIT_REQUIREMENT_FAILED, PROG, check_plot_possible, parse_labels, parse_operating_point, parse_requirements

__all__ = ["report_command", "warm_up_command"]


def report_command(args) -> int:
    """``fastcm report``: every option checked, then the files streamed, counted and shown;
    the exit code (3: a ``--require`` not met)."""
    if args.pred is None and args.scores is None:
        raise InputError("report needs --pred or --scores (or both)")
    check_plot_possible(args.plot)
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
    labels = parse_labels(args.labels)
    total = next((c.length for c in cols if c.length is not None), None)
    num_classes = args.num_classes
    if num_classes is not None and num_classes < 1:
        raise InputError(f"--num-classes must be a positive int, but got {num_classes}")
    # option errors are exit 2 before any file is read
    if args.ci is not None and not 0 < args.ci < 1:
        raise InputError(f"--ci must be a confidence level strictly between 0 and 1, e.g. 0.95, but got {args.ci}")
    requirements = parse_requirements(args.require)
    if args.require_lower_bound and not requirements:
        print(f"{PROG} report: note: --require-lower-bound does nothing without --require (no --require given)",
              file=sys.stderr)
    for spec in args.operating_point:
        parse_operating_point(spec)
    if args.operating_point and args.scores is None:
        raise InputError("--operating-point needs --scores")
    calibration = None
    if args.calibration is not None:
        if args.scores is None:
            raise InputError("--calibration needs --scores (probabilities, one column per class)")
        if args.calibration < 1:
            raise InputError(f"--calibration needs a positive number of bins, but got {args.calibration}")
        from ..accumulate.calibration import CalibrationError

        calibration = CalibrationError(args.calibration, scores=args.scores_are)
    reading = counting.ScoreReading(args.scores_are)

    thresholded = []  # set when one score column gives the predictions (score >= 0.5)

    def chunks():
        for parts in aligned_chunks(cols, args.chunk_size):
            got = dict(zip(requests, parts))
            s = got.get("scores")
            if not thresholded and args.pred is None and (s.ndim == 1 or s.shape[1] == 1):
                thresholded.append(True)
            yield got["y_true"], got.get("y_pred"), s

    # every class is counted, --labels picked afterwards: see counting.Evaluation.counts
    cm, curves, n, timing = counting.count_chunks(
        chunks(), total=total, num_classes=num_classes, ignore_index=args.ignore_index,
        quiet=args.quiet, with_curves=args.scores is not None, calibration=calibration, scores=reading,
    )
    if n == 0:
        raise InputError("the inputs hold no rows")
    if thresholded:
        counting.check_binary_truth(cm, args.scores)
    shown = cm.labels if labels is None else labels
    ev = counting.Evaluation(cm, render.names_for(shown, names), n, timing, curves, {k: described[k] for k in requests}, labels)
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
        ev.operating_points = counting.operating_point_rows(ev.curves, ev.names, args.operating_point)
    if calibration is not None and calibration.n_samples:
        ev.calibration = calibration.compute()
    summary = render.summary(ev, args.normalize)
    failures, checked = counting.judge(cm, requirements, labels, args.require_lower_bound) if requirements else ([], 0)
    summary["requirements"] = None if not requirements else {
        "required": list(requirements), "checked": checked, "passed": not failures,
        "failures": [line.strip() for line in failures],
    }
    if args.plot:
        render.write_plot(args.plot, ev, args.normalize)
    sys.stdout.write(render.render(summary, args.format))
    sys.stdout.flush()
    if args.plot and not args.quiet:
        print(f"plot written to {args.plot}", file=sys.stderr)
    if failures:  # a release gate: exit 3, the failures on stderr
        print(f"{PROG} report: requirements not met ({len(failures)} of {checked}):", file=sys.stderr)
        for line in failures:
            print(render.printable(line), file=sys.stderr)
        return EXIT_REQUIREMENT_FAILED
    return 0


def warm_up_command(args) -> int:
    """``fastcm warm-up``: compile (or load) every CPU kernel now."""
    from ..warmup import warm_up

    stats = warm_up()
    print(f"{PROG} warm-up: kernels ready in {stats['seconds']:.1f} s ({stats['cpu_seconds']:.1f} s CPU)")
    return 0
