"""Is the new model better? Paired comparison of two predictors on the same data.

:func:`compare` counts, in one pass over ``(y_true, y_pred_a, y_pred_b)``, both confusion
matrices and, for each true class, the four paired cases: both right, only A right, only
B right, both wrong. Everything else is arithmetic on those small count arrays:

- McNemar's exact test on accuracy: two-sided binomial test on the discordant pairs
  (``p = min(1, 2 * P[X <= min(only_a, only_b)])``, ``X ~ Binomial(only_a + only_b, 1/2)``),
  or with ``mcnemar="chi2"`` the chi-square test with continuity correction (statsmodels'
  ``exact=False``); the result names the test it used;
- per-class recall differences (B minus A) with paired-bootstrap intervals: the pairs are
  resampled, which is a multinomial draw over the per-class cells;
- the accuracy difference (B minus A) with its paired-bootstrap interval.

:class:`PairedComparison` accumulates the same counts over batches (data loaders,
several workers) and computes the same :class:`Comparison`.

Class planning: ``num_classes=C`` (values are class indices ``0..C-1``, counted as they
are: the fast path) or ``labels=[...]`` (the classes, in this order; values are encoded
on the host with a sort/search before counting). With neither, the classes are the sorted
union of the three arrays' values (short non-negative integer ranges count directly,
others are encoded on the host). Unlike :func:`fastcm.confusion_matrix`, a value outside
the declared classes is always a ValueError: a prediction silently dropped would bias the
comparison.

Examples
--------
>>> import fastcm
>>> res = fastcm.compare([0, 0, 1, 1, 1, 0], [0, 1, 1, 0, 1, 0], [0, 0, 1, 1, 1, 1],
...                      num_classes=2, random_state=0)
>>> res.accuracy_a, res.accuracy_b
(0.6666666666666666, 0.8333333333333334)
>>> res.cases.tolist()  # per true class: both right, only A, only B, both wrong
[[1, 1, 1, 0], [2, 0, 1, 0]]
>>> res.only_a, res.only_b, res.p_value
(1, 2, 1.0)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..backends.arrays import to_host
from ..core.classes import check_classes
from .. import backends
from ..core.inputs import (
    InvalidInputError,
    array_module,
    as_array,
    check_num_classes,
    common_integer_labels,
    flatten,
    to_integer_labels,
)
from ..core.overflow import add_counts

__all__ = ["Comparison", "PairedComparison", "compare", "mcnemar_chi2", "mcnemar_exact"]

#: the columns of ``Comparison.cases``
CASES = ("both_right", "only_a", "only_b", "both_wrong")
#: inferred non-negative integer labels whose largest value is below this are counted as
#: class indices directly and the absent classes cut afterwards (no encoding pass)
_MAX_DENSE = 4096
#: bootstrap draws are made in chunks of at most this many cells
_CHUNK_CELLS = 1 << 22


# ----------------------------------------------------------------------------- exact test


def _stirlerr(n: float) -> float:
    """log(n!) - log(sqrt(2 pi n) (n/e)**n), accurate for large n (Loader, 2000)."""
    if n <= 15.0:
        return math.lgamma(n + 1.0) - (n + 0.5) * math.log(n) + n - 0.5 * math.log(2.0 * math.pi)
    nn = n * n
    s0, s1, s2, s3, s4 = 1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188
    if n > 500:
        return (s0 - s1 / nn) / n
    if n > 80:
        return (s0 - (s1 - s2 / nn) / nn) / n
    if n > 35:
        return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n


def _bd0(x: float, m: float) -> float:
    """x log(x/m) + m - x, without cancellation when x is close to m (Loader, 2000)."""
    if abs(x - m) < 0.1 * (x + m):
        v = (x - m) / (x + m)
        s = (x - m) * v
        ej = 2.0 * x * v
        j = 1
        while True:
            ej *= v * v
            s1 = s + ej / (2 * j + 1)
            if s1 == s:
                return s1
            s = s1
            j += 1
    return x * math.log(x / m) + m - x


def _pmf_half(k: int, n: int) -> float:
    """P[X = k] for X ~ Binomial(n, 1/2), to a few ulps for any n (saddle-point form)."""
    if k < 0 or k > n:
        return 0.0
    if k == 0 or k == n:
        return 2.0 ** (-n) if n < 1075 else 0.0
    x, m = float(k), n / 2.0
    lc = _stirlerr(float(n)) - _stirlerr(x) - _stirlerr(float(n - k)) - _bd0(x, m) - _bd0(float(n - k), m)
    lf = math.log(2.0 * math.pi) + math.log(x) + math.log1p(-x / n)
    return math.exp(lc - 0.5 * lf)


#: below this many discordant pairs the tail is summed exactly in integers
_EXACT_N = 2000
#: up to this many discordant pairs the tail is summed here (at most ~10**4 terms, a few
#: ms); beyond, scipy's cdf is used when installed (``scipy.special.bdtr`` was measured
#: 2e-6 off at 10**9 pairs, ``scipy.stats.binom.cdf`` agrees with the sum to 1e-11)
_SUM_N = 10**6


def _cdf_half(k: int, n: int) -> float:
    """P[X <= k] for X ~ Binomial(n, 1/2) and 2k < n, without scipy.

    Small n: an exact integer sum. Else the terms are summed from ``k`` downwards (each
    the previous times ``i / (n - i + 1)``), starting from the saddle-point pmf, until they
    no longer change the sum: every term is a product of ratios below one, so the sum
    holds to ~1e-14 relative even for counts of 10**12.
    """
    if k < 0:
        return 0.0
    if n <= _EXACT_N:
        term, total = 1, 1
        for i in range(1, k + 1):
            term = term * (n - i + 1) // i
            total += term
        return total / 2**n  # int / int: correctly rounded, however large
    term = _pmf_half(k, n)
    total = 0.0
    i = k
    while i >= 0 and term > 0.0:
        total += term
        if term < total * 1e-17:
            break
        term *= i / (n - i + 1)
        i -= 1
    return total


def mcnemar_exact(only_a: int, only_b: int, *, mid_p: bool = False) -> float:
    """Two-sided p-value of McNemar's exact test on the discordant pair counts.

    ``p = min(1, 2 * P[X <= min(only_a, only_b)])`` with ``X ~ Binomial(only_a + only_b,
    1/2)``, as ``statsmodels``' ``mcnemar(exact=True)``; ``mid_p`` gives
    ``2 * (P[X <= k] - P[X = k] / 2)`` instead (Fagerland et al., 2013). The tail is an
    exact integer sum up to 2000 discordant pairs, a float sum from a saddle-point pmf
    up to 10**6 (about 1e-15 relative), and ``scipy.stats.binom.cdf`` beyond when scipy
    is installed (else the same sum, accurate for counts in the billions but slower).
    A p-value below ~1e-308 reads 0.0.

    Examples
    --------
    >>> mcnemar_exact(1, 9)
    0.021484375
    >>> mcnemar_exact(5, 5)
    1.0
    >>> mcnemar_exact(0, 2, mid_p=True)
    0.25
    """
    b, c = int(only_a), int(only_b)
    if b < 0 or c < 0:
        raise ValueError(f"Expected non-negative discordant counts, but got {b} and {c}")
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    if 2 * k >= n:  # the observed split is the most balanced one: the tail holds half or more
        p = 1.0
    else:
        cdf = None
        if n > _SUM_N:  # a long sum in Python: scipy's binomial cdf (Boost) when installed
            try:
                from scipy.stats import binom
            except ImportError:
                binom = None
            if binom is not None:
                cdf = float(binom.cdf(k, n, 0.5))
        if cdf is None:
            cdf = _cdf_half(k, n)
        p = min(1.0, 2.0 * cdf)
    if mid_p and 2 * k < n:  # 2 (P[X <= k] - P[X = k] / 2); a balanced split keeps 1
        p = max(0.0, p - _pmf_half(k, n))
    return p


def mcnemar_chi2(only_a: int, only_b: int, *, correction: bool = True) -> tuple[float, float]:
    """McNemar's chi-square test on the discordant pair counts: ``(statistic, p_value)``.

    ``statistic = (|b - c| - 1)**2 / (b + c)`` with the continuity correction (``- 0``
    without), ``p`` its chi-square tail with one degree of freedom
    (``erfc(sqrt(statistic / 2))``): statsmodels' ``mcnemar(exact=False, correction=True)``,
    including its convention that the corrected statistic of a balanced split (``b == c``)
    is ``1 / (b + c)``, not 0. With no discordant pairs there is nothing to test:
    ``(0.0, 1.0)`` (statsmodels divides by zero there). The exact test
    (:func:`mcnemar_exact`) is the default of :func:`compare`; the chi-square is the usual
    large-sample approximation (Edwards, 1948).

    Examples
    --------
    >>> stat, p = mcnemar_chi2(3, 9)
    >>> round(stat, 4), round(p, 4)
    (2.0833, 0.1489)
    """
    b, c = int(only_a), int(only_b)
    if b < 0 or c < 0:
        raise ValueError(f"Expected non-negative discordant counts, but got {b} and {c}")
    if b + c == 0:
        return 0.0, 1.0
    stat = (abs(b - c) - int(bool(correction))) ** 2 / (b + c)
    return float(stat), math.erfc(math.sqrt(stat / 2.0))


#: the McNemar tests :func:`compare` offers
MCNEMAR_TESTS = ("exact", "chi2")


def _check_mcnemar(mcnemar) -> str:
    if mcnemar not in MCNEMAR_TESTS:
        raise ValueError(f"Expected `mcnemar` to be one of {MCNEMAR_TESTS}, but got {mcnemar!r}")
    return mcnemar


# ------------------------------------------------------------------------------- result


def _frozen(a):
    a = np.array(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Comparison:
    """What :func:`compare` (or :meth:`PairedComparison.compute`) found. Host numpy arrays.

    Attributes
    ----------
    labels : (C,) array
        The class of each row.
    matrix_a, matrix_b : (C, C) int64
        Confusion matrices of A and B (rows = true class, columns = predicted class).
    cases : (C, 4) int64
        Per true class: both right, only A right, only B right, both wrong (``CASES``).
    accuracy_a, accuracy_b : float
        NaN for no pairs.
    only_a, only_b : int
        Discordant pairs: only A right, only B right (McNemar's b and c).
    mcnemar_test : str
        The McNemar test behind ``mcnemar_statistic`` and ``p_value``: ``"exact"`` (the
        default) or ``"chi2"`` (chi-square with continuity correction, :func:`mcnemar_chi2`).
    mcnemar_statistic : int or float
        The test's statistic as statsmodels reports it: ``min(only_a, only_b)`` for the
        exact test, ``(|b - c| - 1)**2 / (b + c)`` for the chi-square.
    p_value, mid_p_value : float
        Two-sided p-value of that test, and the exact test's mid-p variant.
    recall_a, recall_b, recall_difference : (C,) float
        Per-class recalls and ``recall_b - recall_a`` (positive: B recalls the class more
        often); NaN for a class without true samples.
    recall_difference_interval : (C, 2) float
        Paired-bootstrap percentile interval ``[low, high]`` of each recall difference.
    accuracy_difference : float
        ``accuracy_b - accuracy_a``.
    accuracy_difference_interval : (2,) float
    confidence_level, n_resamples : the bootstrap's settings.
    """

    labels: np.ndarray
    matrix_a: np.ndarray
    matrix_b: np.ndarray
    cases: np.ndarray
    accuracy_a: float
    accuracy_b: float
    only_a: int
    only_b: int
    mcnemar_statistic: int
    p_value: float
    mid_p_value: float
    recall_a: np.ndarray
    recall_b: np.ndarray
    recall_difference: np.ndarray
    recall_difference_interval: np.ndarray
    accuracy_difference: float
    accuracy_difference_interval: np.ndarray
    confidence_level: float = 0.95
    n_resamples: int = 0
    _support: np.ndarray = field(default=None, repr=False)
    mcnemar_test: str = "exact"

    @property
    def n(self) -> int:
        """Number of compared pairs."""
        return int(self.cases.sum())

    @property
    def support(self) -> np.ndarray:
        """True samples of each class."""
        return self.cases.sum(axis=1)

    def __repr__(self) -> str:
        return (
            f"Comparison(n={self.n}, classes={len(self.labels)}, accuracy_a={self.accuracy_a:.4g}, "
            f"accuracy_b={self.accuracy_b:.4g}, only_a={self.only_a}, only_b={self.only_b}, p_value={self.p_value:.4g})"
        )

    def __str__(self) -> str:
        pct = f"{100 * self.confidence_level:g}%"

        def ci(pair):
            lo, hi = pair
            return "[   n/a,    n/a]" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:+.3f}, {hi:+.3f}]"

        lines = [
            f"Paired comparison of A and B on {self.n} samples, {len(self.labels)} classes",
            f"accuracy: A {self.accuracy_a:.4f}, B {self.accuracy_b:.4f}, B - A {self.accuracy_difference:+.4f} "
            f"({pct} CI {ci(self.accuracy_difference_interval)})",
            (f"McNemar exact test: only A right {self.only_a}, only B right {self.only_b}, "
             f"p = {self.p_value:.4g} (mid-p {self.mid_p_value:.4g})") if self.mcnemar_test == "exact" else
            (f"McNemar chi-square test (continuity corrected): only A right {self.only_a}, only B right "
             f"{self.only_b}, chi2 = {self.mcnemar_statistic:.4g}, p = {self.p_value:.4g}"),
            "",
        ]
        names = [str(v) for v in self.labels.tolist()]
        w = max([5] + [len(s) for s in names])
        head = f"{'class':>{w}} {'support':>9} {'recall A':>8} {'recall B':>8} {'B - A':>7} {pct + ' CI':>16}"
        lines.append(head + f" {'both':>9} {'only A':>9} {'only B':>9} {'neither':>9}")
        for i, name in enumerate(names):
            ra, rb, d = self.recall_a[i], self.recall_b[i], self.recall_difference[i]
            c = self.cases[i]
            lines.append(
                f"{name:>{w}} {int(c.sum()):>9} {ra:>8.4f} {rb:>8.4f} {d:>+7.3f} {ci(self.recall_difference_interval[i]):>16}"
                f" {int(c[0]):>9} {int(c[1]):>9} {int(c[2]):>9} {int(c[3]):>9}"
            )
        return "\n".join(lines)


def _check_level(confidence_level) -> float:
    level = float(confidence_level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"Expected `confidence_level` in (0, 1), but got {confidence_level!r}")
    return level


def _check_resamples(n_resamples) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 0:
        raise ValueError(f"Expected `n_resamples` to be a non-negative int, but got {n_resamples!r}")
    return int(n_resamples)


def _bootstrap(cases, n_resamples, level, random_state):
    """Percentile intervals of the recall differences (C, 2) and the accuracy difference (2,).

    Resampling the N pairs with replacement is a multinomial draw over the cells the
    statistics depend on. A recall difference depends on a class's only-A and only-B
    counts and its total, so the two concordant cells are merged: 3 cells a class, the
    same distribution as drawing the 4. A resample in which a class has no samples leaves
    that class out of its interval.
    """
    C = cases.shape[0]
    nan = np.full((C, 2), np.nan), np.full(2, np.nan)
    n = int(cases.sum())
    if n == 0 or n_resamples == 0 or C == 0:
        return nan
    cells = np.stack([cases[:, 0] + cases[:, 3], cases[:, 1], cases[:, 2]], axis=1).reshape(-1)
    pvals = cells / n
    rng = np.random.default_rng(random_state)
    diffs = np.empty((n_resamples, C))
    acc = np.empty(n_resamples)
    step = max(1, _CHUNK_CELLS // cells.size)
    for r0 in range(0, n_resamples, step):
        r = min(step, n_resamples - r0)
        draw = rng.multinomial(n, pvals, size=r).reshape(r, C, 3)
        gain = draw[:, :, 2] - draw[:, :, 1]
        total = draw.sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            diffs[r0 : r0 + r] = np.where(total > 0, gain / total, np.nan)
        acc[r0 : r0 + r] = gain.sum(axis=1) / n
    q = [(1 - level) / 2, (1 + level) / 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: classes never seen
        rec = np.nanquantile(diffs, q, axis=0).T
    return rec, np.quantile(acc, q)


def comparison_from_counts(
    labels, matrix_a, matrix_b, cases, *, confidence_level=0.95, n_resamples=10_000, random_state=None,
    mcnemar="exact",
) -> Comparison:
    """The :class:`Comparison` of given counts (all statistics are arithmetic on them).

    Examples
    --------
    >>> cases = np.array([[5, 1, 3, 1]])
    >>> m = np.array([[6]])
    >>> comparison_from_counts([0], m, np.array([[8]]), cases, n_resamples=0).p_value
    0.625
    """
    level = _check_level(confidence_level)
    n_resamples = _check_resamples(n_resamples)
    mcnemar = _check_mcnemar(mcnemar)
    cases = np.asarray(cases, dtype=np.int64)
    ma, mb = np.asarray(matrix_a, dtype=np.int64), np.asarray(matrix_b, dtype=np.int64)
    support = cases.sum(axis=1)
    n = int(support.sum())
    right_a = cases[:, 0] + cases[:, 1]
    right_b = cases[:, 0] + cases[:, 2]
    only_a, only_b = int(cases[:, 1].sum()), int(cases[:, 2].sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        recall_a = np.where(support > 0, right_a / np.maximum(support, 1), np.nan)
        recall_b = np.where(support > 0, right_b / np.maximum(support, 1), np.nan)
        diff = np.where(support > 0, (cases[:, 2] - cases[:, 1]) / np.maximum(support, 1), np.nan)
    acc_a = int(right_a.sum()) / n if n else float("nan")
    acc_b = int(right_b.sum()) / n if n else float("nan")
    rec_ci, acc_ci = _bootstrap(cases, n_resamples, level, random_state)
    return Comparison(
        labels=_frozen(labels),
        matrix_a=_frozen(ma),
        matrix_b=_frozen(mb),
        cases=_frozen(cases),
        accuracy_a=acc_a,
        accuracy_b=acc_b,
        only_a=only_a,
        only_b=only_b,
        mcnemar_statistic=min(only_a, only_b) if mcnemar == "exact" else mcnemar_chi2(only_a, only_b)[0],
        p_value=mcnemar_exact(only_a, only_b) if mcnemar == "exact" else mcnemar_chi2(only_a, only_b)[1],
        mid_p_value=mcnemar_exact(only_a, only_b, mid_p=True),
        recall_a=_frozen(recall_a),
        recall_b=_frozen(recall_b),
        recall_difference=_frozen(diff),
        recall_difference_interval=_frozen(rec_ci),
        accuracy_difference=(only_b - only_a) / n if n else float("nan"),
        accuracy_difference_interval=_frozen(acc_ci),
        confidence_level=level,
        n_resamples=n_resamples,
        mcnemar_test=mcnemar,
    )


# ------------------------------------------------------------------------------ counting

_NAMES = ("y_true", "y_pred_a", "y_pred_b")


def _as_labels(labels) -> np.ndarray:
    lab = np.asarray(labels).reshape(-1)
    if lab.size == 0:
        raise ValueError("Expected `labels` to hold at least one label, but got none")
    if lab.dtype.kind == "O":
        lab = lab.astype(str) if all(isinstance(v, str) for v in lab) else lab.astype(np.int64)
    if np.unique(lab).size != lab.size:
        raise ValueError(f"Expected `labels` to hold distinct values, but got {lab.tolist()!r}")
    return lab


def _encode(x, lab):
    """Codes of ``x`` in the order of ``lab`` (int32 when they fit); -1 for a value not in it."""
    order = np.argsort(lab, kind="stable")
    sorted_lab = lab[order]
    x = np.asarray(x)
    dtype = np.int32 if lab.size < 2**31 else np.int64
    if x.size == 0:
        return np.empty(x.shape, dtype)
    if x.dtype.kind in "biu" and sorted_lab.dtype.kind in "biu" and np.result_type(x.dtype, sorted_lab.dtype).kind == "f":
        # int64 with uint64 would compare in float64: compare in x's own dtype instead
        info = np.iinfo(x.dtype)
        keep = (sorted_lab >= info.min) & (sorted_lab <= info.max) if x.dtype.kind == "i" else sorted_lab >= 0
        sorted_lab, order = sorted_lab[keep].astype(x.dtype), order[keep]
        if sorted_lab.size == 0:
            return np.full(x.shape, -1, dtype)
    try:
        idx = np.searchsorted(sorted_lab, x)
    except TypeError:  # labels and values of unrelated kinds: nothing matches
        return np.full(x.shape, -1, dtype)
    idx_c = np.minimum(idx, sorted_lab.size - 1)
    return np.where(sorted_lab[idx_c] == x, order[idx_c], -1).astype(dtype)


def _is_numeric(a) -> bool:
    return a.dtype.kind in "biuf"


@dataclass
class _Tally:
    """Counts of one pass, on the host: the class of each row and the three count arrays."""

    labels: np.ndarray
    matrix_a: np.ndarray
    matrix_b: np.ndarray
    cases: np.ndarray


def _cases(ma, mb, both):
    da, db = np.diagonal(ma), np.diagonal(mb)
    return np.stack([both, da - both, db - both, ma.sum(axis=1) - da - db + both], axis=1)


def _check_shapes(t, preds):
    """(flat y_true, predictions as (N,) labels or (N, C) scores, score width or None)."""
    width = None
    out = []
    for name, p in zip(_NAMES[1:], preds):
        if p.ndim == t.ndim + 1 and t.ndim == 1:
            if p.shape[0] != t.shape[0]:
                raise ValueError(f"Expected scores `{name}` of shape ({t.shape[0]}, C), but got {tuple(p.shape)}")
            if p.dtype.kind not in "biuf":
                raise TypeError(f"Expected numeric scores in `{name}`, but got dtype {p.dtype}")
            if p.shape[1] < 1:
                raise ValueError(f"Expected at least one class column in the scores `{name}`, but got 0")
            if width is not None and p.shape[1] != width:
                raise ValueError(f"Expected both score arrays to have {width} columns, but `{name}` has {p.shape[1]}")
            width = p.shape[1]
            out.append(p)
        elif p.shape != t.shape:
            raise ValueError(
                f"Expected `y_true` and `{name}` to have the same shape (or `{name}` scores of shape (N, C) "
                f"for a 1-D `y_true`), but got {tuple(t.shape)} and {tuple(p.shape)}"
            )
        else:
            out.append(flatten(p))
    return flatten(t), out, width


def _integers(arrays, names):
    out = []
    for a, name in zip(arrays, names):
        if a.dtype.kind in "US":
            raise TypeError(f"Expected integer class labels in `{name}`, but got strings (dtype {a.dtype}); pass `labels`")
        out.append(to_integer_labels(a, name))
    return out


def _invalid_error(invalid, originals, codes, C, labels, scores, n_valid_range):
    """The ValueError naming the first invalid triple: its array, value and position."""
    n_bad, pos = int(invalid[0]), int(invalid[1])
    more = f" ({n_bad} invalid triples in total)" if n_bad > 1 else ""
    for name, orig, code, is_scores in zip(_NAMES, originals, codes, scores):
        if is_scores:
            row = to_host(orig[pos : pos + 1])  # synchronize!
            if row.dtype.kind == "f" and np.isnan(row).any():
                return ValueError(f"Expected finite scores in `{name}`, but got NaN at position {pos}{more}")
            continue
        c = int(to_host(code[pos : pos + 1])[0])  # synchronize!
        if 0 <= c < C:
            continue
        v = to_host(orig[pos : pos + 1])[0].item()
        if labels is None:
            return ValueError(f"Expected `{name}` labels in 0..{C - 1} (num_classes={C}), but got {v!r} at position {pos}{more}")
        shown = labels.tolist() if labels.size <= 20 else labels[:20].tolist() + ["..."]
        return ValueError(f"Expected `{name}` values among `labels` {shown}, but got {v!r} at position {pos}{more}")
    return ValueError(f"{n_bad} invalid triples, the first at position {pos}")  # not reached


def _tally(y_true, y_pred_a, y_pred_b, labels, num_classes, backend) -> _Tally:
    """Validate, plan the classes and count in one pass: the shared core of ``compare`` and
    ``PairedComparison.update``. Reads the counts back to the host (``# synchronize!``)."""
    num_classes = check_num_classes(num_classes)
    arrays = [as_array(x, name) for x, name in zip((y_true, y_pred_a, y_pred_b), _NAMES)]
    name = backends.select(backend, *arrays)
    be = backends.get(name)
    arrays = [x if array_module(x) is be.xp else be.xp.asarray(x) for x in arrays]
    t, preds, width = _check_shapes(arrays[0], arrays[1:])
    scores = [False] + [p.ndim == 2 for p in preds]
    label_arrays = [x for x, s in zip([t] + preds, scores) if not s]
    label_names = [n for n, s in zip(_NAMES, scores) if not s]
    kinds = {_is_numeric(x) for x in label_arrays}
    if len(kinds) > 1:
        raise InvalidInputError(
            "Mix of label input types (string and number): y_true, y_pred_a and y_pred_b should hold labels "
            f"of one type, but got {', '.join(str(x.dtype) for x in label_arrays)}"
        )
    if num_classes is not None and width is not None and num_classes != width:
        raise ValueError(f"Expected scores with num_classes={num_classes} columns, but got {width}")
    lab = check_classes(num_classes, labels, convert=_as_labels).labels
    if lab is not None:
        if width is not None and lab.size != width:
            raise ValueError(f"Expected one label per score column ({width}), but got {lab.size} labels")
    elif num_classes is None and width is not None:
        num_classes = width  # scores: the classes are the column indices
    dense_cut = False
    if lab is None and num_classes is None:  # infer the sorted union of the values
        if True in kinds and all(x.dtype.kind in "biuf" for x in label_arrays):
            label_arrays = _integers(label_arrays, label_names)
            ranges = [be.value_range(x, x) for x in label_arrays]  # synchronize! (device)
            ranges = [r for r in ranges if r[1] >= r[0]]
            lo = min((r[0] for r in ranges), default=0)
            hi = max((r[1] for r in ranges), default=-1)
            if lo >= 0 and hi < _MAX_DENSE:
                num_classes, dense_cut = max(hi + 1, 1), True
        if not dense_cut:
            host = [to_host(x) for x in label_arrays]
            if len(host) == 3 and True in kinds:
                host[0], host[1] = common_integer_labels(host[0], host[1])
                host[0], host[2] = common_integer_labels(host[0], host[2])
                host[1], host[2] = common_integer_labels(host[1], host[2])
            lab = np.unique(np.concatenate([np.unique(h) for h in host])) if host else np.empty(0, np.int64)
            if lab.size == 0:
                empty = np.zeros((0, 0), np.int64)
                return _Tally(lab, empty, empty, np.zeros((0, 4), np.int64))
    elif True in kinds:
        label_arrays = _integers(label_arrays, label_names)
    if num_classes is not None and lab is None:
        if False in kinds:
            raise TypeError("`num_classes` needs integer labels, but got strings; pass `labels` instead")
        codes, C = label_arrays, num_classes
    elif lab.dtype.kind in "biu" and lab.size and (lab == np.arange(lab.size)).all() and True in kinds:
        codes, C = label_arrays, lab.size  # labels 0..C-1 in order: counted as they are
    else:
        codes = [be.xp.asarray(_encode(to_host(x), lab)) for x in label_arrays]  # host encoding
        C = lab.size
    it = iter(codes)
    kernel_in = [p if s else next(it) for p, s in zip([t] + preds, scores)]
    ma, mb, both, invalid = be.compare_counts(kernel_in[0], kernel_in[1], kernel_in[2], C)
    invalid = to_host(invalid)  # synchronize!
    if int(invalid[0]):
        it = iter(label_arrays)
        originals = [p if s else next(it) for p, s in zip([t] + preds, scores)]
        raise _invalid_error(invalid, originals, kernel_in, C, lab, scores, None)
    ma, mb, both = (to_host(x).astype(np.int64, copy=False) for x in (ma, mb, both))  # synchronize!
    cases = _cases(ma, mb, both)
    classes = np.arange(C, dtype=np.int64) if lab is None else lab
    if dense_cut:
        present = np.flatnonzero(ma.any(axis=0) | ma.any(axis=1) | mb.any(axis=0) | mb.any(axis=1))
        ma, mb, cases, classes = ma[np.ix_(present, present)], mb[np.ix_(present, present)], cases[present], present
    return _Tally(classes, ma, mb, cases)


def _check_weights(sample_weight):
    if sample_weight is not None:
        raise TypeError(
            "`sample_weight` is not supported by fastcm.answers.compare: McNemar's exact test and the paired bootstrap "
            "count pairs; repeat the pairs (e.g. numpy.repeat) for integer weights"
        )


def compare(
    y_true,
    y_pred_a,
    y_pred_b,
    *,
    labels=None,
    num_classes=None,
    sample_weight=None,
    confidence_level=0.95,
    n_resamples=10_000,
    random_state=None,
    backend="auto",
    mcnemar="exact",
) -> Comparison:
    """Paired comparison of two predictors A and B on the same samples.

    One pass over the three arrays counts both confusion matrices and, for each true class,
    the pairs both got right, only A got right, only B got right and both got wrong. From
    those: McNemar's exact test on accuracy and per-class recall differences (B minus A)
    with paired-bootstrap intervals.

    Parameters
    ----------
    y_true : array-like of shape (N,) (or any shape, paired element-wise with labels)
        True labels: integers, bools, whole-number floats or strings; any array type.
    y_pred_a, y_pred_b : array-like
        Predicted labels shaped like ``y_true``, or scores/logits of shape (N, C) for a 1-D
        ``y_true``: the argmax (ties to the lowest class, as :func:`fastcm.confusion_matrix`)
        is fused into the pass. Either side, or both, may be scores.
    labels : array-like, optional
        The classes, in this order (with scores: the class of each column). Values are
        encoded on the host before counting; a value outside them is a ValueError.
    num_classes : int, optional
        Declares the classes ``0..C-1``: no encoding, the fast path. A value outside is a
        ValueError naming it and its position.
    sample_weight : None
        Not supported (a TypeError): the exact test and the bootstrap count pairs.
    confidence_level : float
        Of the bootstrap percentile intervals.
    n_resamples : int
        Bootstrap resamples (0: no intervals, NaN).
    random_state : None, int or numpy.random.Generator
        Seeds the bootstrap.
    backend : {"auto", "numba", "numpy", "cupy"}
        Where the counting pass runs (see :func:`fastcm.backends.select`).
    mcnemar : {"exact", "chi2"}
        McNemar's exact binomial test (default), or the chi-square test with continuity
        correction (:func:`mcnemar_chi2`, statsmodels' ``exact=False``); the result's
        ``mcnemar_test`` and its printout say which.

    Returns
    -------
    Comparison
        Host numpy arrays; ``print`` it for a table.

    Examples
    --------
    >>> res = compare([0, 1, 2, 2, 1], [0, 1, 2, 1, 1], [[.9, .1, 0], [.2, .7, .1], [0, .1, .9], [0, 0, 1], [.5, .5, 0]],
    ...               n_resamples=0)
    >>> res.accuracy_a, res.accuracy_b
    (0.8, 0.8)
    >>> res.only_a, res.only_b, res.p_value
    (1, 1, 1.0)
    >>> res.recall_difference.tolist()
    [0.0, -0.5, 0.5]
    """
    _check_weights(sample_weight)
    level = _check_level(confidence_level)
    n_resamples = _check_resamples(n_resamples)
    _check_mcnemar(mcnemar)
    tally = _tally(y_true, y_pred_a, y_pred_b, labels, num_classes, backend)
    return comparison_from_counts(
        tally.labels, tally.matrix_a, tally.matrix_b, tally.cases,
        confidence_level=level, n_resamples=n_resamples, random_state=random_state, mcnemar=mcnemar,
    )


# ----------------------------------------------------------------------------- streaming


def _union(a: _Tally, b: _Tally, fixed: bool) -> _Tally:
    """Counts of two tallies over the union of their classes (sorted, unless ``a``'s are fixed)."""
    if a.labels.size == b.labels.size and (a.labels.size == 0 or (a.labels == b.labels).all()):
        return _Tally(
            a.labels,
            add_counts(a.matrix_a, b.matrix_a),
            add_counts(a.matrix_b, b.matrix_b),
            add_counts(a.cases, b.cases),
        )
    if a.labels.size and b.labels.size and _is_numeric(a.labels) != _is_numeric(b.labels):
        raise TypeError(f"Cannot combine comparisons of {a.labels.dtype} and {b.labels.dtype} labels")
    if fixed:
        missing = np.setdiff1d(b.labels, a.labels)
        if missing.size:
            raise ValueError(f"Cannot merge counts of labels {missing.tolist()!r} outside the declared classes")
        labels = a.labels
    else:
        labels = np.union1d(a.labels, b.labels) if a.labels.size else b.labels
    out = []
    for t in (a, b):
        pos = _encode(t.labels, labels).astype(np.int64)
        C = labels.size
        ma = np.zeros((C, C), np.int64)
        mb = np.zeros((C, C), np.int64)
        cases = np.zeros((C, 4), np.int64)
        ma[np.ix_(pos, pos)] = t.matrix_a
        mb[np.ix_(pos, pos)] = t.matrix_b
        cases[pos] = t.cases
        out.append(_Tally(labels, ma, mb, cases))
    return _union(out[0], out[1], False)


class PairedComparison:
    """Streaming :func:`compare`: accumulate the paired counts over batches.

    With neither ``num_classes`` nor ``labels``, the classes grow with the data (the sorted
    union of the values seen).

    Parameters
    ----------
    num_classes : int, optional
        Declares the classes ``0..C-1`` (the fast path).
    labels : array-like, optional
        Declares the classes; values are encoded on the host.
    backend : str
        As in :func:`compare`. Counts are kept on the host (each update reads its batch's
        counts back: ``# synchronize!`` on a GPU).

    Examples
    --------
    >>> acc = PairedComparison(num_classes=2)
    >>> _ = acc.update([0, 1, 1], [0, 1, 0], [0, 1, 1])
    >>> _ = acc.update([1, 0], [1, 1], [1, 0])
    >>> res = acc.compute(n_resamples=0)
    >>> res.only_a, res.only_b, res.accuracy_b
    (0, 2, 1.0)
    """

    def __init__(self, num_classes=None, *, labels=None, backend="auto"):
        spec = check_classes(num_classes, labels, convert=_as_labels)
        self.num_classes, self.labels = spec.num_classes, spec.labels
        if backend != "auto":
            backends.get(backend)  # validates the name now, not at the first update
        self.backend = backend
        self.reset()

    @property
    def _fixed(self) -> bool:
        return self.labels is not None or self.num_classes is not None

    def _empty(self) -> _Tally:
        if self.labels is not None:
            classes = self.labels
        elif self.num_classes is not None:
            classes = np.arange(self.num_classes, dtype=np.int64)
        else:
            classes = np.empty(0, np.int64)
        C = classes.size
        return _Tally(classes, np.zeros((C, C), np.int64), np.zeros((C, C), np.int64), np.zeros((C, 4), np.int64))

    def reset(self) -> "PairedComparison":
        """Forget every count (the declared classes stay)."""
        self._state = self._empty()
        return self

    def update(self, y_true, y_pred_a, y_pred_b, sample_weight=None) -> "PairedComparison":
        """Count one batch (arguments as in :func:`compare`); a failed update changes nothing."""
        _check_weights(sample_weight)
        batch = _tally(y_true, y_pred_a, y_pred_b, self.labels, self.num_classes, self.backend)
        self._state = _union(self._state, batch, self._fixed)
        return self

    def merge(self, other: "PairedComparison") -> "PairedComparison":
        """Add another accumulator's counts (another worker, another loader); returns self."""
        if not isinstance(other, PairedComparison):
            raise TypeError(f"Expected a PairedComparison to merge, but got {type(other).__name__}")
        self._state = _union(self._state, other._state, self._fixed)
        return self

    def copy(self) -> "PairedComparison":
        new = PairedComparison.__new__(PairedComparison)
        new.num_classes, new.labels, new.backend = self.num_classes, self.labels, self.backend
        s = self._state
        new._state = _Tally(s.labels, s.matrix_a.copy(), s.matrix_b.copy(), s.cases.copy())
        return new

    def __add__(self, other: "PairedComparison") -> "PairedComparison":
        return self.copy().merge(other)

    @property
    def n(self) -> int:
        """Pairs counted so far."""
        return int(self._state.cases.sum())

    def compute(self, *, confidence_level=0.95, n_resamples=10_000, random_state=None, mcnemar="exact") -> Comparison:
        """The :class:`Comparison` of everything counted so far (``mcnemar`` as in :func:`compare`)."""
        s = self._state
        return comparison_from_counts(
            s.labels, s.matrix_a, s.matrix_b, s.cases,
            confidence_level=confidence_level, n_resamples=n_resamples, random_state=random_state, mcnemar=mcnemar,
        )
