"""The contract every counting engine (backend) keeps, and the one lookup of its entries.

A backend is a module (``numpy_ref``, ``numba_cpu``, ``cupy_gpu``) holding

* the attributes in :data:`ATTRIBUTES`: ``NAME`` (its name in the registry), ``xp`` (its
  array module) and ``ON_DEVICE`` (True when its arrays live on an accelerator: results
  stay there until read back, and invalid values are checked once, when they are);
* every entry point in :data:`REQUIRED`, with the signature of ``numpy_ref``'s, the
  reference (the functions' docstrings there say what each returns);
* any of the entry points in :data:`OPTIONAL`: :func:`entry` hands out ``numpy_ref``'s for
  one a backend lacks, so callers never ask which backend they hold;
* the entries in :data:`HOST_ONLY` where it counts on the host: a caller asks
  :func:`provides` first and takes another path without one.

Callers look every optional entry up here instead of with ``getattr`` of their own.

Examples
--------
>>> from fastcm.backends import contract, numpy_ref
>>> contract.entry(numpy_ref, "score_groups") is numpy_ref.score_groups
True
>>> contract.provides(numpy_ref, "pair_codes"), contract.missing(numpy_ref)
(True, [])
"""

from __future__ import annotations

import importlib

__all__ = ["ATTRIBUTES", "REQUIRED", "OPTIONAL", "HOST_ONLY", "entry", "provides", "missing"]

#: attribute -> what it is
ATTRIBUTES = {
    "NAME": "the backend's name in the registry (fastcm.backends.NAMES)",
    "xp": "its array module (numpy or cupy): arrays are moved there before an entry is called",
    "ON_DEVICE": "True when its arrays live on an accelerator (counts stay there until read back)",
}

#: entry point -> what it computes (the signatures are numpy_ref's)
REQUIRED = {
    "count_pairs": "(C, C) counts of label pairs, and the invalid record",
    "class_counts": "(3, C) per-class counts (true, predicted, correct) without the (C, C) matrix",
    "count_scores": "(C, C) counts of labels against the argmax of (N, C) scores",
    "value_range": "the smallest and largest label of two integer arrays",
    "label_presence": "which labels of a range occur in the kept pairs",
    "multilabel_counts": "(L, 2, 2) or per-sample counts of 0/1 indicator arrays",
    "top_k_hits": "per-class hits of the true class among the k highest scores",
    "threshold_counts": "the (K, T + 1, 2) histogram of scores between sorted thresholds",
    "score_groups": "tie-grouped cumulative counts, scores descending (scikit-learn's curve core)",
    "compare_counts": "the paired (C, 2, 2) agreement counts of two classifiers",
    "calibration_counts": "per-bin counts and confidence sums of probabilities",
}

#: entry point -> what it does; numpy_ref's stands in (numpy_ref/runtime.py, thresholds.py)
OPTIONAL = {
    "warm_up": "load or compile the kernels for these dtypes ahead of the first call",
    "threads": "a context manager: at most n kernel threads on this thread for the block",
    "compile_synchronously": "a context manager: kernels compile in the call, not in the background",
    "wait_for_compiles": "block until background compiles have finished",
    "binary_auc": "exact 2U (ties half) and the class sizes of host arrays, without a curve",
    "drop_intermediate": "scikit-learn's drop_intermediate on a curve's host arrays",
    "multinomial_sums": "per-resample sums of multinomial draws of count groups (the bootstrap of intervals)",
}

#: entry point -> what it does; absent on device backends, and no stand-in: see provides()
HOST_ONLY = {
    "pair_codes": "the sorted cell codes of the kept pairs (the sparse counts of a stream at many classes)",
}


def _reference():
    # imported on first use: the registry imports this module before any backend
    return importlib.import_module("fastcm.backends.numpy_ref")


def entry(backend, name: str):
    """The entry point ``name`` of ``backend``, or numpy_ref's for a missing optional one.

    Parameters
    ----------
    backend : module
        A backend module, as :func:`fastcm.backends.get` returns.
    name : str
        An entry point of :data:`REQUIRED`, :data:`OPTIONAL` or :data:`HOST_ONLY`.

    Examples
    --------
    >>> from fastcm.backends import numpy_ref
    >>> with entry(numpy_ref, "threads")(2):  # numpy counts on one thread: nothing to limit
    ...     pass
    """
    fn = getattr(backend, name, None)
    if fn is not None:
        return fn
    if name in OPTIONAL:
        return getattr(_reference(), name)
    if name in REQUIRED:
        raise TypeError(f"Backend {getattr(backend, 'NAME', backend)!r} lacks the required entry point {name!r}")
    if name in HOST_ONLY:
        raise TypeError(f"Backend {getattr(backend, 'NAME', backend)!r} has no {name!r} (host backends only): "
                        "ask contract.provides() first")
    raise ValueError(f"Unknown backend entry point {name!r}; expected one of {[*REQUIRED, *OPTIONAL, *HOST_ONLY]}")


def provides(backend, name: str) -> bool:
    """Whether ``backend`` implements ``name`` itself (no stand-in).

    For a choice that pays off only with the backend's own entry, e.g. counting a stream's
    cells with ``pair_codes`` on a host backend.

    Examples
    --------
    >>> from fastcm.backends import numpy_ref
    >>> provides(numpy_ref, "pair_codes")
    True
    """
    if callable(getattr(backend, name, None)):
        return True
    if name not in REQUIRED and name not in OPTIONAL and name not in HOST_ONLY:
        raise ValueError(f"Unknown backend entry point {name!r}; expected one of {[*REQUIRED, *OPTIONAL, *HOST_ONLY]}")
    return False


def missing(backend) -> list:
    """The attributes and required entry points ``backend`` lacks (empty when it keeps the
    contract); signatures are compared by tests/test_backends_contract.py.

    Examples
    --------
    >>> import types
    >>> missing(types.SimpleNamespace(NAME="half", xp=None, ON_DEVICE=False, count_pairs=len))[:2]
    ['class_counts', 'count_scores']
    """
    return [name for name in [*ATTRIBUTES, *REQUIRED] if not hasattr(backend, name)]
