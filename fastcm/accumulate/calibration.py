"""``CalibrationError``: calibration error accumulated over batches in constant memory.

The state is ``n_bins + 1`` slots of (count, sum of confidence, number correct), the
(C, C) matrix, and with ``per_class=True`` the same slots for each class; see
:mod:`fastcm.answers.calibration` for the definitions and the scores rule.

Examples
--------
>>> import numpy as np
>>> acc = CalibrationError(n_bins=5).update([0, 1], np.array([[0.9, 0.1], [0.2, 0.8]]))
>>> round(acc.compute().ece, 4)
0.15
"""

from __future__ import annotations

import os

import numpy as np

from .. import backends
from ..answers.calibration import CalibrationResult, calibration_errors
from ..core.inputs import check_num_classes
from ..core.scores import check_scores, contradiction, outside_unit, read_scores
from ..counts.calibration import bin_edges, check_n_bins, count_bins, prepare
from .base import Accumulator
from .files import field, format_version, read_npz, scalar_int, write_npz_atomic

__all__ = ["CalibrationError"]

_FORMAT = "fastcm.CalibrationError"
_FORMAT_VERSION = 2  # 2: scores="auto" and the reading it decided ("scores_read_as")


class CalibrationError(Accumulator):
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
        (:mod:`fastcm.core.scores`): the first non-empty batch decides (any value outside [0, 1]
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
        self.scores = check_scores(scores)
        self.declared_classes = check_num_classes(num_classes)
        self.per_class = bool(per_class)
        if backend != "auto" and backend not in backends.NAMES:
            backends.get(backend)  # the ValueError listing the valid names now
        self.backend = backend
        self._init_lock()
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
        t, s = prepare(y_true, y_score, self.num_classes, self.scores)
        reading = self._reading
        if reading is None:
            reading = read_scores("auto", s) if s.size else None
        elif reading == "probabilities" and self.scores == "auto" and outside_unit(s):
            raise contradiction(self.n_batches + 1, reading)
        got = count_bins(t, s, self.n_bins, s.shape[1], reading == "logits", self.per_class, self.backend)
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
        ece, mce, rms, conf, acc = calibration_errors(self._counts, self._conf, self._correct)
        fields = {}
        if self.per_class:
            cece, cmce, _, cconf, cacc = calibration_errors(self._ccounts, self._cconf, self._chits)
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
        with read_npz(path, "CalibrationError") as data:
            format_version(data, "CalibrationError", _FORMAT_VERSION)
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
