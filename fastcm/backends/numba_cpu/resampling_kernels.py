"""Plain-loop kernels for multinomial resampling of count groups (compiled in ``resampling.py``).

One resample draws, for every segment ``s``, ``Multinomial(n_s, counts / n_s)`` over the
segment's groups, and adds each group's draw to the columns of its row of ``out`` that the
group targets. A segment's heavy groups (many counts) are drawn by conditional binomials,
heaviest first; what is left falls on its light groups sample by sample: a uniform pick
among the light groups' counts, unrolled into one row each (a sample costs ~3 ns where an
alias table's dependent loads and coin flip cost ~9-13 ns, measured). Resample ``b`` reads its own splitmix64 stream, seeded by ``seeds[b]`` alone, so it
does not depend on the thread or the block that draws it.
"""

import math

import numpy as np

from ._jit import helper

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_TWO32 = np.uint64(1 << 32)
_LOW32 = np.uint64(0xFFFFFFFF)

#: log(k!) - Stirling's approximation of it, k = 0..9 (Hormann's BTRS)
_STIRLING_TAIL = np.array([0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
                           0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
                           0.00925546218271273, 0.00833056343336287])


@helper
def _mix(state):
    """splitmix64's output function of a Weyl state."""
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@helper
def _uniform(state):
    """(next state, a uniform double in [0, 1) with 53 random bits)."""
    state = state + _GOLDEN
    return state, np.float64(_mix(state) >> np.uint64(11)) * _TO_UNIT


@helper
def _stirling_tail(k):
    if k <= 9.0:
        return _STIRLING_TAIL[int(k)]
    kp1 = k + 1.0
    kp1sq = kp1 * kp1
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / kp1


@helper
def _binomial_inversion(state, n, p):
    """Binomial(n, p) for n * p < 10, p <= 1/2: the inverse CDF walked up from 0."""
    q = 1.0 - p
    r = p / q
    start = math.exp(n * math.log1p(-p))  # P(X = 0) >= e**-20 here: no underflow
    while True:
        state, u = _uniform(state)
        px = start
        x = 0
        while u > px and x < n:
            u -= px
            x += 1
            px *= r * (n - x + 1) / x
        if u <= px:
            return state, x
        # rounding left u above the last mass: draw again (vanishingly rare)


@helper
def _binomial_btrs(state, n, p):
    """Binomial(n, p) for n * p >= 10, p <= 1/2: Hormann's transformed rejection with
    squeeze (BTRS, 1993), exact up to the Stirling series' truncation (< 1e-10 in log)."""
    spq = math.sqrt(n * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    while True:
        state, u = _uniform(state)
        state, v = _uniform(state)
        u -= 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if us >= 0.07 and v <= v_r:
            return state, np.int64(k)
        if k < 0.0 or k > n:
            continue
        r = p / (1.0 - p)
        alpha = (2.83 + 5.1 / b) * spq
        m = math.floor((n + 1) * p)
        v = math.log(v * alpha / (a / (us * us) + b))
        bound = ((m + 0.5) * math.log((m + 1.0) / (r * (n - m + 1.0)))
                 + (n + 1.0) * math.log((n - m + 1.0) / (n - k + 1.0))
                 + (k + 0.5) * math.log(r * (n - k + 1.0) / (k + 1.0))
                 + _stirling_tail(m) + _stirling_tail(n - m) - _stirling_tail(k) - _stirling_tail(n - k))
        if v <= bound:
            return state, np.int64(k)


@helper
def _binomial(state, n, p):
    """(next state, a Binomial(n, p) draw)."""
    if n <= 0 or p <= 0.0:
        return state, np.int64(0)
    if p >= 1.0:
        return state, np.int64(n)
    flip = p > 0.5
    q = 1.0 - p if flip else p
    if n * q < 10.0:
        state, x = _binomial_inversion(state, n, q)
    else:
        state, x = _binomial_btrs(state, np.float64(n), q)
    return state, (np.int64(n) - x if flip else np.int64(x))


def resample_sums(seeds, seg_n, seg_heavy, seg_light, h_cond, h_to, l_to, out):
    """Add each resample's group draws into ``out[b]`` (zero on entry).

    Segment ``s`` holds ``seg_n[s]`` counts. Its heavy groups are rows
    ``seg_heavy[s]:seg_heavy[s + 1]`` of ``h_cond`` (each group's probability given the
    heavier ones drawn before it; 1.0 for the last of a segment without light groups) and
    ``h_to`` (the columns each adds to). Its light groups are unrolled into rows
    ``seg_light[s]:seg_light[s + 1]`` of ``l_to``, one row per count: a sample picks one row
    uniformly (an exact integer draw), so no probability is rounded.
    """
    targets_h = h_to.shape[1]
    targets_l = l_to.shape[1]
    for b in range(seeds.shape[0]):
        state = _mix(np.uint64(seeds[b]))  # mixed: nearby seeds start far apart
        for s in range(seg_n.shape[0]):
            left = seg_n[s]
            for h in range(seg_heavy[s], seg_heavy[s + 1]):
                if left == 0:
                    break
                state, x = _binomial(state, left, h_cond[h])
                left -= x
                for t in range(targets_h):
                    out[b, h_to[h, t]] += x
            first = seg_light[s]
            size = np.uint64(seg_light[s + 1] - first)
            if size == 0:
                continue
            reject = (_TWO32 - size) % size  # Lemire's bound: products below it are redrawn
            for _ in range(left):
                while True:  # an unbiased integer in [0, size): almost never loops
                    state = state + _GOLDEN
                    m = (_mix(state) >> np.uint64(32)) * size
                    if (m & _LOW32) >= reject:
                        break
                row = first + np.int64(m >> np.uint64(32))
                for t in range(targets_l):
                    out[b, l_to[row, t]] += 1


# -- one multinomial as Poisson draws plus a few single samples ----------------------------------
#: Poisson samplers of a group (``modes``): inversion walked up from 0, an alias table over
#: the probabilities, Hormann's PTRS transformed rejection (means of 10 and more)
WALK, TABLE, PTRS = 0, 1, 2


@helper
def _poisson_walk(state, lam, p0):
    """Poisson(lam) by the inverse CDF walked up from 0 (``p0 = exp(-lam)``)."""
    state, u = _uniform(state)
    x = 0
    p = p0
    while u >= p:
        u -= p
        x += 1
        p *= lam / x
        if p == 0.0:  # past the float tail after rounding: draw again (vanishingly rare)
            state, u = _uniform(state)
            x = 0
            p = p0
    return state, x


@helper
def _poisson_tail(state, size, lam):
    """Poisson(lam) given X >= size - 1: inversion within the tail, from P(X = size - 1)."""
    p = math.exp(-lam + (size - 1) * math.log(lam) - math.lgamma(size))
    tail = 1.0 - _poisson_cdf_below(lam, size - 1)
    state, u = _uniform(state)
    u *= tail
    x = size - 1
    while u >= p and p > 0.0:
        u -= p
        x += 1
        p *= lam / x
    return state, x


@helper
def _poisson_table(state, first, size, prob, alias, lam):
    """Poisson(lam) from the alias table ``first:first + size`` over 0..size-2 and a last
    bucket for the tail beyond (a mass below ~1e-5 even at the largest means), walked when
    drawn: one uniform, two loads and a select, no search and no branch to mispredict
    (8-16 ns a draw where the guide-table search took 25-38, measured)."""
    state = state + _GOLDEN
    scaled = np.float64(_mix(state) >> np.uint64(11)) * _TO_UNIT * size
    x = min(np.int64(scaled), size - 1)
    take = np.int64(scaled - x >= prob[first + x])
    x += take * (alias[first + x] - x)
    if x == size - 1:
        return _poisson_tail(state, size, lam)
    return state, x


@helper
def _poisson_cdf_below(lam, m):
    """P(X < m) of Poisson(lam), summed from 0."""
    p = math.exp(-lam)
    c = 0.0
    for x in range(m):
        c += p
        p *= lam / (x + 1)
    return c


@helper
def _poisson_ptrs(state, lam):
    """Poisson(lam), lam >= 10: Hormann's transformed rejection with squeeze (PTRS, 1993),
    as numpy's ``random_poisson_ptrs``."""
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    while True:
        state, u = _uniform(state)
        state, v = _uniform(state)
        u -= 0.5
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return state, np.int64(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= (-lam + k * loglam - math.lgamma(k + 1)):
            return state, np.int64(k)


def poisson_tables(lams, firsts, sizes, pmf):
    """Each table group's probabilities ``pmf[first:first + size]`` of Poisson(lam): 0..size-2,
    and the tail beyond in the last (an alias table is built over them afterwards)."""
    for g in range(lams.shape[0]):
        first = firsts[g]
        size = sizes[g]
        if size == 0:
            continue
        lam = lams[g]
        p = math.exp(-lam)
        c = 0.0
        for x in range(size - 1):
            pmf[first + x] = p
            c += p
            p *= lam / (x + 1)
        pmf[first + size - 1] = max(0.0, 1.0 - c)


def resample_sums_poisson(seeds, n, p_heavy, lams, modes, p0s, firsts, sizes, t_prob, t_alias, to, alias_prob,
                          alias_index, l_to, drawn, out):
    """Add each resample's Multinomial(n, counts / n) draw into ``out[b]`` (zero on entry).

    The light groups' share h ~ Binomial(n, 1 - ``p_heavy``) is drawn first when there are
    light groups (``l_to``: their targets unrolled one row per count), and falls on them
    sample by sample. Each heavy group k is drawn as Poisson(``lams[k]``), means
    proportional to the heavy counts (p) and summing to a little under n - h: given their sum
    S the draws are Multinomial(S, p). A sum above n - h is drawn again; the n - h - S
    samples left are single draws from the alias table of the heavy groups (``alias_prob``,
    ``alias_index``). Given S both parts are multinomials of the same p, so the heavy
    groups' draw is exactly Multinomial(n - h, p) whatever S was. ``drawn`` is scratch of
    one value per heavy group.
    """
    groups = lams.shape[0]
    targets = to.shape[1]
    light_size = np.uint64(l_to.shape[0])
    light_targets = l_to.shape[1]
    for b in range(seeds.shape[0]):
        state = _mix(np.uint64(seeds[b]))
        heavy = n
        if light_size > 0:
            state, heavy = _binomial(state, n, p_heavy)
        while True:
            total = 0
            for k in range(groups):
                mode = modes[k]
                if mode == TABLE:
                    state, y = _poisson_table(state, firsts[k], sizes[k], t_prob, t_alias, lams[k])
                elif mode == WALK:
                    state, y = _poisson_walk(state, lams[k], p0s[k])
                else:
                    state, y = _poisson_ptrs(state, lams[k])
                drawn[k] = y
                total += y
            if total <= heavy:
                break
        for k in range(groups):
            y = drawn[k]
            for t in range(targets):
                out[b, to[k, t]] += y
        if groups > 0:
            size = np.uint64(groups)
            reject = (_TWO32 - size) % size
            for _ in range(heavy - total):
                while True:  # an unbiased group in [0, groups), then the alias coin
                    state = state + _GOLDEN
                    m = (_mix(state) >> np.uint64(32)) * size
                    if (m & _LOW32) >= reject:
                        break
                k = np.int64(m >> np.uint64(32))
                state, u = _uniform(state)
                if u >= alias_prob[k]:
                    k = alias_index[k]
                for t in range(targets):
                    out[b, to[k, t]] += 1
        if light_size > 0:
            reject = (_TWO32 - light_size) % light_size
            for _ in range(n - heavy):
                while True:  # an unbiased row of the unrolled light counts
                    state = state + _GOLDEN
                    m = (_mix(state) >> np.uint64(32)) * light_size
                    if (m & _LOW32) >= reject:
                        break
                row = np.int64(m >> np.uint64(32))
                for t in range(light_targets):
                    out[b, l_to[row, t]] += 1


def alias_tables(p, starts, prob, alias, small, large):
    """Vose's alias table of each segment ``starts[s]:starts[s + 1]`` of ``p`` (probabilities
    summing to 1 within a segment): group ``k`` is kept with probability ``prob[k]``, else
    ``alias[k]`` (an index within the segment) is taken. ``small`` and ``large`` are scratch."""
    for s in range(starts.shape[0] - 1):
        first = starts[s]
        k = starts[s + 1] - first
        ns = 0
        nl = 0
        for i in range(k):
            prob[first + i] = p[first + i] * k  # scaled: a small group's stays its final one
        for i in range(k):  # Vose's construction: each group onto the small or the large stack, twice
            if prob[first + i] < 1.0:
                small[first + ns] = i
                ns += 1
            else:
                large[first + nl] = i
                nl += 1
        while ns > 0 and nl > 0:
            ns -= 1
            j = small[first + ns]
            nl -= 1
            g = large[first + nl]
            alias[first + j] = g
            prob[first + g] = prob[first + g] + prob[first + j] - 1.0
            if prob[first + g] < 1.0:
                small[first + ns] = g
                ns += 1
            else:
                large[first + nl] = g
                nl += 1
        for i in range(nl):
            prob[first + large[first + i]] = 1.0
            alias[first + large[first + i]] = large[first + i]
        for i in range(ns):  # rounding leftovers
            prob[first + small[first + i]] = 1.0
            alias[first + small[first + i]] = small[first + i]
