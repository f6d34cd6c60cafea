"""Plain-loop kernels for the numba backend.

Only loops live here: ``_jit.py`` compiles them (nogil, disk cache, one specialisation per
input dtype) and ``counting.py`` splits work over threads. Every kernel works on the range
``[start, stop)`` of its input, adds into a private ``out`` it is given, never raises and
never writes out of bounds: invalid positions are counted and the first one is returned.
"""

import numpy as np

from ._jit import helper
from ._prefetch import prefetch, prefetch_l2

# Loops index with unsigned integers on purpose: numba then drops its negative-index
# wraparound checks, which doubles the throughput of these memory-bound loops. A negative
# label cast to uint64 becomes huge, so one unsigned compare checks both bounds.


def value_range(a, start, stop):
    """(min, max) of ``a[start:stop]`` (non-empty), compared in the array's own dtype.

    One array per call: a tuple of arrays of different dtypes or writability cannot be
    typed, and uint64 above 2**63 does not fit int64. Branch-free, so it vectorises.
    """
    lo = a[start]
    hi = lo
    for i in range(start + 1, stop):
        v = a[i]
        lo = min(lo, v)
        hi = max(hi, v)
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


#: pairs per block: a block's bin indices stay in L1 between the index loop and the scatter
BLOCK = 2048
# The four-histogram path streams wider inputs in shorter blocks, so that pass and scatter
# alternate more often and the memory stream idles less, and prefetches into L1 a few KiB
# ahead (measured at C = 10, N = 10^8, 2 threads, in interleaved runs of fresh processes:
# int64 83-90% of the memory floor, 69-74% with 2048-pair blocks prefetching 2048 pairs
# ahead into L2; int32 73-81%, 65-75% before. Other sizes measured lower: 64-bit blocks of
# 64, 80, 160 and 256 pairs, distances of 256, 768 and 2048 pairs; and 32-bit blocks of 384
# and 512 pairs, which in some processes fall to 55-60%, depending on where the arrays lie).
#: pairs per block for 64-bit inputs on the four-histogram path
WIDE_BLOCK = 128
#: pairs prefetched ahead of the block scattered there: 4 KiB of each input
WIDE_AHEAD = 512
#: pairs per block for 32-bit inputs on the four-histogram path
MID_BLOCK = 256
#: pairs prefetched ahead of the block scattered there: 3 KiB of each input
MID_AHEAD = 768
#: up to this many classes the fused argmax runs four rows side by side (measured: 1.7x at
#: C=10 and 32, slower at C=100, where one row's loop is long enough to keep the core busy)
FOUR_ROWS_MAX_C = 32
#: scatter strategies by number of bins (see ``count_pairs``)
PAIRED_BINS = 16384
SPLIT_BINS = 4096
#: blocks between the one scattered and the one prefetched, elsewhere
PREFETCH_AHEAD = 1


# The bin loops below are branch-free so that they vectorise: a block streams in at SIMD
# speed. They only flag a block holding an invalid pair; ``_recheck_block`` then redoes
# that block one pair at a time (counts, first position, discard bins).


@helper
def _bins32(ts, ps, C, lo, idx):
    """Bin ``(t-lo)*C + (p-lo)`` of each pair in 32-bit arithmetic; nonzero when any pair is invalid."""
    uC = np.uint32(C)
    ulo = np.uint32(lo)
    flag = np.uint32(0)
    for j in range(ts.size):
        # np.uint32 again around the difference: numba widens uint32 arithmetic to 64 bits,
        # which halves the vector width (and values below lo must wrap at 2**32)
        a = np.uint32(np.uint32(ts[j]) - ulo)
        b = np.uint32(np.uint32(ps[j]) - ulo)
        flag |= np.uint32((a >= uC) | (b >= uC))
        idx[j] = a * uC + b
    return flag


@helper
def _bins32_ignore(ts, ps, C, lo, ignore, idx):
    """``_bins32`` sending pairs whose true label is ``ignore`` (of ``ts``'s dtype) to bin C*C."""
    uC = np.uint32(C)
    ulo = np.uint32(lo)
    discard = uC * uC
    flag = np.uint32(0)
    for j in range(ts.size):
        a = np.uint32(np.uint32(ts[j]) - ulo)
        b = np.uint32(np.uint32(ps[j]) - ulo)
        skip = ts[j] == ignore
        flag |= np.uint32(((a >= uC) | (b >= uC)) & (not skip))
        idx[j] = discard if skip else a * uC + b
    return flag


@helper
def _bins64(ts, ps, C, lo, idx):
    """``_bins32`` for 64-bit inputs, compared as uint64 so no value aliases a valid label."""
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    flag = np.uint32(0)
    for j in range(ts.size):
        a = np.uint64(ts[j]) - ulo
        b = np.uint64(ps[j]) - ulo
        flag |= np.uint32((a >= uC) | (b >= uC))
        idx[j] = np.uint32(a * uC + b)
    return flag


@helper
def _bins64_ignore(ts, ps, C, lo, ignore, idx):
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    discard = np.uint32(uC * uC)
    flag = np.uint32(0)
    for j in range(ts.size):
        a = np.uint64(ts[j]) - ulo
        b = np.uint64(ps[j]) - ulo
        skip = ts[j] == ignore
        flag |= np.uint32(((a >= uC) | (b >= uC)) & (not skip))
        idx[j] = discard if skip else np.uint32(a * uC + b)
    return flag


@helper
def _pack32(ts, ps, C, lo, shift, idx):
    """Each pair as ``(t-lo) << shift | (p-lo)`` in 32-bit arithmetic; True when any pair is
    invalid (``shift``: enough bits for C - 1).

    A shift and an or where a bin index needs a multiply, and a running maximum where a
    per-pair flag needs a compare and a mask: the streaming pass stays as light as a read
    (measured +16% at int32, +12% at int64).
    """
    uC = np.uint32(C)
    ulo = np.uint32(lo)
    us = np.uint32(shift)
    top_a = np.uint32(0)
    top_b = np.uint32(0)
    for j in range(ts.size):
        a = np.uint32(np.uint32(ts[j]) - ulo)
        b = np.uint32(np.uint32(ps[j]) - ulo)
        top_a = max(top_a, a)
        top_b = max(top_b, b)
        idx[j] = np.uint32(np.uint32(a << us) | b)
    return (top_a >= uC) | (top_b >= uC)


@helper
def _pack32_ignore(ts, ps, C, lo, shift, ignore, idx):
    """``_pack32`` sending pairs whose true label is ``ignore`` to (C, 0), the discard slot."""
    uC = np.uint32(C)
    ulo = np.uint32(lo)
    us = np.uint32(shift)
    zero = np.uint32(0)
    discard = np.uint32(uC << us)
    top_a = zero
    top_b = zero
    for j in range(ts.size):
        a = np.uint32(np.uint32(ts[j]) - ulo)
        b = np.uint32(np.uint32(ps[j]) - ulo)
        skip = ts[j] == ignore
        top_a = max(top_a, zero if skip else a)
        top_b = max(top_b, zero if skip else b)
        idx[j] = discard if skip else np.uint32(np.uint32(a << us) | b)
    return (top_a >= uC) | (top_b >= uC)


@helper
def _pack64(ts, ps, C, lo, shift, idx):
    """``_pack32`` for 64-bit inputs, compared as uint64 so no value aliases a valid label.

    ``idx`` is uint64: narrowing each value to 32 bits costs the vector loop a shuffle
    (measured +2-10% at int64 without it)."""
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    us = np.uint64(shift)
    top_a = np.uint64(0)
    top_b = np.uint64(0)
    for j in range(ts.size):
        a = np.uint64(ts[j]) - ulo
        b = np.uint64(ps[j]) - ulo
        top_a = max(top_a, a)
        top_b = max(top_b, b)
        idx[j] = (a << us) | b
    return (top_a >= uC) | (top_b >= uC)


@helper
def _pack64_ignore(ts, ps, C, lo, shift, ignore, idx):
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    us = np.uint64(shift)
    zero = np.uint64(0)
    discard = uC << us
    top_a = zero
    top_b = zero
    for j in range(ts.size):
        a = np.uint64(ts[j]) - ulo
        b = np.uint64(ps[j]) - ulo
        skip = ts[j] == ignore
        top_a = max(top_a, zero if skip else a)
        top_b = max(top_b, zero if skip else b)
        idx[j] = discard if skip else (a << us) | b
    return (top_a >= uC) | (top_b >= uC)


@helper
def _recheck_block(ts, ps, C, lo, has_ignore, ignore, shift, idx):
    """Bins of a flagged block, invalid and ignored pairs to the discard bin: (n_invalid,
    first position). ``shift`` > 0: packed as the ``_pack`` loops do; 0: ``t * C + p``."""
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    us = np.uint64(shift)
    discard = np.uint32(uC << us) if shift else np.uint32(uC * uC)
    n_bad = 0
    first = -1
    for j in range(ts.size):
        if has_ignore and ts[j] == ignore:
            idx[j] = discard
            continue
        a = np.uint64(ts[j]) - ulo
        b = np.uint64(ps[j]) - ulo
        if (a >= uC) | (b >= uC):
            idx[j] = discard
            if first < 0:
                first = j
            n_bad += 1
        elif shift:
            idx[j] = np.uint32((a << us) | b)
        else:
            idx[j] = np.uint32(a * uC + b)
    return n_bad, first


# The scatters below also prefetch the block ``ahead`` (one hint per cache line of each
# input, spread over the loop): the streaming pass then finds it in cache. Each iteration
# covers four pairs, so an input with L pairs per cache line gets a hint every L/4 iterations.


@helper
def _scatter_four(idx, m, h0, h1, h2, h3, t, p, ahead):
    """Histograms indexed by the packed pairs themselves: no unpacking per pair."""
    every_t = (64 // t.itemsize) // 4 - 1
    every_p = (64 // p.itemsize) // 4 - 1
    q = m >> 2
    for j in range(q):
        h0[idx[4 * j]] += 1
        h1[idx[4 * j + 1]] += 1
        h2[idx[4 * j + 2]] += 1
        h3[idx[4 * j + 3]] += 1
        if (j & every_t) == 0:
            prefetch(t, ahead + 4 * j)
        if (j & every_p) == 0:
            prefetch(p, ahead + 4 * j)
    for j in range(4 * q, m):
        h0[idx[j]] += 1


@helper
def _scatter_paired(idx, m, C, shift, K, comb, g0, g1, h0, t, p, ahead):
    """Count pairs of bins (pair j with pair j + m/2) in a K*K table: half the scatters.
    The table is indexed by dense bins ``t * C + p``, unpacked here, to keep it small."""
    uC = np.uint32(C)
    us = np.uint32(shift)
    mask = np.uint32((1 << shift) - 1)
    half = m >> 1
    for j in range(half):
        x = idx[j]
        y = idx[j + half]
        bx = np.uint32(np.uint32(x >> us) * uC + np.uint32(x & mask))
        by = np.uint32(np.uint32(y >> us) * uC + np.uint32(y & mask))
        comb[j] = np.uint32(bx * K + by)
    every_t = (64 // t.itemsize) // 4 - 1
    every_p = (64 // p.itemsize) // 4 - 1
    for j in range(half >> 1):
        g0[comb[2 * j]] += np.uint32(1)
        g1[comb[2 * j + 1]] += np.uint32(1)
        if (j & every_t) == 0:
            prefetch_l2(t, ahead + 4 * j)
        if (j & every_p) == 0:
            prefetch_l2(p, ahead + 4 * j)
    if half & 1:
        g0[comb[half - 1]] += np.uint32(1)
    if m & 1:
        x = idx[m - 1]
        h0[np.uint32(np.uint32(x >> us) * uC + np.uint32(x & mask))] += 1


@helper
def _count_four_wide(t, p, C, lo, has_ignore, ignore, shift, h0, h1, h2, h3, start, stop):
    """The four-histogram path for 64-bit inputs, in ``WIDE_BLOCK``-pair blocks: (n_invalid, first)."""
    n_bad = 0
    first_bad = np.int64(-1)
    idx = np.empty(WIDE_BLOCK, dtype=np.uint64)
    for b0 in range(start, stop, WIDE_BLOCK):
        m = min(WIDE_BLOCK, stop - b0)
        ts = t[b0 : b0 + m]
        ps = p[b0 : b0 + m]
        flag = _pack64_ignore(ts, ps, C, lo, shift, ignore, idx) if has_ignore else _pack64(ts, ps, C, lo, shift, idx)
        if flag:
            bad, first = _recheck_block(ts, ps, C, lo, has_ignore, ignore, shift, idx)
            if first_bad < 0 and first >= 0:
                first_bad = np.int64(b0 + first)
            n_bad += bad
        _scatter_four(idx, m, h0, h1, h2, h3, t, p, min(b0 + WIDE_AHEAD, stop - m))
    return n_bad, first_bad


@helper
def _flush_paired(g0, g1, K, CC, out):
    for x in range(K):
        for y in range(K):
            v = np.int64(g0[x * K + y]) + np.int64(g1[x * K + y])
            g0[x * K + y] = 0
            g1[x * K + y] = 0
            if x < CC:
                out[x] += v
            if y < CC:
                out[y] += v


@helper
def _flush_wide(wide, CC, out):
    for k in range(CC):
        out[k] += wide[k]
        wide[k] = 0


def count_pairs(t, p, C, lo, has_ignore, ignore, narrow, out, start, stop):
    """out: (C*C,) int64, C*C < 2**32 - 1; value v is class v - lo. Returns (n_invalid, first_invalid).

    ``ignore`` is a value of ``t``'s dtype (a caller passes ``has_ignore=False`` when the
    ignore index cannot occur in that dtype); ``narrow``: both inputs of at most 32 bits.

    Two loops per block instead of one: a vectorised pass turns pairs into bin indices (for
    the two table strategies packed as ``t << shift | p``), and a scatter adds them up from
    L1 while prefetching a later block. Fused in one loop, the scatter's dependent
    read-modify-writes throttle the streaming loads to half the memory bandwidth. The
    scatter then depends on the number of bins K (bin C*C collects ignored and invalid
    pairs), each strategy only where the range is long enough to repay its tables:
    - one-byte inputs and K*K at most ``PAIRED_BINS``: two pairs per increment, in a table
      of bin pairs, alternating between two tables (measured: up to 1.3x faster where the
      scatter bounds the speed, as for uint8 at C = 5, but 15% slower for wider inputs,
      which the memory stream bounds);
    - K at most ``SPLIT_BINS``: rotating over four histograms, so a run of pairs in one bin
      (the diagonal, a segmentation background) does not wait on its own previous store,
      indexed by the packed pairs (C << shift slots, a few unused), so nothing is unpacked;
    - more: one histogram of 32-bit counters (half the cache footprint);
    - short ranges (small batches): straight into ``out``.
    32-bit counters are flushed into ``out`` before any could overflow.
    """
    n_bad = 0
    first_bad = np.int64(-1)
    CC = C * C
    K = CC + 1
    n = stop - start
    paired = t.itemsize == 1 and p.itemsize == 1 and K * K <= PAIRED_BINS and n >= 4 * K * K
    four = not paired and K <= SPLIT_BINS and n >= 16 * K
    direct = not (paired or four) and n < 4 * K
    packed = paired or four
    shift = 1  # bits for a class index (at least 1, so 0 can mean "not packed")
    while (1 << shift) < C:
        shift += 1
    # four: histograms indexed by the packed pairs; paired: h0 takes an odd block's last pair
    n4 = (C << shift) + 1 if four else (K if paired else 1)
    h0 = np.zeros(n4, dtype=np.int64)
    h1 = np.zeros(n4, dtype=np.int64)
    h2 = np.zeros(n4, dtype=np.int64)
    h3 = np.zeros(n4, dtype=np.int64)
    g0 = np.zeros(K * K if paired else 1, dtype=np.uint32)
    g1 = np.zeros(K * K if paired else 1, dtype=np.uint32)
    wide = np.zeros(1 if packed or direct else K, dtype=np.uint32)
    comb = np.empty(BLOCK // 2, dtype=np.uint32)
    since_flush = 0
    # 64-bit inputs on the four-histogram path: a loop of their own (see ``WIDE_BLOCK``)
    if four and not narrow:
        n_bad, first_bad = _count_four_wide(t, p, C, lo, has_ignore, ignore, shift, h0, h1, h2, h3, start, stop)
        start = stop
    mid = four and max(t.itemsize, p.itemsize) == 4
    step = MID_BLOCK if mid else BLOCK
    lead = MID_AHEAD if mid else PREFETCH_AHEAD * BLOCK
    idx = np.empty(step, dtype=np.uint32)  # sized to the block: measured +3% at int32
    for b0 in range(start, stop, step):
        m = min(step, stop - b0)
        ts = t[b0 : b0 + m]
        ps = p[b0 : b0 + m]
        if packed and has_ignore:  # narrow here: 64-bit packed inputs took the loop above
            flag = _pack32_ignore(ts, ps, C, lo, shift, ignore, idx)
        elif packed:
            flag = _pack32(ts, ps, C, lo, shift, idx)
        elif has_ignore:
            flag = _bins32_ignore(ts, ps, C, lo, ignore, idx) if narrow else _bins64_ignore(ts, ps, C, lo, ignore, idx)
        else:
            flag = _bins32(ts, ps, C, lo, idx) if narrow else _bins64(ts, ps, C, lo, idx)
        if flag:
            bad, first = _recheck_block(ts, ps, C, lo, has_ignore, ignore, shift if packed else 0, idx)
            if first_bad < 0 and first >= 0:
                first_bad = np.int64(b0 + first)
            n_bad += bad
        # the pairs ``lead`` on, or at the end of the range the last block
        ahead = min(b0 + lead, stop - m)
        if paired:
            _scatter_paired(idx, m, C, shift, np.uint32(K), comb, g0, g1, h0, t, p, ahead)
        elif four:
            _scatter_four(idx, m, h0, h1, h2, h3, t, p, ahead)
        elif direct:
            for j in range(m):
                k = idx[j]
                if k < CC:
                    out[k] += 1
        else:
            for j in range(m):
                wide[idx[j]] += np.uint32(1)
        since_flush += m
        if since_flush > 2**32 - 1 - BLOCK:
            if paired:
                _flush_paired(g0, g1, K, CC, out)
            elif not (four or direct):
                _flush_wide(wide, CC, out)
            since_flush = 0
    if paired:
        _flush_paired(g0, g1, K, CC, out)
    elif not (four or direct):
        _flush_wide(wide, CC, out)
    if paired:
        for k in range(CC):
            out[k] += h0[k]
    elif four:
        for a in range(C):
            for b in range(C):
                k = (a << shift) | b
                out[a * C + b] += h0[k] + h1[k] + h2[k] + h3[k]
    return n_bad, first_bad


def count_pairs_weighted(t, p, w, C, lo, has_ignore, ignore, out, start, stop):
    """out: (C*C,) of the accumulator dtype; value v is class v - lo. Non-finite weights are invalid."""
    n_bad = 0
    first_bad = np.int64(-1)
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    for i in range(np.uint64(start), np.uint64(stop)):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        ua = np.uint64(a) - ulo
        ub = np.uint64(np.int64(p[i])) - ulo
        wi = w[i]
        if (ua >= uC) | (ub >= uC) | (wi - wi != 0):
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
        else:
            out[ua * uC + ub] += wi
    return n_bad, first_bad


def count_pairs_rows(t, p, C, lo, has_ignore, ignore, out, row_lo, row_hi):
    """Large-C path: scan every pair, count only true classes in [row_lo, row_hi) (class v - lo).

    Each thread owns a band of rows of the shared matrix, so no private C*C copies are
    needed. Invalid pairs are reported by the band that starts at row 0.
    """
    n_bad = 0
    first_bad = np.int64(-1)
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    first_row = np.uint64(row_lo)
    width = np.uint64(row_hi - row_lo)
    report = row_lo == 0
    for i in range(np.uint64(t.size)):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        ua = np.uint64(a) - ulo
        if ua - first_row < width:
            ub = np.uint64(np.int64(p[i])) - ulo
            if ub >= uC:
                if first_bad < 0:
                    first_bad = np.int64(i)
                n_bad += 1
            else:
                out[ua * uC + ub] += 1
        elif report and ((ua >= uC) | (np.uint64(np.int64(p[i])) - ulo >= uC)):
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


@helper
def _argmax_row(s, i, C, arg, nan, r):
    best = s[i, 0]
    isnan = best != best
    top = np.uint64(0)
    for c in range(np.uint64(1), np.uint64(C)):
        # selects, not branches: random scores would mispredict a branch on every row
        v = s[i, c]
        gt = v > best
        top = c if gt else top
        best = v if gt else best
        isnan |= v != v
    arg[r] = top
    nan[r] = isnan


@helper
def _argmax_4_rows(s, i, C, arg, nan):
    """Argmax of rows i..i+3 side by side: four independent compare-select chains keep the
    core busy where one row's chain would wait on its own previous select."""
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
    nan[0] = n0
    nan[1] = n1
    nan[2] = n2
    nan[3] = n3


def count_score_rows(t, s, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """Fused argmax for the (N, C) layout: rows [start, stop) of ``s``; t is (N, 1)."""
    n_bad = 0
    first_bad = np.int64(-1)
    use_lut = lut.size > 0
    weighted = w.size > 0
    size = np.uint64(lut.size)
    uC = np.uint64(C)
    arg = np.empty(4, dtype=np.uint64)
    nan = np.empty(4, dtype=np.bool_)
    i = start
    while i < stop:
        k = min(4, stop - i)
        if k == 4 and C <= FOUR_ROWS_MAX_C:
            _argmax_4_rows(s, i, C, arg, nan)
        else:
            for r in range(k):
                _argmax_row(s, i + r, C, arg, nan, r)
        for r in range(k):
            row = i + r
            a = np.int64(t[row, 0])
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
            bad = nan[r] | (ua >= uC)
            if weighted:
                wi = w[row]
                bad = bad | (wi - wi != 0)
            if bad:
                if first_bad < 0:
                    first_bad = np.int64(row)
                n_bad += 1
            elif weighted:
                out[ua * uC + arg[r]] += w[row]
            else:
                out[ua * uC + arg[r]] += 1
        i += k
    return n_bad, first_bad
