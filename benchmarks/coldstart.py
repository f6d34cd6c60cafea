"""Cold start: import time and first-call time in fresh processes, with and without the disk cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# The first call as a user meets it, counted from ``import fastcm``: a small one (1000 pairs,
# counted by the numpy reference while numba loads in the background) and a large one (10^6
# pairs, which waits for numba's import and start-up). Then the steps of loading numba taken
# apart in that order: fastcm importing numba, numba's start-up, the kernels.
_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import fastcm
t1 = time.perf_counter()
import numpy as np
y = np.arange(10**6 if sys.argv[1] == "large" else 1000) % 10
if sys.argv[1] == "parts":
    fastcm.backends.get("numba")  # imports numba (and fastcm's kernels, not yet loaded)
    t2 = time.perf_counter()
    from numba.core.registry import cpu_target
    cpu_target.target_context.refresh()  # numba's own start-up, paid once by any jitted code
    t3 = time.perf_counter()
else:
    t2 = t3 = t1
fastcm.confusion_matrix(y, y, num_classes=10)
t4 = time.perf_counter()
fastcm.confusion_matrix(y, y, num_classes=10)
t5 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "numba_import": t2 - t1, "numba_init": t3 - t2, "first": t4 - t3,
                  "second": t5 - t4, "scipy_linalg": "scipy.linalg" in sys.modules}))
"""


def _probe(mode="whole", **env) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, env={**os.environ, **env}, check=True, timeout=600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_start(best_of: int = 3, compile: bool = True) -> dict:
    """Seconds for ``import fastcm`` and the first call in fresh processes (the best of
    ``best_of``); ``compile``: also a first call compiling every kernel (several seconds)."""
    _probe()  # fills the disk cache
    whole = min((_probe() for _ in range(best_of)), key=lambda d: d["first"])
    large = min((_probe("large") for _ in range(best_of)), key=lambda d: d["first"])
    parts = min((_probe("parts") for _ in range(best_of)), key=lambda d: d["first"])
    out = {
        "import fastcm": whole["import"],
        "first call of 1000 pairs, disk cache warm (numba loads in the background)": whole["first"],
        "first call of 10^6 pairs, disk cache warm (numba's import and start-up included)": large["first"],
        "- of which importing numba": parts["numba_import"],
        "- of which numba's start-up (type registries)": parts["numba_init"],
        "- of which loading fastcm's kernels from the disk cache": parts["first"],
    }
    if compile:
        out["first call of 10^6 pairs, FASTCM_DISABLE_CACHE=1 (compiles)"] = _probe("large", FASTCM_DISABLE_CACHE="1")["first"]
    out["second call (1000 pairs)"] = whole["second"]
    return out
