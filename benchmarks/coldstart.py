"""Cold start: import time and first-call time in fresh processes, with and without the disk cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_PROBE = r"""
import json, time
t0 = time.perf_counter()
import fastcm
t1 = time.perf_counter()
import numpy as np
import numba
t2 = time.perf_counter()
from numba.core.registry import cpu_target
cpu_target.target_context.refresh()  # numba's own start-up, paid once by any jitted code
t3 = time.perf_counter()
y = np.arange(1000) % 10
fastcm.confusion_matrix(y, y, num_classes=10)
t4 = time.perf_counter()
fastcm.confusion_matrix(y, y, num_classes=10)
t5 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "numba_import": t2 - t1, "numba_init": t3 - t2, "first": t4 - t3, "second": t5 - t4}))
"""


def _probe(**env) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env={**os.environ, **env}, check=True, timeout=600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_start() -> dict:
    """Seconds for ``import fastcm`` and the first call (numba import + compile or cache load)."""
    _probe()  # fills the disk cache
    warm = min((_probe() for _ in range(3)), key=lambda d: d["first"])
    nocache = _probe(FASTCM_DISABLE_CACHE="1")
    return {
        "import fastcm": warm["import"],
        "import numba (on first use)": warm["numba_import"],
        "numba's start-up (type registries; scipy's BLAS when scipy is installed)": warm["numba_init"],
        "first call, disk cache warm (loads the kernels)": warm["first"],
        "first call, FASTCM_DISABLE_CACHE=1 (compiles)": nocache["first"],
        "second call (1000 pairs)": warm["second"],
    }
