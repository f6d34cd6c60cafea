"""Plain-loop kernels for multilabel counts and top-k hits (compiled in ``multilabel.py``)."""

import numpy as np


def multilabel_counts(t, p, thr, w, samplewise, out, start, stop):
    """Rows [start, stop) of (N, L) truth ``t`` (0/1) and ``p`` (predicted positive when
    ``p >= thr[l]``) into ``out`` [tn, fp, fn, tp]: (L, 4) per label, or (N, 4) per row
    when ``samplewise``. ``w`` (empty for unweighted) weights rows."""
    n_bad = 0
    first_bad = np.int64(-1)
    L = t.shape[1]
    weighted = w.size > 0
    for i in range(np.uint64(start), np.uint64(stop)):
        wi = w[i] if weighted else 1.0
        for j in range(L):
            a = np.int64(t[i, j])
            v = p[i, j]
            if (np.uint64(a) > 1) | ((v - v) != 0):  # NaN and +-inf: v - v is NaN; scores must be finite
                if first_bad < 0:
                    first_bad = np.int64(i) * L + j
                n_bad += 1
                continue
            k = 2 * a + (1 if v >= thr[j] else 0)
            if samplewise:
                out[i, k] += wi
            else:
                out[j, k] += wi
    return n_bad, first_bad


def top_k_hits(t, s, k, w, start, stop):
    """Sum of weights of rows whose true class ``t[i]`` ranks among the top ``k`` scores.

    A class outranks the true one when its score is higher, or equal with a higher index
    (the order of a stable ascending sort, reversed). Returns (hits, n_invalid, first).
    """
    hits = 0.0
    n_bad = 0
    first_bad = np.int64(-1)
    C = s.shape[1]
    weighted = w.size > 0
    for i in range(np.uint64(start), np.uint64(stop)):
        c = np.int64(t[i])
        if (np.uint64(c) >= np.uint64(C)):
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
            continue
        ref = s[i, c]
        rank = 0
        nan = ref != ref
        for j in range(C):
            v = s[i, j]
            nan |= v != v
            rank += (v > ref) | ((v == ref) & (j > c))
        if nan:
            if first_bad < 0:
                first_bad = np.int64(i)
            n_bad += 1
        elif rank < k:
            hits += w[i] if weighted else 1.0
    return hits, n_bad, first_bad
