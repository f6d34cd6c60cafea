"""Differential fuzz suite: every public entry point that reaches a kernel, on the numba and
numpy backends, against each other and against an exact pure-Python reference (or
scikit-learn where its float64 arithmetic is exact for the data drawn).

What is drawn: every integer dtype at its extremes (uint64 at and above 2**63, int64 mixed
with uint64), float16/32/64 scores and weights at their extremes, NaN and infinities at random
positions, and memory layouts that must not change a result (big-endian, read-only,
unaligned, strided, Fortran order; 0-d and empty arrays). Every exception must be a ValueError
or a TypeError (an OverflowError for an integer count beyond int64) whose message names the
offending value and its position.

CI-sized: small arrays and a few dozen examples per test; the dtype x layout combinations are
kept few, because numba compiles (once, cached on disk) one specialisation for each.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastcm
from fastcm.core.scores import logit, logit_thresholds
from _fuzz_strategies import (
    FLOAT_DTYPES,
    I64_MAX,
    I64_MIN,
    INT_DTYPES,
    LAYOUTS,
    argmax_first,
    assert_close,
    bounds,
    extremes,
    float_extremes,
    int_values,
    is_finite,
    kept_values,
    layout,
    py,
    ref_binary,
    ref_counts,
)
from conftest import HOST_BACKENDS

pytestmark = pytest.mark.filterwarnings("ignore")

#: the backends compared with each other (the GPU one has its own suite under tests/gpu)
BACKENDS = [b for b in ("numba", "numpy") if b in HOST_BACKENDS]


def fuzz(n):
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def outcome(fn):
    """``("ok", result)`` or ``("error", exception)``; warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", fn()
        except Exception as exc:  # noqa: BLE001 - the kind is checked by the caller
            return "error", exc


def check_error(exc, *tokens, kinds=(ValueError, TypeError)):
    """A clean error: an allowed kind, and a message naming every token."""
    assert isinstance(exc, kinds), f"{type(exc).__name__}: {exc}"
    for tok in tokens:
        assert str(tok) in str(exc), f"{tok!r} not named in {type(exc).__name__}: {exc}"


def expect(want, got, *, exact=True, scale=0.0, n=0):
    """Compare an outcome with the reference: a matrix (exact, or float within rounding), or
    an error whose message holds the tokens."""
    kind, value = got
    if want[0] == "error_any":
        assert kind == "error", f"expected an error naming one of {want[1]}, got {value!r}"
        assert any(isinstance(value, k) and all(str(t) in str(value) for t in toks) for toks, k in want[1]), (value, want[1])
        return
    if want[0] == "error":
        _, tokens, kinds = want
        assert kind == "error", f"expected an error naming {tokens}, got {value!r}"
        check_error(value, *tokens, kinds=kinds)
        return
    if kind == "error":
        raise AssertionError(f"unexpected {type(value).__name__}: {value}") from value
    ref = want[1]
    value = np.asarray(value)
    if exact:
        assert value.dtype == np.int64, value.dtype
        assert value.tolist() == ref, (value.tolist(), ref)
    else:
        assert value.dtype == np.float64, value.dtype
        assert_close(value, ref, scale, n)


def same_on_backends(results, exact=True):
    """numba and numpy agree: bit for bit for integer counts, to rounding for float ones."""
    (k0, v0), *rest = results
    for k, v in rest:
        assert k == k0, (results,)
        if k == "error":
            assert type(v) is type(v0) and str(v) == str(v0), (v0, v)
        elif exact:
            assert np.asarray(v).dtype == np.asarray(v0).dtype
            assert np.array_equal(np.asarray(v), np.asarray(v0)), (v0, v)


def on_backends(fn, **kwargs):
    return [outcome(lambda b=b: fn(backend=b, **kwargs)) for b in BACKENDS]


def err(*tokens, kinds=(ValueError, TypeError)):
    return ("error", tokens, kinds)


def weights_strategy(dtype, n):
    """Weights of ``dtype`` at its extremes (floats finite: non-finite ones are injected)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        value = st.sampled_from(float_extremes(dtype)) | st.floats(-1e3, 1e3, width=dtype.itemsize * 8)
        if dtype.itemsize == 8:  # float64 maxima would sum to inf: the reference stays finite
            value = st.sampled_from([0.0, 1.0, -1.0, 1e300, -1e300, 5e-324, 0.1, 2.0**53]) | st.floats(-1e3, 1e3)
    else:
        lo, hi = bounds(dtype)
        value = st.sampled_from(extremes(dtype)) | st.integers(lo, hi)
    return st.lists(value, min_size=n, max_size=n).map(lambda v: np.array(v, dtype=dtype))


# -- confusion_matrix on labels ----------------------------------------------------------------


def ref_confusion(t, p, *, labels=None, num_classes=None, weights=None, ignore_index=None):
    """The outcome :func:`fastcm.confusion_matrix` must have, from Python values."""
    n = len(t)
    wfloat = weights is not None and any(isinstance(w, float) for w in weights)
    if ignore_index is not None and ignore_index > I64_MAX:  # a documented limit, named in a ValueError
        return err(str(ignore_index))
    if (labels is not None or ignore_index is not None) and weights is not None:
        bad = [k for k, w in enumerate(weights) if not is_finite(w)]
        if bad:  # every weight is checked, counted or not
            return err(repr(weights[bad[0]]), f"position {bad[0]}")
    if num_classes is not None and labels is None:
        for k in range(n):
            if ignore_index is not None and t[k] == ignore_index:
                continue
            if weights is not None and not is_finite(weights[k]):
                return err(repr(weights[k]), f"position {k}")
            for v in (t[k], p[k]):
                if not 0 <= v < num_classes:
                    # integer weights are summed (and may overflow a cell) before labels are checked
                    valid = [0 <= a < num_classes and 0 <= b < num_classes for a, b in zip(t, p)]
                    vt = [a for a, ok in zip(t, valid) if ok]
                    vp = [b for b, ok in zip(p, valid) if ok]
                    vw = None if weights is None else [w for w, ok in zip(weights, valid) if ok]
                    over = ref_confusion(vt, vp, num_classes=num_classes, weights=vw, ignore_index=ignore_index)
                    if over[0] == "error":
                        return ("error_any", [((str(v), f"position {k}"), (ValueError,)), (over[1], over[2])])
                    return err(str(v), f"position {k}")
        lab = list(range(num_classes))
    elif labels is not None:
        kept = [a for a in t if ignore_index is None or a != ignore_index]
        if kept and not set(kept) & set(labels):
            return err("At least one label specified must be in y_true")
        lab = labels
    else:
        if weights is not None:
            bad = [k for k, w in enumerate(weights) if not is_finite(w)]
            if bad:
                return err(repr(weights[bad[0]]), f"position {bad[0]}")
        lab = kept_values(t, p, ignore_index)
    cm = ref_counts(t, p, lab, weights, ignore_index)
    if not wfloat:
        for i, row in enumerate(cm):
            for j, v in enumerate(row):
                if not I64_MIN <= v <= I64_MAX:
                    return err(str(v), f"({i}, {j})", kinds=(OverflowError,))
    return ("ok", cm)


def draw_labels(data, dtype, n, *, small=False):
    pool = data.draw(int_values(dtype) if not small else st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True))
    t = data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    p = data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    return pool, np.array(t, dtype=dtype), np.array(p, dtype=dtype)


def draw_mode(data, dtype, pool, t):
    """Keyword arguments of one planning mode: inferred, ``labels``, ``num_classes``, ``ignore_index``."""
    mode = data.draw(st.sampled_from(["infer", "labels", "num_classes", "ignore"]))
    kw = {}
    if mode == "labels":
        extra = data.draw(st.lists(st.sampled_from(extremes(dtype)), max_size=2))
        lab = list(dict.fromkeys(data.draw(st.permutations(pool))[: data.draw(st.integers(1, len(pool)))] + extra))
        kw["labels"] = np.array(lab, dtype=dtype) if data.draw(st.booleans()) else lab
    elif mode == "num_classes":
        kw["num_classes"] = data.draw(st.integers(1, 4))
    if mode == "ignore" or (mode != "infer" and data.draw(st.booleans())):
        kw["ignore_index"] = data.draw(st.sampled_from(pool + [255, -1]))
    return kw


def ref_kwargs(kw):
    out = dict(kw)
    if isinstance(out.get("labels"), np.ndarray):  # a list stays as drawn: np.asarray may round it to float64
        out["labels"] = [int(v) for v in out["labels"].tolist()]
    return out


@fuzz(60)
@given(st.data())
def test_confusion_matrix_integer_dtypes_at_their_extremes(data):
    dtype = data.draw(st.sampled_from(INT_DTYPES))
    n = data.draw(st.integers(0, 12))
    pool, t, p = draw_labels(data, dtype, n)
    if data.draw(st.booleans()) and dtype.kind in "iu":  # num_classes: mostly valid values, a few not
        C = data.draw(st.integers(1, 4))
        t = np.array([v if k % 5 else 0 for k, v in enumerate(data.draw(st.lists(st.integers(0, C - 1), min_size=n, max_size=n)))], dtype)
        if n and data.draw(st.booleans()):
            t[data.draw(st.integers(0, n - 1))] = data.draw(st.sampled_from(extremes(dtype)))
        p = np.array(data.draw(st.lists(st.integers(0, C - 1), min_size=n, max_size=n)), dtype)
        kw = {"num_classes": C}
        if data.draw(st.booleans()):
            kw["ignore_index"] = data.draw(st.sampled_from(extremes(dtype)))
    else:
        kw = draw_mode(data, dtype, pool, t)
    lay = data.draw(st.sampled_from(["contiguous", "bigendian"]))  # other layouts: see the layout test
    want = ref_confusion(py(t), py(p), **ref_kwargs(kw))
    got = on_backends(fastcm.confusion_matrix, y_true=layout(t, lay), y_pred=layout(p, lay), **kw)
    same_on_backends(got)
    for g in got:
        expect(want, g)


@fuzz(40)
@given(st.data())
def test_confusion_matrix_mixed_int64_and_uint64(data):
    n = data.draw(st.integers(1, 10))
    tv = data.draw(st.lists(st.sampled_from(extremes(np.int64)[:4] + [0, 1, 2**53 + 1, I64_MAX]), min_size=n, max_size=n))
    pv = data.draw(st.lists(st.sampled_from([0, 1, 2**53, 2**53 + 1, 2**63, 2**63 + 1, 2**64 - 1]), min_size=n, max_size=n))
    t, p = np.array(tv, np.int64), np.array(pv, np.uint64)
    if data.draw(st.booleans()):
        t, p, tv, pv = p.copy(), t.copy(), pv, tv
    kw = {}
    if data.draw(st.booleans()):
        lab = sorted(set(data.draw(st.lists(st.sampled_from(tv + pv + [-5, 2**63 + 7]), min_size=1, max_size=4))))
        kw["labels"] = lab
    if data.draw(st.booleans()):
        kw["ignore_index"] = data.draw(st.sampled_from(tv))
    # the checks run in this order: a common dtype (inferred labels), ignore_index, labels
    if "labels" not in kw and min(tv + pv) < 0 and max(tv + pv) > I64_MAX:
        want = err(str(min(tv + pv)), str(max(tv + pv)))  # no 64-bit integer type holds both values
    elif kw.get("ignore_index", 0) > I64_MAX:
        want = err(str(kw["ignore_index"]))
    elif "labels" in kw and min(kw["labels"]) < 0 and max(kw["labels"]) > I64_MAX:
        want = err(str(min(kw["labels"])), str(max(kw["labels"])))
    else:
        want = ref_confusion(tv, pv, **kw)
    got = on_backends(fastcm.confusion_matrix, y_true=t, y_pred=p, **kw)
    same_on_backends(got)
    for g in got:
        expect(want, g)


@fuzz(40)
@given(st.data())
def test_confusion_matrix_layouts_do_not_change_results(data):
    dtype = data.draw(st.sampled_from([np.dtype(np.int64), np.dtype(np.int32)]))
    n = data.draw(st.integers(0, 10))
    pool, t, p = draw_labels(data, dtype, n, small=data.draw(st.booleans()))
    kw = draw_mode(data, dtype, pool, t)
    lay = data.draw(st.sampled_from(LAYOUTS))
    weighted = data.draw(st.booleans())
    w = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), np.float64) if weighted else None
    shape = data.draw(st.sampled_from([(n,), (n, 1)] + ([(n // 2, 2)] if n % 2 == 0 else [])))
    want = ref_confusion(py(t), py(p), weights=None if w is None else py(w), **ref_kwargs(kw))
    got = on_backends(
        fastcm.confusion_matrix,
        y_true=layout(t.reshape(shape), lay),
        y_pred=layout(p.reshape(shape), lay),
        sample_weight=None if w is None else layout(w, lay),
        **kw,
    )
    same_on_backends(got)
    for g in got:
        expect(want, g, exact=not weighted, scale=float(np.abs(w).sum()) if weighted else 0.0, n=n)


@fuzz(60)
@given(st.data())
def test_confusion_matrix_weights_at_their_extremes(data):
    wdtype = data.draw(st.sampled_from(INT_DTYPES + FLOAT_DTYPES))
    n = data.draw(st.integers(0, 10))
    pool, t, p = draw_labels(data, np.dtype(np.int64), n, small=True)
    kw = draw_mode(data, np.dtype(np.int64), pool, t)
    w = data.draw(weights_strategy(wdtype, n))
    if wdtype.kind == "f" and n and data.draw(st.booleans()):  # non-finite weights at random positions
        for _ in range(data.draw(st.integers(1, 2))):
            w[data.draw(st.integers(0, n - 1))] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    wv = py(w)
    if wdtype.kind == "b":
        wv = [int(v) for v in wv]
    want = ref_confusion(py(t), py(p), weights=wv, **ref_kwargs(kw))
    got = on_backends(fastcm.confusion_matrix, y_true=t, y_pred=p, sample_weight=w, **kw)
    floating = wdtype.kind == "f"
    same_on_backends(got, exact=not floating)
    scale = math.fsum(abs(v) for v in wv if is_finite(v))
    for g in got:
        expect(want, g, exact=not floating, scale=scale, n=n)


@fuzz(25)
@given(st.data())
def test_confusion_matrix_normalize(data):
    n = data.draw(st.integers(1, 10))
    pool, t, p = draw_labels(data, np.dtype(np.int64), n, small=True)
    norm = data.draw(st.sampled_from(["true", "pred", "all"]))
    want = np.array(ref_counts(py(t), py(p), kept_values(py(t), py(p))), dtype=np.float64)
    total = {"true": want.sum(axis=1, keepdims=True), "pred": want.sum(axis=0, keepdims=True), "all": want.sum()}[norm]
    with np.errstate(all="ignore"):
        want = np.nan_to_num(want / total)
    for kind, value in on_backends(fastcm.confusion_matrix, y_true=t, y_pred=p, normalize=norm):
        assert kind == "ok", value
        np.testing.assert_allclose(value, want, rtol=1e-15)


@fuzz(30)
@given(st.data())
def test_confusion_matrix_float_labels_and_non_finite_values(data):
    n = data.draw(st.integers(1, 8))
    fdtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    t = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), fdtype)
    p = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), fdtype)
    bad = None
    if data.draw(st.booleans()):
        pos = data.draw(st.integers(0, n - 1))
        value = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.5, 2.0**70]))
        which = data.draw(st.sampled_from(["y_true", "y_pred"]))
        (t if which == "y_true" else p)[pos] = value
        value = float((t if which == "y_true" else p)[pos])
        bad = (which, pos, value)
    got = on_backends(fastcm.confusion_matrix, y_true=t, y_pred=p)
    same_on_backends(got)
    if bad is None:
        tv, pv = [int(v) for v in py(t)], [int(v) for v in py(p)]
        for g in got:
            expect(("ok", ref_counts(tv, pv, kept_values(tv, pv))), g)
    else:
        which, pos, value = bad
        # y_true is checked first: an invalid y_pred at an earlier position is named only when y_true is clean
        for kind, exc in got:
            assert kind == "error"
            check_error(exc, which, repr(value), f"position {pos}")


# -- confusion_matrix on scores (fused argmax) -----------------------------------------------


def ref_scores(t, s, *, weights=None, ignore_index=None, labels=None):
    """The outcome of counting argmax(s, axis=1) against ``t`` (arrays; Python arithmetic)."""
    N, C = s.shape[0], s.shape[1]
    P = int(np.prod(t.shape[1:], dtype=np.int64))
    tt = t.reshape(N, P).tolist()
    ss = s.reshape(N, C, P)
    if weights is not None and (labels is not None or ignore_index is not None):
        bad = [k for k, w in enumerate(weights) if not is_finite(w)]
        if bad:
            return err(repr(weights[bad[0]]), f"position {bad[0]}")
    counts = [[0] * C for _ in range(C)]
    cells = {}
    for i in range(N):
        for j in range(P):
            pos, a = i * P + j, tt[i][j]
            if ignore_index is not None and a == ignore_index:
                continue
            if labels is not None and not 0 <= a < C:
                continue
            w = 1 if weights is None else weights[pos]
            if not is_finite(w):
                return err(repr(w), f"position {pos}")
            if not 0 <= a < C:
                return err(str(a), f"position {pos}")
            pred = argmax_first(ss[i, :, j].tolist())
            if pred is None:
                return err("NaN", f"position {pos}")
            cells.setdefault((a, pred), []).append(w)
    for (a, b), ws in cells.items():
        counts[a][b] = math.fsum(ws) if any(isinstance(w, float) for w in ws) else sum(ws)
    if labels is not None:
        counts = [[counts[a][b] for b in labels] for a in labels]
    return ("ok", counts)


def score_values(dtype):
    if dtype.kind == "f":
        info = np.finfo(dtype)
        return st.sampled_from([0.0, -0.0, 1.0, 0.5, float(info.max), -float(info.max), np.inf, -np.inf, float(info.tiny)]) | st.floats(
            -4, 4, width=dtype.itemsize * 8
        )
    return st.sampled_from(extremes(dtype)) | st.integers(*bounds(dtype))


@fuzz(60)
@given(st.data())
def test_confusion_matrix_scores_fused_argmax(data):
    sdtype = data.draw(st.sampled_from(FLOAT_DTYPES + [np.dtype(np.int64), np.dtype(np.uint64), np.dtype(np.uint8)]))
    spatial = data.draw(st.sampled_from([(), (2, 1), (1, 3)]))
    # an (N, 1) "score" column is read as labels (scikit-learn's column_or_1d): C >= 2 there
    N, C = data.draw(st.integers(0, 6)), data.draw(st.integers(1 if spatial else 2, 4))
    shape = (N, C) + spatial
    size = int(np.prod(shape))
    s = np.array(data.draw(st.lists(score_values(sdtype), min_size=size, max_size=size)), dtype=sdtype).reshape(shape)
    if sdtype.kind == "f" and size and data.draw(st.booleans()):  # NaN at random positions
        for _ in range(data.draw(st.integers(1, 2))):
            s.reshape(-1)[data.draw(st.integers(0, size - 1))] = np.nan
    tshape = (N,) + spatial
    tn = int(np.prod(tshape))
    tdtype = data.draw(st.sampled_from([np.dtype(np.int64), np.dtype(np.uint8)]))
    t = np.array(data.draw(st.lists(st.integers(0, C - 1), min_size=tn, max_size=tn)), tdtype).reshape(tshape)
    if tn and data.draw(st.integers(0, 4)) == 0:
        t.reshape(-1)[data.draw(st.integers(0, tn - 1))] = data.draw(st.sampled_from(extremes(tdtype)))
    kw = {}
    if data.draw(st.booleans()):
        kw["ignore_index"] = data.draw(st.sampled_from([0, 255, C - 1]))
    if data.draw(st.integers(0, 3)) == 0:
        kw["labels"] = data.draw(st.permutations(range(C)))[: data.draw(st.integers(1, C))]
    w = None
    if data.draw(st.booleans()):
        w = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, -1.0, 1e300]), min_size=tn, max_size=tn)))
        if tn and data.draw(st.booleans()):
            w[data.draw(st.integers(0, tn - 1))] = data.draw(st.sampled_from([np.nan, np.inf]))
    lay = data.draw(st.sampled_from(["contiguous", "bigendian", "fortran"] + (["readonly", "strided"] if sdtype == np.float32 else [])))
    want = ref_scores(t, s, weights=None if w is None else py(w), **kw)
    got = on_backends(fastcm.confusion_matrix, y_true=t, y_pred=layout(s, lay), sample_weight=w, **kw)
    same_on_backends(got, exact=w is None)
    scale = 0.0 if w is None else math.fsum(abs(v) for v in py(w) if is_finite(v))
    for g in got:
        expect(want, g, exact=w is None, scale=scale, n=tn)


# -- ConfusionMatrix ---------------------------------------------------------------------------


def state(cm):
    return np.asarray(cm.compute()).copy(), cm.n_samples, np.asarray(cm.labels).copy()


@fuzz(40)
@given(st.data())
def test_confusion_matrix_accumulator_batches_merge_and_failed_updates(data):
    mode = data.draw(st.sampled_from(["num_classes", "labels", "growing"]))
    dtype = data.draw(st.sampled_from([np.dtype(np.int64), np.dtype(np.uint64), np.dtype(np.int8)]))
    C = data.draw(st.integers(1, 4))
    pool = data.draw(int_values(dtype)) if mode == "growing" else list(range(C))
    kw = {"num_classes": C} if mode == "num_classes" else {"labels": pool} if mode == "labels" else {}
    if data.draw(st.booleans()):
        kw["ignore_index"] = data.draw(st.sampled_from(pool))
    backend = data.draw(st.sampled_from(BACKENDS))
    a, b = fastcm.ConfusionMatrix(backend=backend, **kw), fastcm.ConfusionMatrix(backend=backend, **kw)
    valid_t, valid_p, weighted = [], [], data.draw(st.booleans())
    valid_w = []
    for k in range(data.draw(st.integers(1, 4))):
        n = data.draw(st.integers(0, 5))
        t = np.array(data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)), dtype)
        p = np.array(data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)), dtype)
        w = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int64) if weighted else None
        broken = n and data.draw(st.integers(0, 2)) == 0
        if broken:  # an invalid batch: a bad weight, a wrong length, a label out of range
            how = data.draw(st.sampled_from(["length", "nan_weight", "label", "string"]))
            if how == "length":
                p = p[:-1]
            elif how == "nan_weight":
                w = np.ones(n)
                w[data.draw(st.integers(0, n - 1))] = np.nan
            elif how == "string":
                p = np.array(["x"] * n)
            elif how == "label" and mode == "num_classes" and dtype.kind == "i":
                t[data.draw(st.integers(0, n - 1))] = -1
                if "ignore_index" in kw and kw["ignore_index"] == -1:
                    broken = False
            else:
                broken = False
        target = a if k % 2 == 0 else b
        before = state(target)
        kind, value = outcome(lambda: target.update(t, p, sample_weight=w))
        if kind == "error":
            check_error(value)
            after = state(target)
            assert np.array_equal(after[0], before[0]) and after[0].dtype == before[0].dtype
            assert after[1] == before[1] and np.array_equal(after[2], before[2])
            if not broken:  # a valid batch may fail only as confusion_matrix does on it
                want = ref_confusion(py(t), py(p), weights=None if w is None else py(w), **ref_kwargs(kw))
                assert want[0] == "error", value
            continue
        assert not broken, f"an invalid batch was counted ({how})"
        valid_t += py(t)
        valid_p += py(p)
        valid_w += [1] * n if w is None else py(w)
    merged = a.copy().merge(b)
    ig = kw.get("ignore_index")
    lab = list(range(C)) if mode == "num_classes" else pool if mode == "labels" else kept_values(valid_t, valid_p, ig)
    want = ref_counts(valid_t, valid_p, lab, valid_w, ig)
    assert merged.compute().tolist() == want
    assert merged.n_samples == len(valid_t)
    if mode == "growing":
        assert [int(v) for v in merged.labels.tolist()] == lab
    if mode == "num_classes":
        assert (a + b).compute().tolist() == want



# -- thresholds ------------------------------------------------------------------------------


def ref_reading(s, thresholds, scores="auto"):
    """How the scores are compared with the thresholds, restated from :mod:`fastcm.core.scores`:
    ``"as given"`` (``"auto"`` with a threshold outside [0, 1]), ``"logits"`` (asked for, or
    ``"auto"`` with some score outside [0, 1]; NaN is neither in nor out), ``"probabilities"``,
    or the error of ``"probabilities"`` naming the first score outside [0, 1] (C order)."""
    if scores == "auto" and not all(0.0 <= v <= 1.0 for v in thresholds):
        return "as given"
    if scores == "logits":
        return "logits"
    flat = s.reshape(-1).tolist()
    outside = [k for k, v in enumerate(flat) if v < 0 or v > 1]
    if not outside:
        return "probabilities"
    if scores == "auto":
        return "logits"
    k = outside[0]
    where = f"position {k}" if s.ndim == 1 else f"index {tuple(int(v) for v in np.unravel_index(k, s.shape))}"
    return ("error_any", [(repr(float(flat[k])), where, "scores='logits'")])


def ref_softmax(s):
    """Float64 softmax over the classes of (N, C) logits, row by row (max-subtracted)."""
    out = []
    for row in np.asarray(s, dtype=np.float64):
        e = np.exp(row - row.max())
        out.append((e / e.sum()).tolist())
    return out


def ref_thresholds(t, s, thresholds, weights=None, reading="probabilities"):
    """``(T, 2, 2)`` (1-D scores) or ``(K, T, 2, 2)`` matrices, positive iff ``score >= thr``
    for scores read as ``reading`` (see :func:`ref_reading`): logits of binary and multilabel
    scores against the thresholds in logit space (a sigmoid, never computed), one-vs-rest
    logits softmaxed over the classes first. An error names the first invalid row (any of its
    problems: the kernels scan by row)."""
    N = s.shape[0]
    K = 1 if s.ndim == 1 else s.shape[1]
    sv = s.reshape(N, K).tolist()
    tv = t.tolist()
    for i in range(N):
        problems = []
        for k in range(K):
            score = sv[i][k]
            where = f"position {i}" if s.ndim == 1 else f"index ({i}, {k})"
            if isinstance(score, float) and not math.isfinite(score):
                problems.append((repr(score), where))
        if weights is not None and not is_finite(weights[i]):
            problems.append((repr(weights[i]), f"position {i}"))
        if t.ndim == 1 and s.ndim == 2:
            if not 0 <= tv[i] < K:  # whole float class indices are named as ints
                problems.append((str(int(tv[i])), f"position {i}"))
        else:
            for k in range(K):
                v = tv[i] if t.ndim == 1 else tv[i][k]
                if v not in (0, 1):
                    problems.append((repr(v), f"position {i}" if s.ndim == 1 else f"index ({i}, {k})"))
        if problems:
            return ("error_any", problems)
    thresholds = list(thresholds)
    if reading == "logits":
        if s.ndim == 2 and t.ndim == 1:
            sv = ref_softmax(s) if N else sv
        else:  # sigmoid(x) >= t iff x >= logit(t)
            thresholds = logit_thresholds(np.array(thresholds, dtype=np.float64)).tolist()
    out = []
    for k in range(K):
        if s.ndim == 1:
            truth = [int(v) for v in tv]
        elif t.ndim == 1:
            truth = [int(v == k) for v in tv]
        else:
            truth = [int(row[k]) for row in tv]
        col = [row[k] for row in sv]
        out.append([ref_binary(truth, col, thr, weights) for thr in thresholds])
    return ("ok", out[0] if s.ndim == 1 else out)


def expect_any(want, got, *, exact=True, scale=0.0, n=0):
    if want[0] != "error_any":
        return expect(want, got, exact=exact, scale=scale, n=n)
    kind, value = got
    assert kind == "error", f"expected an error naming one of {want[1]}, got {value!r}"
    check_error(value)
    assert any(all(str(tok) in str(value) for tok in toks) for toks in want[1]), (str(value), want[1])


def unit_values(dtype):
    """Scores (or thresholds) that are probabilities: in [0, 1]."""
    if dtype.kind in "iub":
        return st.integers(0, 1)
    return st.sampled_from([0.0, -0.0, 0.5, 1.0]) | st.floats(0, 1, width=dtype.itemsize * 8)


def draw_scores(data, dtype, shape, non_finite=(np.nan, np.inf, -np.inf), unit=False):
    """Scores of ``dtype`` at its extremes, or probabilities only (``unit``); non-finite
    values injected at a random position (a NaN is neither a probability nor a logit)."""
    size = int(np.prod(shape))
    values = unit_values(dtype) if unit else score_values(dtype).filter(lambda v: not isinstance(v, float) or math.isfinite(v))
    s = np.array(data.draw(st.lists(values, min_size=size, max_size=size)), dtype=dtype).reshape(shape)
    if non_finite and dtype.kind == "f" and size and data.draw(st.integers(0, 3)) == 0:
        s.reshape(-1)[data.draw(st.integers(0, size - 1))] = data.draw(st.sampled_from(list(non_finite)))
    return s


def threshold_values(dtype):
    vals = [0.0, 0.5, 1.0, -1.0, -np.inf, np.inf, 2.0**53, 2.0**63, -(2.0**63), 2.0**64, 1e300]
    if dtype.kind in "iu":
        lo, hi = bounds(dtype)
        vals += [float(lo), float(hi), float(hi) + 0.5 if hi < 2**53 else float(hi)]
    return st.sampled_from(vals) | st.floats(-4, 4)


SCORE_DTYPES = FLOAT_DTYPES + [np.dtype(np.int64), np.dtype(np.uint64), np.dtype(np.int8)]


@fuzz(60)
@given(st.data())
def test_threshold_confusion_matrices(data):
    sdtype = data.draw(st.sampled_from(SCORE_DTYPES))
    N = data.draw(st.integers(0, 8))
    layout_kind = data.draw(st.sampled_from(["binary", "one_vs_rest", "multilabel"]))
    K = 1 if layout_kind == "binary" else data.draw(st.integers(2, 3))
    s = draw_scores(data, sdtype, (N,) if K == 1 else (N, K), unit=data.draw(st.booleans()))
    scores = data.draw(st.sampled_from(["auto", "auto", "probabilities", "logits"]))
    tdtype = data.draw(st.sampled_from([np.dtype(np.int64), np.dtype(np.bool_), np.dtype(np.uint8), np.dtype(np.float64)]))
    hi = K - 1 if layout_kind == "one_vs_rest" else 1
    tshape = (N, K) if layout_kind == "multilabel" else (N,)
    t = np.array(data.draw(st.lists(st.integers(0, hi), min_size=int(np.prod(tshape)), max_size=int(np.prod(tshape)))))
    t = t.reshape(tshape).astype(tdtype)
    if t.size and tdtype != np.bool_ and data.draw(st.integers(0, 4)) == 0:
        t.reshape(-1)[data.draw(st.integers(0, t.size - 1))] = data.draw(st.sampled_from([2, K, 255]))
    unit_thr = data.draw(st.booleans())  # probability thresholds: the scores' reading decides
    thr = sorted(data.draw(st.lists(unit_values(np.dtype(np.float64)) if unit_thr else threshold_values(sdtype),
                                    min_size=1, max_size=4)))
    w = None
    if data.draw(st.booleans()):
        w = data.draw(st.sampled_from([np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.float32)]))
        w = np.array(data.draw(st.lists(st.integers(-2, 3), min_size=N, max_size=N)), w)
        if w.dtype.kind == "f" and N and data.draw(st.booleans()):
            w[data.draw(st.integers(0, N - 1))] = np.nan
    lay = data.draw(st.sampled_from(["contiguous", "bigendian"] + (["fortran", "strided", "readonly"] if sdtype == np.float64 else [])))
    wv = None if w is None else py(w)
    reading = ref_reading(s, thr, scores)
    want = reading if isinstance(reading, tuple) else ref_thresholds(t, s, thr, wv, reading)
    kw = {} if scores == "auto" else {"scores": scores}  # the default is "auto"
    got = on_backends(fastcm.threshold_confusion_matrices, y_true=t, y_score=layout(s, lay), thresholds=np.array(thr),
                      sample_weight=w, **kw)
    floating = w is not None and w.dtype.kind == "f"
    same_on_backends(got, exact=not floating)
    scale = 0.0 if w is None else math.fsum(abs(v) for v in wv if is_finite(v))
    for g in got:
        expect_any(want, g, exact=not floating, scale=scale, n=N)
    # the one-threshold entry point agrees (it refuses a threshold outside [0, 1] for logits)
    if K == 1 and len(thr) == 1 and want[0] == "ok" and (scores != "logits" or 0.0 <= thr[0] <= 1.0):
        for b in BACKENDS:
            got1 = outcome(lambda: fastcm.binary_confusion_matrix(t, s, threshold=thr[0], sample_weight=w, backend=b, **kw))
            expect_any(("ok", want[1][0]), got1, exact=not floating, scale=scale, n=N)


@fuzz(30)
@given(st.data())
def test_threshold_accumulator_batches_and_failed_updates(data):
    K = data.draw(st.sampled_from([None, 2]))
    unit_thr = data.draw(st.integers(0, 3)) > 0  # mostly probabilities: the first batch decides
    thr = sorted(data.draw(st.lists(st.floats(0, 1) if unit_thr else st.floats(-2, 2), min_size=1, max_size=3)))
    scores = data.draw(st.sampled_from(["auto", "auto", "auto", "probabilities", "logits"]))
    backend = data.draw(st.sampled_from(BACKENDS))
    acc = fastcm.ThresholdConfusionMatrix(thresholds=thr, num_classes=K, scores=scores, backend=backend)
    # the rule, restated: "auto" with probability thresholds decides on the first non-empty
    # batch counted, and refuses a later batch outside [0, 1] after probabilities
    decided = scores if scores != "auto" else ("as given" if ref_reading(np.zeros(0), thr) == "as given" else None)
    seen_t, seen_s, batches = [], [], 0
    for _ in range(data.draw(st.integers(1, 4))):
        n = data.draw(st.integers(0, 5))
        s = draw_scores(data, np.dtype(np.float64), (n,) if K is None else (n, K), unit=data.draw(st.booleans()))
        t = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.int64)
        if n and data.draw(st.integers(0, 3)) == 0:
            t[data.draw(st.integers(0, n - 1))] = 7
        if decided is None:
            reading = ref_reading(s, thr) if s.size else None
        elif decided == "probabilities" and scores == "auto" and ref_reading(s, thr) == "logits":
            reading = ("error_any", [(f"Scores of batch {batches + 1} ", "probabilities", "scores='logits'")])
        else:
            reading = ref_reading(s, thr, scores) if decided == "probabilities" else decided
        want = reading if isinstance(reading, tuple) else ref_thresholds(t, s, thr, None, reading or "probabilities")
        before = (acc.compute().copy(), acc.n_samples)
        got = outcome(lambda: acc.update(t, s).compute() - before[0])  # this batch's counts
        expect_any(want, got)
        if got[0] == "error":
            after = acc.compute()
            assert np.array_equal(after, before[0]) and after.dtype == before[0].dtype and acc.n_samples == before[1]
            continue
        decided = decided or reading
        batches += 1
        assert acc.scores_read_as == decided
        seen_t.append(t)
        seen_s.append(s)
    t_all = np.concatenate(seen_t) if seen_t else np.zeros(0, np.int64)
    s_all = np.concatenate(seen_s) if seen_s else np.zeros((0,) if K is None else (0, K))
    assert acc.compute().tolist() == ref_thresholds(t_all, s_all, thr, None, decided or "probabilities")[1]
    assert acc.n_samples == t_all.shape[0]


# -- multilabel_confusion_matrix -------------------------------------------------------------


def ref_multilabel(t, p, thr, weights=None, samplewise=False):
    N, L = t.shape
    tv, pv = t.tolist(), p.tolist()
    if weights is not None and all(w == 0 for w in weights):  # refused first, as by every drop-in
        return err(ALL_ZERO)
    if weights is not None:
        bad = [k for k, w in enumerate(weights) if not is_finite(w)]
        if bad:
            return err(repr(weights[bad[0]]), f"position {bad[0]}")
    for i in range(N):
        for j in range(L):
            score = pv[i][j]
            if tv[i][j] not in (0, 1) or (isinstance(score, float) and not math.isfinite(score)):
                return err(f"y_true={tv[i][j]!r}", f"index ({i}, {j})")
    if ref_reading(p, thr) == "logits":  # the scores rule: sigmoid(x) >= t iff x >= logit(t)
        thr = logit(np.array(thr, dtype=np.float64)).tolist()
    cells = {}
    for i in range(N):
        w = 1 if weights is None else weights[i]
        for j in range(L):
            key = (i if samplewise else j, int(tv[i][j]), int(pv[i][j] >= thr[j]))
            cells.setdefault(key, []).append(w)
    out = [[[0, 0], [0, 0]] for _ in range(N if samplewise else L)]
    for (r, a, b), ws in cells.items():
        out[r][a][b] = math.fsum(ws) if any(isinstance(w, float) for w in ws) else sum(ws)
    return ("ok", out)


@fuzz(40)
@given(st.data())
def test_multilabel_confusion_matrix(data):
    N, L = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3))
    tdtype = data.draw(st.sampled_from([np.dtype(np.int64), np.dtype(np.bool_), np.dtype(np.uint8)]))
    t = np.array(data.draw(st.lists(st.integers(0, 1), min_size=N * L, max_size=N * L)), np.int64).reshape(N, L)
    if tdtype != np.bool_ and data.draw(st.integers(0, 5)) == 0:
        t[data.draw(st.integers(0, N - 1)), data.draw(st.integers(0, L - 1))] = 3
    t = t.astype(tdtype)
    scores = data.draw(st.booleans())
    if scores:
        p = draw_scores(data, data.draw(st.sampled_from(SCORE_DTYPES)), (N, L), non_finite=(np.nan, np.inf, -np.inf),
                        unit=data.draw(st.booleans()))
        unit_thr = data.draw(st.integers(0, 3)) > 0  # mostly probabilities: the scores decide how they are read
        thr = data.draw(st.lists(st.floats(0, 1) if unit_thr else st.floats(-3, 3), min_size=L, max_size=L))
        threshold = thr if data.draw(st.booleans()) else thr[0]
        thr = thr if isinstance(threshold, list) else [thr[0]] * L
    else:
        p = np.array(data.draw(st.lists(st.integers(0, 1), min_size=N * L, max_size=N * L)), tdtype).reshape(N, L)
        threshold, thr = 0.5, [0.5] * L
    samplewise = data.draw(st.booleans())
    w = None
    if data.draw(st.booleans()):
        wd = data.draw(st.sampled_from([np.dtype(np.int64), np.dtype(np.float64)]))
        w = np.array(data.draw(st.lists(st.integers(0, 3), min_size=N, max_size=N)), wd)
        if wd.kind == "f" and data.draw(st.booleans()):
            w[data.draw(st.integers(0, N - 1))] = np.inf
    if (2, 2) == (t.ndim, p.ndim) and L == 1:  # (N, 1) columns are 1-D labels: another entry point
        return
    lay = data.draw(st.sampled_from(["contiguous", "bigendian", "fortran"]))
    want = ref_multilabel(t, p, thr, None if w is None else py(w), samplewise)
    got = on_backends(
        fastcm.multilabel_confusion_matrix, y_true=layout(t, lay), y_pred=layout(p, lay), sample_weight=w,
        threshold=threshold, samplewise=samplewise,
    )
    same_on_backends(got)
    floating = w is not None and (w.dtype.kind == "f" or not samplewise)
    for g in got:
        if want[0] == "ok" and floating:
            assert g[0] == "ok", g[1]
            assert g[1].dtype == np.float64 and g[1].tolist() == want[1]
        else:
            expect(want, g)


# -- top_k_accuracy_score --------------------------------------------------------------------


@fuzz(30)
@given(st.data())
def test_top_k_accuracy_score_against_scikit_learn(data):
    N, C = data.draw(st.integers(3, 8)), data.draw(st.integers(3, 4))
    t = np.array(list(range(C)) + data.draw(st.lists(st.integers(0, C - 1), min_size=N - 3, max_size=N - 3)))[:N]
    labels = None
    if len(set(t.tolist())) < C:
        labels = list(range(C))
    sdtype = data.draw(st.sampled_from([np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16)]))
    s = np.array(data.draw(st.lists(st.integers(-2, 2), min_size=N * C, max_size=N * C)), sdtype).reshape(N, C)  # ties
    bad = None
    if data.draw(st.integers(0, 3)) == 0:
        i, j = data.draw(st.integers(0, N - 1)), data.draw(st.integers(0, C - 1))
        s[i, j] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        bad = i
    k = data.draw(st.integers(1, C - 1))
    w = None if data.draw(st.booleans()) else np.array(data.draw(st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=N, max_size=N)))
    lay = data.draw(st.sampled_from(["contiguous", "fortran", "bigendian"]))
    kind, value = outcome(lambda: fastcm.top_k_accuracy_score(t, layout(s, lay), k=k, sample_weight=w, labels=labels))
    if bad is not None:
        assert kind == "error"
        check_error(value, f"row {bad}")
        return
    assert kind == "ok", value
    want = skm.top_k_accuracy_score(t, s.astype(np.float64), k=k, sample_weight=w, labels=labels)
    assert value == pytest.approx(want, rel=1e-12)


# -- ranking curves and area scores ----------------------------------------------------------


def ranks(values):
    """Dense ranks of Python values (exact): an order-preserving stand-in for the scores."""
    order = {v: r for r, v in enumerate(sorted(set(values)))}
    return np.array([order[v] for v in values], dtype=np.float64)


@fuzz(40)
@given(st.data())
def test_curves_and_area_scores_against_scikit_learn(data):
    N = data.draw(st.integers(2, 10))
    t = np.array([0, 1] + data.draw(st.lists(st.integers(0, 1), min_size=N - 2, max_size=N - 2)), np.int64)
    sdtype = data.draw(st.sampled_from([np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.uint64)]))
    pool = data.draw(st.lists(score_values(sdtype).filter(lambda v: not isinstance(v, float) or math.isfinite(v)), min_size=1, max_size=4, unique=True))
    s = np.array(data.draw(st.lists(st.sampled_from(pool), min_size=N, max_size=N)), sdtype)
    bad = None
    if sdtype.kind == "f" and data.draw(st.integers(0, 3)) == 0:
        bad = data.draw(st.integers(0, N - 1))
        s[bad] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    w = None if data.draw(st.booleans()) else np.array(data.draw(st.lists(st.sampled_from([0.5, 1.0, 3.0]), min_size=N, max_size=N)))
    lay = data.draw(st.sampled_from(["contiguous", "bigendian", "strided"]))
    sl, tl = layout(s, lay), layout(t, lay)
    # scikit-learn is the reference on the exact ranks: every curve depends only on the order of the scores
    r = ranks(py(s)) if bad is None else None
    calls = {
        "roc_curve": lambda f: f(tl, sl, sample_weight=w),
        "precision_recall_curve": lambda f: f(tl, sl, sample_weight=w),
        "roc_auc_score": lambda f: f(tl, sl, sample_weight=w),
        "average_precision_score": lambda f: f(tl, sl, sample_weight=w),
    }
    for name, call in calls.items():
        kind, value = outcome(lambda: call(getattr(fastcm, name)))
        if bad is not None:
            assert kind == "error", (name, value)
            check_error(value, f"position {bad}")
            continue
        assert kind == "ok", (name, value)
        want = outcome(lambda: getattr(skm, name)(t, r, sample_weight=w))[1]
        if name in ("roc_curve", "precision_recall_curve"):
            thr_idx = 2
            for got_a, want_a in zip(value[:thr_idx], want[:thr_idx]):
                np.testing.assert_allclose(got_a, want_a, rtol=1e-12, atol=1e-15)
            # thresholds: the scores themselves, exactly, where scikit-learn has their ranks
            uniq = sorted(set(py(s)))
            want_thr = [math.inf if not math.isfinite(v) else uniq[int(v)] for v in want[thr_idx].tolist()]
            if name == "roc_curve":  # float64, as scikit-learn's (inf first)
                want_thr = [float(v) for v in want_thr]
            else:
                assert value[thr_idx].dtype == s.dtype
            got_thr = value[thr_idx].tolist()
            assert got_thr == want_thr, (name, got_thr, want_thr)
        else:
            assert value == pytest.approx(want, rel=1e-12, abs=1e-15), name


# -- scikit-learn drop-in metrics ------------------------------------------------------------

DROP_INS = {
    "accuracy_score": {},
    "balanced_accuracy_score": {},
    "matthews_corrcoef": {},
    "cohen_kappa_score": {},
    "f1_score": {"average": "macro"},
    "precision_score": {"average": "micro"},
    "recall_score": {"average": "weighted"},
    "jaccard_score": {"average": "macro"},
    "fbeta_score": {"average": None, "beta": 2.0},
    "precision_recall_fscore_support": {"average": None},
}


@fuzz(40)
@given(st.data())
def test_drop_in_metrics_on_extreme_labels(data):
    dtype = data.draw(st.sampled_from([np.dtype(np.int64), np.dtype(np.uint64), np.dtype(np.int8), np.dtype(np.bool_)]))
    n = data.draw(st.integers(1, 10))
    pool, t, p = draw_labels(data, dtype, n)
    w = None if data.draw(st.booleans()) else np.array(data.draw(st.lists(st.sampled_from([1.0, 2.0, 0.5]), min_size=n, max_size=n)))
    # scikit-learn on the exact ranks of the labels: every score depends only on which labels are equal, in order
    order = {v: r for r, v in enumerate(sorted(set(py(t) + py(p))))}
    rt, rp = np.array([order[v] for v in py(t)]), np.array([order[v] for v in py(p)])
    for name, kw in DROP_INS.items():
        kind, value = outcome(lambda: getattr(fastcm, name)(t, p, sample_weight=w, **kw))
        wk, want = outcome(lambda: getattr(skm, name)(rt, rp, sample_weight=w, **kw))
        assert kind == wk, (name, value, want)
        if kind == "error":
            check_error(value)
            continue
        np.testing.assert_allclose(np.asarray(value, dtype=np.float64), np.asarray(want, dtype=np.float64), rtol=1e-12, atol=1e-15,
                                   err_msg=name)


# -- every drop-in: labels that weigh zero, weights that are all zero, empty input -------------

def _labels(f, t, p, s, w, **kw):
    return f(t, p, sample_weight=w, **kw)


def _indicators(f, t, p, s, w):
    eye = np.eye(3, dtype=np.int64)
    return f(eye[np.asarray(t, np.int64)], eye[np.asarray(p, np.int64)], sample_weight=w)


def _top_k(f, t, p, s, w, **kw):
    return f(np.asarray(t, np.int64), s, k=2, sample_weight=w, labels=[0, 1, 2], **kw)


def _binary(f, t, p, s, w):
    return f(np.asarray(t, np.int64) % 2, s[:, 1], sample_weight=w)


#: every scikit-learn drop-in: (its name, a call on labels ``t``, ``p`` in 0..2, (N, 3) scores ``s``, weights ``w``)
EVERY_DROP_IN = {
    "accuracy_score": ("accuracy_score", _labels),
    "balanced_accuracy_score": ("balanced_accuracy_score", _labels),
    "matthews_corrcoef": ("matthews_corrcoef", _labels),
    "cohen_kappa_score": ("cohen_kappa_score", _labels),
    "f1_score": ("f1_score", lambda *a: _labels(*a, average="macro", zero_division=0)),
    "fbeta_score": ("fbeta_score", lambda *a: _labels(*a, average=None, beta=2.0, zero_division=0)),
    "precision_score": ("precision_score", lambda *a: _labels(*a, average="micro", zero_division=0)),
    "recall_score": ("recall_score", lambda *a: _labels(*a, average="weighted", zero_division=0)),
    "jaccard_score": ("jaccard_score", lambda *a: _labels(*a, average="macro", zero_division=0)),
    "precision_recall_fscore_support": ("precision_recall_fscore_support", lambda *a: _labels(*a, zero_division=0)),
    "classification_report": ("classification_report", lambda *a: _labels(*a, output_dict=True, zero_division=0)),
    "classification_report_text": ("classification_report", lambda *a: _labels(*a, zero_division=0)),
    "multilabel_confusion_matrix": ("multilabel_confusion_matrix", _labels),
    "multilabel_confusion_matrix_indicators": ("multilabel_confusion_matrix", _indicators),
    "top_k_accuracy_score": ("top_k_accuracy_score", _top_k),
    "top_k_accuracy_score_unnormalized": ("top_k_accuracy_score", lambda *a: _top_k(*a, normalize=False)),
    "roc_curve": ("roc_curve", _binary),
    "precision_recall_curve": ("precision_recall_curve", _binary),
    "roc_auc_score": ("roc_auc_score", _binary),
    "average_precision_score": ("average_precision_score", _binary),
}
#: fastcm's own counting entry point (streaming): empty input and all-zero weights are counted
COUNTED = {"confusion_matrix": ("confusion_matrix", _labels)}


class _Library:
    """``fastcm``, ``fastcm.strict`` or ``sklearn.metrics``: ``call`` runs one drop-in on it."""

    def __init__(self, module):
        self.module = module

    def call(self, name, t, p, s, w):
        base, call = {**EVERY_DROP_IN, **COUNTED}[name]
        return outcome(lambda: call(getattr(self.module, base), t, p, s, w))

    def call_plain(self, name, t, s, w):
        return outcome(lambda: getattr(self.module, name)(t, s, sample_weight=w))


FASTCM, STRICT, SKLEARN = _Library(fastcm), _Library(fastcm.strict), _Library(skm)


def same_value(got, want, name):
    """Results equal to float64 rounding: matrices, tuples of arrays, report dicts (keys exactly)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (name, list(got), list(want))
        for key in want:
            same_value(got[key], want[key], name)
    elif isinstance(want, str):
        assert got == want, (name, got, want)
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want), name
        for g, v in zip(got, want):
            same_value(g, v, name)
    elif want is None:
        assert got is None, name
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64), rtol=1e-12,
                                   atol=1e-15, err_msg=name)


def same_error(got, want, name):
    """The exception scikit-learn raises, of its type and with its message (fastcm.strict)."""
    assert got[0] == "error", (name, got[1], want[1])
    assert type(got[1]) is type(want[1]) or isinstance(got[1], type(want[1])), (name, got[1], want[1])
    assert str(got[1]) == str(want[1]), (name, str(got[1]), str(want[1]))


ALL_ZERO = "Sample weights must contain at least one non-zero number."


def draw_drop_in_case(data, n):
    """Labels (int64, bool or whole float64, each side its own), 3-class scores with ties, weights."""
    hi = data.draw(st.sampled_from([1, 2]))  # 0/1 labels may be bools
    tv = data.draw(st.lists(st.integers(0, hi), min_size=n, max_size=n))
    pv = data.draw(st.lists(st.integers(0, hi), min_size=n, max_size=n))
    kinds = ["int64", "float64"] + (["bool"] if set(tv) <= {0, 1} and set(pv) <= {0, 1} else [])
    as_kind = {"int64": lambda v: np.array(v, np.int64), "float64": lambda v: np.array(v, np.float64),
               "bool": lambda v: np.array(v, np.bool_)}
    t, p = as_kind[data.draw(st.sampled_from(kinds))](tv), as_kind[data.draw(st.sampled_from(kinds))](pv)
    s = np.array(data.draw(st.lists(st.integers(-2, 2), min_size=3 * n, max_size=3 * n)), np.float64).reshape(n, 3)
    return t, p, s


@fuzz(25)
@given(st.data())
def test_every_drop_in_with_labels_that_weigh_zero(data):
    # some labels (in y_true, y_pred or both) carry only zero weights: results, names and errors as scikit-learn's
    n = data.draw(st.integers(1, 8))
    t, p, s = draw_drop_in_case(data, n)
    w = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.0, 1.0, 2.0, 0.5]), min_size=n, max_size=n)))
    if data.draw(st.booleans()):  # a label of y_true that weighs zero in all its samples
        w[t == data.draw(st.sampled_from(sorted(set(t.tolist()))))] = 0.0
    if not w.any():
        w[data.draw(st.integers(0, n - 1))] = 1.0
    for name in EVERY_DROP_IN:
        want = SKLEARN.call(name, t, p, s, w)
        for lib in (FASTCM, STRICT):
            got = lib.call(name, t, p, s, w)
            if want[0] == "error":
                assert got[0] == "error", (name, got[1], want[1])
                check_error(got[1])
                if lib is STRICT:
                    same_error(got, want, name)
                continue
            assert got[0] == "ok", (name, got[1])
            same_value(got[1], want[1], name)


@fuzz(10)
@given(st.data())
def test_every_drop_in_refuses_weights_that_are_all_zero(data):
    n = data.draw(st.integers(1, 6))
    t, p, s = draw_drop_in_case(data, n)
    w = np.zeros(n, data.draw(st.sampled_from([np.int64, np.float64])))
    for name in EVERY_DROP_IN:
        kind, value = FASTCM.call(name, t, p, s, w)
        assert kind == "error" and type(value) is ValueError and str(value) == ALL_ZERO, (name, value)
        want = SKLEARN.call(name, t, p, s, w)
        got = STRICT.call(name, t, p, s, w)
        if want[0] == "error":
            same_error(got, want, name)
        else:  # scikit-learn's top_k_accuracy_score(normalize=False): 0.0
            assert got == want, (name, got, want)
    for name in COUNTED:  # counted as given: a matrix of zeros
        kind, value = FASTCM.call(name, t, p, s, w)
        assert kind == "ok" and not np.asarray(value).any(), (name, value)


ONE_CLASS_CURVE_CASES = [
    ([1, 1], [0.2, 0.7]),  # binary, one class
    ([0, 0, 0], [0.2, 0.7, 0.1]),
    ([[1, 0], [1, 0]], [[0.2, 0.7], [0.1, 0.3]]),  # multilabel, every column of one class
    ([[1, 0], [0, 1]], [[0.2, 0.7], [0.1, 0.3]]),
]


@pytest.mark.parametrize("wdtype", [np.int64, np.float64])
@pytest.mark.parametrize("name", ["roc_auc_score", "average_precision_score", "roc_curve", "precision_recall_curve"])
@pytest.mark.parametrize("case", range(len(ONE_CLASS_CURVE_CASES)))
def test_one_class_curves_with_all_zero_weights(case, name, wdtype):
    # the top level refuses weights that are all zero before looking at the classes (no NaN
    # for one class); fastcm.strict keeps scikit-learn's outcome (roc_auc_score: NaN)
    t, s = ONE_CLASS_CURVE_CASES[case]
    if np.ndim(t) == 2 and name in ("roc_curve", "precision_recall_curve"):
        return  # binary curves only: refused for the layout
    w = np.zeros(len(t), wdtype)
    kind, value = outcome(lambda: getattr(fastcm, name)(t, s, sample_weight=w))
    assert kind == "error" and type(value) is ValueError and str(value) == ALL_ZERO, value
    got, want = STRICT.call_plain(name, t, s, w), SKLEARN.call_plain(name, t, s, w)
    if want[0] == "error":
        same_error(got, want, name)
    else:
        assert got[0] == "ok", (name, got[1])
        same_value(got[1], want[1], name)


@pytest.mark.parametrize("weights", [None, "empty"])
@pytest.mark.parametrize("name", list(EVERY_DROP_IN))
def test_every_drop_in_refuses_empty_input(name, weights):
    # one rule at the top level: a ValueError saying no sample was given (never a ZeroDivisionError)
    t, p, s = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3))
    w = None if weights is None else np.zeros(0)
    kind, value = FASTCM.call(name, t, p, s, w)
    assert kind == "error" and type(value) is ValueError, (name, value)
    assert "empty input" in str(value) or "0 sample" in str(value), (name, value)
    want, got = SKLEARN.call(name, t, p, s, w), STRICT.call(name, t, p, s, w)
    assert want[0] == "error"
    if isinstance(want[1], ValueError):  # fastcm.strict: scikit-learn's own words, a broadcast error included
        same_error(got, want, name)
    else:  # scikit-learn's average_precision_score fails on an index: fastcm.strict says what was wrong
        assert got[0] == "error" and type(got[1]) is ValueError, (name, got[1])
        assert "0 sample" in str(got[1]) or "empty input" in str(got[1]), (name, got[1])
    for name in COUNTED:
        assert FASTCM.call(name, t, p, s, w)[1].shape == (0, 0)


# -- inputs no kernel may see: 0-d, empty, wrong lengths, strings mixed with ints, objects ----

ENTRY_POINTS = {
    "confusion_matrix": lambda t, p, **k: fastcm.confusion_matrix(t, p, **k),
    "confusion_matrix_num_classes": lambda t, p, **k: fastcm.confusion_matrix(t, p, num_classes=3, **k),
    "confusion_matrix_labels": lambda t, p, **k: fastcm.confusion_matrix(t, p, labels=[0, 1], **k),
    "ConfusionMatrix.update": lambda t, p, **k: fastcm.ConfusionMatrix(num_classes=3, **k).update(t, p).compute(),
    "ConfusionMatrix.update_growing": lambda t, p, **k: fastcm.ConfusionMatrix(**k).update(t, p).compute(),
    "binary_confusion_matrix": lambda t, p, **k: fastcm.binary_confusion_matrix(t, p, **k),
    "threshold_confusion_matrices": lambda t, p, **k: fastcm.threshold_confusion_matrices(t, p, thresholds=3, **k),
    "ThresholdConfusionMatrix.update": lambda t, p, **k: fastcm.ThresholdConfusionMatrix(3, **k).update(t, p).compute(),
    "multilabel_confusion_matrix": lambda t, p, **k: fastcm.multilabel_confusion_matrix(t, p, **k),
    "top_k_accuracy_score": lambda t, p, **k: fastcm.top_k_accuracy_score(t, p),
    "roc_curve": lambda t, p, **k: fastcm.roc_curve(t, p),
    "precision_recall_curve": lambda t, p, **k: fastcm.precision_recall_curve(t, p),
    "roc_auc_score": lambda t, p, **k: fastcm.roc_auc_score(t, p),
    "average_precision_score": lambda t, p, **k: fastcm.average_precision_score(t, p),
    "accuracy_score": lambda t, p, **k: fastcm.accuracy_score(t, p),
    "precision_recall_fscore_support": lambda t, p, **k: fastcm.precision_recall_fscore_support(t, p),
    "matthews_corrcoef": lambda t, p, **k: fastcm.matthews_corrcoef(t, p),
    "cohen_kappa_score": lambda t, p, **k: fastcm.cohen_kappa_score(t, p),
}
TAKES_BACKEND = {"confusion_matrix", "confusion_matrix_num_classes", "confusion_matrix_labels", "ConfusionMatrix.update",
                 "ConfusionMatrix.update_growing", "binary_confusion_matrix", "threshold_confusion_matrices",
                 "ThresholdConfusionMatrix.update", "multilabel_confusion_matrix"}

BAD_INPUTS = {
    "0-d": (np.array(1), np.array(0.5)),
    "0-d_truth": (np.array(1), np.array([0.5])),
    "python_scalar": (1, 0),
    "none": (None, [0, 1]),
    "wrong_length": ([0, 1, 1], [0.2, 0.7]),
    "str_mixed_with_int": (np.array(["a", 1], dtype=object), [0, 1]),
    "object_of_floats": (np.array([0, 1], dtype=object), np.array([0.5, None], dtype=object)),
    "object_of_lists": (np.array([0, 1]), np.array([[0], [1]], dtype=object).reshape(2)),
    "strings_vs_ints": (["a", "b"], [0, 1]),
    "complex": (np.array([0, 1]), np.array([0.1, 0.7], dtype=np.complex128)),
    "datetime": (np.array([0, 1]), np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]")),
    "float128": (np.array([0, 1]), np.array([0.1, 0.7], dtype=np.longdouble)),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_bad_inputs_are_value_or_type_errors(entry, case):
    t, p = BAD_INPUTS[case]
    if case == "float128" and np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("no extended precision on this platform")
    kinds = []
    for b in BACKENDS if entry in TAKES_BACKEND else [None]:
        kw = {} if b is None else {"backend": b}
        kind, value = outcome(lambda: ENTRY_POINTS[entry](t, p, **kw))
        kinds.append((kind, type(value).__name__ if kind == "error" else None))
        if kind == "error":
            check_error(value)
            assert str(value), "an error must say what was wrong"
    assert len(set(kinds)) == 1, kinds


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_empty_inputs_give_a_result_or_a_clean_error(entry):
    shapes = {"top_k_accuracy_score": (0, 3), "multilabel_confusion_matrix": (0, 2)}
    p = np.zeros(shapes.get(entry, (0,)))
    t = np.zeros((0, 2) if entry == "multilabel_confusion_matrix" else (0,), np.int64)
    results = []
    for b in BACKENDS if entry in TAKES_BACKEND else [None]:
        kw = {} if b is None else {"backend": b}
        kind, value = outcome(lambda: ENTRY_POINTS[entry](t, p, **kw))
        if kind == "error":
            check_error(value)
        results.append((kind, value))
    same_on_backends(results)


# -- minimal reproducers of what the fuzz found (fixed) --------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_labels_list_mixing_negative_and_beyond_int64_is_not_rounded(backend):
    # np.asarray([-5, 2**63 + 7]) is float64: 2**63 + 7 became 2**63 and matched that value
    t = np.array([2**63, 1], np.uint64)
    kind, value = outcome(lambda: fastcm.confusion_matrix(t, t, labels=[-5, 2**63 + 7], backend=backend))
    assert kind == "error"
    check_error(value, "-5", str(2**63 + 7))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("labels", [[2**64], np.array([1, 2**63], dtype=object), [None, 1]])
def test_labels_beyond_64_bits_or_of_no_label_type_are_named(backend, labels):
    t = np.array([2**63, 1], np.uint64)
    kind, value = outcome(lambda: fastcm.confusion_matrix(t, t, labels=labels, backend=backend))
    if kind == "ok":  # uint64 holds [1, 2**63]
        assert value.tolist() == [[1, 0], [0, 1]]
    else:
        check_error(value, repr(np.asarray(labels, dtype=object).reshape(-1)[0]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_labels_count_int64_against_uint64_beyond_int64(backend):
    # with labels, each side is matched in its own dtype: no common dtype is needed
    t = np.array([-1, 0, 5], np.int64)
    p = np.array([2**63, 0, 5], np.uint64)
    assert fastcm.confusion_matrix(t, p, labels=[0, 5, -1], backend=backend).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("wdtype", [np.float16, np.float64])
def test_empty_input_with_float_weights_gives_float_counts(backend, wdtype):
    out = fastcm.confusion_matrix(np.array([], np.int64), np.array([], np.int64), sample_weight=np.array([], wdtype), backend=backend)
    assert out.shape == (0, 0) and out.dtype == np.float64


# -- minimal reproducers of bugs the suite found ------------------------------------------------


# fixed bugs, kept as regression tests


def test_weighted_f1_of_uint64_labels_beyond_2_53():
    a = 2**53
    t = np.array([a] * 4, np.uint64)
    p = np.array([a, a, a, a + 1], np.uint64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = fastcm.f1_score(t, p, average="macro", sample_weight=np.ones(4))
        want = skm.f1_score([0] * 4, [0, 0, 0, 1], average="macro", sample_weight=np.ones(4))
    assert got == want  # 0.375 instead of 0.42857142857142855


@pytest.mark.parametrize("backend", BACKENDS)
def test_multilabel_rejects_infinite_scores(backend):
    kind, value = outcome(lambda: fastcm.multilabel_confusion_matrix(
        np.array([[0, 1]]), np.array([[np.inf, 0.2]]), threshold=0.5, backend=backend))
    assert kind == "error"
    check_error(value, "inf", "(0, 0)")
