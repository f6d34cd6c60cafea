"""The numba label kernel works in blocks: invalid pairs, ignored pairs and block and thread
boundaries anywhere give the numpy reference's counts and first invalid position."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcm import backends

pytest.importorskip("numba")
numba_be = backends.get("numba")
numpy_be = backends.get("numpy")


@pytest.fixture(autouse=True, scope="module")
def tuned_kernels():
    """The tuned strategies, compiled before the call (not the plain tier that serves while
    they compile in the background), at the canonical dtypes the others are staged to."""
    with numba_be.compile_synchronously():
        yield

DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def _both(t, p, c, ignore_index=None, offset=0):
    got = numba_be.count_pairs(t, p, c, ignore_index=ignore_index, lut_offset=offset)
    ref = numpy_be.count_pairs(t, p, c, ignore_index=ignore_index, lut_offset=offset)
    return (np.asarray(got[0]), np.asarray(got[1])), (np.asarray(ref[0]), np.asarray(ref[1]))


@settings(max_examples=150)
@given(
    n=st.integers(0, 9000),  # several 2048-pair blocks and a ragged tail
    c=st.integers(1, 70),  # 1-way and 4-way scatter (4096 bins)
    dtype=st.sampled_from(DTYPES),
    bad=st.lists(st.tuples(st.integers(0, 8999), st.booleans(), st.integers(-300, 300)), max_size=4),
    ignore=st.sampled_from([None, 0, 3, 255, -100, 2**40]),
    offset=st.sampled_from([0, 0, 1, -1, 7, -128, 200, -(2**31), 2**31]),
    seed=st.integers(0, 2**31),
)
def test_blocks_match_the_reference(n, c, dtype, bad, ignore, offset, seed):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    low = max(int(info.min), offset)  # classes are offset..offset+c-1 (the ``lut_offset`` shift)
    high = min(offset + c, int(info.max) + 1)
    if high <= low:
        low, high = 0, 1
    t = rng.integers(low, high, n).astype(dtype)
    p = rng.integers(low, high, n).astype(dtype)
    for pos, in_truth, value in bad:
        if pos < n and info.min <= value <= info.max:
            (t if in_truth else p)[pos] = value
    got, ref = _both(t, p, c, ignore, offset)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


def test_invalid_pairs_across_threads_report_the_first():
    numba = pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    n = 3_000_000  # above the parallel threshold: one range per thread
    t = rng.integers(0, 10, n).astype(np.int32)
    p = rng.integers(0, 10, n).astype(np.int32)
    t[2_999_999] = 11
    p[2_000_001] = -1
    t[1_500_000 : 1_500_100] = 255  # ignored, never invalid
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        got, ref = _both(t, p, 10, ignore_index=255)
        np.testing.assert_array_equal(got[0], ref[0])
        assert got[1].tolist() == ref[1].tolist() == [2, 2_000_001]
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def test_all_pairs_in_one_bin_and_ignore_outside_the_dtype():
    t = np.full(10_000, 3, dtype=np.uint8)
    got, ref = _both(t, t, 4, ignore_index=-100)  # -100 cannot occur in uint8
    np.testing.assert_array_equal(got[0], ref[0])
    assert got[0][3, 3] == 10_000
    got, ref = _both(t.astype(np.int8), t.astype(np.int8), 4, ignore_index=3)
    assert got[0].sum() == 0 and got[1].tolist() == ref[1].tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "c, n",
    [(3, 20_000), (10, 100_001), (10, 50_000), (40, 30_000), (100, 50_000), (100, 300)],
    ids=["paired-table", "paired-table-C10", "four-histograms", "four-histograms-C40", "32-bit-counters", "direct"],
)
def test_every_scatter_strategy_with_ignored_and_invalid_pairs(dtype, c, n):
    """Each scatter strategy (chosen by C, n and the input width) with ignored pairs in
    every block and invalid values in a few: the counts and the first invalid position."""
    rng = np.random.default_rng(c * n)
    info = np.iinfo(dtype)
    t = rng.integers(0, c, n).astype(dtype)
    p = rng.integers(0, c, n).astype(dtype)
    ignore = 2
    t[rng.integers(0, n, n // 20)] = ignore
    invalid = min(int(info.max), c + 5)
    t[n // 3] = invalid
    p[n // 2] = invalid
    p[rng.integers(0, n, 3)] = info.max
    got, ref = _both(t, p, c, ignore_index=ignore)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    assert got[1][0] >= 2


NARROW = [np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32]


@settings(max_examples=40, deadline=None)
@given(
    c=st.integers(1, 11),  # the paired tables: (C*C + 1)**2 bins at most 16384
    extra=st.integers(0, 5000),  # odd lengths leave one pair unpaired
    dtype=st.sampled_from(NARROW),
    dominant=st.sampled_from([0.0, 0.5, 0.95]),  # random blocks (one table), runs (four)
    bad=st.lists(st.tuples(st.integers(0, 10**6), st.booleans(), st.integers(-300, 300)), max_size=3),
    ignore=st.sampled_from([None, 0, 1, 255]),
    offset=st.sampled_from([0, 0, 1, 7, -3]),  # 0 has a loop of its own
    seed=st.integers(0, 2**31),
)
def test_paired_tables_match_the_reference(c, extra, dtype, dominant, bad, ignore, offset, seed):
    """The paired path (inputs of at most 32 bits, n >= 8 (C*C + 1)**2): pairs of bins in
    16-bit tables, one table or four by block, classes from 0 or not, ignored and invalid
    pairs anywhere."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    if offset < info.min or offset + c - 1 > info.max:
        offset = 0
    n = 8 * (c * c + 1) ** 2 + extra
    t = (rng.integers(0, c, n) + offset).astype(dtype)
    p = (rng.integers(0, c, n) + offset).astype(dtype)
    runs = rng.random(n) < dominant
    t[runs] = offset + c - 1
    p[runs] = offset
    for pos, in_truth, value in bad:
        if info.min <= value <= info.max:
            (t if in_truth else p)[pos % n] = value
    got, ref = _both(t, p, c, ignore, offset)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


@pytest.mark.parametrize("dtype", [np.int32, np.uint8])
def test_paired_table_flushes_a_bin_that_fills_without_runs(dtype):
    """One bin pair takes a fifth of the increments, spread out (no runs, so one table):
    the bound on the largest counter reaches the limit and the table is flushed in time."""
    numba = pytest.importorskip("numba")
    rng = np.random.default_rng(11)
    n = 1_600_001
    t = np.where(rng.random(n) < 0.67, 3, rng.integers(0, 10, n)).astype(dtype)
    p = np.where(rng.random(n) < 0.67, 3, rng.integers(0, 10, n)).astype(dtype)
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        try:
            got, ref = _both(t, p, 10)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        np.testing.assert_array_equal(got[0], ref[0])
        assert got[0][3, 3] > 2 * 65536


@pytest.mark.parametrize("dtype", NARROW)
def test_paired_tables_flush_their_16_bit_counters(dtype):
    """More than 65535 increments of one bin pair, in one table and in four, in one range
    and split over threads: the 16-bit counters are flushed before they overflow."""
    numba = pytest.importorskip("numba")
    rng = np.random.default_rng(7)
    n = 1_500_001
    t = rng.integers(0, 10, n).astype(dtype)
    p = rng.integers(0, 10, n).astype(dtype)
    t[200_000:900_000] = 4  # a run of one bin: its blocks spread over four tables
    p[200_000:900_000] = 6
    t[1_000_000:1_400_000] = 9  # the discard bin, from ignored pairs, in runs too
    t[1_450_000] = 10
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        try:
            got, ref = _both(t, p, 10, ignore_index=9)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        np.testing.assert_array_equal(got[0], ref[0])
        assert got[1].tolist() == ref[1].tolist() == [1, 1_450_000]
        assert got[0][4, 6] > 700_000
