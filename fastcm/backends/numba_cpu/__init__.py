"""The numba CPU backend: one-pass, multi-threaded, GIL-free counting kernels.

Kernel loops live in ``*kernels.py`` files; ``_jit.py`` compiles them and runs them over
threads; the other modules are the entry points, with the signatures of ``numpy_ref``.
"""

import numpy as xp

from ._jit import compile_synchronously, num_threads, run_parallel, split, threads, wait_for_compiles
from .counting import class_counts, count_pairs, count_scores, label_presence, pair_codes, value_range, warm_up
from .multilabel import multilabel_counts, top_k_hits
from .thresholds import binary_auc, drop_intermediate, score_groups, threshold_counts
from .comparing import compare_counts

NAME = "numba"
ON_DEVICE = False

__all__ = ["NAME", "ON_DEVICE", "xp", "count_pairs", "count_scores", "label_presence", "value_range", "multilabel_counts", "top_k_hits", "threshold_counts", "score_groups", "warm_up"]
__all__ += ["pair_codes", "class_counts"]
__all__ += ["compare_counts", "compile_synchronously", "wait_for_compiles"]
#: optional entry points (a backend without them gets numpy_ref's, see ..contract): exact AUC by ranks and
#: scikit-learn's ``drop_intermediate`` in one pass
__all__ += ["binary_auc", "drop_intermediate"]
#: optional: a limit on kernel threads for a block (``fastcm.dask`` runs one task a thread)
__all__ += ["threads"]
#: the pool the kernels run on, for code beside them (the benchmarks' memory floor)
__all__ += ["num_threads", "split", "run_parallel"]

from .calibrating import calibration_counts  # noqa: E402

__all__ += ["calibration_counts"]

from .resampling import multinomial_sums  # noqa: E402

__all__ += ["multinomial_sums"]
