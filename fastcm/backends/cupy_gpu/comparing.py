"""Paired-comparison counts on the device (signature: ``numpy_ref.comparing``). No host sync.

One CUDA kernel, templated on the three input types: a grid-stride loop over the triples,
fused argmax for score rows, counts in per-block shared-memory tables (global atomics when
the tables would not fit), invalid triples counted and the first position kept by
``atomicMin``. CuPy is imported on first use only.
"""

from __future__ import annotations

import functools

import numpy as np

from . import _kernels as K

_SOURCE = r"""
template <typename T>
__device__ __forceinline__ unsigned long long pred(const T* x, long long i, long long C, int scores, bool& nan)
{
    if (!scores) return (unsigned long long)x[i];  // negative values wrap far above C
    const T* r = x + i * C;
    T best = r[0];
    bool isnan = best != best;
    unsigned long long top = 0;
    for (long long c = 1; c < C; ++c) {
        const T v = r[c];
        if (v > best) { best = v; top = (unsigned long long)c; }  // ties: the lowest column
        isnan |= v != v;
    }
    nan |= isnan;
    return top;
}

// out: matrix A (C*C), matrix B (C*C), both right per true class (C); invalid: [count, first]
template <typename TT, typename TA, typename TB>
__global__ void compare_counts(const TT* __restrict__ t, const TA* __restrict__ a, const TB* __restrict__ b,
                               long long n, long long C, int a_scores, int b_scores, int use_shared,
                               unsigned long long* out, unsigned long long* invalid)
{
    extern __shared__ unsigned int table[];
    const long long size = 2 * C * C + C;
    if (use_shared) {
        for (long long k = threadIdx.x; k < size; k += blockDim.x) table[k] = 0u;
        __syncthreads();
    }
    const unsigned long long uC = (unsigned long long)C;
    unsigned long long n_bad = 0, first = ~0ull;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        bool nan = false;
        const unsigned long long ut = (unsigned long long)t[i];
        const unsigned long long ua = pred(a, i, C, a_scores, nan);
        const unsigned long long ub = pred(b, i, C, b_scores, nan);
        if (nan || ut >= uC || ua >= uC || ub >= uC) {
            if (n_bad == 0) first = (unsigned long long)i;
            ++n_bad;
            continue;
        }
        const unsigned long long k0 = ut * uC + ua, k1 = uC * uC + ut * uC + ub, k2 = 2 * uC * uC + ut;
        const bool both = ua == ut && ub == ut;
        if (use_shared) {
            atomicAdd(table + k0, 1u);
            atomicAdd(table + k1, 1u);
            if (both) atomicAdd(table + k2, 1u);
        } else {
            atomicAdd(out + k0, 1ull);
            atomicAdd(out + k1, 1ull);
            if (both) atomicAdd(out + k2, 1ull);
        }
    }
    if (n_bad) {
        atomicAdd(invalid, n_bad);
        atomicMin(invalid + 1, first);
    }
    if (use_shared) {
        __syncthreads();
        for (long long k = threadIdx.x; k < size; k += blockDim.x)
            if (table[k]) atomicAdd(out + k, (unsigned long long)table[k]);
    }
}
"""

_BLOCK = 256
#: shared tables up to this many 32-bit counters (32 KB); a block counts at most
#: ``_MAX_PER_BLOCK`` triples, so no 32-bit counter can wrap
_SHARED_CELLS = 8192
_MAX_PER_BLOCK = 1 << 30


def _cp():
    import cupy

    return cupy


@functools.cache
def _kernel(tt: str, ta: str, tb: str):
    expr = f"compare_counts<{tt}, {ta}, {tb}>"
    module = _cp().RawModule(code=_SOURCE, options=("-std=c++17",), name_expressions=(expr,))
    return module.get_function(expr)


def _prepared(x):
    cp = _cp()
    x = cp.ascontiguousarray(cp.asarray(x))
    if x.dtype == np.float16:
        x = x.astype(np.float32)  # exact and order-preserving; one copy of the scores
    return x


def compare_counts(t, a, b, num_classes):
    """Device (C, C), (C, C), (C,) int64 counts and device ``invalid`` (see ``numpy_ref``)."""
    cp = _cp()
    C = int(num_classes)
    t, a, b = (_prepared(x) for x in (t, a, b))
    n = int(t.shape[0])
    size = 2 * C * C + C
    out = cp.zeros(size, dtype=np.uint64)
    invalid = cp.array([0, np.iinfo(np.uint64).max], dtype=np.uint64)  # first: all ones = -1 as int64
    if n:
        use_shared = size <= _SHARED_CELLS
        sms = cp.cuda.Device().attributes["MultiProcessorCount"]
        blocks = max(1, min(-(-n // _BLOCK), 8 * sms))
        blocks = max(blocks, -(-n // _MAX_PER_BLOCK)) if use_shared else blocks
        kern = _kernel(K.CTYPES[t.dtype], K.CTYPES[a.dtype], K.CTYPES[b.dtype])
        args = (t, a, b, np.int64(n), np.int64(C), np.int32(a.ndim == 2), np.int32(b.ndim == 2),
                np.int32(use_shared), out, invalid)
        kern((blocks,), (_BLOCK,), args, shared_mem=4 * size if use_shared else 0)
    out = out.view(np.int64)
    return (out[: C * C].reshape(C, C), out[C * C : 2 * C * C].reshape(C, C), out[2 * C * C :], invalid.view(np.int64))
