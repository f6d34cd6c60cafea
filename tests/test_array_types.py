"""Results in the caller's array type: fastcm.confusion_matrix and the ``like=`` argument."""

import numpy as np
import pytest

import fastcm
from fastcm.array_types import KINDS, kind_of, resolve, to_caller

T, P = [0, 1, 2, 2], [0, 2, 2, 1]
WANT = [[1, 0, 0], [0, 0, 1], [0, 1, 1]]


def test_numpy_and_lists_stay_numpy():
    assert type(fastcm.confusion_matrix(T, P)) is np.ndarray
    assert type(fastcm.confusion_matrix(np.array(T), P, like="numpy")) is np.ndarray
    assert resolve(None, T, P) == "numpy" and kind_of(np.zeros(1)) == "numpy"


def test_like_is_checked():
    with pytest.raises(ValueError, match="Expected `like` to be one of 'numpy'"):
        fastcm.confusion_matrix(T, P, like="pandas")
    with pytest.raises(ValueError, match="the module pytest"):
        resolve(pytest)
    assert resolve(np) == "numpy" and set(KINDS) >= {"torch", "jax", "tensorflow", "cupy"}


def test_torch_in_torch_out_without_copy():
    torch = pytest.importorskip("torch")
    t, p = torch.tensor(T), torch.tensor(P)
    got = fastcm.confusion_matrix(t, p)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.int64 and got.tolist() == WANT
    assert isinstance(fastcm.confusion_matrix(T, p), torch.Tensor)  # y_pred's type when y_true is a list
    as_numpy = fastcm.confusion_matrix(t, p, like="numpy")
    assert type(as_numpy) is np.ndarray and as_numpy.tolist() == WANT
    assert isinstance(fastcm.confusion_matrix(t, p, like=np), np.ndarray)
    assert isinstance(fastcm.confusion_matrix(T, P, like=torch.zeros(1)), torch.Tensor)
    normalized = fastcm.confusion_matrix(t, p, normalize="true")
    assert normalized.dtype == torch.float64
    counts = np.eye(2, dtype=np.int64)
    assert to_caller(counts, "torch").data_ptr() == counts.ctypes.data  # zero-copy
    frozen = counts.copy()
    frozen.flags.writeable = False
    assert to_caller(frozen, "torch").tolist() == [[1, 0], [0, 1]]


def test_tensorflow_in_tensorflow_out():
    tf = pytest.importorskip("tensorflow")
    got = fastcm.confusion_matrix(tf.constant(T), tf.constant(P))
    assert isinstance(got, tf.Tensor) and got.dtype == tf.int64 and got.numpy().tolist() == WANT
    assert type(fastcm.confusion_matrix(tf.constant(T), tf.constant(P), like="numpy")) is np.ndarray


def test_jax_in_jax_out():
    jnp = pytest.importorskip("jax.numpy")
    got = fastcm.confusion_matrix(jnp.asarray(T), jnp.asarray(P))
    assert kind_of(got) == "jax" and np.asarray(got).tolist() == WANT


def test_jax_without_x64_refuses_a_count_past_int32():
    from fastcm.array_types import _int32_for_jax

    with pytest.raises(OverflowError, match="like='numpy'"):
        _int32_for_jax(np.array([2**31], dtype=np.int64))
    assert _int32_for_jax(np.array([2**31 - 1], dtype=np.int64)).tolist() == [2**31 - 1]
