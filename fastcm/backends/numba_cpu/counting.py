"""Entry points of the numba backend for label and score counting (see ``numpy_ref``)."""

from __future__ import annotations

import numpy as np

from ..arrays import count_dtype
from . import kernels
from . import strategy
from ._jit import MIN_PARALLEL, jit, needs_compile, num_threads, run_parallel, split, synchronous, tuned

_value_range = jit(kernels.value_range)
_label_presence = jit(kernels.label_presence)
_count_plain = jit(kernels.count_plain)
#: the tuned strategies (see ``strategy.choose``), each its own compiled entry
_TUNED = {name: jit(getattr(kernels, "count_" + name)) for name in ("paired", "four32", "four64", "binned")}
_count_pairs_weighted = jit(kernels.count_pairs_weighted)
_count_pairs_rows = jit(kernels.count_pairs_rows)
_count_lut = jit(kernels.count_lut)
_count_scores = jit(kernels.count_scores)
_count_score_rows = jit(kernels.count_score_rows)
_count_score_rows_wide = jit(kernels.count_score_rows_wide)
_count_score_rows_bits = jit(kernels.count_score_rows_bits)
_pair_codes = jit(kernels.pair_codes)
_class_counts = jit(kernels.class_counts)

_NO_LUT = np.empty(0, dtype=np.int64)
_NO_WEIGHTS = np.empty(0, dtype=np.float64)
#: the private-copy budget: past it, large-C matrices are split into row bands instead
_PRIVATE_BYTES = 64 << 20
#: pairs a process counts on the plain tier before the tuned strategies start compiling:
#: below it the plain loop costs milliseconds, less than any compile
TUNE_AFTER = 1 << 22
_plain_pairs = 0


def _weights_dtype(weights):
    """Weights reach kernels as int64 or float64 (uint64 beyond int64 as it is): exact widenings."""
    if weights.dtype.kind == "f":
        return np.dtype(np.float64)
    return weights.dtype if weights.dtype == np.uint64 else np.dtype(np.int64)


def _ignore(ignore_index):
    return (ignore_index is not None), np.int64(0 if ignore_index is None else ignore_index)


def _ignore_as(dtype, kernel_dtype, ignore_index):
    """(has_ignore, the index as a value of ``dtype`` with ``kernel_dtype``'s bits): comparisons
    then stay in the input's width. No value of ``dtype`` equals an index it cannot
    represent, so that is no ignore."""
    if ignore_index is not None:
        try:
            value = np.array(ignore_index).astype(dtype, casting="unsafe")[()]
        except (OverflowError, ValueError):
            value = None
        if value is not None and int(value) == int(ignore_index):
            return True, strategy.value_of(value, kernel_dtype)
    return False, np.zeros((), dtype=kernel_dtype)[()]


def _chunks(n: int) -> list[tuple[int, int]]:
    if n < 2 * MIN_PARALLEL:  # small batches: no thread hand-off, no thread-count lookup
        return [(0, n)]
    parts = min(num_threads(), max(1, n // MIN_PARALLEL))
    return split(n, parts)


def _combine(results):
    n_bad = sum(int(r[0]) for r in results)
    firsts = [int(r[1]) for r in results if r[1] >= 0]
    return np.array([n_bad, min(firsts) if firsts else -1], dtype=np.int64)


def _serial(task, ranges):
    return [task(a, b) for a, b in ranges]


def _private_sum(call, arrays, dtypes, n, size, acc_dtype):
    """Each range counts into its own zeroed histogram; the histograms are summed after.

    ``call(out, arrays, start, stop)`` runs a kernel on arrays of the kernel dtypes
    ``dtypes`` (see ``strategy.stage``).
    """
    ranges = _chunks(n)
    if len(ranges) == 1:  # a small batch: no thread hand-off, and no staging when none is needed
        views = [strategy.kernel_view(a, d) for a, d in zip(arrays, dtypes)]
        if all(v is not None for v in views):
            out = np.zeros(size, dtype=acc_dtype)
            return out, _combine([call(out, views, 0, n)])
    outs = {r: np.zeros(size, dtype=acc_dtype) for r in ranges}
    results = run_parallel(  # each range stages its own blocks
        lambda a, b: strategy.stage(lambda arrs, s, e: call(outs[(a, b)], arrs, s, e), arrays, dtypes, [(a, b)], _serial)[0],
        ranges,
    )
    total = outs[ranges[0]]
    for r in ranges[1:]:
        total += outs[r]
    return total, _combine(results)


def warm_up(dtypes=()) -> None:
    """Load (or compile) the label kernels for these input dtypes (int64 when none is given).

    The plain tier of each dtype's kernels, and the tuned strategies under
    ``_jit.compile_synchronously()`` (``fastcm.warm_up`` asks for both).

    Examples
    --------
    >>> import numpy as np
    >>> warm_up([np.dtype(np.int32)])
    """
    kinds = dict.fromkeys(strategy.label_dtype(d) for d in dtypes if np.dtype(d).kind in "biu")
    for dtype in kinds or [np.dtype(np.int64)]:
        z = np.zeros(2, dtype=dtype)
        count_pairs(z, z, 2)


def _tuned_args(dtype):
    """Arguments of a tuned kernel for ``dtype`` labels, on empty ranges (their numba types
    are those of every real call)."""
    z = np.zeros(0, dtype=dtype)
    return (z, z, 2, np.int64(0), False, np.zeros((), dtype=dtype)[()], np.zeros(4, dtype=np.int64), 0, 0)


def compile_tuned(name, dtype) -> None:
    """Compile (and cache) the tuned kernel ``name`` for ``dtype`` labels: the work of the
    compiling process that ``_jit.tuned`` starts."""
    _TUNED[name](*_tuned_args(np.dtype(dtype)))


def _tuned_kernel(name, dtype, n):
    """The tuned kernel of ``name`` when it is ready; else None (the plain tier runs)."""
    global _plain_pairs
    if name == "plain":
        return None
    if _plain_pairs < TUNE_AFTER and not synchronous():
        _plain_pairs += n
        if _plain_pairs < TUNE_AFTER:
            return None
    return tuned(_TUNED[name], _tuned_args(dtype), (name, dtype.str), compiler=(__name__, "compile_tuned", name, dtype.str))


def count_pairs(t, p, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    C = int(num_classes)
    n = t.shape[0]
    dtype = strategy.label_dtype(t.dtype, p.dtype)
    if lut is not None or weights is not None:
        has_ignore, ignore = _ignore(ignore_index)
        arrays, dtypes = [t, p], [dtype, dtype]
        if weights is not None:
            arrays.append(weights)
            dtypes.append(_weights_dtype(weights))
        lo = np.int64(lut_offset)
        if lut is None:
            call = lambda out, a, s, e: _count_pairs_weighted(a[0], a[1], a[2], C, lo, has_ignore, ignore, out, s, e)  # noqa: E731
        else:
            call = lambda out, a, s, e: _count_lut(  # noqa: E731
                a[0], a[1], a[2] if len(a) > 2 else _NO_WEIGHTS, lut, lo, C, has_ignore, ignore, out, s, e
            )
        counts, invalid = _private_sum(call, arrays, dtypes, n, C * C, count_dtype(weights))
        return counts.reshape(C, C), invalid
    lo = np.int64(lut_offset)  # without a table: value v is class v - lut_offset
    threads = len(_chunks(n))
    # row bands when private copies would not fit, or bins would not fit the kernels' uint32
    if (threads > 1 and threads * C * C * 8 > _PRIVATE_BYTES) or C * C >= 2**32 - 1:
        has_ignore, ignore = _ignore(ignore_index)
        out = np.zeros(C * C, dtype=np.int64)

        def band(r0, r1):
            def call(arrs, s, e):
                bad, first = _count_pairs_rows(arrs[0][s:e], arrs[1][s:e], C, lo, has_ignore, ignore, out, r0, r1)
                return bad, (first + s if first >= 0 else -1)

            return strategy.stage(call, [t, p], [dtype, dtype], [(0, n)], _serial)[0]

        return out.reshape(C, C), _combine(run_parallel(band, split(C, threads)))
    if dtype.itemsize <= 4 and not strategy.narrow(dtype, int(lo), C):
        dtype = np.dtype(np.int64)  # 32-bit arithmetic would alias values: count in 64 bits
    has_ignore, ignore = _ignore_as(t.dtype, dtype, ignore_index)
    name = strategy.choose(n // threads, C, strategy.narrow(dtype, int(lo), C))
    kernel = _tuned_kernel(name, dtype, n) or _count_plain
    call = lambda out, a, s, e: kernel(a[0], a[1], C, lo, has_ignore, ignore, out, s, e)  # noqa: E731
    counts, invalid = _private_sum(call, [t, p], [dtype, dtype], n, C * C, np.int64)
    return counts.reshape(C, C), invalid


def pair_codes(t, p, num_classes, *, ignore_index=None, lut=None, lut_offset=0):
    """The flat cell of each counted pair, in input order (see ``numpy_ref.pair_codes``).

    One thread: it serves batches small against C * C, where sorting the codes costs more.
    Labels of another dtype or layout are converted once, a copy the size of the batch.
    """
    dtype = strategy.label_dtype(t.dtype, p.dtype)
    t = np.ascontiguousarray(strategy.labels_as(t, dtype))
    p = np.ascontiguousarray(strategy.labels_as(p, dtype))
    has_ignore, ignore = _ignore(ignore_index)
    codes = np.empty(t.shape[0], dtype=np.int64)
    lut_ = _NO_LUT if lut is None else lut
    kept, n_bad, first = _pair_codes(t, p, lut_, np.int64(lut_offset), int(num_classes), has_ignore, ignore, codes)
    return codes[:kept], np.array([n_bad, first], dtype=np.int64)


def class_counts(t, p, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    """Per-class counts (true, predicted, correct) as a (3, C) array; see ``numpy_ref.class_counts``."""
    C = int(num_classes)
    dtype = strategy.label_dtype(t.dtype, p.dtype)
    has_ignore, ignore = _ignore(ignore_index)
    arrays, dtypes = [t, p], [dtype, dtype]
    if weights is not None:
        arrays.append(weights)
        dtypes.append(_weights_dtype(weights))
    lut_ = _NO_LUT if lut is None else lut
    lo = np.int64(lut_offset)
    call = lambda out, a, s, e: _class_counts(  # noqa: E731
        a[0], a[1], a[2] if len(a) > 2 else _NO_WEIGHTS, lut_, lo, C, has_ignore, ignore, out, s, e
    )
    counts, invalid = _private_sum(call, arrays, dtypes, t.shape[0], 3 * C, count_dtype(weights))
    return counts.reshape(3, C), invalid


def count_scores(t, s, num_classes, *, weights=None, ignore_index=None, lut=None, lut_offset=0):
    C = int(num_classes)
    if weights is not None and weights.dtype == np.float16:
        weights = weights.astype(np.float32)
    if s.dtype == np.float16 and t.shape[1] != 1:
        return _count_half_scores(t, s, C, weights, ignore_index, lut, lut_offset)
    has_ignore, ignore = _ignore(ignore_index)
    w = _NO_WEIGHTS if weights is None else weights
    lut_ = _NO_LUT if lut is None else lut
    lo = np.int64(lut_offset)
    n = t.shape[0] * t.shape[1]
    t = strategy.labels_as(t, strategy.label_dtype(t.dtype))  # 1/C of the scores read in the same pass
    bits = ()
    if t.shape[1] == 1:  # (N, C): one row per prediction, no pixel tiles
        s = scores = s.reshape(s.shape[0], s.shape[1])
        kernel = _count_score_rows_wide if C >= kernels.WIDE_MIN_C else _count_score_rows
        if s.dtype == np.float16:  # compared as their bits, no float32 copy
            s, kernel, bits = s.view(np.int16), _count_score_rows_bits, (kernels.FLOAT16_INF_BITS,)
    else:
        kernel = _count_scores
    if weights is None and kernel is not _count_scores:
        first = (t[:0], s[:0], *bits, w, lut_, lo, C, has_ignore, ignore, np.zeros(1, np.int64), 0, 0)
        if needs_compile(kernel, first):
            # the first tier: numpy's exact counts (integers: the same to the last bit) in
            # bounded blocks, while another process compiles and caches the kernel
            compiler = (__name__, "compile_score_rows", kernel.__name__, t.dtype.str, s.dtype.str)
            tuned(kernel, first, (kernel.__name__, t.dtype.str, s.dtype.str), compiler=compiler)
            return _count_score_rows_numpy(t, scores, C, ignore_index, lut, lut_offset)
    if kernel is not _count_score_rows and kernel is not _count_scores:  # a wide row is C values of work: split by values read
        ranges = split(n, min(n, len(_chunks(n * C)))) if n else [(0, 0)]
    else:
        ranges = _chunks(n)
    if len(ranges) > 1 and (len(ranges) - 1) * C * C * 8 > n * s.itemsize * s.shape[1] // 4:
        # each more thread adds a private (C, C) matrix to zero and add up: past a quarter
        # of the scores' bytes (ImageNet-21k: 3.8 GB a copy for 5,000 rows of 87 KB) one
        # thread counts them all
        ranges = [(0, n)]
    outs = {r: np.zeros(C * C, dtype=count_dtype(weights)) for r in ranges}
    results = run_parallel(lambda a, b: kernel(t, s, *bits, w, lut_, lo, C, has_ignore, ignore, outs[(a, b)], a, b), ranges)
    total = outs[ranges[0]]
    for r in ranges[1:]:
        total += outs[r]
    return total.reshape(C, C), _combine(results)


def compile_score_rows(name, t_dtype, s_dtype) -> None:
    """Compile (and cache) the (N, C) scores kernel ``name``: the compiling process's work."""
    kernels_ = {"count_score_rows": _count_score_rows, "count_score_rows_wide": _count_score_rows_wide, "count_score_rows_bits": _count_score_rows_bits}
    kernel = kernels_[name]
    t, s = np.zeros((0, 1), t_dtype), np.zeros((0, 2), s_dtype)
    bits = (kernels.FLOAT16_INF_BITS,) if kernel is _count_score_rows_bits else ()
    kernel(t, s, *bits, _NO_WEIGHTS, _NO_LUT, np.int64(0), 2, False, np.int64(0), np.zeros(4, np.int64), 0, 0)


#: rows the numpy first tier counts at a time (bounded temporaries)
_NUMPY_ROWS = 1 << 16


def _count_score_rows_numpy(t, s, C, ignore_index, lut, lut_offset):
    """``count_scores`` of unweighted (N, C) rows by the numpy reference, block by block."""
    from ..numpy_ref import counting as reference

    total, n_bad, first = np.zeros((C, C), dtype=np.int64), 0, -1
    for a in range(0, s.shape[0], _NUMPY_ROWS):
        b = min(s.shape[0], a + _NUMPY_ROWS)
        counts, invalid = reference.count_scores(
            t[a:b], s[a:b].reshape(b - a, C, 1), C, ignore_index=ignore_index, lut=lut, lut_offset=lut_offset
        )
        total += counts
        n_bad += int(invalid[0])
        if first < 0 and invalid[1] >= 0:
            first = a + int(invalid[1])
    return total, np.array([n_bad, first], dtype=np.int64)


def _count_half_scores(t, s, C, weights, ignore_index, lut, lut_offset):
    """numba has no half type: widen bounded blocks of rows to float32 (exact, order-preserving)."""
    n, pixels = t.shape
    rows = max(1, (1 << 22) // max(1, C * pixels))  # float32 blocks of about 16 MB
    total, n_bad, first = None, 0, -1
    for a in range(0, max(n, 1), rows):
        b = min(n, a + rows)
        w = None if weights is None else weights[a * pixels : b * pixels]
        counts, invalid = count_scores(
            t[a:b], s[a:b].astype(np.float32), C, weights=w, ignore_index=ignore_index, lut=lut, lut_offset=lut_offset
        )
        total = counts if total is None else total + counts
        n_bad += int(invalid[0])
        if first < 0 and invalid[1] >= 0:
            first = int(invalid[1]) + a * pixels
    return total, np.array([n_bad, first], dtype=np.int64)


def _range_dtype(dtype):
    """Values are compared in their own order: uint64 stays unsigned, the rest as the pairs."""
    return dtype if dtype == np.uint64 else strategy.label_dtype(dtype)


def value_range(t, p):
    if t.size == 0 and p.size == 0:
        return 0, -1
    ranges = []
    for a in (t, p):
        if a.size:
            a = a.reshape(-1)
            dtype = _range_dtype(a.dtype)

            def task(s, e, a=a, dtype=dtype):
                view = strategy.kernel_view(a, dtype)
                if view is not None:
                    return [_value_range(view, s, e)]
                return [_value_range(a[b : min(e, b + strategy.STAGE)].astype(dtype), 0, min(e, b + strategy.STAGE) - b)
                        for b in range(s, e, strategy.STAGE)]

            for found in run_parallel(task, _chunks(a.size)):
                ranges += found
    return min(int(r[0]) for r in ranges), max(int(r[1]) for r in ranges)


def label_presence(t, p, lo, size, ignore_index=None):
    has_ignore, ignore = _ignore(ignore_index)
    present = np.zeros(size, dtype=np.bool_)
    dtype = strategy.label_dtype(t.dtype, p.dtype)

    def call(arrs, s, e):
        _label_presence(arrs[0][s:e], arrs[1][s:e], np.int64(lo), present, has_ignore, ignore)
        return 0, -1

    strategy.stage(call, [t, p], [dtype, dtype], [(0, t.shape[0])], _serial)
    return present
