"""Plain-loop kernels for threshold histograms and tie-grouped score counts (compiled in ``thresholds``).

The binary sweep (1-D scores) runs in blocks of ``BLOCK`` rows: a branch-free loop turns
each (truth, score) pair into a bucket code ``bucket * 2 + truth`` (LLVM vectorizes it),
then a scalar loop adds the codes into several interleaved copies of the histogram, so
that consecutive increments of one bucket do not wait on each other. Codes stay in L1.
"""

import numba
import numpy as np

from ._jit import cache_enabled


def helper(fn):
    """A loop called from the kernels below: compiled on its caller's first use, inlined."""
    return numba.njit(nogil=True, cache=cache_enabled(), error_model="numpy")(fn)


#: rows per block: codes (4 bytes each) and the scores they come from stay in L1
BLOCK = 1024


@helper
def count_at_most(thr, x):
    """``searchsorted(thr, x, side="right")``: how many sorted thresholds are ``<= x``.

    Branch-free (Khuong and Morin): the number of steps depends on ``T`` alone and the
    comparison only picks the next base. The base is kept as a float so the pick is a
    blend: LLVM's x86 backend turns an integer select on a loop's critical path back into a
    branch, which mispredicts half of the steps (3x slower). NaN compares false everywhere
    and lands in bucket 0.
    """
    n = thr.shape[0]
    base = 0.0
    while n > 1:
        half = n >> 1
        base += np.float64(half) if thr[np.uint64(base) + np.uint64(half)] <= x else 0.0
        n -= half
    return np.int64(base) + np.int64(thr[np.uint64(base)] <= x)


@helper
def linspace_codes(t, s, lo, hi, step, inv_step, T, codes):
    """Codes of one block for ``thr[j] = j * step + lo`` (j < T - 1), ``thr[T - 1] = hi``.

    That is exactly how ``np.linspace(lo, hi, T)`` computes its values, so comparing with
    ``j * step + lo`` is comparing with the threshold itself. The guess, biased down by half
    a step, is the bucket or the one below it (the arithmetic errors are far below half a
    step, checked by the caller), so one comparison with the next threshold settles it:
    the result equals ``searchsorted(thr, x, "right")`` for every float.

    Invalid pairs (non-finite score, truth not 0/1) get the code ``(T + 1) * 2`` (a spare
    bucket past the last one); returns how many there were.
    """
    top = np.float64(T - 2)
    last = np.float64(T - 1)
    trash = np.uint32((T + 1) * 2)
    n_bad = np.uint32(0)
    for i in range(s.shape[0]):
        x = np.float64(s[i])
        tv = t[i]
        u = (x - lo) * inv_step - 0.5
        # clamp written as selects so NaN lands on -1, not on an undefined conversion
        u = u if u > -1.0 else -1.0
        u = u if u < top else top
        nx = np.floor(u) + 1.0  # in [0, T - 1]: the index of the next threshold
        t_next = nx * step + lo
        t_next = hi if nx == last else t_next
        code = (np.uint32(nx) + np.uint32(t_next <= x)) * np.uint32(2) + np.uint32(tv == 1)
        bad = (x - x != 0) | ((tv != 0) & (tv != 1))
        n_bad += np.uint32(bad)
        codes[i] = trash if bad else code
    return n_bad


@helper
def search_codes(t, s, thr, codes):
    """Codes of one block for any sorted thresholds, by a branch-free binary search."""
    T = thr.shape[0]
    trash = np.uint32((T + 1) * 2)
    n_bad = np.uint32(0)
    for i in range(s.shape[0]):
        x = np.float64(s[i])
        tv = t[i]
        code = np.uint32(count_at_most(thr, x)) * np.uint32(2) + np.uint32(tv == 1)
        bad = (x - x != 0) | ((tv != 0) & (tv != 1))
        n_bad += np.uint32(bad)
        codes[i] = trash if bad else code
    return n_bad


def binary_hist(t, s, w, thr, linspace, lo, hi, step, inv_step, copies, out, start, stop):
    """Rows [start, stop) of 1-D ``s`` into ``out``: ``copies`` histograms of ``(T + 2) * 2``.

    ``out[c * (T + 2) * 2 + b * 2 + y]``: bucket ``b`` (thresholds ``<=`` the score), truth
    ``y``; bucket ``T + 1`` collects invalid rows. The caller sums the copies and drops the
    spare bucket. Returns ``(n_invalid, first_invalid_row)``, -1 when none.
    """
    T = thr.shape[0]
    width = (T + 2) * 2
    trash = (T + 1) * 2
    weighted = w.size > 0
    codes = np.empty(BLOCK, dtype=np.uint32)
    n_bad = 0
    first_bad = np.int64(-1)
    for a in range(start, stop, BLOCK):
        b = min(a + BLOCK, stop)
        m = b - a
        if linspace:
            nb = linspace_codes(t[a:b], s[a:b], lo, hi, step, inv_step, T, codes)
        else:
            nb = search_codes(t[a:b], s[a:b], thr, codes)
        if weighted:
            for j in range(m):
                c = codes[j]
                wj = w[a + j]
                if c == trash or wj - wj != 0:
                    if first_bad < 0:
                        first_bad = np.int64(a + j)
                    n_bad += 1
                    continue
                out[c] += wj
            continue
        if nb:
            n_bad += nb
            if first_bad < 0:
                for j in range(m):
                    if codes[j] == trash:
                        first_bad = np.int64(a + j)
                        break
        if copies == 4:
            m4 = m - m % 4
            for j in range(0, m4, 4):
                out[codes[j]] += 1
                out[width + codes[j + 1]] += 1
                out[2 * width + codes[j + 2]] += 1
                out[3 * width + codes[j + 3]] += 1
            for j in range(m4, m):
                out[codes[j]] += 1
        else:
            for j in range(m):
                out[codes[j]] += 1
    return n_bad, first_bad


def threshold_hist(t, s, w, thr, uniform, lo, inv_step, ovr, out, start, stop):
    """Rows [start, stop) of ``s`` (N, K) into ``out`` (K * (T + 1) * 2,) by threshold bucket.

    ``t`` is (N, K) 0/1 indicators, or (N, 1) class indices with ``ovr``. With ``uniform``
    the thresholds are (close to) ``lo + j / inv_step``: the bucket is guessed by arithmetic
    and then corrected against ``thr`` itself, so the result equals the binary search.
    """
    n_bad = 0
    first_bad = np.int64(-1)
    T = thr.shape[0]
    K = s.shape[1]
    weighted = w.size > 0
    hi = thr[T - 1]
    for i in range(start, stop):
        row_bad = False
        if weighted:
            wi = w[i]
            row_bad = wi - wi != 0
        cls = np.int64(-1)
        if ovr:
            cls = np.int64(t[i, 0])
            row_bad |= (cls < 0) | (cls >= K) | (t[i, 0] != cls)
        for k in range(K):
            x = np.float64(s[i, k])
            if ovr:
                y = np.int64(cls == k)
                bad = row_bad | (x - x != 0)
            else:
                tv = t[i, k]
                y = np.int64(tv == 1)
                bad = row_bad | (x - x != 0) | ((tv != 0) & (tv != 1))
            if bad:
                if first_bad < 0:
                    first_bad = np.int64(i) * K + k
                n_bad += 1
                continue
            if uniform:
                if x < lo:
                    b = 0
                elif x >= hi:
                    b = T
                else:
                    b = np.int64((x - lo) * inv_step) + 1
                    b = min(max(b, 1), T - 1)
                    # thr[0] <= x < thr[T-1], so both loops stay inside the array
                    while thr[b - 1] > x:
                        b -= 1
                    while thr[b] <= x:
                        b += 1
            else:
                b = count_at_most(thr, x)
            idx = (k * (T + 1) + b) * 2 + y
            if weighted:
                out[idx] += w[i]
            else:
                out[idx] += 1
    return n_bad, first_bad


def split_scores(t, s, w, positive, use_positive, pos, neg, wpos, wneg):
    """Copy valid scores (and weights) into ``pos`` / ``neg`` by truth; zero weights are left out.

    Returns (n_pos, n_neg, n_bad, first_bad). With empty ``pos`` the call only counts.
    """
    n_bad = 0
    first_bad = np.int64(-1)
    weighted = w.size > 0
    fill = pos.size + neg.size > 0
    n_pos = 0
    n_neg = 0
    for i in range(s.shape[0]):
        x = s[i]
        tv = t[i]
        bad = x - x != 0
        if use_positive:
            is_pos = tv == positive
        else:
            is_pos = tv == 1
            bad |= (tv != 0) & (tv != 1)
        if weighted:
            wi = w[i]
            bad |= wi - wi != 0
        if bad:
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
            continue
        if weighted and w[i] == 0:
            continue
        if is_pos:
            if fill:
                pos[n_pos] = x + 0.0  # + 0.0: -0.0 becomes 0.0
                if weighted:
                    wpos[n_pos] = w[i]
            n_pos += 1
        else:
            if fill:
                neg[n_neg] = x + 0.0
                if weighted:
                    wneg[n_neg] = w[i]
            n_neg += 1
    return n_pos, n_neg, n_bad, first_bad


def merge_groups(pos, neg, wpos, wneg, fps, tps, thr):
    """Walk ascending-sorted ``pos`` and ``neg`` from the top, one output row per distinct score.

    Returns the number of rows written.
    """
    weighted = wpos.size + wneg.size > 0
    i = pos.shape[0] - 1
    j = neg.shape[0] - 1
    tp = 0.0
    fp = 0.0
    d = 0
    while i >= 0 or j >= 0:
        if i < 0:
            v = np.float64(neg[j])
        elif j < 0:
            v = np.float64(pos[i])
        else:
            v = max(np.float64(pos[i]), np.float64(neg[j]))
        while i >= 0 and np.float64(pos[i]) == v:
            tp += wpos[i] if weighted else 1.0
            i -= 1
        while j >= 0 and np.float64(neg[j]) == v:
            fp += wneg[j] if weighted else 1.0
            j -= 1
        fps[d] = fp
        tps[d] = tp
        thr[d] = v
        d += 1
    return d
