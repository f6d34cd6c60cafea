"""ConfusionMatrix.update on CuPy arrays: no host sync, checks deferred to compute() (skips without a GPU).

The reference is the eager accumulator on the same data on the host (numpy backend): same
counts, same n_samples, same message plus the batch that was invalid.
"""

import time

import numpy as np
import pytest

from _gpu import cupy_with_a_device

cupy = cupy_with_a_device()
from fastcm import ConfusionMatrix  # noqa: E402
from fastcm.core import invalid as invalid_mod  # noqa: E402
from fastcm.counts import confusion as confusion_mod  # noqa: E402

pytestmark = pytest.mark.gpu

C = 5
_SPIN = cupy.RawKernel(
    r"""
extern "C" __global__ void spin(long long cycles) {
    long long start = clock64();
    while (clock64() - start < cycles) { }
}
""",
    "spin",
)


def _busy(seconds):
    """Queue a kernel that keeps the current stream busy for about ``seconds``."""
    khz = cupy.cuda.Device().attributes["ClockRate"]
    _SPIN((1,), (1,), (np.int64(seconds * khz * 1000),))


def _batches(seed=0):
    """Host batches: labels, 2-D labels, scores, float weights; numbers 2 and 5 are invalid."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(7):
        n = int(rng.integers(50, 3000))
        t = rng.integers(0, C, n).astype(np.int32)
        p = rng.integers(0, C, n).astype(np.int32)
        w = None
        if k == 1:
            t, p = t[: n // 2 * 2].reshape(-1, 2), p[: n // 2 * 2].reshape(-1, 2)
        if k == 2:
            t[n // 3] = C + 4
        if k == 3:
            p = rng.random((n, C)).astype(np.float32)
        if k == 4:
            w = rng.random(n)
        if k == 5:
            w = rng.random(n)
            w[7] = np.inf
        out.append((t, p, w))
    return out


def _dev(x):
    return None if x is None else cupy.asarray(x)


def test_matches_the_eager_host_accumulator():
    eager = ConfusionMatrix(C, backend="numpy")
    gpu = ConfusionMatrix(C)
    errors = []
    for k, (t, p, w) in enumerate(_batches()):
        try:
            eager.update(t, p, sample_weight=w)
        except ValueError as exc:
            errors.append((k, str(exc)))
        gpu.update(cupy.asarray(t), cupy.asarray(p), sample_weight=_dev(w))
    assert [k for k, _ in errors] == [2, 5]
    assert "checks pending" in repr(gpu)
    with pytest.raises(ValueError) as info:
        gpu.compute()
    assert str(info.value).startswith(f"{errors[0][1]}, in batch 2 passed to update()")
    assert "1 later invalid batch(es)" in str(info.value)
    out = gpu.compute()
    assert isinstance(out, cupy.ndarray) and out.dtype == eager.compute().dtype
    np.testing.assert_array_equal(cupy.asnumpy(out), eager.compute())
    assert gpu.n_samples == eager.n_samples


def test_update_never_waits_for_the_device():
    cm = ConfusionMatrix(C)
    good = [(cupy.asarray(t), cupy.asarray(p), _dev(w)) for t, p, w in _batches(1) if t.max() < C and (w is None or np.isfinite(w).all())]
    bad_t, bad_p = cupy.asarray([0, C + 1]), cupy.asarray([0, 0])
    for t, p, w in good:  # warm-up: compile every kernel these updates use
        cm.update(t, p, sample_weight=w)
    cm.update(bad_t, bad_p)
    with pytest.raises(ValueError):
        cm.compute()
    cm.reset()
    cupy.cuda.Device().synchronize()
    stream = cupy.cuda.get_current_stream()
    _busy(2.0)
    start = time.perf_counter()
    for t, p, w in good:
        cm.update(t, p, sample_weight=w)
    cm.update(bad_t, bad_p)
    elapsed = time.perf_counter() - start
    busy = not stream.done  # still spinning: no update waited for it
    assert busy and elapsed < 1.0, f"update took {elapsed:.3f} s behind a 2 s kernel"
    with pytest.raises(ValueError, match=rf"got {C + 1} at position 1, in batch {len(good)} passed to update"):
        cm.compute()  # synchronize! the one read


def test_update_calls_no_host_read(monkeypatch):
    monkeypatch.setattr(confusion_mod, "to_host", lambda a: pytest.fail("update read a kernel result back"))
    monkeypatch.setattr(invalid_mod, "to_host", lambda a: pytest.fail("update read an invalid record back"))
    cm = ConfusionMatrix(C)
    t = cupy.arange(1000, dtype=cupy.int64) % C
    cm.update(t, t).update(t.reshape(100, 10), (t + 1).reshape(100, 10) % C)
    assert isinstance(cm._deferred, cupy.ndarray)
    monkeypatch.undo()
    np.testing.assert_array_equal(cupy.asnumpy(cm.compute()).diagonal(), [200, 200, 200, 200, 200])


def test_count_defers_on_the_device_only():
    t = cupy.asarray([0, 1, 9])
    res = confusion_mod.count(t, t, num_classes=2, defer="device")
    assert isinstance(res.invalid, cupy.ndarray) and res.invalid.shape == (invalid_mod.RECORD_SIZE,)
    assert invalid_mod.invalid_message(cupy.asnumpy(res.invalid)) == (
        "Expected `y_true` labels in 0..1 (num_classes=2), but got 9 at position 2"
    )
    with pytest.raises(ValueError, match="got 9 at position 2$"):
        confusion_mod.count(t, t, num_classes=2)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint64])
def test_record_values_of_every_width(dtype):
    big = np.iinfo(dtype).max
    t = np.array([0, 1, big], dtype)
    cm = ConfusionMatrix(2)
    cm.update(cupy.asarray(t), cupy.asarray(t[::-1].copy()))
    with pytest.raises(ValueError, match=rf"got {big} at position 0 \(2 invalid pairs in total\), in batch 0"):
        cm.compute()


def test_merge_copy_and_save_on_the_device(tmp_path):
    a, b = ConfusionMatrix(3), ConfusionMatrix(3)
    a.update(cupy.asarray([0, 1]), cupy.asarray([0, 1]))
    b.update(cupy.asarray([2]), cupy.asarray([2])).update(cupy.asarray([0]), cupy.asarray([3]))
    total = a + b.copy()
    with pytest.raises(ValueError, match="in batch 1 of an accumulator merged into this one"):
        total.save(tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
    total.save(tmp_path / "x.npz")
    back = ConfusionMatrix.load(tmp_path / "x.npz")
    np.testing.assert_array_equal(back.compute(), np.diag([1, 1, 1]))
    assert back.n_samples == 3


def test_torch_cuda_tensors():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    t = torch.randint(0, C, (10_000,), device="cuda")
    s = torch.randn(10_000, C, device="cuda", dtype=torch.float16)
    s[17, 2] = float("nan")
    cm = ConfusionMatrix(C)
    cm.update(t, s.argmax(1)).update(t, s)
    with pytest.raises(ValueError, match="got NaN at position 17, in batch 1"):
        cm.compute()
    ref = ConfusionMatrix(C, backend="numpy").update(t.cpu().numpy(), s.argmax(1).cpu().numpy())
    np.testing.assert_array_equal(cupy.asnumpy(cm.compute()), ref.compute())
