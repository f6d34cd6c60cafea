"""Launchers of the label and fused-argmax kernels (entry points: see ``numpy_ref``).

No function here synchronises with the host: counts and ``invalid`` are returned as device
arrays, and the caller decides when to read them (``fastcm.counts.confusion._report_invalid``,
marked ``# synchronize!``). ``value_range`` is the exception: it returns Python ints.
"""

from __future__ import annotations

import functools

import numpy as np

from . import _kernels as K

_BLOCK = 256
_MAX_PER_BLOCK = 1 << 30  # bounds the 32-bit shared counters of one block
_DEFAULT_SMEM = 48 * 1024
_WEIGHT_CODES = {np.dtype(d): i + 1 for i, d in enumerate("bBhHiIqQ")}
_WEIGHT_CODES.update({np.dtype(np.float16): 9, np.dtype(np.float32): 10, np.dtype(np.float64): 11})


def _cp():
    import cupy

    return cupy


@functools.cache
def _device_info(device_id: int):
    attrs = _cp().cuda.Device(device_id).attributes
    return attrs["MultiProcessorCount"], attrs.get("MaxSharedMemoryPerBlockOptin", _DEFAULT_SMEM)


def _sm_count():
    return _device_info(_cp().cuda.Device().id)


def _stride(a) -> int:
    if a.ndim == 0:
        return 0
    st = a.strides[0]
    if st % a.itemsize:
        raise ValueError(f"Expected strides that are a multiple of the item size, but got {a.strides}")
    return st // a.itemsize


def _acc(weights):
    if weights is None:
        return "unsigned int", np.int64
    if weights.dtype.kind in "biu":
        return "long long", np.int64
    return "double", np.float64


def _weights(weights, like):
    cp = _cp()
    if weights is None:
        return cp.empty(1, dtype=np.float64), 0, 0
    w = cp.asarray(weights)
    if w.dtype == np.bool_:
        w = w.astype(np.int64)
    return w, _WEIGHT_CODES[w.dtype], _stride(w)


def _ignore(ignore_index, dtype):
    """(has_ignore, ignore as the label dtype); an unrepresentable value matches nothing."""
    tname = np.dtype(np.uint8) if dtype == np.bool_ else np.dtype(dtype)
    if ignore_index is None:
        return np.int32(0), tname.type(0)
    info = np.iinfo(tname)
    v = int(ignore_index)
    if dtype == np.bool_ and v not in (0, 1) or not info.min <= v <= info.max:
        return np.int32(0), tname.type(0)
    return np.int32(1), tname.type(v)


def _layout(nbins, acc):
    """(reps, shared bytes): interleaved shared copies when the histogram fits, else global (0)."""
    sms, optin = _sm_count()
    item = 4 if acc == "unsigned int" else 8
    if nbins * item > optin:
        return 0, 0
    reps = 32 if acc == "unsigned int" else 1
    while reps > 1 and nbins * item * reps > _DEFAULT_SMEM:
        reps //= 2
    return reps, nbins * item * reps


def _grid(n, smem):
    sms, optin = _sm_count()
    per_sm = 8 if smem == 0 else max(1, min(8, (228 * 1024) // max(smem, 1)))
    want = max(1, -(-n // _BLOCK))
    return int(max(1, min(want, sms * per_sm), -(-n // _MAX_PER_BLOCK)))


def _launch(kernel, grid, smem, args):
    if smem > _DEFAULT_SMEM:
        kernel.max_dynamic_shared_size_bytes = smem
    kernel((grid,), (_BLOCK,), args, shared_mem=smem)


def _lut32(lut):
    cp = _cp()
    if lut is None:
        return cp.zeros(1, dtype=np.int32), np.int64(0)
    return cp.asarray(lut).astype(np.int32), np.int64(lut.size)


def _label_args(t, p, num_classes, weights, ignore_index, lut):
    """What the label-pair kernels are launched with: device labels, C, N, the accumulator
    type and result dtype, (weights, their code, stride), (has ignore, ignored label) and the
    32-bit lookup table with its size."""
    cp = _cp()
    t, p = cp.asarray(t), cp.asarray(p)
    acc, out_dtype = _acc(weights)
    return (t, p, int(num_classes), int(t.shape[0]), acc, out_dtype, _weights(weights, t),
            _ignore(ignore_index, t.dtype), _lut32(lut))


def count_pairs(t, p, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    """(C, C) counts and device ``invalid``; see ``numpy_ref.count_pairs``. No host sync."""
    cp = _cp()
    t, p, C, n, acc, out_dtype, (w, wcode, sw), (has_ignore, ignore), (lut_d, lut_size) = _label_args(
        t, p, num_classes, weights, ignore_index, lut
    )
    out = cp.zeros(C * C, dtype=out_dtype)
    invalid = K.init_invalid()
    if n:
        V = 16 // max(t.itemsize, p.itemsize)
        st, sp = _stride(t), _stride(p)
        head_t = (-(t.data.ptr // t.itemsize)) % V if t.data.ptr % t.itemsize == 0 else -1
        head_p = (-(p.data.ptr // p.itemsize)) % V if p.data.ptr % p.itemsize == 0 else -1
        vec = st == 1 and sp == 1 and head_t == head_p and head_t >= 0
        head = head_t if vec else 0
        reps, smem = _layout(C * C, acc)
        kern = K.get(
            "count_pairs", K.ctype(t.dtype), K.ctype(p.dtype), acc, "true" if lut is not None else "false",
            "true" if vec else "false",
        )
        grid = _grid(n // (V if vec else 1) + 1, smem)
        _launch(kern, grid, smem, (
            t, p, np.int64(n), np.int64(st), np.int64(sp), np.int64(head), w, np.int32(wcode), np.int64(sw),
            np.int64(C), has_ignore, ignore, lut_d, lut_size, np.int64(lut_offset), np.int32(reps), out, invalid,
        ))
    K.finish_invalid(invalid)
    return out.reshape(C, C), invalid


def class_counts(t, p, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    """(3, C) per-class counts (true, predicted, correct) and device ``invalid``; see
    ``numpy_ref.class_counts``. No host sync. Untested on hardware until a device run."""
    cp = _cp()
    t, p, C, n, acc, out_dtype, (w, wcode, sw), (has_ignore, ignore), (lut_d, lut_size) = _label_args(
        t, p, num_classes, weights, ignore_index, lut
    )
    out = cp.zeros(3 * C, dtype=out_dtype)
    invalid = K.init_invalid()
    if n:
        kern = K.get("class_counts", K.ctype(t.dtype), K.ctype(p.dtype), acc, "true" if lut is not None else "false")
        _launch(kern, _grid(n, 0), 0, (
            t, p, np.int64(n), np.int64(_stride(t)), np.int64(_stride(p)), w, np.int32(wcode), np.int64(sw),
            np.int64(C), has_ignore, ignore, lut_d, lut_size, np.int64(lut_offset), out, invalid,
        ))
    K.finish_invalid(invalid)
    return out.reshape(3, C), invalid


def _group(C):
    g = 1
    while g * 2 <= min(C, 32):
        g *= 2
    return g


def count_scores(t, s, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    """Fused argmax: ``t`` (N, S), ``s`` (N, C, S); see ``numpy_ref.count_scores``. No host sync."""
    cp = _cp()
    t, s = cp.asarray(t), cp.asarray(s)
    C = int(num_classes)
    n, S = int(t.shape[0]), int(t.shape[1])
    acc, out_dtype = _acc(weights)
    w, wcode, sw = _weights(weights, t)
    has_ignore, ignore = _ignore(ignore_index, t.dtype)
    lut_d, lut_size = _lut32(lut)
    out = cp.zeros(C * C, dtype=out_dtype)
    invalid = K.init_invalid()
    if n * S:
        ts = [x // t.itemsize for x in t.strides]
        ss = [x // s.itemsize for x in s.strides]
        reps, smem = _layout(C * C, acc)
        tail = (w, np.int32(wcode), np.int64(sw), np.int64(C), has_ignore, ignore, lut_d, lut_size,
                np.int64(lut_offset), np.int32(reps), out, invalid)
        sview = s.view(np.uint16) if s.dtype == np.float16 else s
        if S == 1:
            G = _group(C)
            kern = K.get("count_score_rows", K.ctype(t.dtype), K.ctype(s.dtype), acc)
            grid = _grid(n * G, smem)
            _launch(kern, grid, smem, (t, np.int64(ts[0]), sview, np.int64(ss[0]), np.int64(ss[1]), np.int64(n),
                                       np.int32(G)) + tail)
        else:
            kern = K.get("count_score_pixels", K.ctype(t.dtype), K.ctype(s.dtype), acc)
            grid = _grid(n * S, smem)
            _launch(kern, grid, smem, (t, np.int64(ts[0]), np.int64(ts[1]), sview, np.int64(ss[0]), np.int64(ss[1]),
                                       np.int64(ss[2]), np.int64(n), np.int64(S)) + tail)
    K.finish_invalid(invalid)
    return out.reshape(C, C), invalid


def value_range(t, p):
    """(min, max) of both arrays as Python ints; (0, -1) when both are empty. Synchronizes."""
    vals = []
    for a in (t, p):
        if a.size:
            lo, hi = a.min(), a.max()
            vals += [int(lo.get()), int(hi.get())]  # synchronize!
    if not vals:
        return 0, -1
    return min(vals[0::2]), max(vals[1::2])


def label_presence(t, p, lo, size, ignore_index=None):
    """Device bool array marking the values ``lo..lo+size-1`` of the kept pairs. No host sync."""
    cp = _cp()
    t, p = cp.asarray(t), cp.asarray(p)
    present = cp.zeros(int(size), dtype=np.uint8)
    n = int(t.shape[0])
    if n:
        has_ignore, ignore = _ignore(ignore_index, t.dtype)
        kern = K.get("label_presence", K.ctype(t.dtype), K.ctype(p.dtype))
        _launch(kern, _grid(n, 0), 0, (t, p, np.int64(n), np.int64(_stride(t)), np.int64(_stride(p)), has_ignore,
                                        ignore, np.int64(lo), np.int64(size), present))
    return present.view(np.bool_)
