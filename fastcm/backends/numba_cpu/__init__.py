"""The numba CPU backend: one-pass, multi-threaded, GIL-free counting kernels."""

from .counting import count_pairs, count_scores, label_presence, value_range

NAME = "numba"

import numpy as xp  # noqa: E402  (the array namespace results live in)

__all__ = ["NAME", "xp", "count_pairs", "count_scores", "label_presence", "value_range"]
