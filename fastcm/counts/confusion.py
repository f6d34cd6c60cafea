"""``confusion_matrix``: label planning, dispatch to a backend, normalisation.

The work splits in three steps, the same for the function and the streaming class:

1. *plan* the classes: ``num_classes`` (values are already class indices: no encoding),
   ``labels`` (a lookup table fused into the kernel for integers; a vectorised
   ``searchsorted`` encoding for strings), or neither (the sorted union of the values; for
   integers a min/max pass, then either the counting pass over a short value range cut to
   the values present, or a presence pass and a table; no N-sized temporaries);
2. *count* in one pass on the chosen backend;
3. *check* what the kernel reported invalid and raise a message naming value and position.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..core.classes import as_labels, check_classes
from ..core.invalid import report_invalid
from .. import backends
from ..backends.arrays import to_caller, to_host
from ..core.overflow import INT64_MAX
from .sparse import SparseCounts
from ..core.inputs import (
    InvalidInputError,
    array_module,
    as_array,
    check_ignore_index,
    check_normalize,
    check_num_classes,
    check_weights,
    common_integer_labels,
    flatten,
    to_integer_labels,
)

__all__ = ["confusion_matrix", "count", "named_like_inputs", "normalize_counts", "normalize_sparse", "Counted", "Cells"]

I64_MIN, UINT64_MAX = -INT64_MAX - 1, 2**64 - 1

#: widest integer value range planned with a dense lookup table (larger ranges use sorting)
_MAX_LUT = 1 << 24
#: widest integer value range counted as a dense matrix and cut to the values present
_MAX_DENSE = 1024


@dataclass(frozen=True)
class Counted:
    """What one counting pass produced.

    ``counts`` is the (C, C) matrix on the backend's device; ``labels`` the class of each
    row as a host numpy array, or None when the classes are ``0..C-1`` declared by
    ``num_classes`` (or by the width of a score array). ``invalid`` is the device
    :func:`invalid_record` of the pass when :func:`count` deferred its check, else None.
    """

    counts: object
    labels: np.ndarray | None
    backend: str
    n_pairs: int = 0
    invalid: object = None
    #: ``counts`` is a (3, C) array of per-class counts (true, predicted, correct) instead
    #: of the matrix: see ``count(per_class=True)``
    per_class: bool = False


#: classes past which ``count(per_class=True)`` counts per class instead of a matrix
_PER_CLASS_MIN = 1024

#: ``count(compact=True)`` returns :class:`Cells` when the matrix has more than this many
#: cells per pair of the batch: zeroing and adding a (C, C) matrix would cost more than
#: sorting the batch's cells
_COMPACT_CELLS_PER_PAIR = 4


@dataclass(frozen=True)
class Cells:
    """A batch's counts as the cells it touched: ``codes`` holds the flat cell
    ``row * C + column`` of each counted pair (host int64, any order), O(batch) memory
    whatever C is.

    Examples
    --------
    >>> cells = Cells(np.array([5, 1, 5]), 3)
    >>> cells.dense().tolist()
    [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    >>> [a.tolist() for a in cells.compact()]
    [[1, 5], [1, 2]]
    """

    codes: np.ndarray
    num_classes: int

    def any(self) -> bool:
        return bool(self.codes.size)

    def compact(self):
        """(index, counts): the distinct cells, sorted, and the int64 count of each."""
        codes = np.sort(self.codes)
        if codes.size == 0:
            return codes, np.zeros(0, np.int64)
        starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
        return codes[starts], np.diff(starts, append=codes.size).astype(np.int64)

    def dense(self) -> np.ndarray:
        """The (C, C) matrix (for small C and the tests)."""
        C = self.num_classes
        return np.bincount(self.codes, minlength=C * C).astype(np.int64).reshape(C, C)


def _compact_pairs(be, t, p, num_classes, weights, compact, **kw):
    """``(counts, invalid)`` of label pairs: :class:`Cells` when ``compact`` and a batch is
    small against the matrix (unweighted, host backends), else the (C, C) matrix."""
    C = int(num_classes)
    if compact and weights is None and backends.contract.provides(be, "pair_codes") and C * C > _COMPACT_CELLS_PER_PAIR * max(t.size, 1):
        codes, invalid = be.pair_codes(t, p, C, **kw)
        return Cells(codes, C), invalid
    return _count_weighted(lambda w: be.count_pairs(t, p, C, weights=w, **kw), weights)


def _sparse_pairs(be, t, p, num_classes, weights, ignore_index=None, lut=None, lut_offset=0):
    """``(SparseCounts, invalid)`` of label pairs: the cells they touch, O(pairs) memory
    whatever C is (``count(sparse=True)``).

    Unweighted pairs are the backend's pair codes, sorted and run-length counted. With
    weights the backend's per-class pass checks labels and weights (O(C) memory), then the
    kept pairs' cells are formed on the host beside their weights.
    """
    C = int(num_classes)
    kw = dict(ignore_index=ignore_index, lut=lut, lut_offset=lut_offset)
    if weights is None:
        codes, invalid = be.pair_codes(t, p, C, **kw)
        return SparseCounts.from_codes(to_host(codes), C), invalid
    _, invalid = be.class_counts(t, p, C, weights=weights, **kw)
    if int(to_host(invalid)[0]):
        return SparseCounts.empty(C), invalid
    ht, hp = to_host(t), to_host(p)
    keep = np.ones(ht.shape, bool) if ignore_index is None else ht != ignore_index
    ti, pi = ht.astype(np.int64) - lut_offset, hp.astype(np.int64) - lut_offset
    if lut is not None:
        table = to_host(lut)
        inside = (ti >= 0) & (ti < table.size) & (pi >= 0) & (pi < table.size)
        ti = np.where(inside, table[np.clip(ti, 0, table.size - 1)], -1)
        pi = np.where(inside, table[np.clip(pi, 0, table.size - 1)], -1)
    keep &= (ti >= 0) & (pi >= 0) & (ti < C) & (pi < C)
    w = to_host(weights)
    return SparseCounts.from_codes(ti[keep] * C + pi[keep], C, weights=w[keep]), invalid


def _pairs(be, t, p, num_classes, weights, compact, sparse, **kw):
    """Counts of label pairs: sparse cells, batch cells or the (C, C) matrix."""
    if sparse:
        return _sparse_pairs(be, t, p, num_classes, weights, **kw)
    return _compact_pairs(be, t, p, num_classes, weights, compact, **kw)


def _is_numeric(a) -> bool:
    return a.dtype.kind in "biuf"


def _check_label_kinds(t, p) -> None:
    if _is_numeric(t) != _is_numeric(p):
        raise InvalidInputError(  # scikit-learn raises a ValueError here; fastcm's contract said TypeError
            "Mix of label input types (string and number): labels in y_true and y_pred should be of the "
            f"same type, but got {t.dtype} and {p.dtype}"
        )
    if not _is_numeric(t) and t.dtype.kind != p.dtype.kind:  # "a" != b"a": nothing would ever match
        raise TypeError(f"Mix of str and bytes labels in y_true and y_pred: got {t.dtype} and {p.dtype}")


_INT64_MAX = INT64_MAX


def _ignore_for(ignore_index, t):
    """The ignore index as the kernels compare it with ``t``'s values, or None when no value
    of ``t``'s dtype can equal it (kernels take it as an int64: a float would be truncated,
    an index beyond the dtype wrapped).

    Numeric labels need an integer index; strings compare as they are, on the host.
    """
    ignore_index = check_ignore_index(ignore_index)
    if ignore_index is None or not _is_numeric(t):
        return ignore_index
    if not isinstance(ignore_index, int):
        raise TypeError(f"Expected an integer `ignore_index` for numeric labels, but got {ignore_index!r}")
    info = (0, 1) if t.dtype.kind == "b" else (int(np.iinfo(t.dtype).min), int(np.iinfo(t.dtype).max))
    if not info[0] <= ignore_index <= info[1]:
        return None
    if ignore_index > _INT64_MAX:
        raise ValueError(
            f"`ignore_index` above {_INT64_MAX} (the int64 range) is not supported, but got {ignore_index}"
        )
    return ignore_index


def _labels_of_dtype(sorted_labels, order, dtype):
    """The sorted labels that a value of the integer ``dtype`` can equal, in that dtype.

    numpy compares int64 with uint64 in float64, which rounds above 2**53: a uint64 value
    must meet only the non-negative labels, as uint64, and an int64 value only the labels
    below 2**63, as int64. Other integer pairs promote exactly and are returned as they are.
    """
    if sorted_labels.dtype.kind not in "biu" or np.result_type(sorted_labels.dtype, dtype).kind != "f":
        return sorted_labels, order
    if dtype.kind == "u":
        keep = sorted_labels >= 0
    else:
        keep = sorted_labels <= np.iinfo(np.int64).max
    return sorted_labels[keep].astype(dtype), order[keep]


def _encode(a, sorted_labels, order, ignore_index=None):
    """Codes of ``a`` in the label order; -1 for values not in the labels (dropped)."""
    a = np.asarray(a)
    if a.size == 0:
        return np.empty(a.shape, np.int64)
    if a.dtype.kind in "biu":
        sorted_labels, order = _labels_of_dtype(sorted_labels, order, a.dtype)
        if sorted_labels.size == 0:
            return np.full(a.shape, -1, np.int64)
    try:
        idx = np.searchsorted(sorted_labels, a)
    except TypeError:  # labels and data of unrelated kinds: nothing matches
        return np.full(a.shape, -1, np.int64)
    idx_c = np.minimum(idx, sorted_labels.size - 1)
    found = sorted_labels[idx_c] == a
    codes = np.where(found, order[idx_c], -1).astype(np.int64)
    if ignore_index is not None:
        codes[a == ignore_index] = -1
    return codes


_IDENTITY_OFFSET = -1  # codes are -1..K-1: entry 0 of the table drops -1


def _identity_lut(k: int) -> np.ndarray:
    return np.arange(-1, k, dtype=np.int64)


def _lut_for(lab: np.ndarray):
    """Dense table mapping integer label values to their positions, or None if too wide."""
    lo, hi = int(lab.min()), int(lab.max())
    if hi - lo + 1 > max(_MAX_LUT, 4 * lab.size) or hi > _INT64_MAX:  # kernels offset by an int64
        return None
    lut = np.full(hi - lo + 1, -1, dtype=np.int64)
    lut[lab.astype(np.int64) - lo] = np.arange(lab.size, dtype=np.int64)
    return lut, lo


#: integer weights are split into parts of this many bits when their sums could pass int64
_PART_BITS = 21


def _count_weighted(run, weights):
    """``run(weights) -> (counts, invalid)``, with integer weights summed exactly.

    When ``max|w| * N`` stays within int64, no cell can wrap and the kernel runs once. Else
    the weights are split into three parts of at most 22 bits, each counted by the kernel
    (their sums cannot wrap below 2**41 pairs), and the cells are recombined exactly; a
    cell whose total passes 2**63-1 is an OverflowError naming it, never a wrapped count.
    """
    if weights is None or weights.dtype.kind not in "iu" or weights.size == 0:
        return run(weights)
    xp = array_module(weights)
    lo, hi = int(weights.min()), int(weights.max())  # synchronize!
    if max(abs(lo), abs(hi)) * weights.size <= INT64_MAX:
        return run(weights if weights.dtype != np.uint64 else weights.view(np.int64) if hi <= INT64_MAX else weights)
    mask = (1 << _PART_BITS) - 1
    if weights.dtype == np.uint64:
        parts = [((weights >> np.uint64(k * _PART_BITS)) & np.uint64(mask)).astype(np.int64) for k in range(2)]
        parts.append((weights >> np.uint64(2 * _PART_BITS)).astype(np.int64))
    else:
        w = weights.astype(np.int64)
        parts = [(w >> (k * _PART_BITS)) & mask for k in range(2)] + [w >> (2 * _PART_BITS)]  # arithmetic shift
    counted = [run(part) for part in parts]
    sums = [to_host(c).astype(np.int64) for c, _ in counted]  # synchronize!
    # float64 estimate: cells far from the int64 bounds are recombined in int64 at once
    estimate = sum(c.astype(np.float64) * float(1 << (k * _PART_BITS)) for k, c in enumerate(sums))
    if np.abs(estimate).max(initial=0.0) < 2.0**62:
        total = sums[0] + (sums[1] << _PART_BITS) + (sums[2] << (2 * _PART_BITS))
    else:
        exact = sum(c.astype(object) * (1 << (k * _PART_BITS)) for k, c in enumerate(sums))
        flat = exact.reshape(-1)
        beyond = [i for i, v in enumerate(flat) if not -INT64_MAX - 1 <= v <= INT64_MAX]
        if beyond:
            cell = tuple(int(i) for i in np.unravel_index(beyond[0], exact.shape))
            raise OverflowError(
                f"The weighted count at cell {cell} is {flat[beyond[0]]}, beyond the int64 range of exact "
                "counts; use float sample weights, or smaller integer ones"
            )
        total = exact.astype(np.int64)
    return xp.asarray(total), counted[0][1]


def _check_all_weights_finite(weights) -> None:
    """Raise for a non-finite weight anywhere, as scikit-learn does.

    Kernels check the weights of the pairs they count; with ``labels`` or ``ignore_index``
    some pairs are dropped unchecked. Host arrays only: two reductions and no N-sized
    temporary (the position is searched only on failure); on a GPU it would wait for the device.
    """
    if weights is None or weights.dtype.kind != "f" or weights.size == 0 or array_module(weights) is not np:
        return
    if np.isfinite(weights.min()) and np.isfinite(weights.max()):  # min/max propagate NaN
        return
    pos = int(np.argmax(~np.isfinite(weights)))
    raise ValueError(f"Expected finite `sample_weight`, but got {float(weights[pos])!r} at position {pos}")


def _squeeze_column(t, p):
    """(N,) labels against an (N, 1) column: both 1-D, as scikit-learn's ``column_or_1d``.

    A one-column "score" array would always predict class 0, so it is read as labels.
    """
    if t.ndim == 1 and p.shape == t.shape + (1,):
        return t, p.reshape(-1)
    if p.ndim == 1 and t.shape == p.shape + (1,):
        return t.reshape(-1), p
    return t, p


def _split_scores(t, p):
    """Whether ``p`` carries a class axis (axis 1) over ``t``'s shape, checking shapes."""
    if p.ndim == t.ndim + 1:
        if p.shape[:1] + p.shape[2:] != t.shape:
            raise ValueError(
                f"Expected scores of shape (N, C, ...) matching `y_true` {tuple(t.shape)} "
                f"apart from the class axis 1, but got {tuple(p.shape)}"
            )
        if p.dtype.kind not in "biuf":
            raise TypeError(f"Expected numeric scores in `y_pred`, but got dtype {p.dtype}")
        return True
    if p.shape != t.shape:
        raise ValueError(
            f"Expected `y_true` and `y_pred` to have the same shape, but got {tuple(t.shape)} and {tuple(p.shape)}"
        )
    return False


def _count_scores(be, t, s, labels, num_classes, weights, ignore_index, defer=False, sparse=False):
    """Predictions are argmax over axis 1 of ``s`` (N, C, ...)."""
    width = s.shape[1]
    if width < 1:
        raise ValueError("Expected at least one class column in the scores `y_pred`, but got 0")
    if num_classes is not None and num_classes != width:
        raise ValueError(f"Expected scores with num_classes={num_classes} columns on axis 1, but got {width}")
    if t.dtype.kind in "US":
        raise TypeError("Scores in `y_pred` need integer class indices in `y_true`, but got strings")
    t = to_integer_labels(t, "y_true")
    ignore_index = _ignore_for(ignore_index, t)
    n = s.shape[0]
    pixels = int(np.prod(s.shape[2:], dtype=np.int64))
    t2 = t.reshape(n, pixels)  # views: the class axis stays where the caller put it
    s3 = s.reshape(n, width, pixels)
    if sparse:
        return _count_scores_sparse(be, t, t2, s3, labels, width, weights, ignore_index)
    if labels is None:
        counts, invalid = _count_weighted(
            lambda w: be.count_scores(t2, s3, width, weights=w, ignore_index=ignore_index), weights
        )
        record = report_invalid(invalid, flatten(t), None, weights, width, True, t.shape, defer)
        return Counted(counts, None, be.NAME, t.size, record)
    lab = as_labels(labels)
    if lab.dtype.kind not in "biu" or lab.min() < 0 or lab.max() >= width:
        raise ValueError(f"Expected `labels` to be class indices in 0..{width - 1} of the scores, but got {lab.tolist()!r}")
    lut = np.arange(width, dtype=np.int64)  # truth outside 0..width-1 is dropped, as with labels
    counts, invalid = _count_weighted(
        lambda w: be.count_scores(t2, s3, width, weights=w, ignore_index=ignore_index, lut=lut), weights
    )
    record = report_invalid(invalid, flatten(t), None, weights, width, True, t.shape, defer)
    idx = be.xp.asarray(lab.astype(np.int64))
    return Counted(counts[idx[:, None], idx[None, :]], lab, be.NAME, t.size, record)


def _count_scores_sparse(be, t, t2, s3, labels, width, weights, ignore_index):
    """``count(sparse=True)`` of scores: the argmax on the host (an (N, ...) temporary; the
    sparse path serves many classes, where a (C, C) matrix is what cannot be afforded),
    then the pairs' cells. A NaN score in a counted position is invalid, as in the kernels."""
    hs = to_host(s3)
    pred = np.argmax(hs, axis=1).reshape(-1)
    tf = flatten(t)
    ht = to_host(tf)
    if hs.dtype.kind == "f":
        nan = np.isnan(hs.max(axis=1)).reshape(-1)
        if ignore_index is not None:
            nan &= ht != ignore_index
        nan &= (ht >= 0) & (ht < width)  # a truth out of range is reported first, as the kernels do
        if nan.any():
            invalid = np.array([int(nan.sum()), int(nan.argmax())], np.int64)
            report_invalid(invalid, tf, None, weights, width, True, t.shape)
    counts, invalid = _sparse_pairs(be, ht, pred, width, weights, ignore_index=ignore_index)
    report_invalid(invalid, tf, None, weights, width, True, t.shape)
    if labels is None:
        return Counted(counts, None, be.NAME, t.size)
    lab = as_labels(labels)
    if lab.dtype.kind not in "biu" or lab.min() < 0 or lab.max() >= width:
        raise ValueError(f"Expected `labels` to be class indices in 0..{width - 1} of the scores, but got {lab.tolist()!r}")
    position = np.full(width, -1, np.int64)
    position[lab.astype(np.int64)] = np.arange(lab.size)
    rows, cols = counts.rows_cols()
    r, c = position[rows], position[cols]
    keep = (r >= 0) & (c >= 0)
    picked = SparseCounts.from_codes(r[keep] * lab.size + c[keep], lab.size, weights=counts.values[keep])
    return Counted(picked, lab, be.NAME, t.size)


def _labels_present(lab, values) -> bool:
    """Whether any label occurs in ``values``, compared exactly (not through float64)."""
    order = np.arange(lab.size)
    sorted_lab = np.sort(lab)
    codes = _encode(values, sorted_lab, order)
    return bool((codes >= 0).any())


def _beyond_int64(t, p) -> bool:
    """Whether uint64 labels hold a value above 2**63-1: kernels offset values by an int64,
    so such values are matched on the host, in uint64."""
    return any(a.dtype == np.uint64 and a.size and int(a.max()) > _INT64_MAX for a in (t, p))  # synchronize!


def _integer_pairs(t, p) -> bool:
    return _is_numeric(t) and t.dtype.kind != "f" and p.dtype.kind != "f"


def _count_dense(be, t, p, ignore_index):
    """Counts and labels of unweighted integer pairs whose values span a short range.

    The whole range is counted as a dense matrix, then cut down to the values present: one
    counting pass instead of a presence pass and a table pass. None when the range is long;
    ``(lo, hi)`` then comes along so the caller need not scan the values again.
    """
    lo, hi = be.value_range(t, p)
    if hi < lo:
        return (be.xp.zeros((0, 0), dtype=np.int64), np.empty(0, np.int64)), (lo, hi)
    if hi - lo + 1 > _MAX_DENSE or hi > _INT64_MAX or be.ON_DEVICE:
        return None, (lo, hi)  # uint64 values above int64: kernels offset by an int64
    counts, _ = be.count_pairs(t, p, hi - lo + 1, ignore_index=ignore_index, lut_offset=lo)
    present = np.flatnonzero(counts.any(axis=0) | counts.any(axis=1))
    return (counts[np.ix_(present, present)], present.astype(np.int64) + lo), (lo, hi)


def _infer_labels(be, t, p, ignore_index, value_range=None):
    """Sorted union of the values in the kept pairs, plus a table mapping them to rows."""
    ignore_index = _ignore_for(ignore_index, t)
    if _integer_pairs(t, p):
        lo, hi = be.value_range(t, p) if value_range is None else value_range
        if hi < lo:
            return np.empty(0, np.int64), None, 0
        if hi - lo + 1 <= max(_MAX_LUT, 2 * t.size) and hi <= _INT64_MAX:  # table offset: an int64
            present = to_host(be.label_presence(t, p, lo, hi - lo + 1, ignore_index))
            values = np.flatnonzero(present).astype(np.int64) + lo
            lut = np.cumsum(present, dtype=np.int64) - 1
            lut[~present] = -1
            return values, lut, lo
    ht, hp = to_host(t), to_host(p)
    if ignore_index is not None:
        keep = ht != ignore_index
        ht, hp = ht[keep], hp[keep]
    values = np.union1d(ht, hp)
    return values, None, 0


def named_like_inputs(labels, t, p):
    """Labels counted from bool or whole-number float inputs, in those inputs' dtype: counting
    made them int64, and scikit-learn names them True or 1.0 (reports, plots). The classes of
    scores (``p`` with a class axis) stay indices."""
    if p.ndim <= t.ndim and (t.dtype.kind in "bf" or p.dtype.kind in "bf"):
        return labels.astype(np.result_type(t.dtype, p.dtype))
    return labels


def count(
    y_true, y_pred, *, labels=None, sample_weight=None, num_classes=None, ignore_index=None, backend="auto", defer=False,
    compact=False, per_class=False, sparse=False,
):
    """Validate, plan and count: the shared core of every confusion-matrix entry point.

    Returns a :class:`Counted` with the (C, C) counts, the label of each row and the backend
    used. See :func:`confusion_matrix` for the meaning of the arguments.

    ``defer`` (True, False, or "device": only on a device backend) skips the one check that
    reads a kernel's result back (invalid labels, NaN scores, non-finite weights): instead
    of raising, the pass returns ``Counted.invalid``, a device :func:`invalid_record`, and
    counts that include the valid pairs of an invalid batch (the caller must drop them).
    Checks of shapes, dtypes and options still raise at once.

    ``compact``: unweighted label pairs with the classes given (``num_classes`` or
    ``labels``) on a host backend may come back as :class:`Cells`, the cells the pairs
    touched, when C * C is large against the batch (streaming at many classes).

    ``per_class``: past ``_PER_CLASS_MIN`` classes (inferred, ``labels`` or ``num_classes``;
    label pairs, not scores), count a (3, C) array of per-class counts (true, predicted,
    correct; ``Counted.per_class``) in O(C) memory instead of the (C, C) matrix: all the
    metrics of the diagonal and the margins need.

    ``sparse``: ``Counted.counts`` is a :class:`~fastcm.counts.sparse.SparseCounts`, the cells the
    pairs touched, O(distinct pairs) memory; counted on the host (device arrays are copied
    there), checked at once (no ``defer``).
    """
    num_classes = check_num_classes(num_classes)
    t = as_array(y_true, "y_true")
    p = as_array(y_pred, "y_pred")
    name = backends.select(backend, t, p, small_on_numpy=True)
    if sparse and backends.get(name).ON_DEVICE:
        t, p = to_host(t), to_host(p)
        if sample_weight is not None:
            sample_weight = to_host(as_array(sample_weight, "sample_weight"))
        name = backends.select("auto", t, p, small_on_numpy=True)
    if sparse:
        defer, compact, per_class = False, False, False
    be = backends.get(name)
    if defer == "device":
        defer = be.ON_DEVICE
    if array_module(t) is not be.xp:
        t = be.xp.asarray(t)
    if array_module(p) is not be.xp:
        p = be.xp.asarray(p)
    t, p = _squeeze_column(t, p)
    scores = _split_scores(t, p)
    weights = check_weights(sample_weight, t.size, t)
    if weights is not None and weights.dtype == np.bool_:
        weights = weights.astype(np.int64)
    if (labels is not None or ignore_index is not None) and not defer:  # deferred: only counted pairs, as on a GPU
        _check_all_weights_finite(weights)
    if scores:
        return _count_scores(be, t, p, labels, num_classes, weights, ignore_index, defer, sparse)

    _check_label_kinds(t, p)
    if _is_numeric(t):
        t = to_integer_labels(t, "y_true")
        p = to_integer_labels(p, "y_pred")
        if labels is not None or num_classes is None:  # declared classes: the kernel flags such values
            try:
                t, p = common_integer_labels(t, p)
            except TypeError:
                if labels is None:
                    raise
                # labels: each side is matched exactly in its own dtype (_encode), no common one needed
    tf, pf = flatten(t), flatten(p)
    ignore_index = _ignore_for(ignore_index, tf)

    if labels is None and num_classes is not None:
        if not _is_numeric(tf):
            raise TypeError(f"`num_classes` needs integer labels, but got dtype {tf.dtype}")
        if per_class and num_classes > _PER_CLASS_MIN:
            counts, invalid = _count_weighted(
                lambda w: be.class_counts(tf, pf, num_classes, weights=w, ignore_index=ignore_index), weights
            )
        else:
            counts, invalid = _pairs(
                be, tf, pf, num_classes, weights, compact and not defer, sparse, ignore_index=ignore_index
            )
        record = report_invalid(invalid, tf, pf, weights, num_classes, shape=t.shape, defer=defer)
        return Counted(counts, None, be.NAME, t.size, record, per_class=per_class and num_classes > _PER_CLASS_MIN)

    if labels is not None:
        lab = check_classes(num_classes, labels).labels
        table = _is_numeric(tf) and lab.dtype.kind in "biu" and not _beyond_int64(tf, pf)
        plan = _lut_for(lab) if table else None
    else:
        span = None
        if weights is None and _integer_pairs(tf, pf):
            dense, span = _count_dense(be, tf, pf, ignore_index)
            if dense is not None:
                counts = SparseCounts.from_dense(to_host(dense[0])) if sparse else dense[0]
                return Counted(counts, dense[1], be.NAME, t.size)
        lab, lut, lo = _infer_labels(be, tf, pf, ignore_index, span)
        if lab.size == 0:  # float weights give float counts, even of nothing
            dtype = np.float64 if weights is not None and weights.dtype.kind == "f" else np.int64
            counts = SparseCounts.empty(0, dtype) if sparse else be.xp.zeros((0, 0), dtype=dtype)
            return Counted(counts, lab, be.NAME, t.size)
        plan = None if lut is None else (lut, lo)

    per_class = per_class and lab.size > _PER_CLASS_MIN  # class_counts: a required entry
    if per_class:
        if plan is not None:
            t_, p_, lut, lo = tf, pf, be.xp.asarray(plan[0]), plan[1]
        else:
            order = np.argsort(lab, kind="stable")
            sorted_lab = lab[order]
            t_ = be.xp.asarray(_encode(to_host(tf), sorted_lab, order, ignore_index))
            p_ = be.xp.asarray(_encode(to_host(pf), sorted_lab, order))
            lut, lo = be.xp.asarray(_identity_lut(lab.size)), _IDENTITY_OFFSET
        ignore = ignore_index if plan is not None else None
        counts, invalid = _count_weighted(
            lambda w: be.class_counts(t_, p_, lab.size, weights=w, ignore_index=ignore, lut=lut, lut_offset=lo), weights
        )
        record = report_invalid(invalid, tf, pf, weights, lab.size, shape=t.shape, defer=defer)
        _check_a_label_in_truth(labels, counts, tf, lab, ignore_index)
        return Counted(counts, lab, be.NAME, t.size, record, per_class=True)
    if plan is not None:
        lut, lo = plan
        table = be.xp.asarray(lut)
        counts, invalid = _pairs(
            be, tf, pf, lab.size, weights, compact and labels is not None and not defer, sparse,
            ignore_index=ignore_index, lut=table, lut_offset=lo,
        )
    else:
        order = np.argsort(lab, kind="stable")
        sorted_lab = lab[order]
        ht, hp = to_host(tf), to_host(pf)
        ct = be.xp.asarray(_encode(ht, sorted_lab, order, ignore_index))
        cp_ = be.xp.asarray(_encode(hp, sorted_lab, order))
        table = be.xp.asarray(_identity_lut(lab.size))
        counts, invalid = _pairs(
            be, ct, cp_, lab.size, weights, compact and labels is not None and not defer, sparse,
            lut=table, lut_offset=_IDENTITY_OFFSET,
        )
    record = report_invalid(invalid, tf, pf, weights, lab.size, shape=t.shape, defer=defer)
    _check_a_label_in_truth(labels, counts, tf, lab, ignore_index)
    return Counted(counts, lab, be.NAME, t.size, record)


def _check_a_label_in_truth(labels, counts, tf, lab, ignore_index):
    """scikit-learn's ValueError when none of the given ``labels`` occurs in ``y_true``."""
    if labels is not None and tf.size and not bool(counts.any()):  # synchronize! (deferred or not)
        kept = to_host(tf)
        if ignore_index is not None:  # an all-ignored batch (streamed segmentation) counts nothing, rightly
            kept = kept[kept != ignore_index]
        if kept.size and not _labels_present(lab, kept):
            raise ValueError("At least one label specified must be in y_true")


def normalize_counts(cm, normalize):
    """Divide counts over true rows ("true"), predicted columns ("pred") or all; 0/0 stays 0.

    Examples
    --------
    >>> normalize_counts(np.array([[2, 0], [1, 1]]), "true").tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """
    check_normalize(normalize)
    if normalize is None:
        return cm
    xp = array_module(cm)
    cm = cm.astype(np.float64)
    if normalize == "true":
        total = cm.sum(axis=1, keepdims=True)
    elif normalize == "pred":
        total = cm.sum(axis=0, keepdims=True)
    else:
        total = cm.sum()
    with np.errstate(all="ignore"):
        out = cm / total
    return xp.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def normalize_sparse(counts, normalize):
    """:func:`normalize_counts` of :class:`~fastcm.counts.sparse.SparseCounts` (0/0 stays 0).

    Examples
    --------
    >>> normalize_sparse(SparseCounts.from_dense(np.array([[2, 0], [1, 1]])), "true").to_dense().tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """
    check_normalize(normalize)
    if normalize is None:
        return counts
    values = counts.values.astype(np.float64)
    rows, cols = counts.rows_cols()
    if normalize == "all":
        den = np.full(values.shape, values.sum())
    else:
        index = rows if normalize == "true" else cols
        den = np.bincount(index, values, counts.num_classes)[index]
    with np.errstate(all="ignore"):
        out = np.where(den != 0, values / np.where(den != 0, den, 1.0), 0.0)
    return SparseCounts(counts.codes, out, counts.num_classes)


def confusion_matrix(
    y_true,
    y_pred,
    *,
    labels=None,
    sample_weight=None,
    normalize=None,
    num_classes=None,
    ignore_index=None,
    backend="auto",
    like=None,
    sparse=False,
):
    """Confusion matrix of label pairs, rows = true class, columns = predicted class.

    Drop-in for :func:`sklearn.metrics.confusion_matrix` (same ``labels``, ``sample_weight``
    and ``normalize`` semantics), computed in one pass by a compiled kernel.

    Parameters
    ----------
    y_true : array-like of shape (N, ...)
        True labels: integers, bools, whole-number floats or strings. Any array type
        (numpy, lists, pandas, torch, CuPy, ...); any shape, paired element-wise.
    y_pred : array-like
        Predicted labels shaped like ``y_true``, or scores with one extra class axis at
        position 1 ((N, C) or (N, C, H, W)): the argmax (ties to the lowest class) is fused
        into the counting pass.
    labels : array-like, optional
        Classes to index the matrix, in this order; pairs with another value are dropped.
    sample_weight : array-like of shape (N,), optional
        Per-pair weights: float weights give float64 counts, integer weights int64.
    normalize : {"true", "pred", "all"}, optional
        Normalise over true rows, predicted columns or everything (0/0 stays 0).
    num_classes : int, optional
        Declares the classes ``0..C-1``: no encoding pass; a value outside is a ValueError.
    ignore_index : int, optional
        Pairs whose true label equals it are skipped (segmentation's 255).
    backend : {"auto", "numba", "numpy", "cupy"}
        "auto" uses CuPy for CUDA arrays and numba otherwise. While a new process is still
        loading numba (~0.3 s), a small call (up to 65536 elements) is counted by the numpy
        reference, with the same result, and numba loads in the background (see
        :func:`fastcm.backends.select`).
    like : {None, "numpy", "cupy", "torch", "jax", "tensorflow"} or array or module, optional
        The array type of the result; None: that of ``y_true`` (else ``y_pred``), so a CPU
        torch tensor gives a torch tensor sharing the counts' memory (see
        :mod:`fastcm.backends.arrays`).
    sparse : bool, default False
        Return a ``scipy.sparse.csr_array`` (scipy is imported only then) holding only the
        cells some pair touched: O(C + distinct pairs) memory, for 10^4-10^6 classes, where
        the dense matrix would not fit (80 GB at 10^5 classes). Counted on the host
        (device arrays are copied there); ``like`` does not apply. :mod:`fastcm.metrics`,
        :func:`fastcm.diagnose` and :func:`fastcm.check` read it without densifying it.

    Returns
    -------
    (C, C) int64 array (float64 when weighted with floats or normalized), on the device of
    the inputs, in their array type unless ``like`` says otherwise; with ``sparse=True`` a
    (C, C) ``scipy.sparse.csr_array`` (int64 or float64 data, canonical: sorted indices, no
    duplicates, no stored zeros).

    Examples
    --------
    >>> confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1]).tolist()
    [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    >>> confusion_matrix(["cat", "dog"], ["dog", "dog"], labels=["dog", "cat"]).tolist()
    [[1, 0], [1, 0]]
    >>> cm = confusion_matrix([0, 1, 99_999], [0, 2, 99_999], num_classes=100_000, sparse=True)
    >>> type(cm).__name__, cm.shape, cm.nnz, int(cm[1, 2])
    ('csr_array', (100000, 100000), 3, 1)
    """
    check_normalize(normalize)
    if sparse not in (False, True):
        raise ValueError(f"Expected `sparse` to be True or False, but got {sparse!r}")
    res = count(y_true, y_pred, labels=labels, sample_weight=sample_weight, num_classes=num_classes,
                ignore_index=ignore_index, backend=backend, sparse=sparse)
    if sparse:
        if num_classes is None:
            warn_if_single_label(res.counts, stacklevel=3)
        return normalize_sparse(res.counts, normalize).to_scipy()
    if num_classes is None:
        warn_if_single_label(res.counts, stacklevel=3)
    return to_caller(normalize_counts(res.counts, normalize), like, y_true, y_pred)


def warn_if_single_label(cm, stacklevel=2):
    """scikit-learn's warning for a (1, 1) matrix: the labels were probably not all seen."""
    if cm.shape == (1, 1):
        warnings.warn(
            "A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to have the "
            "correct shape, use the 'labels' parameter to pass all known labels.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
