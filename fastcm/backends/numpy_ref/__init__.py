"""The numpy reference backend: plain ``np.bincount`` and friends, kept for checking.

It is also the fallback when numba is not installed. Its functions define the entry-point
signatures every backend implements (see :mod:`fastcm.backends.contract`), and its optional
entries stand in for a backend without its own; temporaries of size N are fine here,
nowhere else.
"""

import numpy as xp

from .counting import class_counts, count_pairs, count_scores, label_presence, pair_codes, value_range
from .multilabel import multilabel_counts, top_k_hits
from .thresholds import binary_auc, drop_intermediate, score_groups, threshold_counts
from .comparing import compare_counts
from .runtime import compile_synchronously, threads, wait_for_compiles, warm_up

NAME = "numpy"
ON_DEVICE = False

__all__ = ["NAME", "ON_DEVICE", "xp", "count_pairs", "count_scores", "label_presence", "value_range", "multilabel_counts", "top_k_hits", "threshold_counts", "score_groups"]
__all__ += ["compare_counts", "class_counts"]  # pair_codes: host backends only (streaming cells)
#: the optional entries of the contract, handed to a backend that lacks its own
__all__ += ["binary_auc", "drop_intermediate", "warm_up", "threads", "compile_synchronously", "wait_for_compiles"]

from .calibrating import calibration_counts  # noqa: E402

__all__ += ["calibration_counts"]

from .resampling import multinomial_sums  # noqa: E402

__all__ += ["multinomial_sums"]
