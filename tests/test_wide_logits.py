"""The fused argmax of (N, C) scores, narrow and wide rows, against numpy bit for bit.

Random logits with ties, NaN rows and infinities; ties go to the lowest column
(``numpy.argmax``), a row holding a NaN is counted as invalid, the first such row reported.
The block argmax (``count_score_rows_wide``) and its 16-bit twin on the bits of float16 and
bfloat16 (``count_score_rows_bits``) are checked at every C from 1 to 300 and some large.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from fastcm.backends.numba_cpu import counting, kernels  # noqa: E402

CLASSES = [1, 2, 31, 32, 33, 100, 257, 1000]


def _logits(seed, n, c, dtype):
    """Scores from a few distinct values (many ties, -0.0 beside +0.0), some -inf/+inf
    entries, NaN rows, all -inf rows and all-equal rows."""
    rng = np.random.default_rng(seed)
    s = rng.integers(-3, 4, size=(n, c)).astype(dtype)
    s[s == 0] = np.where(rng.random(int((s == 0).sum())) < 0.5, -0.0, 0.0)
    s[rng.random(n) < 0.05] = 1.0
    s[rng.random(n) < 0.2] -= 10  # rows of negative scores only (log-probabilities)
    s[rng.random((n, c)) < 0.02] = np.inf
    s[rng.random((n, c)) < 0.02] = -np.inf
    s[rng.random(n) < 0.05, rng.integers(0, c)] = np.nan
    s[rng.random(n) < 0.02, rng.integers(0, c)] = -np.nan  # x86's default NaN has the sign bit
    s[rng.random(n) < 0.05] = -np.inf  # all -inf: the argmax is column 0
    return s


def _reference(t, s, c):
    bad = np.isnan(s).any(axis=1)
    ok = ~bad
    counts = np.bincount(t[ok] * c + np.argmax(s[ok], axis=1), minlength=c * c).reshape(c, c)
    first = int(np.argmax(bad)) if bad.any() else -1
    return counts, [int(bad.sum()), first]


def _check(kernel, t, s, c, *bits, reference_scores=None):
    """``kernel`` on rows of ``s`` (``bits``: the infinity bits of 16-bit scores) against
    numpy on ``reference_scores`` (default ``s``)."""
    n = t.shape[0]
    out = np.zeros(c * c, dtype=np.int64)
    n_bad, first = kernel(t.reshape(n, 1), s, *bits, np.empty(0), np.empty(0, np.int64), np.int64(0), c, False, np.int64(0), out, 0, n)
    counts, invalid = _reference(t, s if reference_scores is None else reference_scores, c)
    np.testing.assert_array_equal(out.reshape(c, c), counts)
    assert [int(n_bad), int(first)] == invalid


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), c=st.sampled_from(CLASSES),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_count_scores_matches_numpy_argmax(seed, n, c, dtype):
    """Through ``counting.count_scores``, which picks the kernel by C."""
    s = _logits(seed, n, c, dtype)
    t = np.random.default_rng(seed).integers(0, c, n)
    counts, invalid = counting.count_scores(t.reshape(n, 1), s, c)
    ref_counts, ref_invalid = _reference(t, s, c)
    np.testing.assert_array_equal(counts, ref_counts)
    assert [int(invalid[0]), int(invalid[1])] == ref_invalid


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), c=st.sampled_from([64, 65, 100, 127, 128, 257, 1000]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_wide_kernel_matches_numpy_argmax(seed, n, c, dtype):
    """The wide kernel itself below ``WIDE_MIN_C`` too: a row of one block, a block and one
    column, and blocks that end on the row's end."""
    _check(counting._count_score_rows_wide, np.random.default_rng(seed).integers(0, c, n), _logits(seed, n, c, dtype), c)


@pytest.mark.parametrize("c", [kernels.WIDE_MIN_C, 1000])
def test_wide_rows_tie_on_the_lowest_column_in_every_lane(c):
    """The maximum repeated in every position after the first, and NaN in the last column."""
    s = np.zeros((c, c), dtype=np.float32)
    for i in range(c):
        s[i, i:] = 1.0
    t = np.zeros(c, dtype=np.int64)
    _check(counting._count_score_rows_wide, t, s, c)
    s[3, -1] = np.nan
    _check(counting._count_score_rows_wide, t, s, c)


def test_small_classes_do_not_compile_the_wide_kernel():
    """The wide kernel is its own entry, chosen by C: a C=10 call leaves it uncompiled."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from fastcm.backends.numba_cpu import counting\n"
        "s = np.random.default_rng(0).random((50, 10), dtype=np.float32)\n"
        "counting.count_scores(np.zeros((50, 1), np.int64), s, 10)\n"
        "print(len(counting._count_score_rows_wide.dispatcher.signatures), len(counting._count_score_rows.dispatcher.signatures))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "1"]


def test_nan_row_is_reported_as_invalid_by_confusion_matrix():
    import fastcm

    s = np.random.default_rng(1).random((10, 300), dtype=np.float32)
    s[4, 200] = np.nan
    t = np.zeros(10, dtype=np.int64)
    with pytest.raises(ValueError) as numba_err:
        fastcm.confusion_matrix(t, s, num_classes=300, backend="numba")
    with pytest.raises(ValueError) as numpy_err:
        fastcm.confusion_matrix(t, s, num_classes=300, backend="numpy")
    assert str(numba_err.value) == str(numpy_err.value)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30),
       c=st.one_of(st.integers(1, 300), st.sampled_from([511, 512, 513, 1000, 4099])),
       dtype=st.sampled_from([np.float32, np.float64, np.float16]))
def test_block_argmax_matches_numpy_at_every_width(seed, n, c, dtype):
    """The block argmax at every C from 1 to 300 (rows shorter than one block, a block and a
    tail, whole blocks) and some large: float32/64 by ``count_score_rows_wide``, float16 as
    its bits by ``count_score_rows_bits``."""
    s = _logits(seed, n, c, dtype)
    t = np.random.default_rng(seed).integers(0, c, n)
    if dtype == np.float16:
        _check(counting._count_score_rows_bits, t, s.view(np.int16), c, kernels.FLOAT16_INF_BITS, reference_scores=s)
    else:
        _check(counting._count_score_rows_wide, t, s, c)


def _bfloat16_bits(x):
    """The bfloat16 bits of float32 values that bfloat16 holds exactly (the upper half)."""
    return (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).view(np.int16)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), c=st.one_of(st.integers(1, 80), st.sampled_from([257, 1000])))
def test_bfloat16_bits_match_numpy_argmax(seed, n, c):
    """bfloat16 (torch's, as int16 bits) through the same kernel: only infinity's bits differ."""
    s = _logits(seed, n, c, np.float32)
    _check(counting._count_score_rows_bits, np.random.default_rng(seed).integers(0, c, n), _bfloat16_bits(s), c,
           kernels.BFLOAT16_INF_BITS, reference_scores=s)


def test_block_argmax_first_of_many_maxima_and_late_records():
    """Rows rising to their end (every block beats the last), the maximum first repeated
    in a later block, and -0.0 before +0.0 (numpy: equal, so the first)."""
    c = 200
    rising = np.tile(np.arange(c, dtype=np.float32), (3, 1))
    rising[1, 5] = rising[1, -1]  # the maximum first in block 0, again at the end
    rising[2] = 0.0
    rising[2, :40] = -0.0
    rising[2, 0] = -1.0
    t = np.zeros(3, dtype=np.int64)
    for s in (rising, rising.astype(np.float64)):
        _check(counting._count_score_rows_wide, t, s, c)
    h = rising.astype(np.float16)
    _check(counting._count_score_rows_bits, t, h.view(np.int16), c, kernels.FLOAT16_INF_BITS, reference_scores=h)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("c", [10, 300])
def test_strided_read_only_and_weighted_scores_through_count_scores(dtype, c):
    """Scores strided (every other row), read-only, weighted and with ignored and mapped
    labels give numpy's counts through ``counting.count_scores``."""
    from fastcm.backends.numpy_ref import counting as reference

    rng = np.random.default_rng(c)
    s = _logits(c, 400, c, dtype)[::2]
    t = rng.integers(0, c, (200, 1))
    w = rng.random(200)
    ro = s.copy()
    ro.flags.writeable = False
    for scores in (s, ro):
        for kwargs in ({}, {"weights": w}, {"ignore_index": 3}, {"lut": np.arange(c)[::-1].copy(), "lut_offset": 0}):
            counts, invalid = counting.count_scores(t, scores, c, **kwargs)
            ref_counts, ref_invalid = reference.count_scores(t, np.asarray(scores).reshape(200, c, 1), c, **kwargs)
            np.testing.assert_array_equal(counts, ref_counts)
            np.testing.assert_array_equal(invalid, ref_invalid)
