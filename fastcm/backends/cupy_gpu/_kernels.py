"""CUDA sources of the CuPy backend: assembly, template names per dtype, lazy compilation.

Each ``*.cu`` file is prepended with ``common.cu`` (no ``#include``: the same text compiles
under NVRTC and nvcc). A kernel is compiled on first use for the template arguments it is
called with, one ``cupy.RawModule`` per name expression, cached in memory (and on disk by
CuPy).
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import numpy as np

_DIR = Path(__file__).parent
FILES = ("counting.cu", "thresholds.cu", "multilabel.cu")
OPTIONS = ("-std=c++17",)

#: numpy dtype -> the C type a kernel template is instantiated with (bool reads as bytes)
CTYPES = {
    np.dtype(np.bool_): "unsigned char",
    np.dtype(np.int8): "signed char",
    np.dtype(np.uint8): "unsigned char",
    np.dtype(np.int16): "short",
    np.dtype(np.uint16): "unsigned short",
    np.dtype(np.int32): "int",
    np.dtype(np.uint32): "unsigned int",
    np.dtype(np.int64): "long long",
    np.dtype(np.uint64): "unsigned long long",
    np.dtype(np.float16): "half_bits",
    np.dtype(np.float32): "float",
    np.dtype(np.float64): "double",
}
LABEL_CTYPES = sorted({CTYPES[np.dtype(d)] for d in "?bBhHiIqQ"})
SCORE_CTYPES = LABEL_CTYPES + ["half_bits", "float", "double"]
ACCS = ("unsigned int", "long long", "double")

#: kernel -> (file, template parameter domains); the CI test compiles these
TEMPLATES = {
    "count_pairs": ("counting.cu", (LABEL_CTYPES, LABEL_CTYPES, ACCS, ("false", "true"), ("false", "true"))),
    "label_presence": ("counting.cu", (LABEL_CTYPES, LABEL_CTYPES)),
    "class_counts": ("counting.cu", (LABEL_CTYPES, LABEL_CTYPES, ACCS, ("false", "true"))),
    "count_score_rows": ("counting.cu", (LABEL_CTYPES, SCORE_CTYPES, ACCS)),
    "count_score_pixels": ("counting.cu", (LABEL_CTYPES, SCORE_CTYPES, ACCS)),
    "threshold_counts": ("thresholds.cu", (SCORE_CTYPES[:-3] + ["float", "double"], SCORE_CTYPES, ACCS)),
    "multilabel_labelwise": ("multilabel.cu", (LABEL_CTYPES, SCORE_CTYPES, ACCS)),
    "multilabel_samplewise": ("multilabel.cu", (LABEL_CTYPES, SCORE_CTYPES, ACCS)),
    "top_k_hits": ("multilabel.cu", (LABEL_CTYPES, SCORE_CTYPES, ("unsigned int", "double"))),
}


def ctype(dtype) -> str:
    return CTYPES[np.dtype(dtype)]


@functools.cache
def source(file: str) -> str:
    """The full text compiled for ``file``: common.cu, then the file."""
    return (_DIR / "common.cu").read_text() + "\n" + (_DIR / file).read_text()


def expression(kernel: str, *targs: str) -> str:
    return f"{kernel}<{', '.join(targs)}>"


def covering_expressions(kernel: str) -> list[str]:
    """Instantiations in which every value of every template parameter appears at least once."""
    _, domains = TEMPLATES[kernel]
    width = max(len(d) for d in domains)
    return sorted({expression(kernel, *(d[i % len(d)] for d in domains)) for i in range(width)})


def all_expressions(kernel: str) -> list[str]:
    _, domains = TEMPLATES[kernel]
    return [expression(kernel, *combo) for combo in itertools.product(*domains)]


@functools.cache
def _module(file: str, expr: str):
    import cupy

    return cupy.RawModule(code=source(file), options=OPTIONS, name_expressions=(expr,))


def get(kernel: str, *targs: str):
    """The compiled ``kernel<targs...>`` as a ``cupy.RawKernel`` (compiles on first use)."""
    file, _ = TEMPLATES[kernel]
    expr = expression(kernel, *targs)
    return _module(file, expr).get_function(expr)


@functools.cache
def _plain(name: str):
    import cupy

    return cupy.RawModule(code=source("counting.cu"), options=OPTIONS).get_function(name)


def init_invalid():
    """A device ``[0, INT64_MAX]`` filled by a kernel (no host-to-device copy)."""
    import cupy

    inv = cupy.empty(2, dtype=np.int64)
    _plain("init_invalid")((1,), (1,), (inv,))
    return inv


def finish_invalid(inv):
    _plain("finish_invalid")((1,), (1,), (inv,))
    return inv
