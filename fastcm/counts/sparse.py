"""Sparse confusion matrices: the counts of the cells pairs touched, for 10^4-10^6 classes.

A dense (C, C) int64 matrix of 10^5 classes is 80 GB; the pairs of an evaluation touch
at most N of its cells. :class:`SparseCounts` holds only those: the sorted flat cell
``row * C + column`` of each (an int64: C up to 3·10^9) and its count, O(distinct pairs)
memory. It is what ``confusion_matrix(..., sparse=True)`` counts and what a
``ConfusionMatrix(sparse=True)`` accumulates; the user sees a ``scipy.sparse.csr_array``
(scipy is imported only then), which :mod:`fastcm.metrics`, ``report``, ``diagnose`` and
``check`` read through :func:`class_sums` (diagonal, row and column sums) without ever
building the dense matrix.

Counts stay exact: int64 sums that would pass 2**63-1 raise OverflowError naming the
cell, as everywhere in fastcm.

Examples
--------
>>> import numpy as np
>>> s = SparseCounts.from_codes(np.array([4, 1, 4]), 3)
>>> s.codes.tolist(), s.values.tolist()
([1, 4], [1, 2])
>>> s.to_dense().tolist()
[[0, 1, 0], [0, 2, 0], [0, 0, 0]]
>>> [a.tolist() for a in class_sums(s.to_scipy())]
[[0, 2, 0], [1, 2, 0], [0, 3, 0]]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..core.overflow import INT64_MAX, wrapped_cells

__all__ = ["SparseCounts", "is_sparse", "class_sums", "as_sparse_counts", "SPARSE_MIN_CLASSES"]

#: ``sparse="auto"`` keeps a sparse state from this many classes on. Measured (see
#: docs/performance.md, "Sparse or dense"): a dense int64 matrix is 8·C² bytes (2 GB at
#: 16,384 classes) and the dense streaming update costs O(batch) as well, so memory
#: decides; at 4,096 classes the dense matrix is 128 MB, past what an accumulator
#: should hold when a few thousand distinct pairs are all an evaluation touches.
SPARSE_MIN_CLASSES = 4096


def is_sparse(a) -> bool:
    """Whether ``a`` is a scipy.sparse array or matrix, asked without importing scipy."""
    mod = sys.modules.get("scipy.sparse")
    return mod is not None and bool(mod.issparse(a))


def _runs(sorted_codes):
    """Start of each run of equal values in a sorted array."""
    if sorted_codes.size == 0:
        return np.zeros(0, np.intp)
    return np.flatnonzero(np.concatenate(([True], sorted_codes[1:] != sorted_codes[:-1])))


def _exact_int_sums(values, starts):
    """Sums of int64 ``values`` over runs starting at ``starts``, exact: an OverflowError
    names the first run whose sum leaves int64 (returned as its index) when one does."""
    big = np.add.reduceat(values.astype(object), starts) if values.size else np.zeros(0, object)
    beyond = [k for k, v in enumerate(big) if not -INT64_MAX - 1 <= v <= INT64_MAX]
    return big, beyond


@dataclass(frozen=True)
class SparseCounts:
    """Counts of a (C, C) confusion matrix at the cells that hold some.

    ``codes`` are the flat cells ``row * C + column``, sorted and distinct (host int64);
    ``values`` their counts (int64, or float64 with float weights); cells not listed are 0.
    A cell may be listed with a zero count (its pairs weighed zero).
    """

    codes: np.ndarray
    values: np.ndarray
    num_classes: int

    # -- building --------------------------------------------------------------------------
    @classmethod
    def empty(cls, num_classes, dtype=np.int64) -> "SparseCounts":
        return cls(np.zeros(0, np.int64), np.zeros(0, dtype), int(num_classes))

    @classmethod
    def from_codes(cls, codes, num_classes, weights=None) -> "SparseCounts":
        """The counts of pairs given by their cells (any order), each weighing 1 or its weight.

        Integer weights sum exactly (OverflowError past int64); float weights of one cell
        are summed in input order.
        """
        codes = np.asarray(codes, dtype=np.int64)
        C = int(num_classes)
        narrow = C * C <= 2**32  # uint32 cells sort about twice as fast as int64 ones
        if weights is None:
            codes = np.sort(codes.astype(np.uint32) if narrow else codes)
            starts = _runs(codes)
            return cls(codes[starts].astype(np.int64), np.diff(starts, append=codes.size).astype(np.int64), C)
        order = np.argsort(codes.astype(np.uint32) if narrow else codes, kind="stable")  # a cell's weights in input order
        codes, w = codes[order], np.asarray(weights)[order]
        starts = _runs(codes)
        if w.dtype.kind == "f":  # bincount adds in order, as the counting kernels do
            run = np.cumsum(np.concatenate(([False], codes[1:] != codes[:-1]))) if codes.size else codes
            values = np.bincount(run, weights=w.astype(np.float64), minlength=starts.size)
            return cls(codes[starts], values.astype(np.float64), C)  # empty bincount is int64
        w = w.astype(np.int64)
        if w.size and max(abs(int(w.min())), abs(int(w.max()))) * w.size > INT64_MAX:
            big, beyond = _exact_int_sums(w, starts)
            if beyond:
                cell = divmod(int(codes[starts[beyond[0]]]), C)
                raise OverflowError(
                    f"The weighted count at cell {cell} is {big[beyond[0]]}, beyond the int64 range of exact counts; "
                    "use float sample weights, or smaller integer ones"
                )
            return cls(codes[starts], big.astype(np.int64), C)
        values = np.add.reduceat(w, starts) if w.size else np.zeros(0, np.int64)
        return cls(codes[starts], values.astype(np.int64), C)

    @classmethod
    def from_dense(cls, m) -> "SparseCounts":
        """The non-zero cells of a host (C, C) matrix."""
        m = np.asarray(m)
        C = m.shape[0]
        codes = np.flatnonzero(m.reshape(-1)).astype(np.int64)
        dtype = np.float64 if m.dtype.kind == "f" else np.int64
        return cls(codes, m.reshape(-1)[codes].astype(dtype), C)

    @classmethod
    def from_scipy(cls, a) -> "SparseCounts":
        """A scipy.sparse (C, C) array's cells (duplicates summed, as scipy does)."""
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"Expected a square (C, C) count matrix, but got shape {tuple(a.shape)}")
        coo = a.tocoo()
        C = a.shape[0]
        codes = coo.row.astype(np.int64) * C + coo.col.astype(np.int64)
        data = np.asarray(coo.data)
        if data.dtype.kind in "biu":
            return cls.from_codes(codes, C, weights=data.astype(np.int64))
        return cls.from_codes(codes, C, weights=data.astype(np.float64))

    # -- reading ---------------------------------------------------------------------------
    @property
    def dtype(self):
        return self.values.dtype

    @property
    def shape(self):
        return (self.num_classes, self.num_classes)

    @property
    def nbytes(self) -> int:
        return self.codes.nbytes + self.values.nbytes

    def any(self) -> bool:
        return bool(self.values.any())

    def rows_cols(self):
        C = np.int64(self.num_classes)
        return self.codes // C, self.codes % C

    def to_dense(self) -> np.ndarray:
        """The (C, C) matrix (small C: the tests, a dense accumulator merging this in)."""
        C = self.num_classes
        out = np.zeros(C * C, dtype=self.values.dtype)
        out[self.codes] = self.values
        return out.reshape(C, C)

    def to_scipy(self):
        """A ``scipy.sparse.csr_array`` of shape (C, C): canonical (sorted, no duplicates),
        built from the sorted cells in O(C + cells), zero-count cells left out."""
        from scipy import sparse  # deferred: only sparse results need scipy

        keep = self.values != 0
        codes, values = (self.codes, self.values) if keep.all() else (self.codes[keep], self.values[keep])
        C = self.num_classes
        rows, cols = codes // np.int64(max(C, 1)), codes % np.int64(max(C, 1))
        indptr = np.searchsorted(rows, np.arange(C + 1, dtype=np.int64)).astype(np.int64)
        return sparse.csr_array((values, cols, indptr), shape=(C, C))

    def class_sums(self):
        """(diagonal, row sums, column sums) as host arrays of the counts' dtype.

        int64 sums are exact while the absolute total stays below 2**63; beyond, object
        arrays of Python ints (as :mod:`fastcm.metrics` reads them).
        """
        C = self.num_classes
        rows, cols = self.rows_cols()
        on = rows == cols
        if self.values.dtype.kind == "f":
            diag = np.zeros(C)
            diag[rows[on]] = self.values[on]
            sums = (np.bincount(a, self.values, C).astype(np.float64) for a in (rows, cols))  # empty: int64
            return (diag, *sums)
        if float(np.abs(self.values.astype(np.float64)).sum()) < 2.0**62:
            diag = np.zeros(C, np.int64)
            diag[rows[on]] = self.values[on]
            return diag, _int_bincount(rows, self.values, C), _int_bincount(cols, self.values, C)
        diag = np.zeros(C, object)
        diag[rows[on]] = self.values[on].astype(object)
        obj = self.values.astype(object)
        true, pred = np.zeros(C, object), np.zeros(C, object)
        np.add.at(true, rows, obj)
        np.add.at(pred, cols, obj)
        return diag, true, pred

    # -- combining ---------------------------------------------------------------------------
    def add(self, other: "SparseCounts", *, in_place=False) -> "SparseCounts":
        """``self + other`` (same C): an OverflowError naming the first cell whose int64 sum
        would pass the range, raised before anything changes.

        New arrays, unless ``in_place`` and every cell of ``other`` is listed here already
        (the late batches of a long stream): then ``values`` is added into and ``self``
        returned, O(cells of other) work.
        """
        if other.num_classes != self.num_classes:
            raise ValueError(f"Cannot add counts of {other.num_classes} classes to counts of {self.num_classes}")
        dtype = np.float64 if "f" in (self.values.dtype.kind, other.values.dtype.kind) else np.int64
        if other.codes.size == 0:  # new arrays all the same: the caller may change them in place
            return SparseCounts(self.codes, self.values.astype(dtype, copy=True), self.num_classes)
        mine, theirs = self.values.astype(dtype, copy=False), other.values.astype(dtype, copy=False)
        pos = np.searchsorted(self.codes, other.codes)
        found = pos < self.codes.size
        found[found] = self.codes[pos[found]] == other.codes[found]
        everywhere = bool(found.all())
        at, add = (pos, theirs) if everywhere else (pos[found], theirs[found])
        if dtype == np.int64 and at.size:
            with np.errstate(over="ignore"):
                total = mine[at] + add
            wrapped = wrapped_cells(mine[at], add, total)
            if wrapped.any():
                k = int(wrapped.argmax())
                cell = divmod(int(self.codes[at[k]]), self.num_classes)
                raise OverflowError(f"count at cell {cell} would pass the int64 range: {int(mine[at[k]])} + {int(add[k])}")
        else:
            total = mine[at] + add
        if everywhere and in_place and mine is self.values:
            self.values[at] = total
            return self
        values = mine.copy()
        values[at] = total
        if everywhere:
            return SparseCounts(self.codes, values, self.num_classes)
        new = ~found
        # inserting keeps the codes sorted: O(cells) copies, no sort
        codes = np.insert(self.codes, pos[new], other.codes[new])
        values = np.insert(values, pos[new], theirs[new])
        return SparseCounts(codes, values, self.num_classes)

    def astype(self, dtype) -> "SparseCounts":
        return SparseCounts(self.codes, self.values.astype(dtype), self.num_classes)

    def relabel(self, positions, size) -> "SparseCounts":
        """The same counts with class ``k`` moved to ``positions[k]`` of ``size`` classes.

        ``positions`` must increase (a growing accumulator's labels joining a sorted union):
        then the new codes stay sorted, with no sort.
        """
        positions = np.asarray(positions, dtype=np.int64)
        rows, cols = self.rows_cols()
        codes = positions[rows] * np.int64(size) + positions[cols] if self.codes.size else self.codes
        return SparseCounts(codes, self.values, int(size))

    def __eq__(self, other):
        if not isinstance(other, SparseCounts):
            return NotImplemented
        a, b = self.nonzero(), other.nonzero()
        return (
            self.num_classes == other.num_classes
            and np.array_equal(a.codes, b.codes)
            and np.array_equal(a.values, b.values)
        )

    __hash__ = None

    def nonzero(self) -> "SparseCounts":
        """The same counts without the cells listed at zero."""
        keep = self.values != 0
        if keep.all():
            return self
        return SparseCounts(self.codes[keep], self.values[keep], self.num_classes)


def _int_bincount(index, values, size):
    """Exact int64 sums of ``values`` per ``index`` (bincount sums in float64)."""
    out = np.zeros(size, np.int64)
    np.add.at(out, index, values)
    return out


def as_sparse_counts(a) -> SparseCounts:
    """:class:`SparseCounts` of a scipy.sparse matrix (or a SparseCounts itself)."""
    if isinstance(a, SparseCounts):
        return a
    return SparseCounts.from_scipy(a)


def class_sums(cm):
    """(diagonal, row sums, column sums) of a scipy.sparse (C, C) count matrix, host arrays,
    without densifying it: what the per-class metrics need.

    Examples
    --------
    >>> from scipy import sparse
    >>> [a.tolist() for a in class_sums(sparse.csr_array(np.array([[3, 1], [0, 2]])))]
    [[3, 2], [4, 2], [3, 3]]
    """
    return as_sparse_counts(cm).class_sums()
