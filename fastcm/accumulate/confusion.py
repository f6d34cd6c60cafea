"""``ConfusionMatrix``: the streaming accumulator (update / compute / merge / save / load).

It reuses exactly the counting core of :func:`fastcm.confusion_matrix`; an update counts
its batch into a fresh matrix first and only then adds it to the state, so a batch that
fails validation leaves the accumulator untouched.

On a GPU the check of a batch's values (labels in range, finite scores and weights) would
need a host read after every kernel; ``update`` defers it instead. The batch is added
masked (``where(batch_bad, 0, counts)``) and a small device record keeps the first invalid
batch; :meth:`ConfusionMatrix.compute`, and everything that reads the counts, reads that
record once and raises the error the CPU would have raised in ``update``.
"""

from __future__ import annotations

import os

import numpy as np

from ..core.classes import check_classes
from ..core.invalid import deferred_error, deferred_float_earned, deferred_pairs, merge_deferred, note_batch
from .. import backends
from ..metrics import matrix as _metrics
from ..backends.arrays import resolve, to_caller, to_host
from ..counts.confusion import Cells, count, named_like_inputs
from ..core.inputs import array_module, as_array, check_ignore_index, common_integer_labels
from ..core.overflow import INT64_MAX, add_counts, wrapped_cells
from ..counts.sparse import SPARSE_MIN_CLASSES, SparseCounts
from .base import Accumulator
from .files import (
    format_version,
    ArraysInMemory,
    check_finite_counts,
    check_unweighted_counts,
    counts_array,
    field,
    field_shape,
    read_npz,
    scalar_bool,
    scalar_int,
    write_npz_atomic,
)

__all__ = ["ConfusionMatrix"]

_FORMAT = "fastcm.ConfusionMatrix"
#: 2: a sparse state (fields ``codes`` and ``values`` instead of ``counts``); a dense state
#: is still written as version 1, which every fastcm reads
_FORMAT_VERSION = 2
_DENSE_VERSION = 1


def _embed(counts, labels, into_labels, size):
    """Place ``counts`` indexed by ``labels`` into a zero (size, size) matrix indexed by ``into_labels``."""
    xp = array_module(counts)
    out = xp.zeros((size, size), dtype=counts.dtype)
    if labels.size:
        idx = xp.asarray(np.searchsorted(into_labels, labels).astype(np.int64))
        out[idx[:, None], idx[None, :]] = counts
    return out


def _is_float(counts) -> bool:
    return counts is not None and counts.dtype.kind == "f"


def _saved_labels(a) -> np.ndarray:
    """The labels field of a saved accumulator: a 1-D array of numbers or strings."""
    if a.ndim != 1 or a.dtype.kind not in "biufUS":
        raise ValueError(f"expected a 1-D array of number or string labels, got {a.dtype} of shape {a.shape}")
    return a


def _saved_mode(a) -> str:
    mode = str(a.item()) if a.ndim == 0 and a.dtype.kind == "U" else None
    if mode not in ("classes", "labels", "growing"):
        raise ValueError(f"unknown mode {a!r}")
    return mode


def _saved_ignore(a):
    if a.ndim != 0 or a.dtype.kind not in "biuUS":
        raise ValueError(f"expected an integer or string, got {a!r}")
    return a.item()


def _add(a, b, *, cannot_wrap=False):
    """``a + b`` of two count matrices (``a`` may be None: nothing counted yet).

    int64 sums are checked (an OverflowError naming the cell, never a wrapped count) unless
    ``cannot_wrap``: a host bound proved no cell can pass the int64 range, which spares
    the device read the check costs on a GPU.
    """
    if a is None:
        return b.copy()
    xp = array_module(b)
    if array_module(a) is not xp:
        a = xp.asarray(a)
    if cannot_wrap or a.dtype.kind == "f" or b.dtype.kind == "f":
        dtype = np.float64 if (a.dtype.kind == "f" or b.dtype.kind == "f") else np.int64
        return a.astype(dtype) + b.astype(dtype)
    return add_counts(a, b, "count")


def add_cells(current, index, batch, num_classes):
    """``current + batch``: int64 counts of the flat cells ``index`` of a (C, C) matrix plus
    a batch's, an OverflowError naming the first cell (row, column) whose sum would pass int64."""
    with np.errstate(over="ignore"):
        total = current + batch
    mask = wrapped_cells(current, batch, total)
    if mask.any():
        k = int(mask.argmax())
        cell = divmod(int(index[k]), num_classes)
        raise OverflowError(f"count at cell {cell} would pass the int64 range: {int(current[k])} + {int(batch[k])}")
    return total


def _dense(counts):
    """Host dense counts of a state held either way."""
    return counts.to_dense() if isinstance(counts, SparseCounts) else to_host(counts)


def _as_sparse(counts) -> SparseCounts:
    """A state or batch (SparseCounts, or a dense matrix on any device) as SparseCounts."""
    return counts if isinstance(counts, SparseCounts) else SparseCounts.from_dense(to_host(counts))


def _saved_sparse(a):
    value = str(a.item()) if a.ndim == 0 and a.dtype.kind == "U" else None
    if value not in ("True", "auto", "False"):
        raise ValueError(f"expected 'True', 'auto' or 'False', got {a!r}")
    return {"True": True, "False": False}.get(value, value)


def _saved_cells(data, path, size):
    """The sparse counts of a version-2 file: sorted distinct cells within ``size``² and
    finite int64 or float64 counts, one per cell; anything else is damage."""
    if field_shape(data, "codes", path) != field_shape(data, "values", path) or len(field_shape(data, "codes", path)) != 1:
        raise ValueError(f"{path!r} is a damaged fastcm file: 'codes' and 'values' are not two 1-D arrays of one length")

    def cells(a):
        if a.dtype != np.int64:
            raise ValueError(f"expected int64 cells, got {a.dtype}")
        if a.size and (a[0] < 0 or int(a[-1]) >= size * size or not (a[1:] > a[:-1]).all()):
            raise ValueError(f"expected sorted distinct cells in 0..{size * size - 1}")
        return a

    codes = field(data, "codes", path, cells)
    values = field(data, "values", path, lambda a: counts_array(a, 1))
    return SparseCounts(codes, values, size)


def _sum_bound(a, b):
    """Bound on every cell of a sum, from the bounds of its terms (None: unknown)."""
    return None if a is None or b is None else a + b


def _check_n_samples(total: int) -> int:
    """``total`` pairs, which must stay within int64: it is saved as one."""
    if total > INT64_MAX:
        raise OverflowError(f"n_samples would pass the int64 range: {total} > {INT64_MAX}")
    return total


def _magnitude(counts):
    """Largest absolute value of host int64 counts (a bound for _add), or None."""
    if counts is None or counts.dtype.kind == "f" or not isinstance(counts, np.ndarray):
        return None
    return max(int(counts.max()), -int(counts.min()), 0) if counts.size else 0


class ConfusionMatrix(Accumulator):
    """A confusion matrix accumulated batch by batch.

    Three ways to fix the classes:

    * ``num_classes=C``: labels are ``0..C-1`` (fastest; a value outside is a ValueError);
    * ``labels=[...]``: those classes in that order; pairs with another value are dropped,
      as in scikit-learn;
    * neither: the class set *grows*. It is always the sorted union of every label seen so
      far; when a batch brings a new label, the matrix gains a row and a column at the
      label's sorted position and earlier counts move with their labels. Labels of one
      accumulator must all be numbers or all be strings.

    Parameters
    ----------
    num_classes : int, optional
    labels : array-like, optional
    ignore_index : int, optional
        Pairs whose true label equals it are skipped.
    backend : {"auto", "numba", "numpy", "cupy"}
        As in :func:`fastcm.confusion_matrix`, chosen again for each batch.
    like : {None, "numpy", "cupy", "torch", "jax", "tensorflow"} or array or module, optional
        The array type :meth:`compute` (and :attr:`matrix`) returns. None: the type of the
        arrays fed, decided by the first :meth:`update` (``y_true``'s type, else
        ``y_pred``'s, as :func:`fastcm.confusion_matrix`): CPU torch tensors give a torch
        tensor sharing the counts' memory, TensorFlow a ``tf.Tensor``, JAX a ``jax.Array``;
        numpy, lists and pandas give the counts as fastcm holds them (numpy, CuPy on a GPU).
        Until a batch decides, and after :meth:`reset` or :meth:`load`, that is numpy; an
        accumulator that has seen no batch takes the type of one merged into it.
        ``"numpy"`` always gives numpy. See :mod:`fastcm.backends.arrays`.
    sparse : {False, True, "auto"}, default False
        True keeps the counts as the cells pairs touched (sorted flat cells and their int64
        counts, :class:`fastcm.counts.sparse.SparseCounts`): O(C + distinct pairs) memory, for
        10^4-10^6 classes, where the dense int64 matrix (8·C² bytes: 80 GB at 10^5) cannot
        be held. :meth:`compute` then returns a ``scipy.sparse.csr_array`` (``like`` does not
        apply), which the metric methods, :meth:`report`, :meth:`diagnose` and
        :func:`fastcm.check` read without densifying. Batches are counted on the host.
        ``"auto"``: sparse from ``fastcm.counts.sparse.SPARSE_MIN_CLASSES`` (4096) classes on, the
        switch point measured in docs/performance.md; a growing accumulator counts its
        batches as cells and turns its state sparse once its labels reach that many.

    Attributes
    ----------
    n_samples : int
        Number of (y_true, y_pred) pairs counted by :meth:`update`, ignored ones included
        (invalid batches are not counted).

    Notes
    -----
    On CuPy arrays ``update`` never waits for the GPU: the check that a batch's labels are
    in range (and its scores and weights finite) is deferred to the next :meth:`compute`
    (or anything that reads the counts: metrics, ``n_samples``, :meth:`save`, ``==``).
    An invalid batch is never added; that read raises the ValueError the CPU raises in
    ``update``, naming the batch (0-based, since :meth:`reset`) and the position, once:
    afterwards the accumulator holds every valid batch, as after a failed update on the
    CPU. :meth:`merge` carries a pending error along; :meth:`reset` forgets it.

    One accumulator may be shared by many threads: :meth:`update`, :meth:`merge`,
    :meth:`reset`, :meth:`compute` (and everything built on it) and :meth:`save` are safe
    to call at once. A batch is counted outside the accumulator's lock, so threads count
    in parallel; only adding it into the state (for a growing one: the union of the labels
    and moving the counts to it) holds the lock, against the state as it is then. The
    result is the same as counting the batches one after another, in some order.
    :meth:`all_reduce` replaces the state with the sum: do not update while it runs.

    The metric methods (:meth:`precision`, :meth:`report`, ...) are those of
    :mod:`fastcm.metrics` and return numpy (or CuPy) values whatever the type fed; only
    :meth:`compute` follows ``like``. :meth:`save`, :meth:`load`, :meth:`merge`, ``copy``
    and pickling work on the counts as fastcm holds them.

    Examples
    --------
    >>> cm = ConfusionMatrix(num_classes=3)
    >>> cm.update([0, 1, 2], [0, 2, 2]).update([1], [1]).compute().tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """

    #: when ``update`` defers its value checks: "device" (on a GPU backend), True or False.
    #: Fixed classes only: a growing accumulator reads its labels back anyway.
    _defer = "device"
    #: bound on the absolute value of every int64 count, kept on the host: while
    #: ``_bound + n_pairs`` fits int64 an unweighted batch cannot wrap a cell and its add
    #: skips the check (a device read on a GPU). None: unknown (weights, loaded, pickled
    #: by an older fastcm): every add is checked.
    _bound = None
    #: whether sample weights may have been counted (True when unknown): without them a
    #: saved file's counts must be what counting pairs gives (see load)
    _weighted = True
    #: whether ``_counts`` is this accumulator's alone (never returned by compute): only
    #: then may an update add a batch's cells into it in place
    _owned = False
    #: the array type asked for (a name among fastcm.backends.arrays.KINDS), None: the inputs'
    like = None
    #: the array type compute() returns: None until the first update decides (numpy)
    _kind = None

    #: False, True or "auto" (see the class parameters)
    sparse = False

    def __init__(self, num_classes=None, *, labels=None, ignore_index=None, backend="auto", like=None, sparse=False):
        if not (sparse is False or sparse is True or (isinstance(sparse, str) and sparse == "auto")):
            raise ValueError(f"Expected `sparse` to be True, False or 'auto', but got {sparse!r}")
        self.sparse = sparse
        spec = check_classes(num_classes, labels)
        self.num_classes, self._fixed_labels = spec.num_classes, spec.labels
        if self._fixed_labels is not None:
            self.num_classes = int(self._fixed_labels.size)
        if backend != "auto" and backend not in backends.NAMES:
            backends.get(backend)  # the ValueError listing the valid names (known ones load on first use)
        self.ignore_index = check_ignore_index(ignore_index)  # 255.0 is 255: merge compares them
        self.backend = backend
        self.like = None if like is None else resolve(like)  # a name: modules do not pickle
        self._init_lock()
        self.reset()

    # -- state ---------------------------------------------------------------------------
    @property
    def growing(self) -> bool:
        """True when neither ``num_classes`` nor ``labels`` fixed the classes."""
        return self.num_classes is None

    @property
    def labels(self) -> np.ndarray:
        """The class of each row/column (``0..C-1`` when declared by ``num_classes``)."""
        if self._fixed_labels is not None:
            return self._fixed_labels
        if self.growing:
            return self._labels
        return np.arange(self.num_classes)

    def _sparse_for(self, size) -> bool:
        """Whether a state of ``size`` classes is held sparse."""
        return self.sparse is True or (self.sparse == "auto" and size >= SPARSE_MIN_CLASSES)

    @property
    def is_sparse(self) -> bool:
        """Whether the counts are held sparse (see the ``sparse`` parameter)."""
        if isinstance(self._counts, SparseCounts):
            return True
        return self._counts is None and self._sparse_for(self.labels.size)

    def _count(self, y_true, y_pred, sample_weight=None, **how):
        """One batch through the counting path every entry point shares, with this
        accumulator's classes, ``ignore_index`` and backend; ``how``: defer, compact, sparse."""
        return count(
            y_true, y_pred, labels=self._fixed_labels, sample_weight=sample_weight,
            num_classes=None if self._fixed_labels is not None else self.num_classes,
            ignore_index=self.ignore_index, backend=self.backend, **how,
        )

    def _counts_batches_sparse(self) -> bool:
        """Whether update counts batches as cells: a sparse state, or a growing "auto" one
        (a batch of 10^5 new labels must not be counted as a dense matrix first)."""
        return self.is_sparse or (self.growing and self.sparse == "auto")

    def reset(self) -> "ConfusionMatrix":
        """Forget every count (and, when growing, every label seen)."""
        with self._lock:
            self._counts = None
            self._pending, self._pending_pairs = (), 0
            self._labels = np.empty(0, dtype=np.int64)
            self._n_seen = 0
            self._batches = 0  # updates accepted since reset: names a batch in deferred errors
            self._deferred = None  # device state of deferred checks, or None
            self._bound = 0  # host bound on |every int64 cell|, or None when unknown
            self._weighted = False  # whether a batch with sample weights was counted
            self._kind = self.like  # None: the next update's inputs decide
        return self

    @property
    def n_samples(self) -> int:
        """Pairs counted so far; reading it runs the checks ``update`` deferred (see compute)."""
        with self._lock:
            self._check_deferred()
            return self._n_seen

    @n_samples.setter
    def n_samples(self, value) -> None:
        with self._lock:
            self._n_seen = _check_n_samples(int(value))

    def _check_deferred(self) -> None:
        """Raise, once, the error of the first invalid batch whose check ``update`` deferred.

        Called with ``_lock`` held.
        """
        if self._deferred is None:
            return
        state = to_host(self._deferred)  # synchronize! the only host read of deferred checks
        self._deferred = None
        error = deferred_error(state)
        if error is not None:
            self._n_seen -= deferred_pairs(state)
            if _is_float(self._counts) and not deferred_float_earned(state):
                # only invalid batches had float weights: their zeros made the counts
                # float64; the CPU never added them, so neither is the dtype changed
                self._counts = self._counts.astype(np.int64)
            raise error

    def compute(self):
        """The (C, C) counts accumulated so far (int64, or float64 once float weights were seen),
        in the array type of the arrays fed (or ``like``; see the class parameters).

        Raises the ValueError of an invalid batch whose check :meth:`update` deferred (GPU
        arrays), once; see the class notes.

        Examples
        --------
        >>> ConfusionMatrix(num_classes=2, like="numpy").update([0, 1], [1, 1]).compute().tolist()
        [[0, 1], [0, 1]]
        """
        with self._lock:
            counts, kind = self._matrix(), self._kind
        if kind is None or (kind == "numpy" and self.like is None) or self.is_sparse:  # as held
            return counts
        return to_caller(counts, kind)

    def _matrix(self):
        """The counts as fastcm holds them (numpy, or CuPy on a GPU): what internal code reads.

        Runs the deferred checks (see :meth:`compute`).
        """
        with self._lock:
            self._check_deferred()
            self._fold()
            if self._counts is None:
                size = self.labels.size
                if self._sparse_for(size):
                    return SparseCounts.empty(size).to_scipy()
                return np.zeros((size, size), dtype=np.int64)
            self._owned = False  # handed out: an update adding cells in place copies it first
            if isinstance(self._counts, SparseCounts):
                return self._counts.to_scipy()
            return self._counts

    @property
    def matrix(self):
        """Same as :meth:`compute`."""
        return self.compute()

    def update(self, y_true, y_pred, sample_weight=None) -> "ConfusionMatrix":
        """Count one batch (labels, or scores with a class axis 1) into the matrix; returns self.

        A batch that fails validation raises and leaves the state exactly as it was. On a
        GPU (fixed classes) the check of the values is deferred to :meth:`compute` instead,
        so this never waits for the device; the invalid batch is still not counted.

        Counts stay exact: a cell (or ``n_samples``) that would pass the int64 range is an
        OverflowError naming the cell, raised before anything changes, never a wrapped
        count. Unweighted batches are checked against a host bound, without a device read.
        """
        kind = resolve(self.like, y_true, y_pred)  # before as_array: the caller's types
        if self.growing:  # the inputs' dtypes name the labels
            y_true, y_pred = as_array(y_true, "y_true"), as_array(y_pred, "y_pred")
        if self._counts_batches_sparse():
            return self._update_sparse(y_true, y_pred, sample_weight, kind)
        res = self._count(y_true, y_pred, sample_weight, defer=False if self.growing else self._defer,
                          compact=not self.growing)
        n_pairs = int(res.n_pairs)
        if isinstance(res.counts, Cells):
            return self._add_cells(res.counts, n_pairs, kind)
        batch_counts = res.counts
        if res.invalid is not None:
            xp = array_module(batch_counts)
            batch_counts = xp.where(res.invalid[:1] > 0, batch_counts.dtype.type(0), batch_counts)
        batch_labels = None
        if self.growing:
            batch_labels = res.labels if res.labels is not None else np.arange(res.counts.shape[0])
            batch_labels = named_like_inputs(batch_labels, y_true, y_pred)
        # the batch is counted; combining it into the state is read-modify-write of every
        # field, so it holds the lock (other threads may have changed the state meanwhile)
        with self._lock:
            deferred = self._deferred
            if res.invalid is not None:
                deferred = note_batch(
                    deferred, res.invalid, self._batches, n_pairs,
                    counts_float=_is_float(self._counts), batch_float=_is_float(batch_counts),
                )
            n_seen = _check_n_samples(self._n_seen + n_pairs)
            # unweighted, no cell of the batch exceeds its pair count
            bound = _sum_bound(self._bound, n_pairs if sample_weight is None else None)
            cannot_wrap = bound is not None and bound <= INT64_MAX
            if not self.growing:
                new_counts, new_labels = _add(self._counts, batch_counts, cannot_wrap=cannot_wrap), self._labels
            else:
                new_labels, new_counts = self._grow(batch_labels, batch_counts, cannot_wrap)
            # commit: nothing above touched the state
            self._counts, self._labels, self._deferred = new_counts, new_labels, deferred
            self._n_seen = n_seen
            self._bound = bound if cannot_wrap else None
            self._weighted = self._weighted or sample_weight is not None
            self._batches += 1
            self._kind = self._kind or kind
        return self

    def _update_sparse(self, y_true, y_pred, sample_weight, kind) -> "ConfusionMatrix":
        """Count a batch as the cells it touched and add them to the state: O(batch log batch)
        to count, O(cells of the state) to add new cells (none when the batch touches only
        cells already listed). Checked at once, nothing changed on failure.

        Unweighted label batches of fixed classes whose sums provably fit int64 (the host
        bound) are only checked and kept as their pairs' cells, unsorted; they are sorted
        and added together once they hold as many pairs as the state has cells (and at
        least 2**20), or when the counts are read: one sort of all the pairs instead of a
        sort and an O(cells) insertion per batch.
        """
        if not self.growing and sample_weight is None and np.ndim(y_pred) == np.ndim(y_true):
            res = self._count(y_true, y_pred, compact=True)
            if isinstance(res.counts, Cells) and self._pend(res.counts, int(res.n_pairs), kind):
                return self
            cells = res.counts
            batch = SparseCounts.from_codes(cells.codes, cells.num_classes) if isinstance(cells, Cells) else cells
            return self._add_sparse_batch(batch, None, int(res.n_pairs), False, kind)
        res = self._count(y_true, y_pred, sample_weight, sparse=True)
        batch_labels = None
        if self.growing:
            batch_labels = res.labels if res.labels is not None else np.arange(res.counts.num_classes)
            batch_labels = named_like_inputs(batch_labels, y_true, y_pred)
        return self._add_sparse_batch(res.counts, batch_labels, int(res.n_pairs), sample_weight is not None, kind)

    def _add_sparse_batch(self, batch, batch_labels, n_pairs, weighted, kind) -> "ConfusionMatrix":
        """Add a counted batch (SparseCounts, or a dense matrix) to the state under the lock."""
        with self._lock:
            n_seen = _check_n_samples(self._n_seen + n_pairs)
            bound = _sum_bound(self._bound, None if weighted else n_pairs)
            self._fold()
            state = self._counts
            labels, counts = self._combine(batch_labels, batch, in_place=self._owned)
            # commit: nothing above touched the state
            self._owned = counts is not state or self._owned
            self._counts, self._labels = counts, labels
            self._n_seen = n_seen
            self._bound = bound if bound is not None and bound <= INT64_MAX else None
            self._weighted = self._weighted or weighted
            self._batches += 1
            self._kind = self._kind or kind
        return self

    #: unweighted batches' cells not yet added (see _update_sparse), and how many
    _pending = ()
    _pending_pairs = 0

    def _pend(self, cells, n_pairs, kind) -> bool:
        """Keep a checked batch's cells for later when no sum can wrap; False: add it now."""
        with self._lock:
            bound = _sum_bound(self._bound, n_pairs)
            if bound is None or bound > INT64_MAX or not self.is_sparse:
                return False
            n_seen = _check_n_samples(self._n_seen + n_pairs)
            self._pending = [*self._pending, cells.codes]  # a new list: copies never share one
            self._pending_pairs += cells.codes.size
            self._n_seen, self._bound = n_seen, bound
            self._batches += 1
            self._kind = self._kind or kind
            held = 0 if self._counts is None else self._counts.codes.size
            if self._pending_pairs >= max(1 << 20, held):
                self._fold()
        return True

    def _fold(self) -> None:
        """Add the pending cells into the state (``_lock`` held); cannot fail: the host bound
        proved every sum fits int64."""
        if not self._pending:
            return
        C = self.labels.size
        batch = SparseCounts.from_codes(np.concatenate(self._pending), C)
        state = self._counts if self._counts is not None else SparseCounts.empty(C)
        counts = state.add(batch, in_place=self._owned and state is self._counts)
        self._owned = counts is not self._counts or self._owned
        self._counts, self._pending, self._pending_pairs = counts, (), 0

    def _combine(self, other_labels, other, in_place=False):
        """(labels, counts) of the state plus ``other`` (SparseCounts, or a dense matrix) over
        ``other_labels`` (growing; None: the fixed classes), held sparse or dense as
        :meth:`_sparse_for` says for the result's size; ``_lock`` held. Nothing changed but,
        with ``in_place`` (the state is this accumulator's alone), a sparse state whose
        cells already list all of ``other``'s, added into once nothing can fail."""
        state, labels = self._counts, self._labels
        if self.growing:
            old = labels
            if old.size and other_labels.size and (old.dtype.kind in "US") != (other_labels.dtype.kind in "US"):
                raise TypeError(
                    f"Labels of one ConfusionMatrix must all be numbers or all strings; seen {old.dtype}, got "
                    f"{other_labels.dtype}"
                )
            old, other_labels = common_integer_labels(old, np.asarray(other_labels), names=("labels seen so far", "new labels"))
            labels = np.union1d(old, other_labels) if old.size else other_labels
            size = labels.size
        else:
            size = self.labels.size
        as_sparse = self._sparse_for(size)
        if not as_sparse:  # a growing "auto" state still small: dense, as without sparse
            other = other.to_dense() if isinstance(other, SparseCounts) else to_host(other)
            if self.growing:
                return self._grow(other_labels, other)
            return labels, _add(None if state is None else _dense(state), other)
        other = _as_sparse(other)
        mine = SparseCounts.empty(size) if state is None else _as_sparse(state)
        if self.growing:
            other = other.relabel(np.searchsorted(labels, other_labels), size)
            if state is not None:
                mine = mine.relabel(np.searchsorted(labels, old), size)
        return labels, mine.add(other, in_place=in_place and mine is state)

    def _add_cells(self, cells, n_pairs, kind) -> "ConfusionMatrix":
        """Add an unweighted, checked batch counted as :class:`Cells` (fixed classes, host):
        O(batch) work, the state's matrix changed in place only once nothing can fail."""
        with self._lock:
            n_seen = _check_n_samples(self._n_seen + n_pairs)
            bound = _sum_bound(self._bound, n_pairs)
            cannot_wrap = bound is not None and bound <= INT64_MAX
            C = cells.num_classes
            counts = self._counts
            index = total = None
            if not cannot_wrap and counts is not None and counts.dtype.kind != "f":
                index, batch = cells.compact()  # checked cell by cell before anything changes
                total = add_cells(counts.reshape(-1)[index], index, batch, C)
            # commit: nothing below can fail
            if counts is None:
                counts = np.zeros((C, C), dtype=np.int64)
            elif not self._owned:
                counts = counts.copy()  # a matrix compute() handed out never changes
            if index is None:
                np.add.at(counts.reshape(-1), cells.codes, 1)
            else:
                counts.reshape(-1)[index] = total
            self._counts, self._owned = counts, True
            self._n_seen = n_seen
            self._bound = bound if cannot_wrap else None
            self._batches += 1
            self._kind = self._kind or kind
        return self

    def _grow(self, batch_labels, batch_counts, cannot_wrap=False):
        """(labels, counts) of the state grown by a batch or merged accumulator; ``_lock`` held."""
        old = self._labels
        if old.size and batch_labels.size and (old.dtype.kind in "US") != (batch_labels.dtype.kind in "US"):
            raise TypeError(
                f"Labels of one ConfusionMatrix must all be numbers or all strings; seen {old.dtype}, got {batch_labels.dtype}"
            )
        # int64 with uint64 would union to float64, rounding labels past 2**53 together: one
        # exact integer type for both, or the TypeError saying none holds them
        old, batch_labels = common_integer_labels(old, np.asarray(batch_labels), names=("labels seen so far", "new labels"))
        labels = np.union1d(old, batch_labels) if old.size else batch_labels
        size = labels.size
        counts = _embed(batch_counts, batch_labels, labels, size)
        if self._counts is not None:
            counts = _add(_embed(self._counts, old, labels, size), counts, cannot_wrap=cannot_wrap)
        return labels, counts

    # -- combination ---------------------------------------------------------------------
    def _check_compatible(self, other) -> None:
        if not isinstance(other, ConfusionMatrix):
            raise TypeError(f"Can only merge a ConfusionMatrix, but got {type(other).__name__}")
        if self.ignore_index != other.ignore_index:
            raise ValueError(f"Cannot merge: ignore_index {self.ignore_index!r} != {other.ignore_index!r}")
        if self.growing != other.growing or (not self.growing and not np.array_equal(self.labels, other.labels)):
            raise ValueError(
                f"Cannot merge accumulators with different classes: {self.labels.tolist()!r} and {other.labels.tolist()!r}"
            )

    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        """Add the counts of ``other`` (same classes, or both growing) into this one; returns self.

        A check ``other`` deferred is carried along, unread: the merged accumulator raises
        it when its counts are read. Sums past the int64 range raise OverflowError naming
        the cell and change nothing (so do ``+`` and ``sum()``, which merge).
        """
        self._check_compatible(other)
        # other's state is read under its lock and combined under ours, never both held:
        # a.merge(b) and b.merge(a) in two threads cannot deadlock
        with other._lock:
            other._fold()
            o_counts, o_labels, o_deferred, o_seen, o_bound, o_weighted, o_kind = (
                other._counts, other._labels, other._deferred, other._n_seen, other._bound, other._weighted, other._kind
            )
        if o_counts is None:
            return self
        with self._lock:
            n_seen = _check_n_samples(self._n_seen + o_seen)
            bound = _sum_bound(self._bound, o_bound)
            cannot_wrap = bound is not None and bound <= INT64_MAX
            if self.is_sparse or isinstance(o_counts, SparseCounts) or (self.growing and self.sparse == "auto"):
                self._fold()
                labels, counts = self._combine(o_labels if self.growing else None, o_counts)
                self._deferred = merge_deferred(self._deferred, _is_float(self._counts), o_deferred, _is_float(o_counts))
                self._counts, self._labels = counts, labels
                self._owned = False  # may share arrays with other
                self._n_seen, self._bound = n_seen, bound if cannot_wrap else None
                self._weighted = self._weighted or o_weighted
                self._kind = self._kind or o_kind
                return self
            if self.growing:
                labels, counts = self._grow(o_labels, o_counts, cannot_wrap)
            else:
                labels, counts = self._labels, _add(self._counts, o_counts, cannot_wrap=cannot_wrap)
            deferred = merge_deferred(self._deferred, _is_float(self._counts), o_deferred, _is_float(o_counts))
            self._counts, self._labels, self._deferred = counts, labels, deferred
            self._n_seen, self._bound = n_seen, bound if cannot_wrap else None
            self._weighted = self._weighted or o_weighted
            self._kind = self._kind or o_kind  # one that has seen no batch takes the other's type
        return self

    def all_reduce(self, group=None) -> "ConfusionMatrix":
        """Sum the counts of every process of a ``torch.distributed`` group into each, in place.

        A small ``all_gather_object`` first agrees on the classes, ignore_index and count
        dtype (a growing accumulator takes the union of every process's labels; a mismatch
        raises the same ValueError on every process instead of hanging), then one
        ``all_reduce`` sums the (C, C) counts and ``n_samples`` as a single int64 tensor
        (exact), or float64 once any process saw float weights. Call it on every process
        of ``group``, e.g. after the last validation batch. NCCL groups reduce a CUDA copy.
        Returns self.
        """
        if self.is_sparse:
            raise TypeError(
                "all_reduce sums dense (C, C) tensors; a sparse accumulator is merged instead: gather the pickled "
                "accumulators (torch.distributed.all_gather_object) and sum() them"
            )
        import torch  # deferred: only distributed training jobs need torch
        import torch.distributed as dist

        info = (self.growing, self.labels, self.ignore_index, self._matrix().dtype.kind == "f")
        seen = [None] * dist.get_world_size(group)
        dist.all_gather_object(seen, info, group=group)
        for rank, (growing, labels, ignore, _) in enumerate(seen):
            if growing != self.growing or ignore != self.ignore_index or (not growing and not np.array_equal(labels, self.labels)):
                raise ValueError(
                    f"Cannot all_reduce: process {rank} has classes {labels.tolist()!r} (ignore_index={ignore!r}), "
                    f"this one {self.labels.tolist()!r} (ignore_index={self.ignore_index!r})"
                )
        if len({lab.dtype.kind in "US" for _, lab, _, _ in seen if lab.size}) > 1:
            raise TypeError(f"Cannot all_reduce: some processes saw string labels, others numbers: {[lab.dtype.str for _, lab, _, _ in seen]}")
        counts = to_host(self._matrix())
        labels = self.labels
        if self.growing:
            union = np.empty(0, dtype=labels.dtype)
            for _, other_labels, _, _ in seen:
                union, other_labels = common_integer_labels(union, np.asarray(other_labels), names=("labels", "other labels"))
                union = np.union1d(union, other_labels) if union.size else other_labels
            labels, union = common_integer_labels(labels, union, names=("labels", "union"))
            counts = to_host(_embed(counts, labels, union, union.size)) if labels.size else np.zeros((union.size,) * 2, counts.dtype)
            labels = union
        dtype = np.float64 if any(is_float for *_, is_float in seen) else np.int64
        flat = np.append(counts.astype(dtype).reshape(-1), dtype(self.n_samples))
        tensor = torch.from_numpy(flat)
        if dist.get_backend(group) == "nccl":
            tensor = tensor.cuda()  # NCCL reduces CUDA tensors only
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=group)
        flat = tensor.cpu().numpy()
        xp = array_module(self._matrix())
        with self._lock:
            self._counts = xp.asarray(flat[:-1].reshape(labels.size, labels.size))
            self._labels = labels if self.growing else self._labels
            self._n_seen = int(flat[-1])
            self._bound = None
            self._weighted = True  # other processes may have counted weights
        return self

    def __eq__(self, other):
        if not isinstance(other, ConfusionMatrix):
            return NotImplemented
        if not (self.ignore_index == other.ignore_index and np.array_equal(self.labels, other.labels)):
            return False
        if self.is_sparse or other.is_sparse:
            return self._sparse_counts() == other._sparse_counts()
        return np.array_equal(to_host(self._matrix()), to_host(other._matrix()))

    def _sparse_counts(self) -> SparseCounts:
        """The counts as :class:`~fastcm.counts.sparse.SparseCounts`, whichever way they are held."""
        with self._lock:
            self._check_deferred()
            self._fold()
            if self._counts is None:
                return SparseCounts.empty(self.labels.size)
            return _as_sparse(self._counts)

    __hash__ = None

    def __repr__(self) -> str:
        classes = f"num_classes={self.num_classes}" if not self.growing else f"growing, {self.labels.size} labels"
        pending = ", checks pending" if self._deferred is not None else ""  # repr never reads the GPU
        held = ", sparse" if self.is_sparse else ""
        return f"ConfusionMatrix({classes}, n_samples={self._n_seen}{held}{pending})"

    # -- persistence ---------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the state to ``path`` as .npz, atomically (a temporary file, then a rename).

        A pending deferred error is raised first and nothing is written. So is a ValueError
        for a state :meth:`load` would refuse (float counts summed to inf, ``n_samples``
        set below the pairs counted): nothing is written that cannot be read back. The
        file's mode is 0o666 less the umask; see :func:`fastcm.accumulate.files.write_npz_atomic`.
        """
        path = os.fspath(path)
        with self._lock:  # counts, labels and n_samples of one moment
            self._check_deferred()
            self._fold()
            held = self._counts
            if isinstance(held, SparseCounts):
                counts = held.nonzero()
                stored = {"format_version": np.array(_FORMAT_VERSION), "codes": counts.codes, "values": counts.values}
                counts = counts.values
            else:
                counts = to_host(self._matrix())
                stored = {"format_version": np.array(_DENSE_VERSION), "counts": counts}
            fields = {
                "fastcm_format": np.array(_FORMAT),
                **stored,
                "labels": self.labels,
                "mode": np.array("growing" if self.growing else ("labels" if self._fixed_labels is not None else "classes")),
                "n_samples": np.array(self._n_seen, dtype=np.int64),
                "has_ignore": np.array(self.ignore_index is not None),
                "ignore_index": np.array(0 if self.ignore_index is None else self.ignore_index),
                "weighted": np.array(bool(self._weighted)),
            }
            if self.sparse is not False:
                fields["sparse"] = np.array(str(self.sparse))
        check_finite_counts(counts, "counts")
        try:
            self._from_fields(ArraysInMemory(fields, path), self.backend)  # load's own checks
        except ValueError as exc:
            raise ValueError(f"Cannot save a state that could not be loaded back: {exc}") from None
        write_npz_atomic(path, fields)

    @classmethod
    def load(cls, path, *, backend="auto", like=None) -> "ConfusionMatrix":
        """Read an accumulator written by :meth:`save`; a corrupt or foreign file is a ValueError.

        The file holds no array type: the loaded accumulator's :meth:`compute` returns numpy
        until an update decides the type, or the type ``like`` names (see the class).

        Only the fields fastcm writes are read (never a Python object), each after its
        header shows it fits in the file and agrees with the labels: a small file cannot
        make this allocate much. Refused as damage, besides malformed fields: counts or
        ``n_samples`` beyond int64, non-finite counts, ``has_ignore`` other than a bool; and,
        in a file that records that no sample weights were counted, what unweighted
        counting cannot give: float or negative counts, or more counted than ``n_samples``.
        With weights (which may be negative, as in scikit-learn), or in a file of an older
        fastcm that records nothing about weights, any finite int64 or float64 counts load.
        """
        with read_npz(path, "ConfusionMatrix") as data:
            return cls._from_fields(data, backend, like)

    @classmethod
    def _from_fields(cls, data, backend, like=None) -> "ConfusionMatrix":
        """The accumulator a file's (or a save's) fields describe; ValueError for damage."""
        path = data.path
        version = format_version(data, "ConfusionMatrix", _FORMAT_VERSION)
        labels_shape = field_shape(data, "labels", path)
        sparse_mode = field(data, "sparse", path, _saved_sparse) if "sparse" in data else False
        if version >= 2 and "codes" in data:
            labels = field(data, "labels", path, _saved_labels)
            counts = _saved_cells(data, path, labels.size)
        else:
            counts_shape = field_shape(data, "counts", path)
            if len(labels_shape) == 1 and counts_shape != labels_shape * 2:  # before reading either
                raise ValueError(f"{path!r} is a damaged fastcm file: counts {counts_shape} for {labels_shape[0]} labels")
            labels = field(data, "labels", path, _saved_labels)
            counts = field(data, "counts", path, lambda a: counts_array(a, 2))
        mode = field(data, "mode", path, _saved_mode)
        ignore = field(data, "ignore_index", path, _saved_ignore) if field(data, "has_ignore", path, scalar_bool) else None
        n_samples = field(data, "n_samples", path, scalar_int)
        weighted = field(data, "weighted", path, scalar_bool) if "weighted" in data else None  # None: older file
        if counts.shape != (labels.size, labels.size):
            raise ValueError(f"{path!r} is a damaged fastcm file: counts {counts.shape} for {labels.size} labels")
        if weighted is False:
            try:
                check_unweighted_counts(counts.values if isinstance(counts, SparseCounts) else counts, n_samples)
            except ValueError as exc:
                raise ValueError(f"{path!r} is a damaged fastcm file: bad field 'counts' ({exc})") from None
        if mode == "growing" and labels.size > 1 and not (labels[1:] > labels[:-1]).all():
            raise ValueError(f"{path!r} is a damaged fastcm file: the labels of a growing accumulator are not sorted and distinct")
        if mode == "classes":
            cm = cls(labels.size, ignore_index=ignore, backend=backend, like=like, sparse=sparse_mode)
        elif mode == "labels":
            cm = cls(labels=labels, ignore_index=ignore, backend=backend, like=like, sparse=sparse_mode)
        else:
            cm = cls(ignore_index=ignore, backend=backend, like=like, sparse=sparse_mode)
            cm._labels = labels
        cm._counts = counts if n_samples or counts.any() else None
        cm.n_samples = n_samples
        cm._bound = None if isinstance(counts, SparseCounts) else _magnitude(cm._counts)
        cm._weighted = weighted is not False
        return cm

    # -- metrics ---------------------------------------------------------------------------
    # Each forwards to the function of the same name in fastcm.metrics on the counts as held
    # (numpy or CuPy), whatever type compute() returns.

    def precision(self, average=None, zero_division="warn"):
        """Per-class (or averaged) precision; see :func:`fastcm.metrics.precision`."""
        return _metrics.precision(self._matrix(), average, zero_division)

    def recall(self, average=None, zero_division="warn"):
        """Per-class (or averaged) recall; see :func:`fastcm.metrics.recall`."""
        return _metrics.recall(self._matrix(), average, zero_division)

    def fbeta(self, beta, average=None, zero_division="warn"):
        """F-beta; see :func:`fastcm.metrics.fbeta`."""
        return _metrics.fbeta(self._matrix(), beta, average, zero_division)

    def f1(self, average=None, zero_division="warn"):
        """F1; see :func:`fastcm.metrics.f1`."""
        return _metrics.f1(self._matrix(), average, zero_division)

    def support(self):
        """True samples per class."""
        return _metrics.support(self._matrix())

    def accuracy(self):
        """Fraction of samples on the diagonal."""
        return _metrics.accuracy(self._matrix())

    def balanced_accuracy(self, adjusted=False):
        """Mean recall over the classes present in the truth."""
        return _metrics.balanced_accuracy(self._matrix(), adjusted)

    def specificity(self, average=None, zero_division="warn"):
        """True negative rate, one-vs-rest."""
        return _metrics.specificity(self._matrix(), average, zero_division)

    def npv(self, average=None, zero_division="warn"):
        """Negative predictive value, one-vs-rest."""
        return _metrics.npv(self._matrix(), average, zero_division)

    def fpr(self, average=None, zero_division="warn"):
        """False positive rate, one-vs-rest."""
        return _metrics.fpr(self._matrix(), average, zero_division)

    def fnr(self, average=None, zero_division="warn"):
        """False negative rate, one-vs-rest."""
        return _metrics.fnr(self._matrix(), average, zero_division)

    def iou(self, average=None, zero_division="warn"):
        """Intersection over union (Jaccard) per class."""
        return _metrics.iou(self._matrix(), average, zero_division)

    def mean_iou(self, *, ignore_absent=True):
        """Mean IoU, leaving out classes absent from truth and prediction by default."""
        return _metrics.mean_iou(self._matrix(), ignore_absent=ignore_absent)

    def mcc(self):
        """Matthews correlation coefficient."""
        return _metrics.mcc(self._matrix())

    def cohen_kappa(self, weights=None):
        """Cohen's kappa."""
        return _metrics.cohen_kappa(self._matrix(), weights)

    def confidence_interval(self, metric, *, level=0.95, method="bootstrap", n_resamples=10_000, random_state=None,
                            **metric_kwargs):
        """A metric of the counted matrix with its confidence interval, from the counts alone;
        see :func:`fastcm.answers.intervals.confidence_interval`.

        Examples
        --------
        >>> cm = ConfusionMatrix(num_classes=2).update([0] * 50 + [1] * 50, [0] * 45 + [1] * 5 + [1] * 40 + [0] * 10)
        >>> ci = cm.confidence_interval("recall", method="wilson")
        >>> ci.low.round(3).tolist(), ci.high.round(3).tolist()
        ([0.786, 0.67], [0.957, 0.888])
        """
        from ..answers.intervals import confidence_interval

        return confidence_interval(
            self._matrix(), metric, level=level, method=method, n_resamples=n_resamples, random_state=random_state,
            **metric_kwargs,
        )

    def report(self, target_names=None, digits=2, output_dict=False, *, zero_division="warn", ci=None, random_state=0):
        """The classification report of the counted matrix; rows named by ``target_names`` or
        the labels. ``ci=0.95`` adds confidence intervals (see :func:`fastcm.metrics.report`).

        With ``labels=`` a subset of the classes, the pairs outside it were never counted, so
        this is the report of the sub-problem; scikit-learn's ``classification_report(...,
        labels=subset)`` (and :func:`fastcm.classification_report`) still counts a prediction
        of another class as an error of the true one: for that, count all the classes and pass
        the subset's row positions as ``labels`` to :func:`fastcm.metrics.report`.
        """
        names = [str(v) for v in self.labels] if target_names is None else target_names
        from ..present.report import report  # the floor above, on demand

        return report(
            self._matrix(), names, digits, output_dict, zero_division=zero_division, ci=ci, random_state=random_state
        )

    def plot(self, **kwargs):
        """Draw the matrix (needs matplotlib); see :func:`fastcm.plot.confusion_matrix`."""
        from ..present.plots import confusion_matrix

        return confusion_matrix(self, **kwargs)

    def diagnose(self, **kwargs):
        """Findings a person should act on; see :func:`fastcm.diagnose`."""
        from ..answers.diagnose import diagnose

        names = kwargs.pop("target_names", None) or [str(v) for v in self.labels]
        matrix = self._matrix()
        return diagnose(matrix if self.is_sparse else to_host(matrix), target_names=names, **kwargs)
