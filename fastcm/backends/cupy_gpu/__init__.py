"""The CuPy GPU backend: every kernel as CUDA source (``*.cu``) compiled by CuPy's NVRTC.

Entry points have the signatures of ``numpy_ref``; counts and ``invalid`` stay on the
device and no entry point synchronises with the host except ``value_range`` and
``score_groups`` (data-dependent sizes; marked ``# synchronize!``). CuPy is imported when
this module is, which only happens for CUDA arrays or ``backend="cupy"``.
"""

import cupy as xp

from .counting import class_counts, count_pairs, count_scores, label_presence, value_range
from .multilabel import multilabel_counts, top_k_hits
from .thresholds import score_groups, threshold_counts
from .comparing import compare_counts

NAME = "cupy"
ON_DEVICE = True


def device_count() -> int:
    """Number of CUDA devices CuPy sees; 0 when there is no usable driver or device."""
    try:
        return int(xp.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


__all__ = [
    "NAME", "ON_DEVICE", "xp", "count_pairs", "count_scores", "label_presence", "value_range", "multilabel_counts",
    "top_k_hits", "threshold_counts", "score_groups", "device_count",
]
__all__ += ["compare_counts", "class_counts"]

from .calibrating import calibration_counts  # noqa: E402

__all__ += ["calibration_counts"]
