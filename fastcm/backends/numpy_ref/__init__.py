"""The numpy reference backend: plain ``np.bincount`` and friends, kept for checking.

It is also the fallback when numba is not installed. Its functions define the entry-point
signatures every backend implements; temporaries of size N are fine here, nowhere else.
"""

import numpy as xp

from .counting import class_counts, count_pairs, count_scores, label_presence, pair_codes, value_range
from .multilabel import multilabel_counts, top_k_hits
from .thresholds import score_groups, threshold_counts
from .comparing import compare_counts

NAME = "numpy"

__all__ = ["NAME", "xp", "count_pairs", "count_scores", "label_presence", "value_range", "multilabel_counts", "top_k_hits", "threshold_counts", "score_groups"]
__all__ += ["compare_counts", "class_counts"]  # pair_codes: host backends only (streaming cells)

from .calibrating import calibration_counts  # noqa: E402

__all__ += ["calibration_counts"]
