"""The CuPy backend against the numpy reference, kernel by kernel (skips without a GPU)."""

import numpy as np
import pytest

from _gpu import cupy_with_a_device

cupy = cupy_with_a_device()
from fastcm import backends  # noqa: E402

pytestmark = pytest.mark.gpu

gpu = backends.get("cupy")
ref = backends.get("numpy")
INT = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


def _same(a, b):
    np.testing.assert_allclose(cupy.asnumpy(a), np.asarray(b), rtol=1e-12, atol=0)


@pytest.mark.parametrize("dt", INT, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("C", [2, 7, 100, 300])
@pytest.mark.parametrize("offset", [0, 1, 3])
def test_count_pairs(dt, C, offset):
    rng = np.random.default_rng(C)
    hi = 2 if dt == np.bool_ else min(C + 1, int(np.iinfo(dt).max) + 1)
    t = rng.integers(0, hi, 5003 + offset).astype(dt)[offset:]
    p = rng.integers(0, hi, 5003 + offset).astype(dt)[offset:]
    for kw in ({}, {"ignore_index": 1}, {"weights": rng.random(t.size)}, {"weights": rng.integers(-3, 9, t.size)}):
        gk = {k: cupy.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        c1, i1 = gpu.count_pairs(cupy.asarray(t), cupy.asarray(p), C, **gk)
        c2, i2 = ref.count_pairs(t, p, C, **kw)
        _same(c1, c2)
        _same(i1, i2)
    lut = np.array([2, -1, 0, 1], dtype=np.int64)
    c1, i1 = gpu.count_pairs(cupy.asarray(t), cupy.asarray(p), 3, lut=cupy.asarray(lut), lut_offset=0)
    c2, i2 = ref.count_pairs(t, p, 3, lut=lut, lut_offset=0)
    _same(c1, c2)
    _same(i1, i2)


@pytest.mark.parametrize("sdt", [np.float16, np.float32, np.float64, np.int32])
@pytest.mark.parametrize("shape", [(999, 5, 1), (999, 100, 1), (7, 10, 333)])
def test_count_scores(sdt, shape):
    rng = np.random.default_rng(0)
    n, C, S = shape
    s = (rng.random(shape) * 4).astype(sdt)
    t = rng.integers(0, C + 1, (n, S))
    if sdt != np.int32:
        s[0, 1, 0] = np.nan
    c1, i1 = gpu.count_scores(cupy.asarray(t), cupy.asarray(s), C, ignore_index=C)
    c2, i2 = ref.count_scores(t, s, C, ignore_index=C)
    _same(c1, c2)
    _same(i1, i2)


def test_value_range_and_presence():
    t = np.array([5, 9, 7], np.int16)
    p = np.array([6, 5, 12], np.int16)
    assert gpu.value_range(cupy.asarray(t), cupy.asarray(p)) == ref.value_range(t, p)
    _same(gpu.label_presence(cupy.asarray(t), cupy.asarray(p), 5, 8, 9), ref.label_presence(t, p, 5, 8, 9))


@pytest.mark.parametrize("layout", ["binary", "ovr", "multilabel"])
def test_threshold_counts(layout):
    rng = np.random.default_rng(1)
    n, k = 4001, 4
    if layout == "binary":
        t, s = rng.integers(0, 2, n), rng.random(n)
    elif layout == "ovr":
        t, s = rng.integers(0, k, n), rng.random((n, k)).astype(np.float32)
    else:
        t, s = rng.integers(0, 2, (n, k)), rng.random((n, k))
    thr = np.linspace(0, 1, 101)
    h1, i1 = gpu.threshold_counts(cupy.asarray(t), cupy.asarray(s), cupy.asarray(thr))
    h2, i2 = ref.threshold_counts(t, s, thr)
    _same(h1, h2)
    _same(i1, i2)


def test_score_groups():
    rng = np.random.default_rng(2)
    t, s = rng.integers(0, 2, 3000), np.round(rng.random(3000), 2)
    out1 = gpu.score_groups(cupy.asarray(t), cupy.asarray(s))
    out2 = ref.score_groups(t, s)
    for a, b in zip(out1, out2):
        _same(a, b)


@pytest.mark.parametrize("samplewise", [False, True])
def test_multilabel_counts(samplewise):
    rng = np.random.default_rng(3)
    t, p = rng.integers(0, 2, (500, 6)), rng.random((500, 6))
    thr = np.full(6, 0.5)
    c1, i1 = gpu.multilabel_counts(cupy.asarray(t), cupy.asarray(p), cupy.asarray(thr), samplewise=samplewise)
    c2, i2 = ref.multilabel_counts(t, p, thr, samplewise=samplewise)
    _same(c1, c2)
    _same(i1, i2)


def test_top_k_hits():
    rng = np.random.default_rng(4)
    t, s = rng.integers(0, 10, 700), np.round(rng.random((700, 10)), 1)
    h1, i1 = gpu.top_k_hits(cupy.asarray(t), cupy.asarray(s), 3)
    h2, i2 = ref.top_k_hits(t, s, 3)
    assert float(h1) == h2
    _same(i1, i2)


@pytest.mark.slow
def test_many_elements_and_bins_regression():
    """CuPy's wrong-bincount bug class: counts near 2**31 elements and many bins."""
    free, _ = cupy.cuda.runtime.memGetInfo()
    n = 2**31 + 5
    if free < 3 * n:
        pytest.skip("not enough device memory")
    t = cupy.zeros(n, dtype=np.uint8)
    p = cupy.ones(n, dtype=np.uint8)
    c, inv = gpu.count_pairs(t, p, 2)
    assert int(c[0, 1]) == n and int(inv[0]) == 0
    del t, p
    m = 10**7
    rng = np.random.default_rng(5)
    t, p = rng.integers(0, 3000, m), rng.integers(0, 3000, m)
    c1, _ = gpu.count_pairs(cupy.asarray(t), cupy.asarray(p), 3000)
    c2, _ = ref.count_pairs(t, p, 3000)
    _same(c1, c2)
