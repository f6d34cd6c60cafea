"""Peak resident memory and time of one drop-in call in a fresh process (issue 35: 10^6
classes, 10^7 pairs, < 1 GB extra).

``python -m benchmarks.peak_rss fastcm-f1 1e7 1e6`` (``fastcm-report``, ``sklearn-f1``,
``sklearn-report``). The labels are built first; the figure is the growth of the process's
peak RSS (``resource.getrusage``) over the call, beyond the peak the inputs and their
generation reached. fastcm is warmed up (kernels loaded or compiled) on 2000 pairs of the
same class count first.
"""

from __future__ import annotations

import resource
import sys
import time
import warnings

import numpy as np


def main(argv=None) -> None:
    which, n, c = (argv or sys.argv[1:])[:3]
    n, c = int(float(n)), int(float(c))
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(8)
    t = rng.integers(0, c, n)
    p = np.where(rng.random(n) < 0.8, t, rng.integers(0, c, n))
    if which.startswith("fastcm"):
        import fastcm as lib

        lib.f1_score(np.arange(2000) % c, np.arange(2000)[::-1] % c, average="macro", labels=None)
        lib.f1_score(t[:20000], p[:20000], average="macro")
    else:
        from sklearn import metrics as lib
    call = {"f1": lambda: lib.f1_score(t, p, average="macro"), "report": lambda: lib.classification_report(t, p)}
    fn = call[which.split("-")[1]]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{which} N={n:.0e} C={c:.0e}: {elapsed:.2f} s, peak RSS +{(peak - base) / 1024:.0f} MiB "
          f"(inputs {(t.nbytes + p.nbytes) / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
