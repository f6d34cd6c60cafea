"""Every entry of the harness table (tests/_harness.py) against its reference, on every
host backend: value, dtype, warnings, error type, and one-shot against accumulated,
merged, pickled and saved-and-loaded."""

import numpy as np
import pytest

from _harness import CASES, Data, assert_same, check_error, check_one_shot, check_stream, random_batches
from conftest import HOST_BACKENDS

SEEDS = [0, 1, 2]
STREAMED = [case for case in CASES if case.stream is not None]


@pytest.mark.parametrize("backend", HOST_BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_one_shot_matches_the_reference(case, backend):
    for seed in SEEDS:
        check_one_shot(case, case.data(np.random.default_rng(seed)), backend)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_small_inputs_warn_as_the_reference(case):
    """A few rows: classes missing from the truth or the predictions (undefined metrics)."""
    rng = np.random.default_rng(7)
    for n in (3, 5):
        check_one_shot(case, case.data(rng, n), "numpy")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_inputs_of_different_lengths_raise_the_references_error(case):
    assert issubclass(check_error(case, case.data(np.random.default_rng(0)), HOST_BACKENDS[0]), ValueError)


@pytest.mark.parametrize("backend", HOST_BACKENDS)
@pytest.mark.parametrize("case", STREAMED, ids=lambda c: c.name)
def test_accumulated_merged_pickled_and_loaded_equal_one_shot(case, backend, tmp_path):
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        check_stream(case, case.data(rng), backend, rng, tmp_path)


def test_random_batches_cover_the_rows_in_order():
    rng = np.random.default_rng(0)
    for n in (0, 1, 17):
        for _ in range(20):
            batches = random_batches(n, rng)
            assert batches[0][0] == 0 and batches[-1][1] == n
            assert all(a <= b for a, b in batches) and all(b == c for (_, b), (c, _) in zip(batches, batches[1:]))


def test_assert_same_refuses_another_dtype_or_value():
    assert_same((np.array([1.0, np.nan]),), (np.array([1.0, np.nan]),))
    with pytest.raises(AssertionError, match="dtype"):
        assert_same(np.array([1], dtype=np.int32), np.array([1], dtype=np.int64))
    with pytest.raises(AssertionError, match="!="):
        assert_same(np.array([0.1 + 0.2]), np.array([0.3]))
    with pytest.raises(AssertionError):
        assert_same(Data(np.zeros(1), np.zeros(1)).y_true, np.zeros(2))
