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
def linspace_codes(t, s, lo, hi, step, inv_step, bias, T, codes):
    """Codes of one block for ``thr[j] = j * step + lo`` (j < T - 1), ``thr[T - 1] = hi``.

    That is exactly how ``np.linspace(lo, hi, T)`` computes its values, so comparing with
    ``j * step + lo`` is comparing with the threshold itself. The guess ``x / step - bias``
    (``bias = lo / step + 1/2``) is biased down by half a step: it is the bucket or the one
    below it (the arithmetic errors are far below half a step, checked by the caller), so
    one comparison with the next threshold settles it: the result equals
    ``searchsorted(thr, x, "right")`` for every float.

    Invalid pairs (non-finite score, truth not 0/1) get the code ``(T + 1) * 2`` (a spare
    bucket past the last one); returns whether there were any.
    """
    top = np.float64(T - 2)
    last = np.float64(T - 1)
    trash = np.uint32((T + 1) * 2)
    any_bad = False
    for i in range(s.shape[0]):
        x = np.float64(s[i])
        tv = t[i]
        u = x * inv_step - bias
        # clamp written as selects so NaN lands on -1, not on an undefined conversion
        u = u if u > -1.0 else -1.0
        u = u if u < top else top
        nx = np.floor(u) + 1.0  # in [0, T - 1]: the index of the next threshold
        t_next = nx * step + lo
        t_next = hi if nx == last else t_next
        code = (np.uint32(nx) + np.uint32(t_next <= x)) * np.uint32(2) + np.uint32(tv == 1)
        bad = (x - x != 0) | ((tv != 0) & (tv != 1))
        any_bad |= bad
        codes[i] = trash if bad else code
    return any_bad


@helper
def search_codes(t, s, thr, codes):
    """Codes of one block for any sorted thresholds, by a branch-free binary search."""
    T = thr.shape[0]
    trash = np.uint32((T + 1) * 2)
    any_bad = False
    for i in range(s.shape[0]):
        x = np.float64(s[i])
        tv = t[i]
        code = np.uint32(count_at_most(thr, x)) * np.uint32(2) + np.uint32(tv == 1)
        bad = (x - x != 0) | ((tv != 0) & (tv != 1))
        any_bad |= bad
        codes[i] = trash if bad else code
    return any_bad


def binary_hist(t, s, w, thr, linspace, lo, hi, step, inv_step, bias, copies, out, start, stop):
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
            any_bad = linspace_codes(t[a:b], s[a:b], lo, hi, step, inv_step, bias, T, codes)
        else:
            any_bad = search_codes(t[a:b], s[a:b], thr, codes)
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
        if any_bad:  # rare: count and locate them here, out of the hot loop
            for j in range(m):
                if codes[j] == trash:
                    if first_bad < 0:
                        first_bad = np.int64(a + j)
                    n_bad += 1
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


def partition_scores(t, s, w, positive, use_positive, buf, wbuf):
    """Valid scores (and weights) by truth into one buffer: positives from the front,
    negatives from the back; rows of weight 0 are left out (as scikit-learn does).

    Branch-free: every row is written at both ends and only the matching end advances
    (``p + (N - 1 - q)`` rows kept so far, so ``p <= q`` and a stale write is always
    overwritten), because a branch on a random truth mispredicts every other row. ``-0.0``
    is stored as ``0.0``. Returns ``(n_pos, n_neg, n_bad, first_bad)``: positives are
    ``buf[:n_pos]``, negatives ``buf[N - n_neg:]``.
    """
    N = s.shape[0]
    weighted = w.size > 0
    n_bad = 0
    first_bad = np.int64(-1)
    p = 0
    q = N - 1
    for i in range(N):
        x = s[i]
        tv = t[i]
        bad = x - x != 0
        if use_positive:
            is_pos = tv == positive
        else:
            is_pos = tv == 1
            bad |= (tv != 0) & (tv != 1)
        keep = not bad
        if weighted:
            wi = w[i]
            bad |= wi - wi != 0
            keep = (not bad) & (wi != 0)
            wbuf[p] = wi
            wbuf[q] = wi
        if bad:  # rare: predicted taken never
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
        v = x + 0.0  # + 0.0: -0.0 becomes 0.0
        buf[p] = v
        buf[q] = v
        p += np.int64(keep & is_pos)
        q -= np.int64(keep & (not is_pos))
    return p, N - 1 - q, n_bad, first_bad


def rank_sum(pos, neg):
    """Twice the Mann-Whitney U of ascending ``pos`` against ascending ``neg``, exactly.

    ``sum over positives of 2 * (negatives below) + (negatives tied)``: the area under
    the ROC curve times ``2 * n_pos * n_neg``, with ties counted half as the trapezoids of
    scikit-learn's curve do. Groups of tied scores are walked once each.
    """
    P = pos.shape[0]
    N = neg.shape[0]
    i = 0
    j = 0
    total = np.int64(0)
    while i < P:
        x = pos[i]
        i2 = i + 1
        while i2 < P and pos[i2] == x:
            i2 += 1
        while j < N and neg[j] < x:
            j += 1
        k = j
        while k < N and neg[k] == x:
            k += 1
        total += np.int64(i2 - i) * np.int64(j + k)  # 2 * below + tied = j + k
        i = i2
        j = k
    return total


def drop_collinear(fps, tps, thr):
    """scikit-learn's ``drop_intermediate`` in place: keep the ends and every point where
    ``np.diff(fps, 2)`` or ``np.diff(tps, 2)`` is non-zero (same float expression). Returns
    the new length."""
    D = fps.shape[0]
    if D <= 2:
        return D
    f0, t0 = fps[0], tps[0]
    f1, t1 = fps[1], tps[1]
    d = 1
    for i in range(1, D - 1):
        f2, t2 = fps[i + 1], tps[i + 1]
        if (f2 - f1) - (f1 - f0) != 0 or (t2 - t1) - (t1 - t0) != 0:
            fps[d] = f1
            tps[d] = t1
            thr[d] = thr[i]
            d += 1
        f0, t0, f1, t1 = f1, t1, f2, t2
    fps[d] = fps[D - 1]
    tps[d] = tps[D - 1]
    thr[d] = thr[D - 1]
    return d + 1


def merge_groups(pos, neg, wpos, wneg, fps, tps, thr):
    """Merge ascending-sorted ``pos`` and ``neg`` from the top, one output row per distinct score.

    One element per step, picked by a comparison that only feeds arithmetic (no branch
    on the data): row ``d`` is rewritten while the score repeats and the index moves on
    when the next score differs. Returns the number of rows written.
    """
    weighted = wpos.size + wneg.size > 0
    i = pos.shape[0] - 1
    j = neg.shape[0] - 1
    tp = 0.0
    fp = 0.0
    d = 0
    ninf = -np.inf
    pv = np.float64(pos[i]) if i >= 0 else ninf
    nv = np.float64(neg[j]) if j >= 0 else ninf
    for _ in range(i + j + 2):
        take_pos = pv >= nv
        v = pv if take_pos else nv
        if weighted:
            tp += wpos[i] if take_pos else 0.0
            fp += 0.0 if take_pos else wneg[j]
        else:
            tp += 1.0 if take_pos else 0.0
            fp += 0.0 if take_pos else 1.0
        i -= np.int64(take_pos)
        j -= np.int64(not take_pos)
        pv = np.float64(pos[i]) if i >= 0 else ninf
        nv = np.float64(neg[j]) if j >= 0 else ninf
        fps[d] = fp
        tps[d] = tp
        thr[d] = v
        d += np.int64(max(pv, nv) != v)
    return d
