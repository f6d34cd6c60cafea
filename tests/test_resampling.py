"""Multinomial resampling of count groups (the bootstrap of fastcm.answers.intervals): every host
backend draws the multinomial's distribution; numba's kernel repeats per seed whatever the
threads or blocks, and its compiled loop equals the plain Python loop."""

import numpy as np
import pytest
from conftest import HOST_BACKENDS

from fastcm import backends

COUNTS = np.array([40, 3, 0, 17, 1, 2, 25, 5, 9, 14, 200, 1])
SEGMENTS = np.array([0, 6, 6, 12])  # three multinomials, one of them empty
TARGETS = np.array([[0, 1], [1, -1], [2, 3], [3, -1], [0, -1], [4, 4], [5, 6], [6, -1], [7, -1], [8, 0], [9, -1],
                    [2, 9]])


def _moments(counts, segments, targets, width):
    """Exact mean and variance of every column: a column sums groups of one segment
    (multinomial covariances -n p_i p_j) and of independent segments."""
    mean, var = np.zeros(width), np.zeros(width)
    incidence = np.zeros((counts.size, width))
    for k, row in enumerate(targets):
        for t in row[row >= 0]:
            incidence[k, t] += 1
    for a, b in zip(segments[:-1], segments[1:]):
        n = counts[a:b].sum()
        if n == 0:
            continue
        p = counts[a:b] / n
        cov = n * (np.diag(p) - np.outer(p, p))
        w = incidence[a:b]
        mean += n * p @ w
        var += np.einsum("kw,kl,lw->w", w, cov, w)
    return mean, var


@pytest.mark.parametrize("name", HOST_BACKENDS)
def test_draws_have_the_multinomials_moments(name):
    draw = backends.get(name).multinomial_sums
    b = 20_000 if name == "numba" else 4000
    out = draw(COUNTS, SEGMENTS, TARGETS, 10, np.arange(b, dtype=np.uint64))
    assert out.shape == (b, 10) and out.dtype == np.int64
    mean, var = _moments(COUNTS, SEGMENTS, TARGETS, 10)
    assert (np.abs(out.mean(axis=0) - mean) <= 5 * np.sqrt(var / b) + 1e-12).all()
    np.testing.assert_allclose(out.var(axis=0), var, rtol=6 * np.sqrt(2 / b))
    # each segment keeps its total in every resample: column 5 and 6 hold group 6 (25) once each
    assert (out[:, 9] >= 1).all()


def test_a_wrong_draw_fails_the_moments():
    """The check above can fail: Poisson counts (the total not kept) miss the variances."""
    rng = np.random.default_rng(0)
    out = np.zeros((20_000, 10))
    for k, row in enumerate(TARGETS):
        x = rng.poisson(COUNTS[k], size=20_000)
        for t in row[row >= 0]:
            out[:, t] += x
    _, var = _moments(COUNTS, SEGMENTS, TARGETS, 10)
    assert not np.allclose(out.var(axis=0), var, rtol=6 * np.sqrt(2 / 20_000))


def test_numba_repeats_per_seed_whatever_the_blocks_and_threads():
    numba = pytest.importorskip("numba")
    draw = backends.get("numba").multinomial_sums
    seeds = np.arange(1000, 1500, dtype=np.uint64)
    whole = draw(COUNTS, SEGMENTS, TARGETS, 10, seeds)
    np.testing.assert_array_equal(draw(COUNTS, SEGMENTS, TARGETS, 10, seeds[123:321]), whole[123:321])
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        np.testing.assert_array_equal(draw(COUNTS, SEGMENTS, TARGETS, 10, seeds), whole)
    finally:
        numba.set_num_threads(before)
    assert not np.array_equal(draw(COUNTS, SEGMENTS, TARGETS, 10, seeds + 1), whole)


def test_numba_kernel_equals_its_plain_loop(monkeypatch):
    pytest.importorskip("numba")
    from fastcm.backends.numba_cpu import resampling, resampling_kernels

    seeds = np.arange(7, 12, dtype=np.uint64)
    args = resampling._plan(COUNTS, SEGMENTS, TARGETS, 10)
    compiled, plain = (np.zeros((seeds.size, 11), dtype=np.int64) for _ in range(2))
    resampling._resample_sums(seeds, *args, compiled)
    for name in ("_mix", "_uniform", "_stirling_tail", "_binomial_inversion", "_binomial_btrs", "_binomial"):
        monkeypatch.setattr(resampling_kernels, name, getattr(resampling_kernels, name).py_func)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as compiled
        resampling_kernels.resample_sums(seeds, *args, plain)
    np.testing.assert_array_equal(compiled, plain)
    np.testing.assert_array_equal(compiled[:, :10], backends.get("numba").multinomial_sums(COUNTS, SEGMENTS, TARGETS,
                                                                                             10, seeds))


@pytest.mark.parametrize("n,p", [(30, 0.8), (40, 0.9), (400, 0.9), (1000, 0.93), (5000, 0.5), (60_000, 0.999)])
def test_numba_binomials_follow_the_binomial_law(monkeypatch, n, p):
    """Two groups, both drawn by binomials: the heavier is Binomial(n, p) (inversion below
    n min(p, 1 - p) = 10, Hormann's BTRS above, p > 1/2 by symmetry); a chi-square test
    against the exact pmf."""
    pytest.importorskip("numba")
    stats = pytest.importorskip("scipy.stats")
    from fastcm.backends.numba_cpu import resampling

    monkeypatch.setattr(resampling, "HEAVY", 1)
    first = round(n * p)
    counts = np.array([first, n - first])
    b = 100_000
    x = backends.get("numba").multinomial_sums(counts, [0, 2], [[0], [-1]], 1, np.arange(b, dtype=np.uint64))[:, 0]
    pmf = stats.binom.pmf(np.arange(n + 1), n, first / n)
    keep = pmf * b >= 5  # bins expected to hold at least 5, the rest pooled
    observed = np.bincount(x, minlength=n + 1)
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(pmf[keep], pmf[~keep].sum()) * b
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-4
    # and the test can fail: the same draws against p shifted by a fifth of a standard deviation
    shifted = stats.binom.pmf(np.arange(n + 1), n, first / n + 0.2 * np.sqrt(p * (1 - p) / n))
    exp = np.append(shifted[keep], shifted[~keep].sum()) * b
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue < 1e-4


def _one_multinomial(c=300, seed=0, light=False):
    """2C groups of a 'rows' draw (every class's diagonal and off-diagonal row sum), or with
    ``light`` a 'cells' draw's: C diagonal cells and 8C confusions of 1-3 counts."""
    rng = np.random.default_rng(seed)
    off = rng.integers(1, 4, 8 * c) if light else rng.integers(3, 25, c)
    counts = np.concatenate([rng.integers(20, 60, c), off, [0, 1, 2500]])
    return counts, np.arange(counts.size)[:, None]


@pytest.mark.parametrize("tables", ["tables", "tails", "no tables", "light groups"])
def test_numba_poisson_path_draws_the_multinomial(monkeypatch, tables):
    """One multinomial over many groups: Poisson draws whose means sum to a little under N,
    then the rest sample by sample. Moments, the kept total, and one group's law."""
    pytest.importorskip("numba")
    stats = pytest.importorskip("scipy.stats")
    from fastcm.backends.numba_cpu import resampling

    if tables == "tails":  # tables cut at the mean: the tail bucket walked half the time
        monkeypatch.setattr(resampling, "TABLE_SPREAD", -1.0)
    elif tables == "no tables":  # every mean walked from 0 (below 10) or drawn by PTRS
        monkeypatch.setattr(resampling, "TABLE_BUDGET", 0)
    counts, targets = _one_multinomial(light=tables == "light groups")
    assert resampling._poisson_pays(counts, [0, counts.size])
    b = 20_000
    out = backends.get("numba").multinomial_sums(counts, [0, counts.size], targets, counts.size,
                                                  np.arange(b, dtype=np.uint64))
    n = counts.sum()
    assert (out.sum(axis=1) == n).all()
    mean, var = counts, n * (counts / n) * (1 - counts / n)
    assert (np.abs(out.mean(axis=0) - mean) <= 5 * np.sqrt(var / b) + 1e-12).all()
    ratio = out.var(axis=0)[counts > 0] / var[counts > 0]
    assert abs(ratio.mean() - 1) < 0.01  # 603 groups' variances, each within ~1%
    # the Poisson draws alone would give variances N p, 1/(1 - p) times the multinomial's:
    # the test above fails for the 2,500-count group (p ~ 0.1) drawn wrongly
    assert var[-1] * 1.05 < n * counts[-1] / n
    np.testing.assert_allclose(out[:, -1].var(), var[-1], rtol=0.05)
    # one group's law: Binomial(N, p), by a chi-square test against the exact pmf
    k = 0
    pmf = stats.binom.pmf(np.arange(n + 1), n, counts[k] / n)
    keep = pmf * b >= 5
    observed = np.bincount(out[:, k], minlength=n + 1)
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(pmf[keep], pmf[~keep].sum()) * b
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-4


def test_numba_poisson_path_repeats_per_seed_and_equals_its_plain_loop(monkeypatch):
    pytest.importorskip("numba")
    from fastcm.backends.numba_cpu import resampling, resampling_kernels

    counts, targets = _one_multinomial(c=200, light=True)
    assert resampling._poisson_pays(counts, [0, counts.size])
    draw = backends.get("numba").multinomial_sums
    seeds = np.arange(50, dtype=np.uint64)
    whole = draw(counts, [0, counts.size], targets, counts.size, seeds)
    np.testing.assert_array_equal(draw(counts, [0, counts.size], targets, counts.size, seeds[10:20]), whole[10:20])
    args = resampling._poisson_plan(counts, targets, counts.size)
    plain = np.zeros((3, counts.size + 1), dtype=np.int64)
    for name in ("_mix", "_uniform", "_stirling_tail", "_binomial_inversion", "_binomial_btrs", "_binomial",
                 "_poisson_walk", "_poisson_cdf_below", "_poisson_tail", "_poisson_table", "_poisson_ptrs"):
        monkeypatch.setattr(resampling_kernels, name, getattr(resampling_kernels, name).py_func)
    with np.errstate(over="ignore"):
        resampling_kernels.resample_sums_poisson(seeds[:3], *args, np.zeros(args[2].size, np.int64), plain)
    np.testing.assert_array_equal(plain[:, :-1], whole[:3])
