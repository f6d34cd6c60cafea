"""``fastcm``'s arguments: the parser, and the checks that make a bad option exit 2 before
any file is read.

Examples
--------
>>> parse_labels(["1,2", "3"]).tolist(), parse_labels(["cat,dog"]).tolist()
([1, 2, 3], ['cat', 'dog'])
>>> parse_operating_point("recall=0.95")
('recall', 0.95)
>>> build_parser().parse_args(["report", "--true", "t.npy", "--pred", "p.npy"]).command
'report'
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from .io import DEFAULT_CHUNK_SIZE, InputError

__all__ = [
    "PROG", "EXIT_REQUIREMENT_FAILED", "build_parser", "parse_labels", "parse_operating_point", "parse_requirements",
    "check_plot_possible",
]

PROG = "fastcm"
#: exit code of ``fastcm report --require ...`` when a requirement is not met (0 ok, 1 internal
#: error, 2 bad arguments or input)
EXIT_REQUIREMENT_FAILED = 3


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(demo_examples=()) -> argparse.ArgumentParser:
    """The parser of ``fastcm``; ``demo_examples``: the names ``demo --example`` accepts."""
    parser = _Parser(prog=PROG, description="Confusion matrices and classification reports over large prediction files.")
    from .. import __version__

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

    demo = sub.add_parser("demo", help="report on the bundled real examples", description=(
        "Run the report on two bundled real examples (true labels, predictions, probabilities): a logistic "
        "regression on scikit-learn's handwritten digits, and one on its breast cancer data with malignant "
        "tumours made rare, where 96%% accuracy hides a missed rare class (the accuracy paradox) and a lower "
        "threshold restores it; then measure throughput on a synthetic stream. The release gate is shown, "
        "not enforced: the demo exits 0 and says what fastcm report would do."))
    demo.add_argument("--example", choices=("all", *demo_examples), default="all",
                      help="which example: digits, rare (the accuracy paradox) or all (default)")
    _output_options(demo)
    demo.add_argument("--stream-size", type=int, default=10_000_000, metavar="N",
                      help="synthetic predictions for the throughput measurement (default 10,000,000; 0 skips it)")

    sub.add_parser("bench", help="run the benchmark suite (from a source checkout); options as python -m benchmarks",
                   add_help=False)

    sub.add_parser("warm-up", help="compile the CPU kernels ahead of first use (images, CI, workers)", description=(
        "Compile (or load from numba's disk cache) every CPU kernel of fastcm, tuned strategies included, so that "
        "later processes on this machine start counting at once."))
    return parser


def _output_options(p):
    p.add_argument("--format", choices=("text", "json", "markdown", "csv"), default="text", help="output format (default text)")
    p.add_argument("--plot", metavar="OUT.png", help="also draw the confusion matrix, per-class bars and curves (needs matplotlib)")
    p.add_argument("--normalize", choices=("true", "pred", "all"), help="normalize the shown matrix over true rows, predicted columns or all")
    p.add_argument("--quiet", action="store_true", help="no progress bar or notes on stderr")


def parse_labels(values):
    """``--labels`` (space or comma separated) as integers, or as text when any is not one."""
    if not values:
        return None
    items = [v for chunk in values for v in chunk.split(",") if v != ""]
    try:
        return np.array([int(v) for v in items], dtype=np.int64)
    except ValueError:
        return np.array(items, dtype=str)


def parse_operating_point(spec):
    """``--operating-point METRIC=VALUE`` as ``(metric, value)``; a bad one is exit 2."""
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


def parse_requirements(texts):
    """``--require`` texts, each checked (metric, >= or >, a threshold in [0, 1]); a bad one is
    exit 2 before counting."""
    from ..answers.gates import read_requirement

    for text in texts:
        try:
            read_requirement(text)
        except ValueError as exc:
            raise InputError(f"--require: {exc}") from None
    return list(texts)


def check_plot_possible(path):
    """Fail before any work when --plot cannot be honoured."""
    if not path:
        return
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise InputError("--plot needs matplotlib, which is not installed: pip install 'fastcm[plot]'")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"Cannot write the plot to {path!r}: no folder {folder!r}")
