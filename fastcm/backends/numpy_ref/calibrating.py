"""Reference of the fused calibration pass: vectorised array code, N-sized temporaries.

``calibration_counts(t, s, edges, num_classes, *, logits=False, per_class=False)`` returns
``(iout, fout, invalid)``: flat int64 and float64 count arrays in the layout of
``numba_cpu/calibration_kernels.py`` and ``invalid = [n_invalid_rows, first_invalid_row]``.
The code is written against an array module ``xp`` so the CuPy backend reuses it.

Examples
--------
>>> import numpy as np
>>> edges = np.linspace(0, 1, 3)
>>> iout, fout, invalid = calibration_counts(np.array([0, 1]), np.array([[0.8, 0.2], [0.3, 0.7]]), edges, 2)
>>> iout[:4].tolist(), iout[4:7].tolist(), invalid.tolist()
([1, 0, 0, 1], [0, 2, 0], [0, -1])
"""

from __future__ import annotations

import numpy as np

#: a row of probabilities must sum to 1 within this (as numba_cpu/calibration_kernels.py)
ROW_SUM_TOLERANCE = 1e-2


def _bins(xp, c, edges):
    """torch's ``bucketize(c, edges, right=True) - 1``: slot b holds [edges[b], edges[b+1])."""
    return xp.searchsorted(edges, c, side="right") - 1


def counts_in(xp, t, s, edges, num_classes, logits, per_class):
    C = int(num_classes)
    K = int(edges.size)
    n = s.shape[0]
    s = s.astype(np.float64) if s.dtype == np.float16 else s
    t64 = t.astype(np.int64)
    arg = xp.argmax(xp.where(xp.isnan(s), -xp.inf, s), axis=1) if n else xp.zeros(0, np.int64)
    top = xp.take_along_axis(s, arg[:, None], axis=1)[:, 0].astype(np.float64)
    bad = xp.isnan(s).any(axis=1) | (t64 < 0) | (t64 >= C)
    with np.errstate(all="ignore"):
        if logits:
            bad |= ~xp.isfinite(top)
            e = xp.exp(s.astype(np.float64) - xp.where(bad, 0.0, top)[:, None])
            z = e.sum(axis=1)
            conf = 1.0 / z
        else:
            conf = top
            bad |= ~((conf >= 0) & (conf <= 1))
            # what probabilities must satisfy: every column in [0, 1], the row summing to 1
            bad |= ~((s >= 0) & (s <= 1)).all(axis=1)
            bad |= ~(xp.abs(s.astype(np.float64).sum(axis=1) - 1.0) <= ROW_SUM_TOLERANCE)
    keep = ~bad
    y, a, conf = t64[keep], arg[keep], conf[keep]
    matrix = xp.bincount(y * C + a, minlength=C * C)
    b = _bins(xp, conf, edges)
    hit = (a == y).astype(np.float64)
    parts = [matrix, xp.bincount(b, minlength=K), xp.bincount(b, weights=hit, minlength=K).astype(np.int64)]
    fparts = [xp.bincount(b, weights=conf, minlength=K)]
    if per_class:
        p = (e[keep] / z[keep][:, None]) if logits else s[keep].astype(np.float64)
        pb = _bins(xp, p, edges) + xp.arange(C)[None, :] * K  # (rows, C) slots of class c
        onehot = (y[:, None] == xp.arange(C)[None, :]).astype(np.float64)
        parts += [xp.bincount(pb.ravel(), minlength=C * K), xp.bincount(pb.ravel(), weights=onehot.ravel(), minlength=C * K).astype(np.int64)]
        fparts.append(xp.bincount(pb.ravel(), weights=p.ravel(), minlength=C * K))
    iout = xp.concatenate([q.astype(np.int64) for q in parts])
    fout = xp.concatenate([q.astype(np.float64) for q in fparts])
    n_bad = bad.sum()
    first = xp.where(n_bad > 0, xp.argmax(bad) if n else 0, -1)
    invalid = xp.stack([n_bad.astype(np.int64), xp.asarray(first, dtype=np.int64)])
    return iout, fout, invalid


def calibration_counts(t, s, edges, num_classes, *, logits=False, per_class=False):
    return counts_in(np, t, s, edges, num_classes, logits, per_class)
