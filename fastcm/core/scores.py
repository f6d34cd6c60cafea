"""How fastcm reads scores: probabilities or logits, known or refused (one rule, used everywhere).

Every path that thresholds or bins scores (threshold sweeps, ``ThresholdConfusionMatrix``,
calibration, plots, ``fastcm report``) takes ``scores="auto" | "probabilities" | "logits"``:

* ``"probabilities"``: values in [0, 1], used as given; a value outside [0, 1] is a
  ValueError naming the first one and its position.
* ``"logits"``: unnormalised scores. Binary (N,) scores and multilabel (N, L) scores with
  (N, L) indicator truth go through a sigmoid; multiclass (N, C) scores with class indices
  go through a softmax over the class axis, then each column is thresholded one-vs-rest
  (torchmetrics' convention for multiclass ROC and PR curves).
* ``"auto"`` (the default): torchmetrics' rule: any value outside [0, 1] means logits,
  otherwise probabilities. An accumulator decides on its first non-empty batch and refuses
  a later batch that contradicts the decision, so a streamed result never mixes the two.

Thresholds stay probabilities. The sigmoid is never computed: it is monotone, so
``sigmoid(x) >= t`` exactly when ``x >= log(t / (1 - t))``, and the thresholds are mapped
to logit space instead (exact, and free). The softmax needs each row's normaliser; it is
applied to bounded blocks of rows (:data:`SOFTMAX_BLOCK` elements), never to all N rows.

A threshold set reaching outside [0, 1] (``thresholds=[-1.0, 2.0]``) can only be in the
scores' own units: under ``"auto"`` such scores are compared as given.

Examples
--------
>>> import numpy as np
>>> read_scores("auto", np.array([0.2, 0.9])), read_scores("auto", np.array([-1.3, 2.0]))
('probabilities', 'logits')
>>> logit_thresholds(np.array([0.0, 0.5, 1.0])).tolist()
[-inf, 0.0, inf]
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["SCORE_KINDS", "check_scores", "read_scores", "outside_unit", "logit", "logit_thresholds", "softmax_rows",
           "to_probabilities", "contradiction", "AS_GIVEN"]

SCORE_KINDS = ("auto", "probabilities", "logits")
#: what "auto" reads when the thresholds themselves lie outside [0, 1]
AS_GIVEN = "as given"
#: elements per softmax block: a bounded temporary, whatever N
SOFTMAX_BLOCK = 1 << 20


def check_scores(scores) -> str:
    """The ``scores`` argument, checked.

    >>> check_scores("logits")
    'logits'
    """
    if not isinstance(scores, str) or scores not in SCORE_KINDS:
        raise ValueError(f"Expected `scores` to be one of {SCORE_KINDS}, but got {scores!r}")
    return scores


def _module(s):
    from .inputs import array_module

    return array_module(s)


def outside_unit(s) -> bool:
    """Whether any value of ``s`` lies outside [0, 1] (NaN ignored: the kernels name it).

    Two reductions over the scores (the least and the greatest value), no N-sized
    temporary. ``# synchronize!`` on a device (two scalars read back).
    """
    if s.size == 0 or s.dtype.kind == "b":
        return False
    xp = _module(s)
    if s.dtype.kind == "f":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all NaN: nothing lies outside
            lo, hi = xp.nanmin(s), xp.nanmax(s)
    else:
        lo, hi = s.min(), s.max()
    return bool(lo < 0) or bool(hi > 1)  # synchronize! (NaN compares False both ways)


def _first_outside(s):
    xp = _module(s)
    pos = int(xp.flatnonzero(((s < 0) | (s > 1)).reshape(-1))[0])  # synchronize!
    idx = tuple(int(v) for v in np.unravel_index(pos, s.shape))
    where = f"position {pos}" if s.ndim == 1 else f"index {idx}"
    return where, float(s[idx])


def read_scores(scores, s, *, flag="scores='logits'", name="y_score") -> str:
    """"probabilities" or "logits": how the scores ``s`` are read under the rule ``scores``.

    ``"probabilities"`` refuses a value outside [0, 1] (the first one and its position);
    ``flag`` is how the message tells to pass logits (``--scores-are logits`` in the CLI),
    ``name`` the argument that holds the scores.
    """
    scores = check_scores(scores)
    if scores == "logits":
        return "logits"
    if not outside_unit(s):
        return "probabilities"
    if scores == "auto":
        return "logits"
    where, value = _first_outside(s)
    raise ValueError(
        f"Expected probabilities in [0, 1] in `{name}`, but got {value!r} at {where}; pass {flag} for "
        "unnormalised scores (a sigmoid, or a softmax over the classes, is applied)"
    )


def contradiction(batch: int, decided: str, flag="scores='logits'") -> ValueError:
    """The error for a batch of logits after batches read as probabilities under "auto"."""
    return ValueError(
        f"Scores of batch {batch} lie outside [0, 1] (logits), but the earlier batches were read as {decided} "
        f"(scores='auto' decides on the first batch, and a result must not mix the two); pass {flag} "
        "if the model outputs logits"
    )


def logit(thr) -> np.ndarray:
    """Probability thresholds as logits, each on its own: ``sigmoid(x) >= t`` iff ``x >= logit(t)``.

    ``t <= 0`` becomes ``-inf`` (every logit passes), ``t >= 1`` becomes ``+inf`` (none
    does: a sigmoid never reaches 1).

    >>> logit(np.array([0.9, 0.5, 0.0])).tolist()[1:]
    [0.0, -inf]
    """
    t = np.asarray(thr, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(t) - np.log1p(-t)
    return np.where(t <= 0, -np.inf, np.where(t >= 1, np.inf, out))


def logit_thresholds(thr) -> np.ndarray:
    """Sorted probability thresholds as logits (:func:`logit`); sorted thresholds stay sorted."""
    out = logit(thr)
    return np.maximum.accumulate(out) if out.size else out


def softmax_rows(block):
    """Float64 softmax over axis 1 of one bounded block of rows (max-subtracted).

    A non-finite logit becomes NaN in its place, so the counting kernel rejects it at its
    position rather than reading ``-inf`` as probability 0.
    """
    xp = _module(block)
    b = block.astype(xp.float64)
    finite = xp.isfinite(b)
    b = xp.where(finite, b, 0.0)
    e = xp.exp(b - b.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return xp.where(finite, p, xp.nan)


def softmax_blocks(n_rows, n_cols):
    """(start, stop) row ranges of at most :data:`SOFTMAX_BLOCK` elements."""
    rows = max(1, SOFTMAX_BLOCK // max(int(n_cols), 1))
    return [(a, min(n_rows, a + rows)) for a in range(0, n_rows, rows)] or [(0, 0)]


def to_probabilities(s, kind, *, multiclass):
    """Scores as probabilities, materialised: for paths that hold the scores in memory anyway
    (plots, exact curves). ``multiclass``: (N, C) scores of one class each (softmax)."""
    if kind != "logits":
        return s
    xp = _module(s)
    if multiclass:
        return softmax_rows(s)
    x = s.astype(xp.float64)
    return 1.0 / (1.0 + xp.exp(-x))
