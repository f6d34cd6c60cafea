"""The input module: byte order, layouts and dtypes reach every backend as the same values."""

import numpy as np
import pytest

import fastcm
from fastcm.core.inputs import as_array, common_integer_labels

BIG_ENDIAN = [">i2", ">i4", ">i8", ">u2", ">u4", ">u8"]


def _layouts(a):
    """``a`` as read-only, unaligned, strided and big-endian arrays holding the same values."""
    ro = a.copy()
    ro.flags.writeable = False
    buf = np.zeros(a.nbytes + 1, np.uint8)
    unaligned = np.frombuffer(buf[1:].data, dtype=a.dtype)
    unaligned[...] = a  # frombuffer of a writeable buffer: writeable
    strided = np.repeat(a, 2)[::2]
    out = {"native": a, "read-only": ro, "unaligned": unaligned, "strided": strided}
    if a.dtype.itemsize > 1:
        out["swapped"] = a.astype(a.dtype.newbyteorder("S"))
        swapped_ro = np.frombuffer(a.astype(a.dtype.newbyteorder("S")).tobytes(), dtype=a.dtype.newbyteorder("S"))
        out["swapped read-only"] = swapped_ro
    return out


@pytest.mark.parametrize("dtype", BIG_ENDIAN)
def test_big_endian_labels_count_as_their_values_whatever_was_seen_before(backend, dtype):
    # numba's argument cache ignores byte order: a read-only or unaligned native array of the
    # same dtype seen first made a big-endian one be read as native bytes (0, 256, 512)
    native = np.array([0, 1, 2, 2, 1], dtype=np.dtype(dtype).newbyteorder("="))
    expected = fastcm.confusion_matrix(native, native[::-1], num_classes=3, backend="numpy")
    for name, t in _layouts(native).items():
        for pname, p in _layouts(native[::-1].copy()).items():
            got = fastcm.confusion_matrix(t, p, num_classes=3, backend=backend)
            np.testing.assert_array_equal(got, expected, err_msg=f"{name} vs {pname}")
            np.testing.assert_array_equal(fastcm.confusion_matrix(t, p, backend=backend), expected)


@pytest.mark.parametrize("dtype", [">f4", ">f8"])
def test_big_endian_weights_and_scores(backend, dtype):
    t = np.array([0, 1, 2, 1])
    w = np.array([0.5, 1.0, 2.0, 4.0], dtype=dtype)
    expected = fastcm.confusion_matrix(t, t, sample_weight=w.astype(np.float64), num_classes=3, backend="numpy")
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, t, sample_weight=w, num_classes=3, backend=backend), expected)
    scores = np.eye(3, dtype=dtype)[t] * 0.5 + 0.25
    got = fastcm.confusion_matrix(t, scores, backend=backend)
    np.testing.assert_array_equal(got, np.diag([1, 2, 1]))


def test_extended_precision_is_a_clear_type_error(backend):
    w = np.ones(2, dtype=np.longdouble)
    if w.dtype.itemsize <= 8:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match="extended precision"):
        fastcm.confusion_matrix([0, 1], [0, 1], sample_weight=w, backend=backend)
    with pytest.raises(TypeError, match="extended precision"):
        fastcm.confusion_matrix([0, 1], np.eye(2, dtype=np.longdouble), backend=backend)


def test_as_array_returns_native_byte_order_with_the_same_values():
    a = np.arange(5, dtype=">i4")
    b = as_array(a, "y_true")
    assert b.dtype.isnative and b.dtype == np.int32
    np.testing.assert_array_equal(b, np.arange(5))
    c = np.arange(5, dtype=np.int32)
    assert as_array(c, "y_true") is c  # native arrays are not copied


def test_common_integer_labels_never_goes_through_float():
    u = np.array([2**63, 2**64 - 1], np.uint64)
    s = np.array([2**53 + 1, 0], np.int64)
    a, b = common_integer_labels(u, s)
    assert a.dtype == b.dtype == np.uint64
    assert b.tolist() == [2**53 + 1, 0]
    a, b = common_integer_labels(np.array([2**53 + 1], np.uint64), np.array([-1, 2**53]))
    assert a.dtype == b.dtype == np.int64 and a.tolist() == [2**53 + 1]
    with pytest.raises(TypeError, match="no 64-bit integer type holds both"):
        common_integer_labels(u, np.array([-1]))
