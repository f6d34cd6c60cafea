"""confusion_matrix against scikit-learn on every host backend and integer dtype."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

import fastcm


def _sk(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sk_confusion_matrix(*args, **kwargs)


def _fc(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fastcm.confusion_matrix(*args, **kwargs)


def _labels_for(dtype, rng, n, high):
    if dtype == np.bool_:
        return rng.integers(0, 2, n).astype(bool)
    info = np.iinfo(dtype)
    return rng.integers(0, min(high, int(info.max) + 1), n).astype(dtype)


pairs = st.integers(0, 400).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 6), min_size=n, max_size=n),
        st.lists(st.integers(0, 6), min_size=n, max_size=n),
        st.integers(0, 2**31),
    )
)


@given(data=pairs)
def test_matches_sklearn_on_random_labels(backend, data):
    t, p, seed = data
    t, p = np.array(t, dtype=np.int64), np.array(p, dtype=np.int64)
    if t.size == 0:
        assert _fc(t, p, backend=backend).shape == (0, 0)
        return
    np.testing.assert_array_equal(_fc(t, p, backend=backend), _sk(t, p))
    np.testing.assert_array_equal(_fc(t, p, num_classes=7, backend=backend), _sk(t, p, labels=range(7)))
    labels = np.random.default_rng(seed).permutation(9)[:4]
    if np.isin(labels, t).any():
        np.testing.assert_array_equal(_fc(t, p, labels=labels, backend=backend), _sk(t, p, labels=labels))
    w = np.random.default_rng(seed).random(t.size)
    for normalize in (None, "true", "pred", "all"):
        np.testing.assert_allclose(
            _fc(t, p, sample_weight=w, normalize=normalize, backend=backend),
            _sk(t, p, sample_weight=w, normalize=normalize),
            rtol=1e-12,
            atol=1e-15,
        )


def test_every_integer_dtype(backend, int_dtype):
    rng = np.random.default_rng(1)
    t = _labels_for(int_dtype, rng, 3000, 9)
    p = _labels_for(int_dtype, rng, 3000, 9)
    expected = _sk(t.astype(np.int64), p.astype(np.int64))
    got = _fc(t, p, backend=backend)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    c = expected.shape[0]
    np.testing.assert_array_equal(_fc(t, p, num_classes=max(c, int(max(t.max(), p.max())) + 1), backend=backend)[:c, :c], expected)


def test_large_input_uses_threads_and_matches_reference(backend):
    rng = np.random.default_rng(2)
    n = 3_000_000  # above the parallel threshold: exercises private per-thread histograms
    t = rng.integers(0, 13, n).astype(np.int32)
    p = rng.integers(0, 13, n).astype(np.int32)
    ref = np.bincount(t.astype(np.int64) * 13 + p, minlength=169).reshape(13, 13)
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, p, num_classes=13, backend=backend), ref)


def test_many_classes_row_band_path():
    numba = pytest.importorskip("numba")
    rng = np.random.default_rng(3)
    c = 3000  # 2 threads x 9M int64 exceed the private-copy budget: row bands
    n = 1_000_000
    t = rng.integers(0, c, n)
    p = rng.integers(0, c, n)
    ref = np.bincount(t * c + p, minlength=c * c).reshape(c, c)
    for threads in (1, 2):
        if threads > numba.config.NUMBA_NUM_THREADS:
            continue
        numba.set_num_threads(threads)
        got = fastcm.confusion_matrix(t, p, num_classes=c, backend="numba")
        np.testing.assert_array_equal(got, ref)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    bad = t.copy()
    bad[777] = c + 5
    with pytest.raises(ValueError, match=f"{c + 5} at position 777"):
        fastcm.confusion_matrix(bad, p, num_classes=c, backend="numba")


def test_string_and_bool_labels(backend):
    t = np.array(["cat", "dog", "bird", "dog", "cat"])
    p = np.array(["dog", "dog", "bird", "cat", "cat"])
    np.testing.assert_array_equal(_fc(t, p, backend=backend), _sk(t, p))
    np.testing.assert_array_equal(_fc(t, p, labels=["dog", "cat"], backend=backend), _sk(t, p, labels=["dog", "cat"]))
    np.testing.assert_array_equal(_fc(list(t), list(p), backend=backend), _sk(t, p))
    tb, pb = np.array([True, False, True]), np.array([True, True, False])
    np.testing.assert_array_equal(_fc(tb, pb, backend=backend), _sk(tb, pb))


def test_non_contiguous_and_negative_labels(backend):
    rng = np.random.default_rng(4)
    t = rng.choice([-7, 3, 1000, 2**40], 500)
    p = rng.choice([-7, 3, 1000, 2**40, 12], 500)
    np.testing.assert_array_equal(_fc(t, p, backend=backend), _sk(t, p))
    np.testing.assert_array_equal(_fc(t, p, labels=[2**40, -7], backend=backend), _sk(t, p, labels=[2**40, -7]))
    strided = np.arange(40) % 4
    np.testing.assert_array_equal(_fc(strided[::3][:13], strided[1::3], backend=backend), _sk(strided[::3][:13], strided[1::3]))


def test_whole_number_floats(backend):
    t = np.array([0.0, 1.0, 2.0, 2.0])
    p = np.array([0.0, 2.0, 2.0, 1.0])
    np.testing.assert_array_equal(_fc(t, p, backend=backend), _sk(t, p))


def test_integer_weights_give_int64(backend):
    t, p = [0, 1, 1, 0], [0, 1, 0, 0]
    w = np.array([1, 2, 3, 4])
    got = _fc(t, p, sample_weight=w, backend=backend)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, _sk(t, p, sample_weight=w))


def test_ignore_index_drops_pairs_by_truth(backend):
    t = np.array([[0, 255, 1], [2, 255, 1]], dtype=np.uint8)
    p = np.array([[0, 7, 1], [1, 255, 1]], dtype=np.uint8)
    got = fastcm.confusion_matrix(t, p, num_classes=3, ignore_index=255, backend=backend)
    np.testing.assert_array_equal(got, [[1, 0, 0], [0, 2, 0], [0, 1, 0]])
    inferred = fastcm.confusion_matrix(t, p, ignore_index=255, backend=backend)
    np.testing.assert_array_equal(inferred, got)


@pytest.mark.parametrize("score_dtype", [np.float32, np.float64, np.float16, np.int16])
def test_fused_argmax_matches_numpy(backend, score_dtype):
    rng = np.random.default_rng(5)
    t = rng.integers(0, 6, 2000)
    s = rng.integers(-3, 4, (2000, 6)).astype(score_dtype)  # many ties: lowest index wins
    np.testing.assert_array_equal(
        fastcm.confusion_matrix(t, s, backend=backend), _sk(t, np.argmax(s, axis=1), labels=range(6))
    )


def test_fused_argmax_segmentation_layout(backend):
    rng = np.random.default_rng(6)
    t = rng.integers(0, 4, (3, 17, 300)).astype(np.uint8)
    t[0, 0, :10] = 255
    s = rng.random((3, 4, 17, 300)).astype(np.float32)
    keep = t.ravel() != 255
    expected = _sk(t.ravel()[keep], s.argmax(1).ravel()[keep], labels=range(4))
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, s, ignore_index=255, backend=backend), expected)
    np.testing.assert_array_equal(
        fastcm.confusion_matrix(t, s, ignore_index=255, num_classes=4, backend=backend), expected
    )


def test_scores_with_labels_select_classes(backend):
    rng = np.random.default_rng(7)
    t = rng.integers(0, 5, 400)
    s = rng.random((400, 5))
    expected = _sk(t, s.argmax(1), labels=[3, 0])
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, s, labels=[3, 0], backend=backend), expected)


def test_labels_semantics_like_sklearn(backend):
    with pytest.raises(ValueError, match="at least one label"):
        fastcm.confusion_matrix([0, 1], [0, 1], labels=[], backend=backend)
    with pytest.raises(ValueError, match="At least one label specified must be in y_true"):
        fastcm.confusion_matrix([0, 1], [0, 1], labels=[5, 6], backend=backend)
    np.testing.assert_array_equal(fastcm.confusion_matrix([], [], labels=[1, 2], backend=backend), np.zeros((2, 2)))
    with pytest.warns(UserWarning, match="single label"):
        fastcm.confusion_matrix([1, 1], [1, 1], backend=backend)


def test_normalize_zero_rows_stay_zero(backend):
    got = fastcm.confusion_matrix([0, 0, 2], [0, 1, 0], labels=[0, 1, 2], normalize="true", backend=backend)
    np.testing.assert_allclose(got, [[0.5, 0.5, 0], [0, 0, 0], [1, 0, 0]])
    assert got.dtype == np.float64


def test_backends_agree_exactly(int_dtype):
    rng = np.random.default_rng(8)
    t = _labels_for(int_dtype, rng, 10_000, 5)
    p = _labels_for(int_dtype, rng, 10_000, 5)
    results = [fastcm.confusion_matrix(t, p, num_classes=5, backend=b) for b in fastcm.backends.available() if b != "cupy"]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_torch_cpu_tensor_is_read_without_copy():
    torch = pytest.importorskip("torch")
    t = torch.randint(0, 4, (1000,))
    p = torch.randint(0, 4, (1000,))
    from fastcm.core.inputs import as_array

    assert as_array(t, "y_true").ctypes.data == t.data_ptr()
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, p, num_classes=4), _sk(t.numpy(), p.numpy(), labels=range(4)))


def test_array_protocol_objects(backend):
    class Column:
        def __init__(self, values):
            self.values = np.asarray(values)

        def __array__(self, dtype=None, copy=None):
            return self.values

    got = fastcm.confusion_matrix(Column([0, 1, 1]), Column([1, 1, 0]), backend=backend)
    np.testing.assert_array_equal(got, [[0, 1], [1, 1]])


@pytest.mark.parametrize("other", [np.int8, np.uint16, np.int64, np.uint64])
def test_inferred_labels_with_mixed_dtypes_and_read_only_arrays(backend, int_dtype, other):
    rng = np.random.default_rng(7)
    hi = 2 if int_dtype == np.bool_ else 5
    t = rng.integers(0, hi, 300).astype(int_dtype)
    p = rng.integers(0, hi, 300).astype(other)
    p.flags.writeable = False
    expected = sk_confusion_matrix(t.astype(np.int64), p.astype(np.int64))
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, p, backend=backend), expected)


@pytest.mark.parametrize("weight_dtype", [np.float16, np.float32, np.float64, np.int8, np.uint64, np.bool_])
def test_every_weight_dtype(backend, weight_dtype):
    rng = np.random.default_rng(7)
    t, p = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    w = (rng.random(500) * 3).astype(weight_dtype)
    np.testing.assert_allclose(_fc(t, p, sample_weight=w, backend=backend), _sk(t, p, sample_weight=w), rtol=1e-12)
    s = rng.random((500, 4)).astype(np.float16)
    expected = _sk(t, s.argmax(axis=1), labels=range(4), sample_weight=w)
    np.testing.assert_allclose(_fc(t, s, sample_weight=w, backend=backend), expected, rtol=1e-12)


@pytest.mark.parametrize("span", [3, 1024, 1025, 5000])
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint16, np.int32, np.int64])
def test_inferred_labels_short_and_long_value_ranges(backend, span, dtype):
    # short ranges are counted densely and cut to the values present; long ones use a table
    rng = np.random.default_rng(span)
    info = np.iinfo(dtype)
    lo = max(int(info.min), -span // 2)
    hi = min(int(info.max), lo + span - 1)
    values = np.unique(np.r_[lo, hi, rng.integers(lo, hi + 1, 40)])
    t = rng.choice(values, 20_000).astype(dtype)
    p = rng.choice(values, 20_000).astype(dtype)
    np.testing.assert_array_equal(_fc(t, p, backend=backend), _sk(t, p))
    ignore = int(values[1])
    keep = t != ignore
    expected = _sk(t[keep], p[keep], labels=np.union1d(t[keep], p[keep]))
    np.testing.assert_array_equal(_fc(t, p, ignore_index=ignore, backend=backend), expected)


@pytest.mark.parametrize("c", [2, 5, 32, 33])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 1001])
def test_fused_argmax_rows_in_fours_and_tails(backend, c, n):
    # rows are taken four at a time up to 32 classes; ties, NaN positions and tails must hold
    rng = np.random.default_rng(c * 1000 + n)
    s = rng.integers(0, 3, (n, c)).astype(np.float32)  # many ties: the lowest index wins
    t = rng.integers(0, c, n)
    expected = _sk(t, s.argmax(axis=1), labels=range(c))
    np.testing.assert_array_equal(_fc(t, s, num_classes=c, backend=backend), expected)
    w = rng.random(n)
    np.testing.assert_allclose(
        _fc(t, s, num_classes=c, sample_weight=w, backend=backend),
        _sk(t, s.argmax(axis=1), labels=range(c), sample_weight=w),
        rtol=1e-12,
    )
    if n > 2:
        s[n - 2, c - 1] = np.nan
        with pytest.raises(ValueError, match=f"NaN at position {n - 2}"):
            _fc(t, s, num_classes=c, backend=backend)


def test_ignore_index_is_compared_as_an_integer_on_every_path(backend):
    # a fractional index matched nothing on numpy but was truncated to 1 by numba; an index
    # no dtype value can equal was an OverflowError on numba: now one meaning everywhere
    t = np.array([0, 1, 1, 2], dtype=np.uint8)
    p = np.array([0, 1, 0, 2], dtype=np.uint8)
    full = [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    without_ones = {"inferred": [[1, 0], [0, 1]], "declared": [[1, 0, 0], [0, 0, 0], [0, 0, 1]]}
    for kw in ({}, {"num_classes": 3}, {"labels": [0, 1, 2]}):
        with pytest.raises(ValueError, match=r"`ignore_index` to be an integer.*1\.5"):
            fastcm.confusion_matrix(t, p, ignore_index=1.5, backend=backend, **kw)
        got = fastcm.confusion_matrix(t, p, ignore_index=1.0, backend=backend, **kw)  # 1.0 is the label 1
        np.testing.assert_array_equal(got, without_ones["declared" if kw else "inferred"])
        for outside in (2**70, 257, -1):  # no uint8 value equals these: nothing is dropped
            np.testing.assert_array_equal(fastcm.confusion_matrix(t, p, ignore_index=outside, backend=backend, **kw), full)
    s = np.eye(3)[[0, 1, 0, 2]]
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, s, ignore_index=2**70, backend=backend), full)
    with pytest.raises(ValueError, match="ignore_index"):
        fastcm.confusion_matrix(t, s, ignore_index=0.5, backend=backend)


def test_labels_and_values_above_int64_on_uint64_data(backend):
    # uint64 values above 2**63 were an OverflowError (an int64 table offset) on both backends
    big = 2**63
    t = np.array([big, big + 1, 5], np.uint64)
    p = np.array([big + 1, big + 1, 5], np.uint64)
    np.testing.assert_array_equal(fastcm.confusion_matrix(t, p, labels=[big, big + 1], backend=backend), [[0, 1], [0, 1]])
    np.testing.assert_array_equal(fastcm.confusion_matrix(t[:2], p[:2], backend=backend), [[0, 1], [0, 1]])
    one = np.array([big], np.uint64)
    np.testing.assert_array_equal(_fc(one, one, backend=backend), [[1]])
    with pytest.raises(ValueError, match="ignore_index.*int64 range"):
        fastcm.confusion_matrix(t, p, num_classes=3, ignore_index=2**64 - 1, backend=backend)


def test_huge_float_labels_are_rejected_not_wrapped(backend):
    # 1e30 became int64's minimum through astype and was counted as that label
    with pytest.raises(ValueError, match=r"integer class labels, but got 1e\+30 \(outside the int64 range\) at position 1"):
        fastcm.confusion_matrix([0.0, 1e30], [0.0, 1.0], backend=backend)
    with pytest.raises(ValueError, match=r"y_pred.*-1e\+19 \(outside the int64 range\) at position 0"):
        fastcm.confusion_matrix([0.0, 1.0], [-1e19, 1.0], num_classes=2, backend=backend)
    np.testing.assert_array_equal(fastcm.confusion_matrix([-(2.0**63), 0.0], [0.0, 0.0], backend=backend), [[0, 1], [0, 1]])


def test_non_finite_weights_of_dropped_pairs_are_rejected(backend):
    # kernels check the weights of counted pairs only; scikit-learn rejects a NaN anywhere
    w = [1.0, np.nan, 2.0]
    with pytest.raises(ValueError, match="finite `sample_weight`, but got nan at position 1"):
        fastcm.confusion_matrix([0, 5, 1], [0, 1, 1], labels=[0, 1], sample_weight=w, backend=backend)
    with pytest.raises(ValueError, match="finite `sample_weight`, but got nan at position 1"):
        fastcm.confusion_matrix([0, 255, 1], [0, 1, 1], num_classes=2, ignore_index=255, sample_weight=w, backend=backend)
    with pytest.raises(ValueError, match="finite `sample_weight`, but got -inf at position 0"):
        fastcm.confusion_matrix(["x", "a"], ["a", "a"], labels=["a"], sample_weight=[-np.inf, 1.0], backend=backend)
    got = fastcm.confusion_matrix([0, 5, 1], [0, 1, 1], labels=[0, 1], sample_weight=[1.0, 3.0, 2.0], backend=backend)
    np.testing.assert_array_equal(got, [[1.0, 0.0], [0.0, 2.0]])


def test_tensor_inputs_of_dtypes_dlpack_cannot_carry():
    # TensorFlow aborted the process exporting a string tensor through DLPack; bfloat16
    # (JAX, TensorFlow) was a RuntimeError
    rng = np.random.default_rng(9)
    t = rng.integers(0, 4, 60)
    s = rng.random((60, 4)).astype(np.float32)
    jnp = pytest.importorskip("jax.numpy")
    sb = jnp.asarray(s).astype(jnp.bfloat16)
    expected = _sk(t, np.asarray(sb).astype(np.float32).argmax(axis=1), labels=range(4))
    np.testing.assert_array_equal(fastcm.confusion_matrix(jnp.asarray(t.astype(np.int32)), sb), expected)
    tf = pytest.importorskip("tensorflow")
    np.testing.assert_array_equal(fastcm.confusion_matrix(tf.constant(t), tf.cast(tf.constant(s), tf.bfloat16)), expected)
    words = fastcm.confusion_matrix(tf.constant(["cat", "dog", "été"]), tf.constant(["cat", "cat", "été"]), labels=["été", "cat"])
    np.testing.assert_array_equal(words, [[1, 0], [0, 1]])


def test_object_arrays_of_bools_bytes_and_big_ints(backend):
    np.testing.assert_array_equal(
        fastcm.confusion_matrix(np.array([True, False], object), np.array([True, True], object), backend=backend),
        [[0, 1], [0, 1]],
    )
    big = np.array([2**64 - 1, 3], object)
    np.testing.assert_array_equal(_fc(big, big, backend=backend), [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match=r"int64 \(or uint64\) range, but got 1180591620717411303424 at position 1"):
        fastcm.confusion_matrix([0, 2**70], [0, 0], backend=backend)
    with pytest.raises(TypeError, match="str and bytes"):
        fastcm.confusion_matrix(np.array(["a", "b"]), np.array([b"a", b"a"]), backend=backend)


def test_multilabel_matches_sklearn_on_edge_inputs():
    from sklearn.metrics import multilabel_confusion_matrix as sk_mlcm

    t = np.array([[1, 0, 1], [0, 1, 1]])
    p = np.array([[1, 1, 0], [0, 1, 1]])
    # float indicators were truncated (0.5 counted as 0); now rejected like fractional labels
    with pytest.raises(ValueError, match=r"y_true.*0\.5 at position 0"):
        fastcm.multilabel_confusion_matrix(np.array([[0.5, 1.0]]), np.array([[1, 0]]))
    # non-finite weights gave NaN counts
    with pytest.raises(ValueError, match="finite `sample_weight`, but got nan at position 1"):
        fastcm.multilabel_confusion_matrix(t, p, sample_weight=[1.0, np.nan])
    # a (N, 1) column against (N,) labels is 1-D, as scikit-learn's column_or_1d
    col = np.array([[1], [0], [1]])
    np.testing.assert_array_equal(fastcm.multilabel_confusion_matrix(col, [1, 1, 0]), sk_mlcm(col, [1, 1, 0]))
    # whole-float column indices select columns as in scikit-learn
    np.testing.assert_array_equal(fastcm.multilabel_confusion_matrix(t, p, labels=[2.0, 0.0]), sk_mlcm(t, p, labels=[2.0, 0.0]))
    with pytest.raises(ValueError, match="column indices"):
        fastcm.multilabel_confusion_matrix(t, p, labels=["a"])


def test_multilabel_multiclass_uses_the_backend_asked_for():
    with pytest.raises(ValueError, match="Unknown backend 'spark'"):
        fastcm.multilabel_confusion_matrix([0, 1], [1, 1], backend="spark")
