"""Run the benchmark suite: ``python -m benchmarks [--quick | --full]`` (or ``fastcm bench``).

Each case times fastcm and every installed anchor on the same arrays (warm-up first, then
repeats in interleaved rounds: median and min-max), and the cold start is measured in
fresh processes. Results go to ``benchmarks/results/<name>/``: ``results.md`` (the table),
``results.json`` (every raw timing and the machine) and PNG plots.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import time
from pathlib import Path

from . import cases as cases_mod
from .coldstart import cold_start
from .report import markdown, plots
from .timing import machine, time_methods

RESULTS = Path(__file__).resolve().parent / "results"


def run_case(case, repeat: int, log=print, min_time: float = 0.0) -> dict:
    methods = case.setup()
    rows = {}
    for name, timing in time_methods(methods, repeat=repeat, min_time=min_time).items():
        if isinstance(timing, Exception):
            rows[name] = {"error": f"{type(timing).__name__}: {timing}"}
            log(f"    {name:<48} skipped: {rows[name]['error'][:80]}")
            continue
        n = getattr(methods[name], "n", case.n)  # a method timed on a prefix declares its own count
        rows[name] = {
            "seconds": timing.seconds,
            "median_s": timing.median,
            "min_s": timing.best,
            "max_s": timing.worst,
            "n": n,
            "per_second": n / timing.median,
            "peak_extra_bytes": timing.peak_bytes,
        }
        log(f"    {name:<48} {n / timing.median / 1e6:12.1f} M/s  (median {timing.median * 1e3:.2f} ms)")
    del methods
    gc.collect()
    return {"group": case.group, "name": case.name, "n": case.n, "params": case.params, "methods": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick", help="under a minute (default)")
    mode.add_argument("--full", action="store_const", dest="mode", const="full", help="every case and size")
    mode.add_argument("--readme", action="store_const", dest="mode", const="readme", help="the README's headline table (N = 10**8)")
    mode.add_argument("--tiny", action="store_const", dest="mode", const="tiny", help="every case once, tiny sizes (tests)")
    parser.add_argument("--select", default=None, help="regular expression on case names")
    parser.add_argument("--repeat", type=int, default=None, help="timed repeats per method")
    parser.add_argument("--name", default=None, help="results folder name (default: the mode)")
    parser.add_argument("--out", default=str(RESULTS), help="where result folders go")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the fresh-process measurements")
    parser.add_argument("--cold", action="store_true", help="only the cold start: every first call with an empty numba cache")
    args = parser.parse_args(argv)
    mode_name = args.mode or "quick"
    repeat = args.repeat or {"tiny": 1, "readme": 3, "quick": 3}.get(mode_name, 5)
    min_time = {"tiny": 0.0, "quick": 0.3}.get(mode_name, 0.5)  # seconds of calls per method

    selected = [c for c in cases_mod.suite(mode_name) if args.select is None or re.search(args.select, c.name)]
    if args.cold:
        mode_name, selected = "cold", []
    info = machine()
    print(f"fastcm benchmarks ({mode_name}) on {info['cpu']}, {info['cores']} cores, numba threads {info['numba_threads']}")
    started = time.perf_counter()
    results = []
    for case in selected:
        print(f"  {case.name}")
        results.append(run_case(case, repeat, min_time=min_time))
    if args.no_cold_start or mode_name == "tiny":
        cold = None
    elif mode_name == "quick":  # one case and the demo, under a minute
        cold = cold_start(best_of=1, select=lambda name: name.startswith("confusion_matrix int32"))
    else:
        cold = cold_start(best_of=3)
    doc = {
        "mode": mode_name,
        "machine": info,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": time.perf_counter() - started,
        "cases": results,
        "cold_start": cold,
    }
    out = Path(args.out) / (args.name or mode_name)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(doc)
    (out / "results.json").write_text(json.dumps(doc, indent=1))
    (out / "results.md").write_text(table)
    written = plots(doc, out)
    print()
    print(table)
    print(f"wrote {out / 'results.md'}, {out / 'results.json'}" + "".join(f", {p}" for p in written))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
