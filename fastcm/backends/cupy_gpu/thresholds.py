"""Threshold sweep and exact score groups on the device (see ``numpy_ref/thresholds.py``)."""

from __future__ import annotations

import numpy as np

from . import _kernels as K
from .counting import _acc, _cp, _grid, _launch, _layout, _sm_count, _weights

_THR_SHARED_MAX = 2048


def threshold_counts(t, s, thresholds, *, weights=None):
    """(K, T + 1, 2) histogram and device ``invalid``; no host sync."""
    cp = _cp()
    t, s = cp.asarray(t), cp.asarray(s)
    thr = cp.asarray(thresholds, dtype=np.float64)
    T = int(thr.shape[0])
    N = int(s.shape[0])
    Kc = 1 if s.ndim == 1 else int(s.shape[1])
    acc, out_dtype = _acc(weights)
    w, wcode, sw = _weights(weights, t)
    nbins = Kc * (T + 1) * 2
    out = cp.zeros(nbins, dtype=out_dtype)
    invalid = K.init_invalid()
    if N * Kc:
        ss = [x // s.itemsize for x in s.strides] + [0]
        tt = [x // t.itemsize for x in t.strides] + [0]
        mode = 0 if (s.ndim == 1 or t.ndim == 2) else 1
        thr_shared = T <= _THR_SHARED_MAX
        reps, hist_smem = _layout(nbins, acc)
        _, optin = _sm_count()
        thr_bytes = ((T * 8 + 15) // 16) * 16 if thr_shared else 0
        if thr_bytes + hist_smem > optin:
            reps, hist_smem = 0, 0
        smem = thr_bytes + hist_smem
        tview = t.astype(np.float32) if t.dtype == np.float16 else t  # float16 truth is rare: widen it
        tdt = tview.dtype
        sview = s.view(np.uint16) if s.dtype == np.float16 else s
        kern = K.get("threshold_counts", K.ctype(tdt), K.ctype(s.dtype), acc)
        _launch(kern, _grid(N * Kc, smem), smem, (
            tview, np.int64(tt[0]), np.int64(tt[1] if t.ndim == 2 else 0), sview, np.int64(ss[0]),
            np.int64(ss[1] if s.ndim == 2 else 0), np.int64(N), np.int64(Kc), np.int32(mode),
            np.int32(t.dtype == np.bool_), thr, np.int64(T), np.int32(thr_shared), w, np.int32(wcode), np.int64(sw),
            np.int32(reps), out, invalid,
        ))
    K.finish_invalid(invalid)
    return out.reshape(Kc, T + 1, 2), invalid


def score_groups(t, s, *, weights=None, positive=None):
    """Exact tie-grouped cumulative counts (sort + cumsum on the device).

    The outputs have a data-dependent length, so this synchronises: boolean compaction and
    ``nonzero`` each read a size back (``# synchronize!`` below). Weighted sums come from a
    parallel scan, so their last bits may differ from numpy's sequential ``cumsum``.
    """
    cp = _cp()
    t, s = cp.asarray(t), cp.asarray(s)
    sf = s.astype(np.float64) + 0.0
    bad = ~cp.isfinite(sf)
    if weights is not None:
        w = cp.asarray(weights)
        if w.dtype.kind == "f":
            bad |= ~cp.isfinite(w)
    if positive is None:
        bad |= ~((t == 0) | (t == 1))
        pos = t == 1
    else:
        pos = t == positive
    n_bad = cp.count_nonzero(bad)
    invalid = cp.stack([n_bad, cp.where(n_bad > 0, cp.argmax(bad), -1)]).astype(np.int64)
    keep = ~bad
    if weights is not None:
        keep &= w != 0
    sf, pos = sf[keep], pos[keep]  # synchronize!
    if sf.size == 0:
        empty = cp.empty(0, dtype=np.float64)
        return empty, empty.copy(), empty.copy(), invalid
    order = cp.argsort(-sf)
    sf, pos = sf[order], pos[order].astype(np.float64)
    last = cp.concatenate([cp.nonzero(cp.diff(sf))[0], cp.asarray([sf.size - 1])])  # synchronize!
    if weights is None:
        tps = cp.cumsum(pos)[last]
        fps = 1.0 + last - tps
    else:
        wk = w[keep].astype(np.float64)[order]  # synchronize!
        tps = cp.cumsum(pos * wk)[last]
        fps = cp.cumsum((1.0 - pos) * wk)[last]
    return fps, tps, sf[last], invalid
