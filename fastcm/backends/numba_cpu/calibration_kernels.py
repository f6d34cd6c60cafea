"""Plain-loop kernels of the fused calibration pass (compiled by ``calibrating.py``).

One pass over rows ``[start, stop)`` of (N, C) scores counts the (C, C) confusion matrix
(argmax, ties to the lowest class) and the calibration bins of the top-class confidence;
with ``per_class`` also the one-vs-rest bins of every class's probability. Output layout
(``K = n_bins + 1`` slots, see ``fastcm.answers.calibration``):

* ``iout`` (int64): ``[C*C matrix | K counts | K correct | C*K class counts | C*K class hits]``
* ``fout`` (float64): ``[K confidence sums | C*K class probability sums]``

Kernels never raise: a row with a NaN score, a ``y_true`` outside ``0..C-1``, a
probability outside [0, 1], probabilities whose row does not sum to 1 within
``ROW_SUM_TOLERANCE`` or a non-finite top logit is counted as invalid and skipped.
"""

import math

import numpy as np

from ._jit import helper
from .argmax import argmax_row

#: a row of probabilities must sum to 1 within this (fastcm.answers.calibration documents it; the
#: numpy reference holds the same number)
ROW_SUM_TOLERANCE = 1e-2


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
        # one row at a time: the four-rows argmax of the counting kernel measured no faster
        # here (19.6 ms either way, 10^6 x 10 float32) and cost 0.3-0.4 s more to compile
        for r in range(k):
            argmax_row(s, i + r, C, r, arg, top, nan)
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
                if ok:  # what probabilities must satisfy: every column in [0, 1], the row summing to 1
                    total = 0.0
                    for c in range(C):
                        p = np.float64(s[row, c])
                        ok &= (p >= 0.0) & (p <= 1.0)
                        total += p
                    ok &= abs(total - 1.0) <= ROW_SUM_TOLERANCE
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
