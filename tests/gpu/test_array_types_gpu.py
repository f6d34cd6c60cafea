"""Results in the caller's array type on a GPU: CuPy stays CuPy on its device, CUDA torch
stays CUDA torch (DLPack, no copy), ``like="numpy"`` reads back once (skips without a GPU)."""

import numpy as np
import pytest

from _gpu import cupy_with_a_device

cupy = cupy_with_a_device()
import fastcm  # noqa: E402
from fastcm.backends.arrays import kind_of  # noqa: E402

pytestmark = pytest.mark.gpu

T, P = [0, 1, 2, 2], [0, 2, 2, 1]
WANT = [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
Y, S = [0, 1, 1, 0, 1, 0], [0.1, 0.8, 0.4, 0.5, 0.9, 0.3]


def _on_device(got, want):
    assert isinstance(got, cupy.ndarray) and got.device.id == cupy.cuda.Device().id, type(got)
    np.testing.assert_array_equal(cupy.asnumpy(got), want)


def test_cupy_in_cupy_out_everywhere_counts_are_returned():
    c = cupy.asarray
    _on_device(fastcm.confusion_matrix(c(T), c(P)), WANT)
    _on_device(fastcm.confusion_matrix(c(T), c(np.eye(3)[P] * 2.0)), WANT)  # scores, argmax fused
    _on_device(fastcm.binary_confusion_matrix(c(Y), c(S)), fastcm.binary_confusion_matrix(Y, S))
    _on_device(fastcm.threshold_confusion_matrices(c(Y), c(S), thresholds=5), fastcm.threshold_confusion_matrices(Y, S, thresholds=5))
    t, p = [[1, 0, 1], [0, 1, 1]], [[1, 1, 0], [0, 0, 1]]
    _on_device(fastcm.multilabel_confusion_matrix(c(t), c(p)), fastcm.multilabel_confusion_matrix(t, p))
    _on_device(fastcm.ConfusionMatrix(3).update(c(T), c(P)).compute(), WANT)
    _on_device(fastcm.ThresholdConfusionMatrix(thresholds=5).update(c(Y), c(S)).compute(),
               fastcm.ThresholdConfusionMatrix(thresholds=5).update(Y, S).compute())


def test_like_numpy_reads_a_gpu_result_back():
    got = fastcm.confusion_matrix(cupy.asarray(T), cupy.asarray(P), like="numpy")
    assert type(got) is np.ndarray and got.tolist() == WANT
    assert type(fastcm.ConfusionMatrix(3, like=np).update(cupy.asarray(T), cupy.asarray(P)).compute()) is np.ndarray


def test_cuda_torch_in_cuda_torch_out():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    t, p = torch.tensor(T, device="cuda"), torch.tensor(P, device="cuda")
    got = fastcm.confusion_matrix(t, p)
    assert isinstance(got, torch.Tensor) and got.device == t.device and got.tolist() == WANT
    acc = fastcm.ConfusionMatrix(3).update(t, p)
    counts = acc.compute()
    assert kind_of(counts) == "torch" and counts.device == t.device and counts.tolist() == WANT
    as_numpy = fastcm.confusion_matrix(t, p, like="numpy")
    assert type(as_numpy) is np.ndarray and as_numpy.tolist() == WANT
