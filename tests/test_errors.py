"""Every bad input gets a clear ValueError/TypeError naming the problem, on every backend."""

import numpy as np
import pytest

import fastcm


@pytest.mark.parametrize(
    ("t", "p", "kwargs", "exc", "match"),
    [
        ([0, 1, 2], [0, 1], {}, ValueError, r"same shape.*\(3,\).*\(2,\)"),
        ([0, 1, 5], [0, 1, 1], {"num_classes": 3}, ValueError, r"y_true` labels in 0\.\.2 \(num_classes=3\), but got 5 at position 2"),
        ([0, 1, 1], [0, -1, 1], {"num_classes": 3}, ValueError, r"y_pred` labels in 0\.\.2.*got -1 at position 1"),
        ([0, 1, 1], [0, 1, 1], {"num_classes": -3}, ValueError, r"positive int, but got -3"),
        ([0, 1, 1], [0, 1, 1], {"num_classes": 2.5}, ValueError, r"positive int, but got 2\.5"),
        ([0, 1, 1], [0, 1, 1], {"num_classes": True}, ValueError, r"positive int"),
        ([0, 1, 1], [0, 1, 1], {"normalize": "rows"}, ValueError, r"normalize.*'rows'"),
        ([0.0, np.nan, 1.0], [0, 1, 1], {}, ValueError, r"integer class labels.*nan at position 1"),
        ([0.0, 1.5, 1.0], [0, 1, 1], {}, ValueError, r"integer class labels.*1\.5 at position 1"),
        ([0, 1, 1], [0, 1, 1], {"sample_weight": [1.0, 2.0]}, ValueError, r"sample_weight.*length 3.*got 2"),
        ([0, 1, 1], [0, 1, 1], {"sample_weight": [1.0, np.inf, 1.0]}, ValueError, r"finite `sample_weight`.*inf at position 1"),
        ([0, 1, 1], [0, 1, 1], {"sample_weight": [1.0, 1.0, np.nan]}, ValueError, r"finite `sample_weight`.*nan at position 2"),
        (["a", "b"], [0, 1], {}, TypeError, r"same type"),
        (3, [0], {}, TypeError, r"scalar 3"),
        (None, [0], {}, TypeError, r"None"),
        ([0, 1], [0, 1], {"backend": "spark"}, ValueError, r"Unknown backend 'spark'.*numba.*numpy"),
        (["a", "b"], ["a", "b"], {"num_classes": 2}, TypeError, r"num_classes.*integer"),
        ([0, 1, 1], [0, 1, 1], {"ignore_index": 1.5}, ValueError, r"`ignore_index` to be an integer.*1\.5"),
        ([0, 1, 1], [0, 1, 1], {"ignore_index": "x"}, TypeError, r"integer `ignore_index` for numeric labels.*'x'"),
        ([0.0, 1e30], [0, 1], {}, ValueError, r"y_true.*1e\+30 \(outside the int64 range\) at position 1"),
        ([0, 2**70], [0, 0], {}, ValueError, r"y_true.*int64 \(or uint64\) range, but got 1180591620717411303424 at position 1"),
        (np.array(["a"]), np.array([b"a"]), {}, TypeError, r"str and bytes"),
    ],
)
def test_bad_input_messages(backend, t, p, kwargs, exc, match):
    kwargs.setdefault("backend", backend)
    with pytest.raises(exc, match=match):
        fastcm.confusion_matrix(t, p, **kwargs)


def test_object_arrays(backend):
    bad = np.array([1, "a", None], dtype=object)
    with pytest.raises(TypeError, match="position"):
        fastcm.confusion_matrix(bad, bad, backend=backend)
    ok = np.array(["x", "y"], dtype=object)
    np.testing.assert_array_equal(fastcm.confusion_matrix(ok, ok, backend=backend), np.eye(2, dtype=int))


def test_scores_errors(backend):
    t = np.array([0, 1, 2])
    with pytest.raises(ValueError, match="num_classes=4 columns on axis 1, but got 3"):
        fastcm.confusion_matrix(t, np.zeros((3, 3)), num_classes=4, backend=backend)
    s = np.random.default_rng(0).random((3, 3))
    s[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN at position 1"):
        fastcm.confusion_matrix(t, s, backend=backend)
    with pytest.raises(ValueError, match="labels in 0..2.*got 3 at position 2"):
        fastcm.confusion_matrix(np.array([0, 1, 3]), np.zeros((3, 3)), backend=backend)
    with pytest.raises(ValueError, match=r"shape \(N, C, \.\.\.\)"):
        fastcm.confusion_matrix(np.zeros((3, 4), int), np.zeros((3, 2, 5)), backend=backend)


def test_nd_position_is_reported_as_index(backend):
    t = np.zeros((2, 3, 4), dtype=np.uint8)
    t[1, 2, 3] = 9
    with pytest.raises(ValueError, match=r"got 9 at position 23 \(index \(1, 2, 3\)\)"):
        fastcm.confusion_matrix(t, np.zeros_like(t), num_classes=3, backend=backend)


def test_huge_unsigned_values_are_out_of_range_not_wrapped(backend):
    t = np.array([0, 2**64 - 1], dtype=np.uint64)
    with pytest.raises(ValueError, match="18446744073709551615|-1"):
        fastcm.confusion_matrix(t, np.zeros(2, np.uint64), num_classes=2, backend=backend)
