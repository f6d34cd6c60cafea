"""Multilabel counts and top-k hits on the device (see ``numpy_ref/multilabel.py``). No host sync."""

from __future__ import annotations

import numpy as np

from . import _kernels as K
from .counting import _acc, _cp, _grid, _group, _launch, _layout, _weights


def _strides2(a):
    return [np.int64(x // a.itemsize) for x in a.strides]


def multilabel_counts(t, p, thresholds, *, weights=None, samplewise=False):
    """(L, 4) or (N, 4) float64 [tn, fp, fn, tp] and device ``invalid``."""
    cp = _cp()
    t, p = cp.asarray(t), cp.asarray(p)
    thr = cp.asarray(thresholds, dtype=np.float64)
    N, L = int(t.shape[0]), int(t.shape[1])
    acc, out_dtype = _acc(weights)
    w, wcode, sw = _weights(weights, t)
    pview = p.view(np.uint16) if p.dtype == np.float16 else p
    out = cp.zeros((N if samplewise else L) * 4, dtype=out_dtype)
    invalid = K.init_invalid()
    if N * L:
        head = (t, *_strides2(t), pview, *_strides2(p), np.int64(N), np.int64(L), thr, w, np.int32(wcode), np.int64(sw))
        if samplewise:
            kern = K.get("multilabel_samplewise", K.ctype(t.dtype), K.ctype(p.dtype), acc)
            _launch(kern, _grid(N, 0), 0, head + (out, invalid))
        else:
            reps, smem = _layout(L * 4, acc)
            kern = K.get("multilabel_labelwise", K.ctype(t.dtype), K.ctype(p.dtype), acc)
            _launch(kern, _grid(N * L, smem), smem, head + (np.int32(reps), out, invalid))
    K.finish_invalid(invalid)
    return out.astype(np.float64).reshape(-1, 4), invalid


def top_k_hits(t, s, k, *, weights=None):
    """Weighted top-k hits as a 0-d device float64 array, and device ``invalid``."""
    cp = _cp()
    t, s = cp.asarray(t), cp.asarray(s)
    n, C = int(s.shape[0]), int(s.shape[1])
    acc = "unsigned int" if weights is None else "double"
    w, wcode, sw = _weights(None if weights is None else cp.asarray(weights, dtype=np.float64), t)
    out = cp.zeros(1, dtype=np.int64 if weights is None else np.float64)
    invalid = K.init_invalid()
    if n:
        G = _group(C)
        sview = s.view(np.uint16) if s.dtype == np.float16 else s
        kern = K.get("top_k_hits", K.ctype(t.dtype), K.ctype(s.dtype), acc)
        _launch(kern, _grid(n * G, 0), 0, (t, np.int64(t.strides[0] // t.itemsize), sview, *_strides2(s), np.int64(n),
                                            np.int64(C), np.int32(G), np.int64(k), w, np.int32(wcode), np.int64(sw),
                                            out, invalid))
    K.finish_invalid(invalid)
    return out.astype(np.float64)[0], invalid
