"""Results in the caller's array type: fastcm.confusion_matrix and the ``like=`` argument."""

import warnings

import numpy as np
import pytest

import fastcm
from fastcm.backends.arrays import KINDS, kind_of, resolve, to_caller

T, P = [0, 1, 2, 2], [0, 2, 2, 1]
WANT = [[1, 0, 0], [0, 0, 1], [0, 1, 1]]


def test_numpy_and_lists_stay_numpy():
    assert type(fastcm.confusion_matrix(T, P)) is np.ndarray
    assert type(fastcm.confusion_matrix(np.array(T), P, like="numpy")) is np.ndarray
    assert resolve(None, T, P) == "numpy" and kind_of(np.zeros(1)) == "numpy"


def test_like_is_checked():
    with pytest.raises(ValueError, match="Expected `like` to be one of 'numpy'"):
        fastcm.confusion_matrix(T, P, like="pandas")
    with pytest.raises(ValueError, match="the module pytest"):
        resolve(pytest)
    assert resolve(np) == "numpy" and set(KINDS) >= {"torch", "jax", "tensorflow", "cupy"}


def test_torch_in_torch_out_without_copy():
    torch = pytest.importorskip("torch")
    t, p = torch.tensor(T), torch.tensor(P)
    got = fastcm.confusion_matrix(t, p)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.int64 and got.tolist() == WANT
    assert isinstance(fastcm.confusion_matrix(T, p), torch.Tensor)  # y_pred's type when y_true is a list
    as_numpy = fastcm.confusion_matrix(t, p, like="numpy")
    assert type(as_numpy) is np.ndarray and as_numpy.tolist() == WANT
    assert isinstance(fastcm.confusion_matrix(t, p, like=np), np.ndarray)
    assert isinstance(fastcm.confusion_matrix(T, P, like=torch.zeros(1)), torch.Tensor)
    normalized = fastcm.confusion_matrix(t, p, normalize="true")
    assert normalized.dtype == torch.float64
    counts = np.eye(2, dtype=np.int64)
    assert to_caller(counts, "torch").data_ptr() == counts.ctypes.data  # zero-copy
    frozen = counts.copy()
    frozen.flags.writeable = False
    assert to_caller(frozen, "torch").tolist() == [[1, 0], [0, 1]]


def test_tensorflow_in_tensorflow_out():
    tf = pytest.importorskip("tensorflow")
    got = fastcm.confusion_matrix(tf.constant(T), tf.constant(P))
    assert isinstance(got, tf.Tensor) and got.dtype == tf.int64 and got.numpy().tolist() == WANT
    assert type(fastcm.confusion_matrix(tf.constant(T), tf.constant(P), like="numpy")) is np.ndarray


def test_jax_in_jax_out():
    jnp = pytest.importorskip("jax.numpy")
    got = fastcm.confusion_matrix(jnp.asarray(T), jnp.asarray(P))
    assert kind_of(got) == "jax" and np.asarray(got).tolist() == WANT


def test_jax_without_x64_refuses_a_count_past_int32():
    from fastcm.backends.arrays import _int32_for_jax

    with pytest.raises(OverflowError, match="like='numpy'"):
        _int32_for_jax(np.array([2**31], dtype=np.int64))
    assert _int32_for_jax(np.array([2**31 - 1], dtype=np.int64)).tolist() == [2**31 - 1]


# -- everywhere a result holds counts: the other functions, the accumulators, the metrics --

FRAMEWORKS = ("torch", "tensorflow", "jax")


@pytest.fixture(params=FRAMEWORKS)
def framework(request):
    """(kind, array maker, host reader) for each framework installed; skips the others."""
    if request.param == "torch":
        torch = pytest.importorskip("torch")
        return "torch", torch.tensor, lambda a: a.numpy()
    if request.param == "tensorflow":
        tf = pytest.importorskip("tensorflow")
        return "tensorflow", tf.constant, lambda a: a.numpy()
    jnp = pytest.importorskip("jax.numpy")
    return "jax", jnp.asarray, np.asarray


def _same(got, kind, read, want):
    assert kind_of(got) == kind, type(got)
    np.testing.assert_array_equal(read(got), want)


S = [0.1, 0.8, 0.4, 0.5, 0.9, 0.3]
Y = [0, 1, 1, 0, 1, 0]


def test_threshold_functions_answer_in_the_callers_type(framework):
    kind, arr, read = framework
    _same(fastcm.binary_confusion_matrix(arr(Y), arr(S)), kind, read, fastcm.binary_confusion_matrix(Y, S))
    _same(fastcm.binary_confusion_matrix(Y, arr(S)), kind, read, fastcm.binary_confusion_matrix(Y, S))  # y_score's type
    want = fastcm.threshold_confusion_matrices(Y, S, thresholds=[0.2, 0.5, 0.85])
    _same(fastcm.threshold_confusion_matrices(arr(Y), arr(S), thresholds=[0.2, 0.5, 0.85]), kind, read, want)
    scores = np.random.default_rng(0).random((6, 3))
    want = fastcm.threshold_confusion_matrices([0, 1, 2, 2, 1, 0], scores, thresholds=5)
    _same(fastcm.threshold_confusion_matrices(arr([0, 1, 2, 2, 1, 0]), arr(scores), thresholds=5), kind, read, want)
    for got in (fastcm.binary_confusion_matrix(arr(Y), arr(S), like="numpy"),
                fastcm.threshold_confusion_matrices(arr(Y), arr(S), thresholds=3, like=np)):
        assert type(got) is np.ndarray


def test_multilabel_answers_in_the_callers_type(framework):
    kind, arr, read = framework
    t, p = [[1, 0, 1], [0, 1, 1]], [[1, 1, 0], [0, 0, 1]]
    _same(fastcm.multilabel_confusion_matrix(arr(t), arr(p)), kind, read, fastcm.multilabel_confusion_matrix(t, p))
    scores = [[0.7, 0.2, 0.4], [0.1, 0.9, 0.6]]
    _same(fastcm.multilabel_confusion_matrix(arr(t), arr(scores)), kind, read, fastcm.multilabel_confusion_matrix(t, scores))
    assert type(fastcm.multilabel_confusion_matrix(arr(t), arr(p), like="numpy")) is np.ndarray


def test_numpy_inputs_still_give_numpy():
    assert type(fastcm.binary_confusion_matrix(Y, S)) is np.ndarray
    assert type(fastcm.threshold_confusion_matrices(np.array(Y), np.array(S))) is np.ndarray
    assert type(fastcm.multilabel_confusion_matrix([[1, 0]], [[1, 1]])) is np.ndarray
    cm = fastcm.ConfusionMatrix(3).update(np.array(T), P)
    assert type(cm.compute()) is np.ndarray and cm.compute() is cm.compute()  # the state, as before
    assert type(fastcm.ThresholdConfusionMatrix(thresholds=3).update(Y, np.array(S)).compute()) is np.ndarray


def test_the_functions_share_memory_with_the_counts_for_cpu_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    import fastcm.counts.multilabel
    import fastcm.counts.thresholds

    seen = []

    def recording(result, like, *inputs):
        seen.append(result)
        return to_caller(result, like, *inputs)

    monkeypatch.setattr(fastcm.counts.thresholds, "to_caller", recording)
    monkeypatch.setattr(fastcm.counts.multilabel, "to_caller", recording)
    calls = (lambda: fastcm.binary_confusion_matrix(torch.tensor(Y), torch.tensor(S)),
             lambda: fastcm.threshold_confusion_matrices(torch.tensor(Y), torch.tensor(S), thresholds=4),
             lambda: fastcm.multilabel_confusion_matrix(torch.tensor([[1, 0]]), torch.tensor([[1, 1]])))
    for call in calls:
        got = call()
        assert isinstance(got, torch.Tensor) and np.shares_memory(got.numpy(), seen[-1])


@pytest.mark.parametrize("growing", [False, True])
def test_the_accumulator_answers_in_the_type_it_was_fed(framework, growing):
    kind, arr, read = framework
    ref = fastcm.ConfusionMatrix(None if growing else 3).update(T, P).update([1], [1])
    cm = fastcm.ConfusionMatrix(None if growing else 3)
    assert type(cm.compute()) is np.ndarray  # nothing fed yet: numpy
    cm.update(arr(T), arr(P)).update(arr([1]), arr([1]))
    _same(cm.compute(), kind, read, ref.compute())
    _same(cm.matrix, kind, read, ref.compute())
    cm.update([2], [0])  # a later batch of another type does not change it: the first decided
    _same(cm.compute(), kind, read, ref.copy().update([2], [0]).compute())
    assert type(cm.precision()) is np.ndarray and type(cm.accuracy()) is float  # metrics: numpy
    np.testing.assert_array_equal(cm.precision(), ref.copy().update([2], [0]).precision())
    assert type(cm.reset().compute()) is np.ndarray  # reset: the next update decides again
    assert kind_of(cm.update(T, arr(P)).compute()) == kind  # y_pred's type when y_true is a list


def test_like_on_the_accumulator(framework):
    kind, arr, read = framework
    as_numpy = fastcm.ConfusionMatrix(3, like="numpy").update(arr(T), arr(P))
    assert type(as_numpy.compute()) is np.ndarray and as_numpy.compute().tolist() == WANT
    asked = fastcm.ConfusionMatrix(3, like=kind)
    _same(asked.compute(), kind, read, np.zeros((3, 3), np.int64))  # before any batch too
    _same(asked.update(T, P).compute(), kind, read, WANT)
    with pytest.raises(ValueError, match="Expected `like` to be one of"):
        fastcm.ConfusionMatrix(3, like="pandas")


def test_the_accumulator_shares_memory_with_its_counts_for_cpu_torch():
    torch = pytest.importorskip("torch")
    cm = fastcm.ConfusionMatrix(3).update(torch.tensor(T), torch.tensor(P))
    got = cm.compute()
    assert isinstance(got, torch.Tensor) and got.dtype == torch.int64
    assert np.shares_memory(got.numpy(), cm._matrix())  # zero-copy
    cm.update(torch.tensor([0]), torch.tensor([0]))
    assert got.tolist() == WANT and cm.compute()[0, 0] == 2  # a handed-out matrix never changes


def test_the_accumulators_type_through_pickle_copy_merge_save_and_load(framework, tmp_path):
    import pickle

    kind, arr, read = framework
    cm = fastcm.ConfusionMatrix(3).update(arr(T), arr(P))
    for other in (pickle.loads(pickle.dumps(cm)), cm.copy(), cm + cm, sum([cm, cm]), fastcm.ConfusionMatrix(3).merge(cm)):
        assert kind_of(other.compute()) == kind
    assert type(fastcm.ConfusionMatrix(3).update(T, P).merge(cm).compute()) is np.ndarray  # decided: numpy stays
    cm.save(tmp_path / "cm.npz")
    loaded = fastcm.ConfusionMatrix.load(tmp_path / "cm.npz")
    assert type(loaded.compute()) is np.ndarray and loaded == cm  # a file holds no array type
    _same(fastcm.ConfusionMatrix.load(tmp_path / "cm.npz", like=kind).compute(), kind, read, WANT)
    assert kind_of(loaded.update(arr([0]), arr([0])).compute()) == kind  # or the next update decides


def test_the_threshold_accumulator_answers_in_the_type_it_was_fed(framework, tmp_path):
    import pickle

    kind, arr, read = framework
    ref = fastcm.ThresholdConfusionMatrix(thresholds=[0.3, 0.6]).update(Y, S)
    m = fastcm.ThresholdConfusionMatrix(thresholds=[0.3, 0.6])
    assert type(m.compute()) is np.ndarray
    m.update(arr(Y), arr(S))
    _same(m.compute(), kind, read, ref.compute())
    assert m.auroc() == ref.auroc() and type(m.roc_curve()[0]) is np.ndarray  # curves: numpy
    assert m.best_threshold() == ref.best_threshold()
    for other in (pickle.loads(pickle.dumps(m)), m.copy(), fastcm.ThresholdConfusionMatrix(thresholds=[0.3, 0.6]).merge(m)):
        _same(other.compute(), kind, read, ref.compute())
    as_numpy = fastcm.ThresholdConfusionMatrix(thresholds=[0.3, 0.6], like="numpy").update(arr(Y), arr(S))
    assert type(as_numpy.compute()) is np.ndarray
    m.save(tmp_path / "m.npz")
    assert type(fastcm.ThresholdConfusionMatrix.load(tmp_path / "m.npz").compute()) is np.ndarray
    _same(fastcm.ThresholdConfusionMatrix.load(tmp_path / "m.npz", like=kind).compute(), kind, read, ref.compute())
    classes = fastcm.ThresholdConfusionMatrix(thresholds=3, num_classes=3).update(arr([0, 1, 2]), arr(np.eye(3)))
    want = fastcm.ThresholdConfusionMatrix(thresholds=3, num_classes=3).update([0, 1, 2], np.eye(3)).compute()
    _same(classes.compute(), kind, read, want)
    assert type(m.reset().compute()) is np.ndarray


def test_the_threshold_accumulator_shares_memory_for_cpu_torch():
    torch = pytest.importorskip("torch")
    m = fastcm.ThresholdConfusionMatrix(thresholds=[0.5], like=torch).update(Y, S)
    got = m.compute()
    assert isinstance(got, torch.Tensor) and got.tolist() == [[[2, 1], [1, 2]]]


def test_metrics_of_a_tensor_matrix_are_numpy(framework):
    kind, arr, read = framework
    cm = np.array([[5, 1, 0], [2, 2, 1], [0, 1, 3]])
    m = arr(cm)
    for name in ("precision", "recall", "f1", "support", "specificity", "iou"):
        got = getattr(fastcm.metrics, name)(m)
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, getattr(fastcm.metrics, name)(cm))
    for name in ("accuracy", "balanced_accuracy", "mcc", "cohen_kappa", "mean_iou"):
        got = getattr(fastcm.metrics, name)(m)
        assert type(got) is float and got == getattr(fastcm.metrics, name)(cm)
    assert fastcm.metrics.f1(m, average="macro") == fastcm.metrics.f1(cm, average="macro")
    assert fastcm.metrics.report(m) == fastcm.metrics.report(cm)


def test_metrics_read_a_torch_matrix_that_requires_grad():
    torch = pytest.importorskip("torch")
    soft = torch.tensor([[5.0, 1.0], [2.0, 2.0]], requires_grad=True)  # a differentiable (soft) matrix
    np.testing.assert_array_equal(fastcm.metrics.precision(soft), fastcm.metrics.precision(np.array([[5, 1], [2, 2]])))


def test_readers_of_an_accumulator_take_one_fed_tensors(framework):
    kind, arr, read = framework
    cm = fastcm.ConfusionMatrix(2).update(arr([0, 0, 1, 1] * 10), arr([0, 1, 1, 1] * 10))
    ref = fastcm.ConfusionMatrix(2).update([0, 0, 1, 1] * 10, [0, 1, 1, 1] * 10)
    assert fastcm.check(cm, min_accuracy=0.5).passed == fastcm.check(ref, min_accuracy=0.5).passed
    ci = fastcm.metrics.confidence_interval(cm, "recall", method="wilson")
    np.testing.assert_array_equal(ci.low, fastcm.metrics.confidence_interval(ref, "recall", method="wilson").low)
    assert str(fastcm.diagnose(ref.compute(), train=cm)) == str(fastcm.diagnose(ref.compute(), train=ref))


# -- every public entry point that takes arrays, fed each framework's arrays --------------------

_R = np.random.default_rng(7)
_Y3, _P3, _W = _R.integers(0, 3, 40), _R.integers(0, 3, 40), _R.random(40)
_YB, _SB = _R.integers(0, 2, 40), _R.random(40)
_PROBS, _LOGITS = _R.dirichlet([1, 1, 1], 40), _R.normal(size=(40, 3))
_YML, _PML = _R.integers(0, 2, (40, 3)), _R.integers(0, 2, (40, 3))

#: entry points whose counts answer in the caller's type: name -> call(arr)
COUNTS = {
    "confusion_matrix": lambda a: fastcm.confusion_matrix(a(_Y3), a(_P3)),
    "confusion_matrix weighted": lambda a: fastcm.confusion_matrix(a(_Y3), a(_P3), sample_weight=a(_W)),
    "confusion_matrix logits": lambda a: fastcm.confusion_matrix(a(_Y3), a(_LOGITS)),
    "confusion_matrix labels": lambda a: fastcm.confusion_matrix(a(_Y3), a(_P3), labels=a(np.array([2, 0]))),
    "confusion_matrix normalize": lambda a: fastcm.confusion_matrix(a(_Y3), a(_P3), normalize="all"),
    "confusion_matrix ignore_index": lambda a: fastcm.confusion_matrix(a(_Y3), a(_P3), num_classes=3, ignore_index=2),
    "binary_confusion_matrix": lambda a: fastcm.binary_confusion_matrix(a(_YB), a(_SB)),
    "threshold_confusion_matrices": lambda a: fastcm.threshold_confusion_matrices(a(_YB), a(_SB), thresholds=a(np.array([0.2, 0.5]))),
    "multilabel_confusion_matrix": lambda a: fastcm.multilabel_confusion_matrix(a(_YML), a(_PML), labels=a(np.array([2, 0]))),
    "ConfusionMatrix.update weighted": lambda a: fastcm.ConfusionMatrix(3).update(a(_Y3), a(_P3), sample_weight=a(_W)).compute(),
    "ConfusionMatrix.update logits": lambda a: fastcm.ConfusionMatrix(3).update(a(_Y3), a(_LOGITS)).compute(),
    "ConfusionMatrix(labels=)": lambda a: fastcm.ConfusionMatrix(labels=a(np.array([0, 1, 2]))).update(a(_Y3), a(_P3)).compute(),
    "ThresholdConfusionMatrix": lambda a: fastcm.ThresholdConfusionMatrix(thresholds=a(np.array([0.3, 0.6]))).update(a(_YB), a(_SB)).compute(),
    "evaluate": lambda a: fastcm.evaluate(iter([(a(_Y3), a(_P3))]), num_classes=3, progress=False).compute(),
}

#: entry points that follow scikit-learn (numpy arrays and Python floats, whatever came in)
NUMBERS = {
    **{name: (lambda a, name=name: getattr(fastcm, name)(a(_Y3), a(_P3)))
       for name in ("accuracy_score", "balanced_accuracy_score", "matthews_corrcoef", "cohen_kappa_score",
                    "classification_report", "precision_recall_fscore_support")},
    **{name: (lambda a, name=name: getattr(fastcm, name)(a(_Y3), a(_P3), average=None, sample_weight=a(_W)))
       for name in ("precision_score", "recall_score", "f1_score", "jaccard_score")},
    "fbeta_score": lambda a: fastcm.fbeta_score(a(_Y3), a(_P3), beta=2, average="weighted"),
    "top_k_accuracy_score": lambda a: fastcm.top_k_accuracy_score(a(_Y3), a(_PROBS), k=2),
    "roc_curve": lambda a: fastcm.roc_curve(a(_YB), a(_SB)),
    "precision_recall_curve": lambda a: fastcm.precision_recall_curve(a(_YB), a(_SB)),
    "roc_auc_score": lambda a: fastcm.roc_auc_score(a(_YB), a(_SB)),
    "roc_auc_score ovr": lambda a: fastcm.roc_auc_score(a(_Y3), a(_PROBS), multi_class="ovr"),
    "average_precision_score": lambda a: fastcm.average_precision_score(a(_YB), a(_SB)),
    "calibration_error": lambda a: fastcm.calibration_error(a(_Y3), a(_PROBS)),
    "compare": lambda a: fastcm.compare(a(_Y3), a(_P3), a(np.roll(_P3, 1)), n_resamples=100, random_state=0).p_value,
    "PairedComparison.update": lambda a: fastcm.PairedComparison(3).update(a(_Y3), a(_P3), a(np.roll(_P3, 1))).compute().p_value,
    "CalibrationError.update": lambda a: fastcm.CalibrationError().update(a(_Y3), a(_PROBS)).compute().ece,
    "threshold_for": lambda a: fastcm.threshold_for(a(fastcm.threshold_confusion_matrices(_YB, _SB, thresholds=[0.2, 0.5, 0.85])),
                                                    a(np.array([0.2, 0.5, 0.85])), recall=0.5).threshold,
    "strict.confusion_matrix": lambda a: fastcm.strict.confusion_matrix(a(_Y3), a(_P3)),
    "strict.f1_score": lambda a: fastcm.strict.f1_score(a(_Y3), a(_P3), average="macro"),
    "strict.roc_curve": lambda a: fastcm.strict.roc_curve(a(_YB), a(_SB)),
    "strict.multilabel_confusion_matrix": lambda a: fastcm.strict.multilabel_confusion_matrix(a(_YML), a(_PML)),
}


def _host_of(arr, read):
    """The framework's array read back to numpy: the same values as fastcm was given (a JAX
    array without x64 holds float32 where numpy held float64)."""
    return lambda x: read(arr(x))


def _flat(x):
    return list(x) if isinstance(x, tuple) else [x]


@pytest.mark.parametrize("name", COUNTS)
def test_every_count_entry_point_answers_in_the_callers_type(framework, name):
    kind, arr, read = framework
    got, want = COUNTS[name](arr), COUNTS[name](_host_of(arr, read))
    assert type(want) is np.ndarray
    _same(got, kind, read, want.astype(np.float32) if kind == "jax" and want.dtype == np.float64 else want)


@pytest.mark.parametrize("name", NUMBERS)
def test_every_scikit_learn_style_entry_point_reads_the_callers_arrays(framework, name):
    kind, arr, read = framework
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an undefined ratio warns alike for both
        got, want = NUMBERS[name](arr), NUMBERS[name](_host_of(arr, read))
    for g, w in zip(_flat(got), _flat(want), strict=True):
        assert type(g) is type(w) and type(g) in (np.ndarray, float, str), (type(g), type(w))
        np.testing.assert_array_equal(g, w)


# -- JAX: its dtypes, like= in every spelling ---------------------------------------------------


def test_jax_results_take_jaxs_dtypes_and_like_gives_numpy_back():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    t, p, w = jnp.asarray(T), jnp.asarray(P), jnp.asarray([0.5, 1.0, 2.0, 0.25])
    got = fastcm.confusion_matrix(t, p)
    assert isinstance(got, jax.Array) and got.dtype == jnp.int32 and got.tolist() == WANT  # no int64 without x64
    weighted = fastcm.confusion_matrix(t, p, sample_weight=w)
    assert isinstance(weighted, jax.Array) and weighted.dtype == jnp.float32
    assert weighted.tolist() == [[0.5, 0, 0], [0, 0, 1.0], [0, 0.25, 2.0]]
    for like in ("numpy", np, np.zeros(1)):
        as_numpy = fastcm.confusion_matrix(t, p, sample_weight=w, like=like)
        assert type(as_numpy) is np.ndarray and as_numpy.dtype == np.float64
        np.testing.assert_array_equal(as_numpy, np.asarray(weighted, dtype=np.float64))
    for like in ("jax", jnp, jnp.zeros(1)):  # asked for, from numpy input
        asked = fastcm.confusion_matrix(np.array(T), P, like=like)
        assert isinstance(asked, jax.Array) and asked.tolist() == WANT
    assert type(fastcm.ConfusionMatrix(3, like=jnp).update(T, P).compute()).__module__.split(".")[0] in ("jax", "jaxlib")


def test_jax_with_x64_gets_int64_and_without_it_a_count_past_int32_is_refused():
    jax = pytest.importorskip("jax")
    if not hasattr(jax, "enable_x64"):
        pytest.skip("this JAX has no jax.enable_x64 context")
    cm = fastcm.ConfusionMatrix(2).update(jax.numpy.asarray([0]), jax.numpy.asarray([0]))
    for _ in range(31):
        cm = cm + cm  # 2**31 pairs counted without counting them
    with pytest.raises(OverflowError, match="like='numpy'"):
        cm.compute()  # JAX without x64 holds int32: refused, never wrapped
    assert type(fastcm.ConfusionMatrix(2, like="numpy").merge(cm).compute()) is np.ndarray
    assert int(fastcm.ConfusionMatrix(2, like="numpy").merge(cm).compute()[0, 0]) == 2**31
    with jax.enable_x64(True):
        big = cm.compute()
        assert isinstance(big, jax.Array) and big.dtype == jax.numpy.int64 and int(big[0, 0]) == 2**31
        small = fastcm.confusion_matrix(jax.numpy.asarray(T), jax.numpy.asarray(P), normalize="true")
        assert small.dtype == jax.numpy.float64
