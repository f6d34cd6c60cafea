"""GPU benchmark cases (CuPy): fastcm against cupy/torch bincount and torchmetrics on CUDA.

:func:`suite` returns nothing unless CuPy is installed and sees a CUDA device, so the
suite builds and runs unchanged on machines without one.

Every method returns only once the device has finished (``deviceSynchronize`` after the
call, inside the timed region of :func:`benchmarks.timing.time_methods`), so a timing covers
the work, not just its launch. Data are generated on the device and the anchors read the
same arrays in place (torch through ``__cuda_array_interface__``, no copy).

The ``memory floor`` of a GPU case is a device-to-device copy (``cudaMemcpyAsync``) of
*half* of every input's bytes: it reads and writes as many bytes in total as fastcm reads,
so its time is ``bytes_read / copy_bandwidth``, and the table's "fastcm at X%" is fastcm's
read rate as a fraction of the copy bandwidth measured on the same arrays (the issue's
"≥ 70% of the device's measured copy bandwidth in bytes read"). ``params["bytes_read"]``
holds the bytes fastcm reads per call; :func:`markdown` turns a results document into the
GB/s table (``python -m benchmarks.gpu_cases benchmarks/results/<name>/results.json``).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import sys

import numpy as np

from .case import Case

#: the method every other one in a GPU case is compared with
FASTCM = "fastcm (cupy)"
FLOOR = "memory floor"  # the name benchmarks.report recognises
_CHUNK = 1 << 26  # elements generated at once (bounds the temporaries of data generation)


def available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device (never raises)."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy without a driver or a usable device
        return False


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _torch_cuda() -> bool:
    if not _installed("torch"):
        return False
    import torch

    return torch.cuda.is_available()


def _sync():
    import cupy

    cupy.cuda.runtime.deviceSynchronize()  # synchronize! every stream, torch's included


def _synced(fn):
    """``fn`` followed by a device-wide synchronisation: the clock stops when the work is done."""

    def call():
        out = fn()
        _sync()
        return out

    return call


def _release():
    """Hand cached device memory back between cases: CuPy's and torch's pools do not share."""
    import cupy

    gc.collect()
    cupy.get_default_memory_pool().free_all_blocks()
    if "torch" in sys.modules and sys.modules["torch"].cuda.is_available():
        sys.modules["torch"].cuda.empty_cache()


def _free_bytes() -> int:
    import cupy

    free, _ = cupy.cuda.runtime.memGetInfo()
    return int(free) + int(cupy.get_default_memory_pool().free_bytes())


def _total_bytes() -> int:
    import cupy

    return int(cupy.cuda.runtime.memGetInfo()[1])


def _copy_half(arrays):
    """The GPU memory floor: copy the first half of each array's bytes (moves what fastcm reads)."""
    import cupy

    pairs = []
    for a in arrays:
        half = a.nbytes // 2
        src = a.reshape(-1).view(np.uint8)[:half]
        pairs.append((cupy.empty(half, dtype=np.uint8), src, half))

    def copy():
        for dst, src, size in pairs:
            dst.data.copy_from_device_async(src.data, size)
        return None

    return copy


def _labels(n, c, dtype, seed, *, predictions=True):
    """Device labels and 80%-accurate predictions (or None), generated in bounded chunks."""
    import cupy

    rs = cupy.random.RandomState(seed)
    t = cupy.empty(n, dtype=dtype)
    p = cupy.empty(n, dtype=dtype) if predictions else None
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        tc = rs.randint(0, c, b - a, dtype=np.int64).astype(dtype)
        t[a:b] = tc
        if predictions:
            other = rs.randint(0, c, b - a, dtype=np.int64).astype(dtype)
            p[a:b] = cupy.where(rs.random_sample(b - a, dtype=np.float32) < 0.8, tc, other)
    return t, p


def _scores(n, c, dtype, seed):
    """Device (n, c) scores in [0, 1) of ``dtype``, generated in bounded chunks of rows."""
    import cupy

    rs = cupy.random.RandomState(seed)
    s = cupy.empty((n, c), dtype=dtype)
    rows = max(1, _CHUNK // c)
    for a in range(0, n, rows):
        b = min(n, a + rows)
        s[a:b] = rs.random_sample((b - a, c), dtype=np.float32).astype(dtype)
    return s


def _torch_view(a):
    import torch

    return torch.as_tensor(a, device="cuda")  # __cuda_array_interface__: shares memory


def label_methods(t, p, c):
    """fastcm, the copy floor and the installed anchors on device labels ``t``, ``p``."""
    import cupy

    import fastcm

    n = t.size
    methods = {
        FASTCM: _synced(lambda: fastcm.confusion_matrix(t, p, num_classes=c)),
        FLOOR: _synced(_copy_half([t, p])),
    }
    free = _free_bytes()
    idx = np.int32 if c * c < 2**31 else np.int64
    # t*C+p as its users write it: widen only when the label dtype cannot hold C*C
    wide = idx if np.iinfo(t.dtype).max < c * c else t.dtype
    if n * 2 * np.dtype(wide).itemsize < 0.8 * free:
        methods["cupy.bincount(t*C+p)"] = _synced(
            lambda: cupy.bincount(t.astype(wide, copy=False) * c + p, minlength=c * c)
        )
    if _torch_cuda() and n * 8 * 4 < 0.8 * free:  # t.long(), p.long(), t*C, the sum
        import torch

        tt, pt = _torch_view(t), _torch_view(p)
        # torchmetrics' _multiclass_confusion_matrix_update: long indices, then bincount
        methods["torch.bincount(t*C+p)"] = _synced(
            lambda: torch.bincount(tt.long() * c + pt.long(), minlength=c * c)
        )
        if _installed("torchmetrics"):
            from torchmetrics.functional.classification import multiclass_confusion_matrix

            methods["torchmetrics"] = _synced(
                lambda: multiclass_confusion_matrix(pt, tt, num_classes=c, validate_args=False)
            )
    return methods


def logits_methods(t, s):
    """Fused argmax: fastcm on (N, C) scores against argmax-then-bincount anchors."""
    import cupy

    import fastcm

    n, c = s.shape
    methods = {
        FASTCM: _synced(lambda: fastcm.confusion_matrix(t, s, num_classes=c)),
        FLOOR: _synced(_copy_half([t, s])),
    }
    free = _free_bytes()
    if n * 8 * 3 < 0.8 * free:
        methods["cupy argmax + bincount"] = _synced(
            lambda: cupy.bincount(t.astype(np.int64) * c + s.argmax(axis=1), minlength=c * c)
        )
    if _torch_cuda() and n * 8 * 4 < 0.8 * free:
        import torch

        tt, st = _torch_view(t), _torch_view(s)
        methods["torch argmax + bincount"] = _synced(
            lambda: torch.bincount(tt.long() * c + st.argmax(dim=1), minlength=c * c)
        )
        if _installed("torchmetrics"):
            from torchmetrics.functional.classification import multiclass_confusion_matrix

            methods["torchmetrics"] = _synced(
                lambda: multiclass_confusion_matrix(st, tt, num_classes=c, validate_args=False)
            )
    return methods


def threshold_methods(y, s, thresholds):
    """The (T, 2, 2) sweep: fastcm against torchmetrics' binned binary PR curve on CUDA."""
    import fastcm

    methods = {
        FASTCM: _synced(lambda: fastcm.threshold_confusion_matrices(y, s, thresholds=thresholds)),
        FLOOR: _synced(_copy_half([y, s])),
    }
    # torchmetrics loops over the thresholds above 5e7 scores x thresholds: bounded memory,
    # but T passes over the data; left out where that takes minutes per call
    if _torch_cuda() and _installed("torchmetrics") and y.size <= 4 * 10**8 and y.size * 16 < 0.8 * _free_bytes():
        from torchmetrics.functional.classification import binary_precision_recall_curve

        yt, st = _torch_view(y), _torch_view(s)
        methods["torchmetrics binary_precision_recall_curve"] = _synced(
            lambda: binary_precision_recall_curve(st, yt, thresholds=thresholds, validate_args=False)
        )
    return methods


def label_case(n, c, dtype=np.int32):
    dtype = np.dtype(dtype)

    def setup():
        _release()
        return label_methods(*_labels(n, c, dtype, seed=c), c)

    params = {"N": n, "C": c, "dtype": dtype.name, "bytes_read": 2 * n * dtype.itemsize}
    return Case("gpu labels", f"gpu labels N={n:.0e} C={c} {dtype.name}", n, setup, params)


def logits_case(n, c, dtype):
    dtype = np.dtype(dtype)

    def setup():
        _release()
        t, _ = _labels(n, c, np.int32, seed=1, predictions=False)
        return logits_methods(t, _scores(n, c, dtype, seed=2))

    params = {"N": n, "C": c, "dtype": dtype.name, "bytes_read": n * c * dtype.itemsize + 4 * n}
    return Case("gpu logits", f"gpu logits ({n:.0e}, {c}) {dtype.name}", n, setup, params)


def threshold_case(n, thresholds):
    def setup():
        import cupy

        _release()
        rs = cupy.random.RandomState(3)
        y = rs.randint(0, 2, n, dtype=np.int64).astype(np.int32)
        s = cupy.clip(rs.standard_normal(n, dtype=np.float32) * 0.2 + 0.35 + 0.3 * y, 0, 1).astype(np.float32)
        return threshold_methods(y, s, thresholds)

    params = {"N": n, "T": thresholds, "bytes_read": 8 * n}
    return Case("gpu thresholds", f"gpu threshold sweep N={n:.0e} T={thresholds}", n, setup, params)


def _fits(case: Case, total: int) -> bool:
    """The case's arrays plus the temporaries of generating them fit in the device memory."""
    return case.params["bytes_read"] + 2**31 < 0.85 * total


def suite(mode: str) -> list[Case]:
    """The GPU cases of a mode; empty without CuPy or a CUDA device."""
    if not available():
        return []
    if mode == "tiny":
        return [label_case(4096, 3), logits_case(2048, 5, np.float32), logits_case(2048, 5, np.float16), threshold_case(4096, 11)]
    if mode == "quick":
        cases = [label_case(10**8, c) for c in (10, 100, 1000)]
        cases += [logits_case(10**7, 100, d) for d in (np.float16, np.float32)]
        cases += [threshold_case(10**8, 1000)]
    elif mode == "readme":  # the targets: int32, C = 10, N = 4e8
        cases = [label_case(4 * 10**8, c) for c in (10, 100, 1000)]
        cases += [logits_case(4 * 10**7, 100, d) for d in (np.float16, np.float32)]
        cases += [threshold_case(4 * 10**8, 1000)]
    else:
        cases = [label_case(n, c) for n in (10**8, 4 * 10**8, 10**9) for c in (10, 100, 1000)]
        cases += [label_case(4 * 10**8, 10, d) for d in (np.uint8, np.int64)]
        cases += [logits_case(n, 100, d) for n in (4 * 10**7, 10**8) for d in (np.float16, np.float32)]
        cases += [threshold_case(n, 1000) for n in (10**8, 10**9)]
    total = _total_bytes()
    return [c for c in cases if _fits(c, total)]


def _num(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def markdown(doc: dict) -> str:
    """GB/s table of the GPU cases of a results document (works on any machine).

    fastcm's read rate, the copy bandwidth implied by the floor (it moves ``bytes_read``
    bytes), fastcm's share of it, and how many times faster fastcm is than each anchor.
    """
    rows = [c for c in doc.get("cases", []) if c["group"].startswith("gpu") and "bytes_read" in c.get("params", {})]
    if not rows:
        return ""
    gpu = doc.get("machine", {}).get("gpu") or "unknown GPU"
    lines = [
        f"GPU cases on {gpu}: fastcm's read rate, the device-to-device copy bandwidth measured on the "
        "same arrays, fastcm's share of it, and fastcm's speed-up over each anchor (medians).",
        "",
        "| case | fastcm predictions/s | fastcm GB/s read | copy GB/s | share of copy | fastcm's speed-up over |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for case in rows:
        methods, nbytes = case["methods"], case["params"]["bytes_read"]
        fc, floor = methods.get(FASTCM, {}), methods.get(FLOOR, {})
        if "median_s" not in fc:
            lines.append(f"| {case['name']} | n/a | | | | |")
            continue
        read = nbytes / fc["median_s"] / 1e9
        copy = nbytes / floor["median_s"] / 1e9 if "median_s" in floor else None
        share = f"{100 * read / copy:.0f}%" if copy else ""
        anchors = ", ".join(
            f"{name} {r['median_s'] / fc['median_s']:.1f}×"
            for name, r in methods.items()
            if name not in (FASTCM, FLOOR) and "median_s" in r
        )
        lines.append(
            f"| {case['name']} | {_num(case['n'] / fc['median_s'] / 1e9)} G/s | {_num(read)} | "
            f"{'' if copy is None else _num(copy)} | {share} | {anchors} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for path in sys.argv[1:] or ["benchmarks/results/quick/results.json"]:
        with open(path) as f:
            print(markdown(json.load(f)))
