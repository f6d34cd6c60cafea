"""Calibration: can the predicted probabilities be trusted?

Expected and maximum calibration error (ECE, MCE) over equal-width bins of the top-class
confidence, counted in the same pass that counts the confusion matrix from (N, C)
probabilities or logits, in constant memory: the state is ``n_bins + 1`` slots of
(count, sum of confidence, number correct), plus the (C, C) matrix, plus (with
``per_class=True``) the same slots for each class's one-vs-rest probability.

Binning is torchmetrics' (``MulticlassCalibrationError``): the edges are
``torch.linspace(0, 1, n_bins + 1)`` in the scores' dtype and a confidence ``c`` lands in
slot ``bucketize(c, edges, right=True) - 1``, so slot ``b < n_bins`` holds
``edges[b] <= c < edges[b + 1]`` and the extra last slot holds confidences of exactly 1
(saturated softmax outputs). With slot proportions ``w_b``, accuracies ``acc_b`` and mean
confidences ``conf_b``::

    ECE = sum_b w_b |acc_b - conf_b|      MCE = max over non-empty slots |acc_b - conf_b|
    RMSCE = sqrt(sum_b w_b (acc_b - conf_b)**2)

``scores="logits"`` applies a softmax inside the kernel (max-subtracted, in float64).
Probabilities must be a distribution over the classes: every column in [0, 1] and each row
summing to 1 within :data:`ROW_SUM_TOLERANCE` (0.01: float32 softmax outputs and values
rounded to a few decimals pass; logits that happen to lie in [0, 1], binary ``[0, z]``
logits, per-class sigmoids and rows summing to 0.5 do not). Both are checked in the same
pass that counts, and a row that fails is a ValueError naming it and saying to pass
``scores="logits"``: the top-class confidence of such a row is not a probability, and its
ECE would be a wrong number, not an approximate one. ``scores="probabilities"`` refuses
such rows; ``scores="auto"`` (the default) follows :mod:`fastcm.scores`: any value outside
[0, 1] means logits (softmaxed), decided on an accumulator's first batch, and scores that
all lie in [0, 1] are read as probabilities and so refused in the same way when a row is
not a distribution (never guessed to be logits: values in [0, 1] are as likely per-class
sigmoids, for which a softmax is just as wrong).

Examples
--------
>>> import numpy as np
>>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
>>> res = CalibrationError(n_bins=5).update([0, 1, 1, 1], probs).compute()
>>> round(res.ece, 4), round(res.mce, 4)
(0.15, 0.15)
>>> res.matrix.tolist()
[[1, 0], [1, 2]]
"""

from __future__ import annotations

import copy as _copy
import numbers
import os
from dataclasses import dataclass

import numpy as np

from ..backends.arrays import to_host
from .. import backends
from ..core.inputs import array_module, as_array, check_num_classes, to_integer_labels
from ..backends.numpy_ref.calibrating import ROW_SUM_TOLERANCE
from ..accumulate.files import field, read_npz, scalar_int, write_npz_atomic
from ..core.scores import check_scores, contradiction, outside_unit, read_scores

__all__ = ["CalibrationError", "CalibrationResult", "calibration_error", "bin_edges", "ROW_SUM_TOLERANCE"]

_FORMAT = "fastcm.CalibrationError"
_FORMAT_VERSION = 2  # 2: scores="auto" and the reading it decided ("scores_read_as")
SCORE_KINDS = ("auto", "probabilities", "logits")
NORMS = ("l1", "max", "l2")


def check_n_bins(n_bins) -> int:
    if isinstance(n_bins, (bool, np.bool_)) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"Expected `n_bins` to be a positive int, but got {n_bins!r}")
    return int(n_bins)


def _check_scores_kind(scores) -> str:
    return check_scores(scores)  # the one rule for scores: fastcm.core.scores


def bin_edges(n_bins=15, dtype=np.float32) -> np.ndarray:
    """The ``n_bins + 1`` bin edges as float64 values of ``torch.linspace(0, 1, n_bins + 1)``
    computed in ``dtype`` (the first half counted up from 0, the second down from 1).

    Examples
    --------
    >>> bin_edges(4).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    n = check_n_bins(n_bins)
    dt = np.dtype(dtype) if np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize >= 4 else np.dtype(np.float32)
    i = np.arange(n + 1, dtype=np.float64)
    half = (n + 1) // 2
    if dt == np.float32:
        # torch's vectorised linspace computes ``end - step * k`` with one fused multiply-add:
        # a float32 step times an integer is exact in float64, so one rounding to float32
        # after the float64 sum gives the same value (checked against torch for n < 2000)
        step = np.float64(np.float32(1.0) / np.float32(n))
    else:
        step = 1.0 / n
    edges = np.where(i < half, i * step, 1.0 - (n - i) * step).astype(dt)
    return edges.astype(np.float64)


@dataclass(frozen=True)
class CalibrationResult:
    """What :meth:`CalibrationError.compute` returns (host numpy arrays).

    Attributes
    ----------
    ece, mce, rmsce : float
        Expected, maximum and root-mean-square calibration error of the top-class
        confidence; NaN when nothing was counted.
    bin_edges : (n_bins + 1,) float64
    bin_counts : (n_bins + 1,) int64
        Predictions per slot; the last slot holds confidences equal to 1.
    bin_confidence, bin_accuracy : (n_bins + 1,) float64
        Mean confidence and fraction correct per slot (NaN where empty).
    matrix : (C, C) int64
        The confusion matrix (rows true, columns argmax) counted in the same pass.
    n_samples : int
    classwise_ece, classwise_mce : (C,) float64 or None
        One-vs-rest calibration error of each class's probability (``per_class=True``).
    classwise_bin_counts, classwise_bin_confidence, classwise_bin_accuracy : (C, n_bins + 1) or None
    """

    ece: float
    mce: float
    rmsce: float
    bin_edges: np.ndarray
    bin_counts: np.ndarray
    bin_confidence: np.ndarray
    bin_accuracy: np.ndarray
    matrix: np.ndarray
    n_samples: int
    classwise_ece: np.ndarray | None = None
    classwise_mce: np.ndarray | None = None
    classwise_bin_counts: np.ndarray | None = None
    classwise_bin_confidence: np.ndarray | None = None
    classwise_bin_accuracy: np.ndarray | None = None

    def plot(self, ax=None):
        """The reliability diagram (see :func:`fastcm.plot.reliability_diagram`)."""
        from ..present.plots import reliability_diagram

        return reliability_diagram(self, ax=ax)


def _errors(counts, conf_sum, correct):
    """(ece, mce, rmsce, mean confidence, accuracy) over the last axis of slot sums."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = np.where(counts > 0, conf_sum / counts, np.nan)
        acc = np.where(counts > 0, correct / counts, np.nan)
        gap = np.where(counts > 0, np.abs(acc - conf), 0.0)
        w = counts / total[..., None]
        ece = np.where(total > 0, np.sum(w * gap, axis=-1), np.nan)
        rms = np.where(total > 0, np.sqrt(np.sum(w * gap * gap, axis=-1)), np.nan)
    mce = np.where(total > 0, gap.max(axis=-1, initial=0.0), np.nan)
    return ece, mce, rms, conf, acc


def _prepare(y_true, y_score, num_classes, scores):
    """Validated (t, s, backend module inputs): 1-D integer labels and (N, C) float scores."""
    s = as_array(y_score, "y_score")
    t = as_array(y_true, "y_true")
    if s.dtype.kind != "f":
        raise TypeError(f"Expected floating-point {'scores' if scores == 'auto' else scores} in `y_score`, but got dtype {s.dtype}")
    if s.ndim != 2:
        raise ValueError(
            f"Expected `y_score` of shape (N, C), one column per class, but got {tuple(s.shape)}"
            + ("; for binary scores pass np.stack([1 - p, p], axis=1)" if s.ndim == 1 else "")
        )
    if s.shape[1] < 1:
        raise ValueError("Expected at least one class column in `y_score`, but got 0")
    if num_classes is not None and s.shape[1] != num_classes:
        raise ValueError(f"Expected `y_score` with num_classes={num_classes} columns, but got {s.shape[1]}")
    if t.ndim == 2 and t.shape[1] == 1:
        t = t.reshape(-1)
    if t.ndim != 1 or t.shape[0] != s.shape[0]:
        raise ValueError(f"Expected `y_true` of shape ({s.shape[0]},) matching `y_score` {tuple(s.shape)}, but got {tuple(t.shape)}")
    if t.dtype.kind in "US":
        raise TypeError("Expected integer class indices in `y_true`, but got strings")
    t = to_integer_labels(t, "y_true")
    if t.dtype == np.bool_:
        t = t.view(np.uint8)
    return t, s


def _invalid_message(invalid, t, s, C, logits) -> str:
    """The error for the first invalid row a kernel reported (host copies of that row only)."""
    n_bad, pos = int(invalid[0]), int(invalid[1])
    more = f" ({n_bad} invalid rows in total)" if n_bad > 1 else ""
    tv = int(to_host(t[pos : pos + 1])[0])
    if not 0 <= tv < C:
        return f"Expected `y_true` labels in 0..{C - 1} (num_classes={C}), but got {tv} at position {pos}{more}"
    row = to_host(s[pos]).astype(np.float64)
    nan = np.flatnonzero(np.isnan(row))
    if nan.size:
        return f"Expected finite scores in `y_score`, but got NaN at index ({pos}, {int(nan[0])}){more}"
    if logits:
        col = int(np.argmax(row))
        return f"Expected finite logits in `y_score`, but got {float(row[col])!r} at index ({pos}, {col}){more}"
    out = np.flatnonzero(~((row >= 0) & (row <= 1)))
    if not out.size:
        total = float(row.sum())
        return (
            f"Expected probabilities that sum to 1 (within {ROW_SUM_TOLERANCE:g}) in each row of `y_score`, but row "
            f"{pos} sums to {total:.6g}{more}: these are not probabilities (logits in [0, 1], per-class sigmoids?); "
            "pass scores='logits' for unnormalised scores (a softmax is applied)"
        )
    col = int(out[0])
    return (
        f"Expected probabilities in [0, 1] in `y_score`, but got {float(row[col])!r} at index ({pos}, {col}){more}; "
        "pass scores='logits' for unnormalised scores (a softmax is applied)"
    )


def _count(t, s, n_bins, num_classes, logits, per_class, backend):
    """One fused pass: host (matrix, counts, conf sums, correct, class counts, class sums, class hits)."""
    name = backends.select(backend, t, s)
    be = backends.get(name)
    if array_module(t) is not be.xp:
        t = be.xp.asarray(t)
    if array_module(s) is not be.xp:
        s = be.xp.asarray(s)
    C, K = int(s.shape[1]), n_bins + 1
    edges = bin_edges(n_bins, s.dtype)
    iout, fout, invalid = be.calibration_counts(t, s, edges, C, logits=logits, per_class=per_class)
    invalid = to_host(invalid)  # synchronize! (the one check that reads the pass back)
    if int(invalid[0]):
        raise ValueError(_invalid_message(invalid, t, s, C, logits))
    iout, fout = to_host(iout), to_host(fout)
    cut = np.cumsum([C * C, K, K, C * K])
    matrix, counts, correct, ccounts, chits = np.split(iout, cut)
    conf, cconf = fout[:K], fout[K:]
    if not per_class:
        return matrix.reshape(C, C), counts, conf, correct, None, None, None
    return matrix.reshape(C, C), counts, conf, correct, ccounts.reshape(C, K), cconf.reshape(C, K), chits.reshape(C, K)


class CalibrationError:
    """Calibration error of (N, C) probabilities or logits, accumulated batch by batch.

    Each :meth:`update` runs one pass that counts the confusion matrix (argmax, ties to
    the lowest class) and the calibration bins together, so calibration costs little on
    top of the matrix. The state has constant size; accumulators merge and save.

    Parameters
    ----------
    n_bins : int, default=15
        Equal-width confidence bins (torchmetrics' binning, see the module docstring).
    scores : {"auto", "probabilities", "logits"}, default="auto"
        Probabilities are used as given (a confidence outside [0, 1] is a ValueError);
        logits go through a numerically stable softmax inside the kernel. "auto"
        (:mod:`fastcm.scores`): the first non-empty batch decides (any value outside [0, 1]
        means logits); a later batch of logits after probabilities is a ValueError naming it.
    num_classes : int, optional
        Score columns; None takes the width of the first batch.
    per_class : bool, default=False
        Also bin every class's probability one-vs-rest (C times the binning work).
    backend : {"auto", "numba", "numpy", "cupy"}

    Examples
    --------
    >>> import numpy as np
    >>> acc = CalibrationError(n_bins=10, scores="logits")
    >>> _ = acc.update([0, 1], np.array([[2.0, 0.0], [0.0, 1.0]])).update([1], np.array([[0.5, 0.0]]))
    >>> res = acc.compute()
    >>> res.n_samples, res.matrix.tolist(), round(res.ece, 3)
    (3, [[1, 0], [1, 1]], 0.337)
    """

    #: "probabilities" or "logits"; None until an "auto" accumulator saw a score
    _reading = None
    #: batches counted (updates and merged ones), for naming a refused batch
    n_batches = 0

    def __init__(self, n_bins=15, *, scores="auto", num_classes=None, per_class=False, backend="auto"):
        self.n_bins = check_n_bins(n_bins)
        self.scores = _check_scores_kind(scores)
        self.declared_classes = check_num_classes(num_classes)
        self.per_class = bool(per_class)
        if backend != "auto" and backend not in backends.NAMES:
            backends.get(backend)  # the ValueError listing the valid names now
        self.backend = backend
        self.reset()

    def reset(self) -> "CalibrationError":
        self._set_classes(self.declared_classes)
        self._reading = None if self.scores == "auto" else self.scores
        self.n_batches = 0
        return self

    @property
    def scores_read_as(self):
        """"probabilities" or "logits"; None before an "auto" accumulator has seen a score."""
        return self._reading

    def _set_classes(self, C):
        self.num_classes = C
        K, c = self.n_bins + 1, C or 0
        self._matrix = np.zeros((c, c), dtype=np.int64)
        self._counts = np.zeros(K, dtype=np.int64)
        self._conf = np.zeros(K, dtype=np.float64)
        self._correct = np.zeros(K, dtype=np.int64)
        shape = (c, K) if self.per_class else (0, K)
        self._ccounts = np.zeros(shape, dtype=np.int64)
        self._cconf = np.zeros(shape, dtype=np.float64)
        self._chits = np.zeros(shape, dtype=np.int64)
        self.n_samples = 0

    def update(self, y_true, y_score) -> "CalibrationError":
        """Count one batch; returns self. A batch that fails validation changes nothing."""
        t, s = _prepare(y_true, y_score, self.num_classes, self.scores)
        reading = self._reading
        if reading is None:
            reading = read_scores("auto", s) if s.size else None
        elif reading == "probabilities" and self.scores == "auto" and outside_unit(s):
            raise contradiction(self.n_batches + 1, reading)
        got = _count(t, s, self.n_bins, s.shape[1], reading == "logits", self.per_class, self.backend)
        if self.num_classes is None:
            self._set_classes(int(s.shape[1]))
        self._add(got, int(t.shape[0]))
        self._reading = reading
        self.n_batches += 1
        return self

    def _add(self, got, n):
        matrix, counts, conf, correct, ccounts, cconf, chits = got
        self._matrix = self._matrix + matrix
        self._counts = self._counts + counts
        self._conf = self._conf + conf
        self._correct = self._correct + correct
        if self.per_class:
            self._ccounts = self._ccounts + ccounts
            self._cconf = self._cconf + cconf
            self._chits = self._chits + chits
        self.n_samples += n

    @property
    def matrix(self) -> np.ndarray:
        """The (C, C) confusion matrix counted in the same passes."""
        return self._matrix.copy()

    def compute(self) -> CalibrationResult:
        """ECE, MCE, RMSCE, the bins and the matrix of everything counted so far."""
        ece, mce, rms, conf, acc = _errors(self._counts, self._conf, self._correct)
        fields = {}
        if self.per_class:
            cece, cmce, _, cconf, cacc = _errors(self._ccounts, self._cconf, self._chits)
            fields = dict(classwise_ece=cece, classwise_mce=cmce, classwise_bin_counts=self._ccounts.copy(),
                          classwise_bin_confidence=cconf, classwise_bin_accuracy=cacc)
        return CalibrationResult(
            ece=float(ece), mce=float(mce), rmsce=float(rms), bin_edges=bin_edges(self.n_bins, np.float64),
            bin_counts=self._counts.copy(), bin_confidence=conf, bin_accuracy=acc, matrix=self._matrix.copy(),
            n_samples=self.n_samples, **fields,
        )

    def merge(self, other) -> "CalibrationError":
        """Add another accumulator's counts (same n_bins, per_class and classes); returns self."""
        if not isinstance(other, CalibrationError):
            raise TypeError(f"Can only merge a CalibrationError, but got {type(other).__name__}")
        if other.n_bins != self.n_bins or other.per_class != self.per_class:
            raise ValueError(
                f"Cannot merge accumulators with different n_bins or per_class: "
                f"({self.n_bins}, {self.per_class}) and ({other.n_bins}, {other.per_class})"
            )
        if self._reading is not None and other._reading is not None and self._reading != other._reading:
            raise ValueError(
                f"Cannot merge an accumulator whose scores were read as {other._reading} into one that read "
                f"them as {self._reading}: pass the same scores= to both"
            )
        if other.num_classes is None:
            return self
        if self.num_classes is None:
            self._set_classes(other.num_classes)
        elif other.num_classes != self.num_classes:
            raise ValueError(f"Cannot merge accumulators of {self.num_classes} and {other.num_classes} classes")
        self._add((other._matrix, other._counts, other._conf, other._correct, other._ccounts, other._cconf, other._chits),
                  other.n_samples)
        self._reading = self._reading or other._reading
        self.n_batches += other.n_batches
        return self

    def __add__(self, other):
        if not isinstance(other, CalibrationError):
            return NotImplemented
        return self.copy().merge(other)

    def copy(self) -> "CalibrationError":
        return _copy.deepcopy(self)

    def plot(self, ax=None):
        """The reliability diagram (see :func:`fastcm.plot.reliability_diagram`)."""
        from ..present.plots import reliability_diagram

        return reliability_diagram(self, ax=ax)

    def __repr__(self) -> str:
        return (f"CalibrationError(n_bins={self.n_bins}, scores={self.scores!r}, num_classes={self.num_classes}, "
                f"n_samples={self.n_samples})")

    # -- persistence -----------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the state to ``path`` as .npz, atomically (a temporary file, then a rename)."""
        write_npz_atomic(os.fspath(path), {
            "fastcm_format": np.array(_FORMAT),
            "format_version": np.array(_FORMAT_VERSION),
            "n_bins": np.array(self.n_bins, dtype=np.int64),
            "scores": np.array(self.scores),
            "scores_read_as": np.array(self._reading or ""),
            "num_classes": np.array(self.num_classes or 0, dtype=np.int64),
            "per_class": np.array(int(self.per_class), dtype=np.int64),
            "n_samples": np.array(self.n_samples, dtype=np.int64),
            "matrix": self._matrix,
            "bin_counts": self._counts,
            "bin_confidence_sum": self._conf,
            "bin_correct": self._correct,
            "class_bin_counts": self._ccounts,
            "class_bin_confidence_sum": self._cconf,
            "class_bin_correct": self._chits,
        })

    @classmethod
    def load(cls, path, *, backend="auto") -> "CalibrationError":
        """Read an accumulator written by :meth:`save`; a foreign or damaged file is a ValueError."""
        path = os.fspath(path)
        data = read_npz(path, "CalibrationError")
        if "fastcm_format" not in data:
            raise ValueError(f"{path!r} is not a fastcm CalibrationError file")
        if field(data, "format_version", path, scalar_int) > _FORMAT_VERSION:
            raise ValueError(f"{path!r} has a format version newer than this fastcm reads")
        C = field(data, "num_classes", path, scalar_int)
        per_class = field(data, "per_class", path, scalar_int)
        m = cls(field(data, "n_bins", path, scalar_int), scores=field(data, "scores", path, lambda a: str(a[()])),
                num_classes=C or None, per_class=bool(per_class), backend=backend)
        K, c = m.n_bins + 1, (C if per_class else 0)

        def arr(name, shape, kind):
            def convert(a):
                if a.shape != shape or a.dtype.kind not in kind or (a.size and not (np.isfinite(a).all() and a.min() >= 0)):
                    raise ValueError(f"expected non-negative finite values of shape {shape}, got {a.dtype} {a.shape}")
                return a.astype(np.float64 if kind == "f" else np.int64)
            return field(data, name, path, convert)

        m._matrix = arr("matrix", (C, C), "iu")
        m._counts, m._conf, m._correct = arr("bin_counts", (K,), "iu"), arr("bin_confidence_sum", (K,), "f"), arr("bin_correct", (K,), "iu")
        m._ccounts = arr("class_bin_counts", (c, K), "iu")
        m._cconf = arr("class_bin_confidence_sum", (c, K), "f")
        m._chits = arr("class_bin_correct", (c, K), "iu")
        m.n_samples = field(data, "n_samples", path, scalar_int)
        if "scores_read_as" in data:  # older files: the reading is the (explicit) scores
            reading = field(data, "scores_read_as", path, lambda a: str(a[()]))
            if reading not in ("", "probabilities", "logits") or (m.scores != "auto" and reading != m.scores):
                raise ValueError(f"{path!r} is a damaged fastcm file: scores {m.scores!r} read as {reading!r}")
            m._reading = reading or None
        consistent = (
            int(m._counts.sum()) == m.n_samples == int(m._matrix.sum())
            and np.all(m._correct <= m._counts) and np.all(m._conf <= m._counts * (1 + 1e-9))
            and int(m._correct.sum()) == int(np.trace(m._matrix))
            and np.all(m._chits <= m._ccounts)
        )
        if not consistent:
            raise ValueError(f"{path!r} is a damaged fastcm file: its counts disagree with each other")
        return m


def calibration_error(y_true, y_score, n_bins=15, norm="l1", *, scores="auto", num_classes=None, backend="auto"):
    """Top-label calibration error of one set of (N, C) probabilities or logits.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        Class indices ``0..C-1``.
    y_score : array-like of shape (N, C)
    n_bins : int, default=15
    norm : {"l1", "max", "l2"}
        "l1": expected calibration error (ECE); "max": maximum (MCE); "l2": root mean square.
    scores : {"auto", "probabilities", "logits"}, default="auto"
        See :class:`CalibrationError` and :mod:`fastcm.scores`.
    num_classes : int, optional
    backend : {"auto", "numba", "numpy", "cupy"}

    Returns
    -------
    float (NaN for empty input)

    Examples
    --------
    >>> y_score = [[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]]
    >>> round(calibration_error([0, 1, 1], y_score, n_bins=10), 4)
    0.4
    >>> round(calibration_error([0, 1, 1], y_score, n_bins=10, norm="max"), 4)
    0.7
    """
    if norm not in NORMS:
        raise ValueError(f"Expected `norm` to be one of {NORMS}, but got {norm!r}")
    res = CalibrationError(n_bins, scores=scores, num_classes=num_classes, backend=backend).update(y_true, y_score).compute()
    return {"l1": res.ece, "max": res.mce, "l2": res.rmsce}[norm]
