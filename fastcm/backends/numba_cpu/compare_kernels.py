"""Plain-loop kernels for paired comparison of two predictors (compiled in ``comparing.py``).

Each kernel counts triples ``(t[i], a[i], b[i])`` of rows [start, stop) into ``out`` and
returns ``(n_invalid, first_invalid)``; a triple with a value outside ``0..C-1`` (or a NaN
score row) is invalid: counted, never indexed with.
"""

import numpy as np

from ._jit import helper

#: triples turned into bins per block before they are scattered (fits L1 with the tables)
BLOCK = 2048


@helper
def _recheck(ts, as_, bs, C, m):
    """Count the invalid triples of one block and find the first (rare: only when flagged)."""
    uC = np.uint64(C)
    n_bad = 0
    first = np.int64(-1)
    for j in range(m):
        if (np.uint64(ts[j]) >= uC) | (np.uint64(as_[j]) >= uC) | (np.uint64(bs[j]) >= uC):
            if first < 0:
                first = np.int64(j)
            n_bad += 1
    return n_bad, first


@helper
def _codes32(ts, as_, bs, C, m, idx):
    """Bins of one block in 32-bit arithmetic (inputs of at most 32 bits); True if any is invalid."""
    uC = np.uint32(C)
    spill = np.uint32(C * C * C)
    flag = False
    for j in range(m):
        ut = np.uint32(ts[j])
        ua = np.uint32(as_[j])
        ub = np.uint32(bs[j])
        ok = (ut < uC) & (ua < uC) & (ub < uC)
        code = (ut * uC + ua) * uC + ub
        idx[j] = code if ok else spill
        flag |= not ok
    return flag


@helper
def _codes64(ts, as_, bs, C, m, idx):
    """Bins of one block for 64-bit inputs (compared in 64 bits, so no value aliases a class).

    The loop of :func:`_codes32` again in 64-bit arithmetic: a dtype parameter would leave
    the 32-bit one casting every value up, which is what makes it the faster of the two."""
    uC = np.uint64(C)
    spill = np.uint32(C * C * C)
    flag = False
    for j in range(m):
        ut = np.uint64(ts[j])
        ua = np.uint64(as_[j])
        ub = np.uint64(bs[j])
        ok = (ut < uC) & (ua < uC) & (ub < uC)
        code = np.uint32((ut * uC + ua) * uC + ub)
        idx[j] = code if ok else spill
        flag |= not ok
    return flag


@helper
def _flush_tables(h, K1, CCC, out):
    for k in range(CCC):
        out[k] += np.int64(h[k]) + np.int64(h[K1 + k]) + np.int64(h[2 * K1 + k]) + np.int64(h[3 * K1 + k])
    for k in range(4 * K1):
        h[k] = 0


def compare_joint(t, a, b, C, narrow, out, start, stop):
    """Joint histogram of (true, pred_a, pred_b) for 1-D integer labels: ``out`` is (C**3,) int64,
    bin ``(t * C + a) * C + b``; C**3 must stay well below 2**32. ``narrow``: all three
    inputs hold at most 32 bits, so bins are computed in 32-bit lanes (a negative value
    wraps far above C); measured 0.85 against 0.3 G triples/s on one core at C = 10.

    Two loops per block, as ``kernels.count_pairs``: a branch-free loop turns triples into
    bins (invalid ones into the extra bin C**3), then a scatter adds them into four
    rotating 32-bit tables, so a run of triples in one bin (the diagonal of two accurate
    models) does not wait on its own previous store. Tables are flushed into ``out``
    before any counter could overflow.
    """
    CCC = C * C * C
    K1 = CCC + 1
    h = np.zeros(4 * K1, dtype=np.uint32)
    idx = np.empty(BLOCK, dtype=np.uint32)
    n_bad = 0
    first_bad = np.int64(-1)
    since_flush = 0
    for b0 in range(start, stop, BLOCK):
        m = min(BLOCK, stop - b0)
        ts = t[b0 : b0 + m]
        as_ = a[b0 : b0 + m]
        bs = b[b0 : b0 + m]
        if narrow:
            flag = _codes32(ts, as_, bs, C, m, idx)
        else:
            flag = _codes64(ts, as_, bs, C, m, idx)
        if flag:
            bad, first = _recheck(ts, as_, bs, C, m)
            if first_bad < 0 and first >= 0:
                first_bad = np.int64(b0) + first
            n_bad += bad
        j = 0
        while j + 4 <= m:
            h[idx[j]] += np.uint32(1)
            h[K1 + idx[j + 1]] += np.uint32(1)
            h[2 * K1 + idx[j + 2]] += np.uint32(1)
            h[3 * K1 + idx[j + 3]] += np.uint32(1)
            j += 4
        while j < m:
            h[idx[j]] += np.uint32(1)
            j += 1
        since_flush += m
        if since_flush > 2**32 - 1 - 2 * BLOCK:
            _flush_tables(h, K1, CCC, out)
            since_flush = 0
    _flush_tables(h, K1, CCC, out)
    return n_bad, first_bad


def compare_direct(t, a, b, C, out, start, stop):
    """The two matrices and the per-class "both right" counts, for many classes.

    ``out`` is (2 * C * C + C,) int64: matrix A (rows = true class), matrix B, then for
    each true class the triples both predictors got right.
    """
    uC = np.uint64(C)
    CC = np.uint64(C * C)
    n_bad = 0
    first_bad = np.int64(-1)
    for i in range(start, stop):
        ut = np.uint64(t[i])
        ua = np.uint64(a[i])
        ub = np.uint64(b[i])
        if (ut >= uC) | (ua >= uC) | (ub >= uC):
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
            continue
        out[ut * uC + ua] += 1
        out[CC + ut * uC + ub] += 1
        out[2 * CC + ut] += np.int64((ua == ut) & (ub == ut))
    return n_bad, first_bad


@helper
def _argmax_row(s, i, C):
    """(argmax, any NaN) of row ``i``: ties to the lowest column, as ``argmax.argmax_row``.

    That loop again, returning its answer rather than writing it into arrays: this kernel
    reads one row at a time, and the helper's output arrays would cost a store per row."""
    best = s[i, 0]
    isnan = best != best
    top = np.uint64(0)
    for c in range(np.uint64(1), np.uint64(C)):
        v = s[i, c]
        gt = v > best
        top = c if gt else top
        best = v if gt else best
        isnan |= v != v
    return top, isnan


def compare_scores(t, a, b, a_scores, b_scores, C, joint, out, start, stop):
    """Triples where either prediction may be a row of scores (argmax fused).

    ``a`` and ``b`` are 2-D: (N, C) scores when ``a_scores`` / ``b_scores``, else labels
    as an (N, 1) column. ``out`` has the layout of ``compare_joint`` when ``joint``, else
    that of ``compare_direct``. A NaN in a score row makes the triple invalid.
    """
    uC = np.uint64(C)
    CC = np.uint64(C * C)
    n_bad = 0
    first_bad = np.int64(-1)
    for i in range(start, stop):
        ut = np.uint64(t[i, 0])
        bad = ut >= uC
        if a_scores:
            ua, nan = _argmax_row(a, i, C)
            bad |= nan
        else:
            ua = np.uint64(a[i, 0])
            bad |= ua >= uC
        if b_scores:
            ub, nan = _argmax_row(b, i, C)
            bad |= nan
        else:
            ub = np.uint64(b[i, 0])
            bad |= ub >= uC
        if bad:  # the invalid bookkeeping every counting kernel carries inline: a call per row costs more
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
            continue
        if joint:
            out[(ut * uC + ua) * uC + ub] += 1
        else:
            out[ut * uC + ua] += 1
            out[CC + ut * uC + ub] += 1
            out[2 * CC + ut] += np.int64((ua == ut) & (ub == ut))
    return n_bad, first_bad
