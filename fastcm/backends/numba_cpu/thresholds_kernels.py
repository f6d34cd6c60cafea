"""Plain-loop kernels for threshold histograms and tie-grouped score counts (compiled in ``thresholds``)."""

import numpy as np


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
                # searchsorted(thr, x, side="right") by binary search
                b = 0
                top = T
                while b < top:
                    mid = (b + top) >> 1
                    if thr[mid] <= x:
                        b = mid + 1
                    else:
                        top = mid
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
