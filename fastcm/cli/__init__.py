"""The ``fastcm`` command line: ``report`` on prediction files, ``demo``, ``bench``, ``warm-up``.

The package reads in the order of the data: :mod:`~fastcm.cli.parse` (arguments and their
checks), :mod:`~fastcm.cli.io` (files as chunks of columns), :mod:`~fastcm.cli.counting`
(chunks into a confusion matrix and threshold matrices), :mod:`~fastcm.cli.render` (text,
markdown, JSON, CSV, the plot); :mod:`~fastcm.cli.commands` and :mod:`~fastcm.cli.demo` run
them for each subcommand, :mod:`~fastcm.cli.bench` runs a checkout's benchmark suite.

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

import os
import sys

from . import bench
from . import commands
from . import demo
from .demo import DEMO_EXAMPLES, DEMO_FILE
from .io import InputError
from .parse import EXIT_REQUIREMENT_FAILED, PROG, build_parser
from .render import printable

__all__ = ["main"]

#: subcommand -> the function running it (``bench`` passes its arguments on untouched)
_COMMANDS = {"report": commands.report_command, "demo": demo.demo_command, "warm-up": commands.warm_up_command}


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 1 internal error, 3 a
    ``--require`` not met)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        return bench.bench_command(argv[1:])
    parser = build_parser(DEMO_EXAMPLES)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) or a usage error (2)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return _COMMANDS[args.command](args)
    # messages quote labels, column names and file names from the inputs: escaped, they
    # cannot drive the terminal, and a newline in one cannot make the message two lines
    except InputError as exc:
        print(f"{PROG} {args.command}: error: {printable(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # unreadable file, permission, disk full
        name = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"{PROG} {args.command}: error:{name} {printable(exc.strerror or exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in fastcm: say so, keep the traceback for a report
        if os.environ.get("FASTCM_DEBUG"):
            import traceback

            traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"{PROG} {args.command}: internal error: {type(exc).__name__}: {printable(first)} "
              "(set FASTCM_DEBUG=1 for the traceback; please report it)", file=sys.stderr)
        return 1
