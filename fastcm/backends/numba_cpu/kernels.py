"""Plain-loop kernels for the numba backend.

Only loops live here: ``_jit.py`` compiles them (nogil, disk cache, one specialisation per
input dtype) and ``labels.py`` splits work over threads. Every kernel works on the range
``[start, stop)`` of its input, adds into a private ``out`` it is given, never raises and
never writes out of bounds: invalid positions are counted and the first one is returned.
"""

import numpy as np

# Interleaved sub-histograms break the store-to-load dependency when consecutive pairs hit
# the same bin (the common case with few classes): 4 copies of C*C counts stay in L1.
LANES = 4


def value_range(t, p):
    lo = np.int64(0)
    hi = np.int64(-1)
    first = True
    for a in (t, p):
        for i in range(a.size):
            v = np.int64(a[i])
            if first:
                lo = v
                hi = v
                first = False
            elif v < lo:
                lo = v
            elif v > hi:
                hi = v
    return lo, hi


def value_range_u64(t, p):
    # uint64 values above 2**63 do not fit int64: report them through the flag
    lo = np.uint64(0)
    hi = np.uint64(0)
    first = True
    for a in (t, p):
        for i in range(a.size):
            v = np.uint64(a[i])
            if first:
                lo = v
                hi = v
                first = False
            elif v < lo:
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
    """out: (lanes, C*C) int64 with lanes a power of two. Returns (n_invalid, first_invalid)."""
    mask = out.shape[0] - 1
    n_bad = 0
    first_bad = -1
    CC = C * C
    flat = out.reshape(-1)
    for i in range(start, stop):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        b = np.int64(p[i])
        if (a < 0) | (a >= C) | (b < 0) | (b >= C):
            if first_bad < 0:
                first_bad = i
            n_bad += 1
        else:
            flat[(i & mask) * CC + a * C + b] += 1
    return n_bad, first_bad


def count_pairs_weighted(t, p, w, C, has_ignore, ignore, out, start, stop):
    """out: (C*C,) of the accumulator dtype. Non-finite weights are invalid."""
    n_bad = 0
    first_bad = -1
    for i in range(start, stop):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        b = np.int64(p[i])
        wi = w[i]
        if (a < 0) | (a >= C) | (b < 0) | (b >= C) | (wi - wi != 0):
            if first_bad < 0:
                first_bad = i
            n_bad += 1
        else:
            out[a * C + b] += wi
    return n_bad, first_bad


def count_pairs_rows(t, p, C, has_ignore, ignore, out, row_lo, row_hi):
    """Large-C path: scan every pair, count only true classes in [row_lo, row_hi).

    Each thread owns a band of rows of the shared matrix, so no private C*C copies are
    needed. Invalid pairs are reported by the band that starts at row 0.
    """
    n_bad = 0
    first_bad = -1
    report = row_lo == 0
    for i in range(t.size):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        if (a >= row_lo) & (a < row_hi):
            b = np.int64(p[i])
            if (b < 0) | (b >= C):
                if first_bad < 0:
                    first_bad = i
                n_bad += 1
            else:
                out[a * C + b] += 1
        elif report and ((a < 0) | (a >= C) | (np.int64(p[i]) < 0) | (np.int64(p[i]) >= C)):
            if first_bad < 0:
                first_bad = i
            n_bad += 1
    return n_bad, first_bad


def count_lut(t, p, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """Values mapped through ``lut``; unmapped values drop the pair. ``w`` may be empty (unweighted)."""
    n_bad = 0
    first_bad = -1
    size = lut.size
    weighted = w.size > 0
    for i in range(start, stop):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        a -= lo
        b = np.int64(p[i]) - lo
        if (a < 0) | (a >= size) | (b < 0) | (b >= size):
            continue
        ia = lut[a]
        ib = lut[b]
        if (ia < 0) | (ib < 0):
            continue
        if weighted:
            wi = w[i]
            if wi - wi != 0:
                if first_bad < 0:
                    first_bad = i
                n_bad += 1
            else:
                out[ia * C + ib] += wi
        else:
            out[ia * C + ib] += 1
    return n_bad, first_bad


def count_scores(t, s, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """Fused argmax: t (N, S) labels, s (N, C, S) scores, pixels [start, stop) of N*S.

    The argmax runs over tiles of pixels so each class row is read contiguously. ``lut`` maps
    true values when it is non-empty; ``w`` weights pairs when non-empty.
    """
    n_bad = 0
    first_bad = -1
    S = t.shape[1]
    TILE = 128
    best = np.empty(TILE, dtype=s.dtype)
    arg = np.empty(TILE, dtype=np.int64)
    nan = np.empty(TILE, dtype=np.bool_)
    use_lut = lut.size > 0
    weighted = w.size > 0
    size = lut.size
    q = start
    while q < stop:
        n = q // S
        s0 = q - n * S
        s1 = min(S, s0 + TILE, stop - n * S)
        m = s1 - s0
        for j in range(m):
            v = s[n, 0, s0 + j]
            best[j] = v
            arg[j] = 0
            nan[j] = v != v
        for c in range(1, C):
            for j in range(m):
                v = s[n, c, s0 + j]
                if v > best[j]:
                    best[j] = v
                    arg[j] = c
                elif v != v:
                    nan[j] = True
        for j in range(m):
            pos = q + j
            a = np.int64(t[n, s0 + j])
            if has_ignore and a == ignore:
                continue
            if use_lut:
                a -= lo
                if (a < 0) | (a >= size):
                    continue
                a = lut[a]
                if a < 0:
                    continue
            bad = nan[j] | (a < 0) | (a >= C)
            if weighted:
                wi = w[pos]
                bad = bad | (wi - wi != 0)
            if bad:
                if first_bad < 0:
                    first_bad = pos
                n_bad += 1
            elif weighted:
                out[a * C + arg[j]] += w[pos]
            else:
                out[a * C + arg[j]] += 1
        q += m
    return n_bad, first_bad
