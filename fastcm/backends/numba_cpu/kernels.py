"""Plain-loop kernels for the numba backend.

Only loops live here: ``_jit.py`` compiles them (nogil, disk cache, one specialisation per
input dtype) and ``counting.py`` splits work over threads. Every kernel works on the range
``[start, stop)`` of its input, adds into a private ``out`` it is given, never raises and
never writes out of bounds: invalid positions are counted and the first one is returned.
"""

import numpy as np

from ._jit import helper
from ._prefetch import prefetch
from .argmax import BLOCK_COLS, argmax_4_rows, argmax_row

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
#: from this many classes (N, C) scores are counted by ``count_score_rows_wide``, the block
#: argmax (``argmax.BLOCK_COLS``; figures in docs/performance.md: below about 100 classes
#: the row-at-a-time argmax is as fast or faster)
WIDE_MIN_C = 128
#: the bits of float16's infinity (``count_score_rows_bits``: a larger magnitude is NaN)
FLOAT16_INF_BITS = 0x7C00
#: the bits of bfloat16's infinity
BFLOAT16_INF_BITS = 0x7F80
#: scatter strategies by number of bins (see ``count_pairs``): the paired path's tables
#: have K*K uint16 counters (32 KiB at most), the four-histogram path's K
PAIRED_BINS = 16384
SPLIT_BINS = 4096
#: pairs per block on the paired path, and pairs prefetched ahead of the block scattered
#: (measured at C = 10, N = 10^8, int32, 2 threads, against blocks of 1024 and 2048 pairs
#: and distances of 768, 1536 and 2048 pairs: 1-7 points of the memory floor higher in the
#: same processes; larger blocks run faster in cache but crowd L1 when streaming)
PAIRED_BLOCK = 512
PAIRED_AHEAD = 1024
#: the paired path checks every this many blocks whether neighbouring bin pairs repeat
PAIRED_CHECK = 16
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


# The paired path: two pairs per increment. A block's pair j and pair half + j form one bin
# of a K*K table of uint16 counters, built in the streaming pass, so the scatter does half
# the read-modify-writes of the four-histogram path (measured in one core's cache: 2.5-2.8
# against 1.9-2.0 G pairs/s at int32, C = 10). One table keeps the cache footprint small;
# blocks whose bin pairs repeat (a dominant class) spread over four tables, so that a run
# of one bin does not wait on its own previous store (measured at 90% of the pairs in one
# bin: 96% of the memory floor spread, 51-57% in one table).


@helper
def _pair_codes(ts, ps, C, lo, K, comb):
    """``comb[j] = code(j) * K + code(half + j)``, ``code = (t-lo)*C + (p-lo)`` in 32-bit
    arithmetic, over the first 2 * half pairs (half = comb.size); True when any is invalid."""
    uC = np.uint32(C)
    ulo = np.uint32(lo)
    uK = np.uint32(K)
    half = comb.size
    top_a = np.uint32(0)
    top_b = np.uint32(0)
    for j in range(np.uint64(half)):
        a0 = np.uint32(np.uint32(ts[j]) - ulo)
        b0 = np.uint32(np.uint32(ps[j]) - ulo)
        a1 = np.uint32(np.uint32(ts[half + j]) - ulo)
        b1 = np.uint32(np.uint32(ps[half + j]) - ulo)
        top_a = max(top_a, max(a0, a1))
        top_b = max(top_b, max(b0, b1))
        comb[j] = np.uint32(np.uint32(a0 * uC + b0) * uK) + np.uint32(a1 * uC + b1)
    return (top_a >= uC) | (top_b >= uC)


@helper
def _pair_codes_ignore(ts, ps, C, lo, K, ignore, comb):
    """``_pair_codes`` sending pairs whose true label is ``ignore`` to code C*C, the discard."""
    uC = np.uint32(C)
    ulo = np.uint32(lo)
    uK = np.uint32(K)
    zero = np.uint32(0)
    discard = uC * uC
    half = comb.size
    top_a = zero
    top_b = zero
    for j in range(np.uint64(half)):
        a0 = np.uint32(np.uint32(ts[j]) - ulo)
        b0 = np.uint32(np.uint32(ps[j]) - ulo)
        a1 = np.uint32(np.uint32(ts[half + j]) - ulo)
        b1 = np.uint32(np.uint32(ps[half + j]) - ulo)
        skip0 = ts[j] == ignore
        skip1 = ts[half + j] == ignore
        top_a = max(top_a, max(zero if skip0 else a0, zero if skip1 else a1))
        top_b = max(top_b, max(zero if skip0 else b0, zero if skip1 else b1))
        c0 = discard if skip0 else np.uint32(a0 * uC + b0)
        c1 = discard if skip1 else np.uint32(a1 * uC + b1)
        comb[j] = np.uint32(c0 * uK) + c1
    return (top_a >= uC) | (top_b >= uC)


@helper
def _pair_rechecked(idx, K, comb):
    """``comb`` from the codes ``_recheck_block`` wrote to ``idx`` (invalid pairs discarded)."""
    half = comb.size
    uK = np.uint32(K)
    for j in range(half):
        comb[j] = np.uint32(idx[j]) * uK + np.uint32(idx[half + j])


@helper
def _repeats(comb):
    """How many neighbouring entries of ``comb`` are equal (vectorised)."""
    n = np.uint32(0)
    for j in range(np.uint64(1), np.uint64(comb.size)):
        n += np.uint32(comb[j - 1] == comb[j])
    return n


@helper
def _table_max(g):
    """The largest counter of a uint16 table (vectorised)."""
    m = np.uint16(0)
    for j in range(np.uint64(g.size)):
        m = max(m, g[j])
    return np.int64(m)


@helper
def _flush_pairs(g, K, CC, out):
    """Add a table of bin pairs (x, y) to ``out[x]`` and ``out[y]`` (the discard, CC, to
    neither), then zero it: row sums, then column sums, both along memory."""
    for x in range(CC):
        r = np.int64(0)
        for y in range(K):
            r += np.int64(g[x * K + y])
        out[x] += r
    for x in range(K):
        for y in range(CC):
            out[y] += np.int64(g[x * K + y])
    g[:] = 0


def count_paired(t, p, C, lo, has_ignore, ignore, out, start, stop):
    """The paired path for inputs of at most 32 bits, in ``PAIRED_BLOCK``-pair blocks."""
    n_bad = 0
    first_bad = np.int64(-1)
    CC = C * C
    K = CC + 1
    g0 = np.zeros(K * K, dtype=np.uint16)
    g1 = np.zeros(K * K, dtype=np.uint16)
    g2 = np.zeros(K * K, dtype=np.uint16)
    g3 = np.zeros(K * K, dtype=np.uint16)
    idx = np.empty(PAIRED_BLOCK, dtype=np.uint32)
    # bin pairs kept in 32 bits: narrowing them cost the pass more than the wider buffer
    # costs the scatter (measured in one core's cache: -5% time a pair)
    comb_buf = np.empty(PAIRED_BLOCK // 2, dtype=np.uint32)
    # a bound on g0's largest counter, and the increments of each of g1..g3 since their flush
    in0 = 0
    in4 = 0
    spread = False
    block = 0
    # iterations between prefetch hints: a cache line of the wider input
    line = 64 // max(t.itemsize, p.itemsize)
    every8 = line // 8 - 1
    every16 = line // 16 - 1
    for b0 in range(start, stop, PAIRED_BLOCK):
        m = min(PAIRED_BLOCK, stop - b0)
        half = m >> 1
        ts = t[b0 : b0 + 2 * half]
        ps = p[b0 : b0 + 2 * half]
        comb = comb_buf[:half]
        if has_ignore:
            flag = _pair_codes_ignore(ts, ps, C, lo, K, ignore, comb)
        elif lo == 0:  # the usual labels: a constant 0 lets LLVM drop the subtractions (-5% time a pair)
            flag = _pair_codes(ts, ps, C, 0, K, comb)
        else:
            flag = _pair_codes(ts, ps, C, lo, K, comb)
        if flag:
            bad, first = _recheck_block(ts, ps, C, lo, has_ignore, ignore, 0, idx)
            if first_bad < 0 and first >= 0:
                first_bad = np.int64(b0 + first)
            n_bad += bad
            _pair_rechecked(idx, K, comb)
        if block % PAIRED_CHECK == 0:
            spread = _repeats(comb) * 16 > half
        block += 1
        # The scatters, written out here: as called helpers they measured 8 points of the
        # memory floor lower. Each prefetches the block ``PAIRED_AHEAD`` on, one hint per
        # cache line of each input.
        ahead = min(b0 + PAIRED_AHEAD, stop - m)
        if spread:
            q = half >> 2
            for j in range(q):  # eight input pairs an iteration
                g0[comb_buf[4 * j]] += np.uint16(1)
                g1[comb_buf[4 * j + 1]] += np.uint16(1)
                g2[comb_buf[4 * j + 2]] += np.uint16(1)
                g3[comb_buf[4 * j + 3]] += np.uint16(1)
                if (j & every8) == 0:
                    prefetch(t, ahead + 8 * j)
                    prefetch(p, ahead + 8 * j)
            for j in range(4 * q, half):
                g0[comb_buf[j]] += np.uint16(1)
            in0 += q + 3
            in4 += q + 1
        else:
            for j in range(half >> 3):  # sixteen input pairs an iteration
                k = 8 * j
                g0[comb_buf[k]] += np.uint16(1)
                g0[comb_buf[k + 1]] += np.uint16(1)
                g0[comb_buf[k + 2]] += np.uint16(1)
                g0[comb_buf[k + 3]] += np.uint16(1)
                g0[comb_buf[k + 4]] += np.uint16(1)
                g0[comb_buf[k + 5]] += np.uint16(1)
                g0[comb_buf[k + 6]] += np.uint16(1)
                g0[comb_buf[k + 7]] += np.uint16(1)
                if (j & every16) == 0:
                    prefetch(t, ahead + 16 * j)
                    prefetch(p, ahead + 16 * j)
            for j in range(8 * (half >> 3), half):
                g0[comb_buf[j]] += np.uint16(1)
            in0 += half
        if m & 1:  # the range's last pair, unpaired
            bad, first = _recheck_block(t[stop - 1 : stop], p[stop - 1 : stop], C, lo, has_ignore, ignore, 0, idx)
            if bad:
                if first_bad < 0:
                    first_bad = np.int64(stop - 1)
                n_bad += bad
            elif idx[0] < CC:
                out[idx[0]] += 1
        # flush before a block could take a counter past 65535. For g0 the bound is first
        # tightened to its largest counter, one vectorised scan: data spread over many bins
        # then flushes rarely (measured in one core's cache: -4% time a pair). Flushing
        # above 3/4 of the range keeps the scans at least 16 K increments apart.
        if in0 > 65535 - PAIRED_BLOCK:
            in0 = _table_max(g0)
            if in0 > 49152:
                _flush_pairs(g0, K, CC, out)
                in0 = 0
        if in4 > 65535 - PAIRED_BLOCK:
            _flush_pairs(g1, K, CC, out)
            _flush_pairs(g2, K, CC, out)
            _flush_pairs(g3, K, CC, out)
            in4 = 0
    _flush_pairs(g0, K, CC, out)
    if in4 > 0:  # g1..g3 took increments since their last flush
        _flush_pairs(g1, K, CC, out)
        _flush_pairs(g2, K, CC, out)
        _flush_pairs(g3, K, CC, out)
    return n_bad, first_bad


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
def _flush_wide(wide, CC, out):
    for k in range(CC):
        out[k] += wide[k]
        wide[k] = 0


def count_plain(t, p, C, lo, has_ignore, ignore, out, start, stop):
    """One pair at a time, straight into ``out`` (C*C,) int64: (n_invalid, first_invalid).

    Value v is class v - lo; ``ignore`` is a value of ``t``'s dtype (``has_ignore=False``
    when it cannot occur there). The first tier: it compiles in a fraction of a second and
    serves small ranges, and large ones until a tuned strategy below is compiled.
    """
    n_bad = 0
    first_bad = np.int64(-1)
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    for i in range(np.uint64(start), np.uint64(stop)):
        if has_ignore and t[i] == ignore:
            continue
        a = np.uint64(np.int64(t[i])) - ulo
        b = np.uint64(np.int64(p[i])) - ulo
        if (a >= uC) | (b >= uC):
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
        else:
            out[a * uC + b] += 1
    return n_bad, first_bad


# The tuned strategies below run two loops per block instead of one: a vectorised pass
# turns pairs into bin indices, and a scatter adds them up from L1 while prefetching a
# later block. Fused in one loop, the scatter's dependent read-modify-writes throttle the
# streaming loads to half the memory bandwidth. Which strategy pays depends on the number
# of bins K = C*C + 1 (bin C*C collects ignored and invalid pairs), the inputs' width and
# the range's length; ``strategy.choose`` decides, in Python, so each compiles alone:
# - ``count_paired``, inputs of at most 32 bits and K*K at most ``PAIRED_BINS``: two pairs
#   per increment, in tables of bin pairs (measured at C = 10, N = 10^8, 2 threads: int32
#   3.8 G/s, 85-94% of the memory floor, against 67-77% on the four-histogram path;
#   uint8 4.7 against 3.0-3.3 G/s);
# - ``count_four32`` / ``count_four64``, K at most ``SPLIT_BINS``: rotating over four
#   histograms, so a run of pairs in one bin (the diagonal, a segmentation background) does
#   not wait on its own previous store, indexed by pairs packed as ``t << shift | p``
#   (C << shift slots, a few unused), so nothing is unpacked;
# - ``count_binned``, more bins: one histogram of 32-bit counters (half the cache
#   footprint), flushed into ``out`` before any counter could overflow.
# Every one takes ``(t, p, C, lo, has_ignore, ignore, out, start, stop)`` as
# ``count_plain`` does and returns the same (n_invalid, first_invalid).


@helper
def _shift_for(C):
    """Bits for a class index (at least 1, so 0 can mean "not packed")."""
    shift = 1
    while (1 << shift) < C:
        shift += 1
    return shift


@helper
def _four_tables(C):
    """The packing shift and four zeroed histograms of packed pairs (C << shift slots + the discard)."""
    shift = _shift_for(C)
    n4 = (C << shift) + 1
    return shift, np.zeros(n4, dtype=np.int64), np.zeros(n4, dtype=np.int64), np.zeros(n4, dtype=np.int64), np.zeros(n4, dtype=np.int64)


@helper
def _fold_four(h0, h1, h2, h3, C, shift, out):
    for a in range(C):
        for b in range(C):
            k = (a << shift) | b
            out[a * C + b] += h0[k] + h1[k] + h2[k] + h3[k]


def count_four64(t, p, C, lo, has_ignore, ignore, out, start, stop):
    """The four-histogram path for 64-bit inputs, in ``WIDE_BLOCK``-pair blocks."""
    shift, h0, h1, h2, h3 = _four_tables(C)
    n_bad, first_bad = _count_four_wide(t, p, C, lo, has_ignore, ignore, shift, h0, h1, h2, h3, start, stop)
    _fold_four(h0, h1, h2, h3, C, shift, out)
    return n_bad, first_bad


def count_four32(t, p, C, lo, has_ignore, ignore, out, start, stop):
    """The four-histogram path for inputs of at most 32 bits (32-bit arithmetic keeps every
    value apart: see ``strategy.narrow``), in ``MID_BLOCK``- or ``BLOCK``-pair blocks."""
    n_bad = 0
    first_bad = np.int64(-1)
    shift, h0, h1, h2, h3 = _four_tables(C)
    mid = max(t.itemsize, p.itemsize) == 4
    step = MID_BLOCK if mid else BLOCK
    lead = MID_AHEAD if mid else PREFETCH_AHEAD * BLOCK
    idx = np.empty(step, dtype=np.uint32)  # sized to the block: measured +3% at int32
    for b0 in range(start, stop, step):
        m = min(step, stop - b0)
        ts = t[b0 : b0 + m]
        ps = p[b0 : b0 + m]
        if has_ignore:
            flag = _pack32_ignore(ts, ps, C, lo, shift, ignore, idx)
        else:
            flag = _pack32(ts, ps, C, lo, shift, idx)
        if flag:
            bad, first = _recheck_block(ts, ps, C, lo, has_ignore, ignore, shift, idx)
            if first_bad < 0 and first >= 0:
                first_bad = np.int64(b0 + first)
            n_bad += bad
        # the pairs ``lead`` on, or at the end of the range the last block
        _scatter_four(idx, m, h0, h1, h2, h3, t, p, min(b0 + lead, stop - m))
    _fold_four(h0, h1, h2, h3, C, shift, out)
    return n_bad, first_bad


def count_binned(t, p, C, lo, has_ignore, ignore, out, start, stop):
    """Many bins: one histogram of 32-bit counters."""
    n_bad = 0
    first_bad = np.int64(-1)
    CC = C * C
    wide = np.zeros(CC + 1, dtype=np.uint32)
    since_flush = 0
    idx = np.empty(BLOCK, dtype=np.uint32)
    for b0 in range(start, stop, BLOCK):
        m = min(BLOCK, stop - b0)
        ts = t[b0 : b0 + m]
        ps = p[b0 : b0 + m]
        # inputs of at most 32 bits reach this kernel only where 32-bit arithmetic keeps
        # every value apart (``strategy.narrow``; other ones are counted as int64)
        if t.itemsize <= 4 and has_ignore:
            flag = _bins32_ignore(ts, ps, C, lo, ignore, idx)
        elif t.itemsize <= 4:
            flag = _bins32(ts, ps, C, lo, idx)
        elif has_ignore:
            flag = _bins64_ignore(ts, ps, C, lo, ignore, idx)
        else:
            flag = _bins64(ts, ps, C, lo, idx)
        if flag:
            bad, first = _recheck_block(ts, ps, C, lo, has_ignore, ignore, 0, idx)
            if first_bad < 0 and first >= 0:
                first_bad = np.int64(b0 + first)
            n_bad += bad
        for j in range(m):
            wide[idx[j]] += np.uint32(1)
        since_flush += m
        if since_flush > 2**32 - 1 - BLOCK:
            _flush_wide(wide, CC, out)
            since_flush = 0
    _flush_wide(wide, CC, out)
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
                if report:  # the band at row 0 reports every invalid pair, once
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


def count_score_rows(t, s, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """Fused argmax for the (N, C) layout: rows [start, stop) of ``s``; t is (N, 1)."""
    n_bad = 0
    first_bad = np.int64(-1)
    use_lut = lut.size > 0
    weighted = w.size > 0
    size = np.uint64(lut.size)
    uC = np.uint64(C)
    arg = np.empty(4, dtype=np.uint64)
    top = np.empty(4, dtype=np.float64)  # the maxima, unused here
    nan = np.empty(4, dtype=np.bool_)
    i = start
    while i < stop:
        k = min(4, stop - i)
        if k == 4 and C <= FOUR_ROWS_MAX_C:
            argmax_4_rows(s, i, C, arg, top, nan)
        else:
            for r in range(k):
                argmax_row(s, i + r, C, r, arg, top, nan)
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


def count_score_rows_wide(t, s, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """:func:`count_score_rows` by the block argmax (``argmax.BLOCK_COLS``), for
    ``C >= WIDE_MIN_C``: a compiled entry of its own, so that a first call at small C does
    not compile it.

    A row's label is looked at first (a row not counted is not read). The cell a row adds
    to is prefetched and added one row later: at many classes the (C, C) matrix is larger
    than the cache, and the miss then overlaps the next row's argmax instead of stalling.
    """
    n_bad = 0
    first_bad = np.int64(-1)
    weighted = w.size > 0
    use_lut = lut.size > 0
    size = np.uint64(lut.size)
    uC = np.uint64(C)
    # the block width as a runtime value, not the constant: see ``argmax.BLOCK_COLS``
    width = np.uint64(BLOCK_COLS) + (uC >> np.uint64(62))
    full = uC - uC % width
    pending = np.uint64(0)
    pending_row = np.uint64(0)
    has_pending = False
    for row in range(np.uint64(start), np.uint64(stop)):
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
        bad = np.uint64(a) >= uC
        arg = np.uint64(0)
        if not bad:
            # the block argmax (``argmax.BLOCK_COLS``)
            r = s[row]
            best = r[0]
            for c in range(np.uint64(0), full, width):
                hit = np.uint32(0)
                for j in range(c, c + width):
                    v = r[j]
                    hit |= np.uint32(v > best) | np.uint32(v != v)
                if hit:
                    for j in range(c, c + width):
                        v = r[j]
                        bad |= v != v
                        if v > best:
                            best = v
                            arg = j
                    if bad:
                        break
            if not bad:
                for j in range(full, uC):
                    v = r[j]
                    bad |= v != v
                    if v > best:
                        best = v
                        arg = j
        if weighted:
            wi = w[row]
            bad = bad | (wi - wi != 0)
        if bad:
            if first_bad < 0:
                first_bad = np.int64(row)
            n_bad += 1
            continue
        if has_pending:
            if weighted:
                out[pending] += w[pending_row]
            else:
                out[pending] += 1
        pending = np.uint64(a) * uC + arg
        pending_row = row
        has_pending = True
        prefetch(out, pending)
    if has_pending:
        if weighted:
            out[pending] += w[pending_row]
        else:
            out[pending] += 1
    return n_bad, first_bad


def count_score_rows_bits(t, s, inf_bits, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """:func:`count_score_rows_wide` of 16-bit float scores given as their int16 bits
    (float16: ``inf_bits`` 0x7C00; bfloat16: 0x7F80), for every C: no float32 copy of the
    scores is made.

    numba has no 16-bit float arithmetic, so the bits are compared as integers: with the
    sign bit turned into two's complement (a negative value of magnitude m becomes -m; -0
    and +0 both 0), integer order is float order for every value but NaN, whose magnitude
    is above infinity's. Each step is wrapped in int32: numba widens integer arithmetic to int64,
    which halves the SIMD lanes (measured 1.5-2x slower).

    Its row loop, deferred count and invalid handling are :func:`count_score_rows_wide`'s,
    written again rather than shared: a helper taking the row is not inlined and costs a call
    per row, and the float kernel would pay for the bit transform (docs/performance.md).
    """
    n_bad = 0
    first_bad = np.int64(-1)
    weighted = w.size > 0
    use_lut = lut.size > 0
    size = np.uint64(lut.size)
    uC = np.uint64(C)
    width = np.uint64(BLOCK_COLS) + (uC >> np.uint64(62))
    full = uC - uC % width
    mag_mask = np.int32(0x7FFF)
    inf = np.int32(inf_bits)
    sign = np.int32(31)
    pending = np.uint64(0)
    pending_row = np.uint64(0)
    has_pending = False
    for row in range(np.uint64(start), np.uint64(stop)):
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
        bad = np.uint64(a) >= uC
        arg = np.uint64(0)
        if not bad:
            r = s[row]
            x = np.int32(r[0])
            m = np.int32(x & mag_mask)
            sg = np.int32(x >> sign)
            best = np.int32(np.int32(m ^ sg) - sg)
            for c in range(np.uint64(0), full, width):
                hit = np.int32(0)
                for j in range(c, c + width):
                    x = np.int32(r[j])
                    m = np.int32(x & mag_mask)
                    sg = np.int32(x >> sign)
                    hit |= np.int32(np.int32(np.int32(m ^ sg) - sg) > best) | np.int32(m > inf)
                if hit:
                    for j in range(c, c + width):
                        x = np.int32(r[j])
                        m = np.int32(x & mag_mask)
                        sg = np.int32(x >> sign)
                        k = np.int32(np.int32(m ^ sg) - sg)
                        bad |= m > inf
                        if k > best:
                            best = k
                            arg = j
                    if bad:
                        break
            if not bad:
                for j in range(full, uC):
                    x = np.int32(r[j])
                    m = np.int32(x & mag_mask)
                    sg = np.int32(x >> sign)
                    k = np.int32(np.int32(m ^ sg) - sg)
                    bad |= m > inf
                    if k > best:
                        best = k
                        arg = j
        if weighted:
            wi = w[row]
            bad = bad | (wi - wi != 0)
        if bad:
            if first_bad < 0:
                first_bad = np.int64(row)
            n_bad += 1
            continue
        if has_pending:
            if weighted:
                out[pending] += w[pending_row]
            else:
                out[pending] += 1
        pending = np.uint64(a) * uC + arg
        pending_row = row
        has_pending = True
        prefetch(out, pending)
    if has_pending:
        if weighted:
            out[pending] += w[pending_row]
        else:
            out[pending] += 1
    return n_bad, first_bad


def pair_codes(t, p, lut, lo, C, has_ignore, ignore, codes):
    """The cell ``a * C + b`` of every counted pair, in input order, into ``codes[:n_kept]``.

    For streaming at many classes: a batch becomes the list of cells it touches, not a
    (C, C) matrix. Values map as in :func:`count_lut` when ``lut`` is non-empty (unmapped
    values drop the pair), else value v is class v - lo and a value outside is invalid.
    Returns (n_kept, n_invalid, first_invalid).
    """
    n_kept = 0
    n_bad = 0
    first_bad = np.int64(-1)
    use_lut = lut.size > 0
    size = np.uint64(lut.size)
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    for i in range(np.uint64(t.size)):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        ua = np.uint64(a) - ulo
        ub = np.uint64(np.int64(p[i])) - ulo
        if use_lut:
            if (ua >= size) | (ub >= size):
                continue
            ia = lut[ua]
            ib = lut[ub]
            if (ia < 0) | (ib < 0):
                continue
            ua = np.uint64(ia)
            ub = np.uint64(ib)
        elif (ua >= uC) | (ub >= uC):
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
            continue
        codes[n_kept] = np.int64(ua * uC + ub)
        n_kept += 1
    return n_kept, n_bad, first_bad


def class_counts(t, p, w, lut, lo, C, has_ignore, ignore, out, start, stop):
    """Per-class counts of the pairs in [start, stop), without a (C, C) matrix.

    ``out`` (3*C,): ``out[a]`` pairs of true class a, ``out[C + b]`` of predicted class b,
    ``out[2*C + a]`` correct ones (a == b); weighted by ``w`` when it is non-empty. Values map
    through ``lut`` as in :func:`count_lut` when it is non-empty, else as in
    :func:`count_pairs_weighted` (value v is class v - lo, a value outside is invalid).
    """
    n_bad = 0
    first_bad = np.int64(-1)
    use_lut = lut.size > 0
    weighted = w.size > 0
    size = np.uint64(lut.size)
    uC = np.uint64(C)
    ulo = np.uint64(lo)
    for i in range(np.uint64(start), np.uint64(stop)):
        a = np.int64(t[i])
        if has_ignore and a == ignore:
            continue
        ua = np.uint64(a) - ulo
        ub = np.uint64(np.int64(p[i])) - ulo
        bad = False
        if use_lut:
            if (ua >= size) | (ub >= size):
                continue
            ia = lut[ua]
            ib = lut[ub]
            if (ia < 0) | (ib < 0):
                continue
            ua = np.uint64(ia)
            ub = np.uint64(ib)
        else:
            bad = (ua >= uC) | (ub >= uC)
        if weighted:
            wi = w[i]
            bad = bad | (wi - wi != 0)
        if bad:
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
            continue
        if weighted:
            out[ua] += w[i]
            out[uC + ub] += w[i]
            if ua == ub:
                out[uC + uC + ua] += w[i]
        else:
            out[ua] += 1
            out[uC + ub] += 1
            if ua == ub:
                out[uC + uC + ua] += 1
    return n_bad, first_bad
