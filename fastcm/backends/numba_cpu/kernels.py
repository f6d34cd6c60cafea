"""Plain-loop kernels for the numba backend.

Only loops live here: ``_jit.py`` compiles them (nogil, disk cache, one specialisation per
input dtype) and ``labels.py`` splits work over threads. Every kernel works on the range
``[start, stop)`` of its input, adds into a private ``out`` it is given, never raises and
never writes out of bounds: invalid positions are counted and the first one is returned.
"""

import numpy as np

# Loops index with unsigned integers on purpose: numba then drops its negative-index
# wraparound checks, which doubles the throughput of these memory-bound loops. A negative
# label cast to uint64 becomes huge, so one unsigned compare checks both bounds.


def value_range(a):
    # one array per call, compared in its own dtype: a tuple of arrays of different dtypes
    # or writability cannot be typed, and uint64 above 2**63 does not fit int64
    lo = a[0]
    hi = lo
    for i in range(1, a.size):
        v = a[i]
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    return lo, hi


def label_presence(t, p, lo, present, has_ignore, ignore):
    size = present.size
    for i in range(t.size):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        b = np.int64(p[i])
        a -= lo
        b -= lo
        if a >= 0 and a < size:
            present[a] = True
        if b >= 0 and b < size:
            present[b] = True


def count_pairs(t, p, C, has_ignore, ignore, out, start, stop):
    """out: (C*C,) int64. Returns (n_invalid, first_invalid)."""
    n_bad = 0
    first_bad = np.int64(-1)
    uC = np.uint64(C)
    for i in range(np.uint64(start), np.uint64(stop)):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        ua = np.uint64(a)
        ub = np.uint64(np.int64(p[i]))
        if (ua >= uC) | (ub >= uC):
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
        else:
            out[ua * uC + ub] += 1
    return n_bad, first_bad


def count_pairs_narrow(t, p, C, has_ignore, ignore, out, start, stop):
    """``count_pairs`` for inputs of at most 32 bits: 32-bit compares are ~25% faster there."""
    n_bad = 0
    first_bad = np.int64(-1)
    uC = np.uint32(C)
    wC = np.uint64(C)
    for i in range(np.uint64(start), np.uint64(stop)):
        if has_ignore and np.int64(t[i]) == ignore:
            continue
        ua = np.uint32(t[i])  # negative values wrap above any valid C
        ub = np.uint32(p[i])
        if (ua >= uC) | (ub >= uC):
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
        else:
            out[np.uint64(ua) * wC + np.uint64(ub)] += 1
    return n_bad, first_bad


def count_pairs_weighted(t, p, w, C, has_ignore, ignore, out, start, stop):
    """out: (C*C,) of the accumulator dtype. Non-finite weights are invalid."""
    n_bad = 0
    first_bad = np.int64(-1)
    uC = np.uint64(C)
    for i in range(np.uint64(start), np.uint64(stop)):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        ua = np.uint64(a)
        ub = np.uint64(np.int64(p[i]))
        wi = w[i]
        if (ua >= uC) | (ub >= uC) | (wi - wi != 0):
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
        else:
            out[ua * uC + ub] += wi
    return n_bad, first_bad


def count_pairs_rows(t, p, C, has_ignore, ignore, out, row_lo, row_hi):
    """Large-C path: scan every pair, count only true classes in [row_lo, row_hi).

    Each thread owns a band of rows of the shared matrix, so no private C*C copies are
    needed. Invalid pairs are reported by the band that starts at row 0.
    """
    n_bad = 0
    first_bad = np.int64(-1)
    uC = np.uint64(C)
    lo = np.uint64(row_lo)
    width = np.uint64(row_hi - row_lo)
    report = row_lo == 0
    for i in range(np.uint64(t.size)):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        ua = np.uint64(a)
        if ua - lo < width:
            ub = np.uint64(np.int64(p[i]))
            if ub >= uC:
                if first_bad < 0:
                    first_bad = np.int64(i)
                n_bad += 1
            else:
                out[ua * uC + ub] += 1
        elif report and ((ua >= uC) | (np.uint64(np.int64(p[i])) >= uC)):
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
    return n_bad, first_bad


def count_lut(t, p, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """Values mapped through ``lut``; unmapped values drop the pair. ``w`` may be empty (unweighted)."""
    n_bad = 0
    first_bad = np.int64(-1)
    size = np.uint64(lut.size)
    uC = np.uint64(C)
    weighted = w.size > 0
    for i in range(np.uint64(start), np.uint64(stop)):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        ua = np.uint64(a - lo)
        ub = np.uint64(np.int64(p[i]) - lo)
        if (ua >= size) | (ub >= size):
            continue
        ia = lut[ua]
        ib = lut[ub]
        if (ia < 0) | (ib < 0):
            continue
        k = np.uint64(ia) * uC + np.uint64(ib)
        if weighted:
            wi = w[i]
            if wi - wi != 0:
                if first_bad < 0:
                    first_bad = np.int64(i)
                n_bad += 1
            else:
                out[k] += wi
        else:
            out[k] += 1
    return n_bad, first_bad


def count_scores(t, s, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """Fused argmax: t (N, S) labels, s (N, C, S) scores, pixels [start, stop) of N*S.

    The argmax runs over tiles of pixels so each class row is read contiguously. ``lut`` maps
    true values when it is non-empty; ``w`` weights pairs when non-empty.
    """
    n_bad = 0
    first_bad = np.int64(-1)
    S = np.uint64(t.shape[1])
    TILE = np.uint64(128)
    best = np.empty(128, dtype=s.dtype)
    arg = np.empty(128, dtype=np.uint64)
    nan = np.empty(128, dtype=np.bool_)
    use_lut = lut.size > 0
    weighted = w.size > 0
    size = np.uint64(lut.size)
    uC = np.uint64(C)
    q = np.uint64(start)
    end = np.uint64(stop)
    while q < end:
        n = q // S
        s0 = q - n * S
        s1 = min(S, s0 + TILE, end - n * S)
        m = s1 - s0
        for j in range(m):
            v = s[n, 0, s0 + j]
            best[j] = v
            arg[j] = 0
            nan[j] = v != v
        for c in range(np.uint64(1), uC):
            for j in range(m):
                v = s[n, c, s0 + j]
                b = best[j]
                gt = v > b
                arg[j] = c if gt else arg[j]
                best[j] = v if gt else b
                nan[j] |= v != v
        for j in range(m):
            pos = q + j
            a = np.int64(t[n, s0 + j])
            if has_ignore and a == ignore:
                continue
            if use_lut:
                ua = np.uint64(a - lo)
                if ua >= size:
                    continue
                a = lut[ua]
                if a < 0:
                    continue
            ua = np.uint64(a)
            bad = nan[j] | (ua >= uC)
            if weighted:
                wi = w[pos]
                bad = bad | (wi - wi != 0)
            if bad:
                if first_bad < 0:
                    first_bad = np.int64(pos)
                n_bad += 1
            elif weighted:
                out[ua * uC + arg[j]] += w[pos]
            else:
                out[ua * uC + arg[j]] += 1
        q += m
    return n_bad, first_bad


def count_score_rows(t, s, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """Fused argmax for the (N, C) layout: rows [start, stop) of ``s``; t is (N, 1)."""
    n_bad = 0
    first_bad = np.int64(-1)
    use_lut = lut.size > 0
    weighted = w.size > 0
    size = np.uint64(lut.size)
    uC = np.uint64(C)
    for i in range(np.uint64(start), np.uint64(stop)):
        a = np.int64(t[i, 0])
        if has_ignore and a == ignore:
            continue
        best = s[i, 0]
        nan = best != best
        arg = np.uint64(0)
        for c in range(np.uint64(1), uC):
            # selects, not branches: random scores would mispredict a branch on every row
            v = s[i, c]
            gt = v > best
            arg = c if gt else arg
            best = v if gt else best
            nan |= v != v
        if use_lut:
            ua = np.uint64(a - lo)
            if ua >= size:
                continue
            a = lut[ua]
            if a < 0:
                continue
        ua = np.uint64(a)
        bad = nan | (ua >= uC)
        if weighted:
            wi = w[i]
            bad = bad | (wi - wi != 0)
        if bad:
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
        elif weighted:
            out[ua * uC + arg] += w[i]
        else:
            out[ua * uC + arg] += 1
    return n_bad, first_bad
