"""Plain-loop kernels of the fused calibration pass (compiled by ``calibrating.py``).

One pass over rows ``[start, stop)`` of (N, C) scores counts the (C, C) confusion matrix
(argmax, ties to the lowest class) and the calibration bins of the top-class confidence;
with ``per_class`` also the one-vs-rest bins of every class's probability. Output layout
(``K = n_bins + 1`` slots, see ``fastcm.calibration``):

* ``iout`` (int64): ``[C*C matrix | K counts | K correct | C*K class counts | C*K class hits]``
* ``fout`` (float64): ``[K confidence sums | C*K class probability sums]``

Kernels never raise: a row with a NaN score, a ``y_true`` outside ``0..C-1``, a
probability outside [0, 1] or a non-finite top logit is counted as invalid and skipped.
"""

import math

import numpy as np

from ._jit import helper

#: up to this many classes four rows are scanned side by side
FOUR_ROWS_MAX_C = 32


@helper
def _bin(c, edges, n):
    """Slot of ``c`` in [0, 1]: the number of ``edges[1:]`` at or below ``c`` (torch's
    ``bucketize(c, edges, right=True) - 1``); exactly 1 lands in the extra slot ``n``."""
    b = np.int64(c * n)
    if b > n:
        b = n
    while b < n and c >= edges[b + 1]:
        b += 1
    while b > 0 and c < edges[b]:
        b -= 1
    return b


@helper
def _top_row(s, i, C, r, arg, top, nan):
    best = s[i, 0]
    isnan = best != best
    a = np.uint64(0)
    for c in range(np.uint64(1), np.uint64(C)):
        v = s[i, c]
        gt = v > best  # selects, not branches: random scores would mispredict every row
        a = c if gt else a
        best = v if gt else best
        isnan |= v != v
    arg[r] = a
    top[r] = best
    nan[r] = isnan


@helper
def _top_4_rows(s, i, C, arg, top, nan):
    """Argmax and maximum of rows i..i+3 side by side: four independent select chains."""
    b0 = s[i, 0]
    b1 = s[i + 1, 0]
    b2 = s[i + 2, 0]
    b3 = s[i + 3, 0]
    a0 = np.uint64(0)
    a1 = np.uint64(0)
    a2 = np.uint64(0)
    a3 = np.uint64(0)
    n0 = b0 != b0
    n1 = b1 != b1
    n2 = b2 != b2
    n3 = b3 != b3
    for c in range(np.uint64(1), np.uint64(C)):
        v0 = s[i, c]
        v1 = s[i + 1, c]
        v2 = s[i + 2, c]
        v3 = s[i + 3, c]
        g0 = v0 > b0
        g1 = v1 > b1
        g2 = v2 > b2
        g3 = v3 > b3
        a0 = c if g0 else a0
        a1 = c if g1 else a1
        a2 = c if g2 else a2
        a3 = c if g3 else a3
        b0 = v0 if g0 else b0
        b1 = v1 if g1 else b1
        b2 = v2 if g2 else b2
        b3 = v3 if g3 else b3
        n0 |= v0 != v0
        n1 |= v1 != v1
        n2 |= v2 != v2
        n3 |= v3 != v3
    arg[0] = a0
    arg[1] = a1
    arg[2] = a2
    arg[3] = a3
    top[0] = b0
    top[1] = b1
    top[2] = b2
    top[3] = b3
    nan[0] = n0
    nan[1] = n1
    nan[2] = n2
    nan[3] = n3


def calibration_rows(t, s, edges, C, logits, per_class, iout, fout, start, stop):
    """Matrix and calibration bins of rows [start, stop); returns (n_invalid, first_invalid)."""
    n = np.uint64(edges.size - 1)
    nf = np.float64(edges.size - 1)
    K = n + np.uint64(1)
    uC = np.uint64(C)
    cnt = uC * uC
    cor = cnt + K
    pcnt = cor + K
    phit = pcnt + uC * K
    n_bad = 0
    first_bad = np.int64(-1)
    arg = np.empty(4, dtype=np.uint64)
    top = np.empty(4, dtype=np.float64)
    nan = np.empty(4, dtype=np.bool_)
    # one sub-histogram per row of a group of four: consecutive rows that fall in the same
    # slot then add to different addresses, not along one store-to-load chain
    lc = np.zeros(4 * K, dtype=np.int64)
    lh = np.zeros(4 * K, dtype=np.int64)
    lf = np.zeros(4 * K, dtype=np.float64)
    i = start
    while i < stop:
        k = min(4, stop - i)
        if k == 4 and C <= FOUR_ROWS_MAX_C:
            _top_4_rows(s, i, C, arg, top, nan)
        else:
            for r in range(k):
                _top_row(s, i + r, C, r, arg, top, nan)
        for r in range(k):
            row = i + r
            y = np.uint64(np.int64(t[row]))
            m = top[r]
            z = 1.0
            if logits:
                ok = (m - m == 0.0) & ~nan[r] & (y < uC)  # +-inf top logit: no softmax
                if ok:
                    z = 0.0
                    for c in range(C):
                        z += math.exp(np.float64(s[row, c]) - m)
                conf = 1.0 / z
            else:
                conf = m
                ok = (conf >= 0.0) & (conf <= 1.0) & ~nan[r] & (y < uC)
                if per_class and ok:
                    for c in range(C):
                        p = np.float64(s[row, c])
                        ok &= (p >= 0.0) & (p <= 1.0)
            if not ok:
                if first_bad < 0:
                    first_bad = np.int64(row)
                n_bad += 1
                continue
            a = arg[r]
            iout[y * uC + a] += 1
            # the slot: int(conf * n), then one step either way where rounding put it astray
            b = min(np.uint64(np.int64(conf * nf)), n)
            b += np.uint64((b < n) and (conf >= edges[b + np.uint64(1)]))
            b -= np.uint64((b > 0) and (conf < edges[b]))
            j = np.uint64(r) * K + b
            lc[j] += 1
            lf[j] += conf
            lh[j] += np.int64(a == y)
            if per_class:
                for c in range(C):
                    uc = np.uint64(c)
                    if logits:
                        p = math.exp(np.float64(s[row, c]) - m) / z
                    else:
                        p = np.float64(s[row, c])
                    b = np.uint64(_bin(p, edges, np.int64(n)))
                    iout[pcnt + uc * K + b] += 1
                    fout[K + uc * K + b] += p
                    iout[phit + uc * K + b] += np.int64(uc == y)
        i += k
    for r in range(4):
        for b in range(K):
            j = np.uint64(r) * K + b
            iout[cnt + b] += lc[j]
            iout[cor + b] += lh[j]
            fout[b] += lf[j]
    return n_bad, first_bad
