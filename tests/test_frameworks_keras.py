"""fastcm.keras against keras.metrics and scikit-learn: eager updates, model.fit/evaluate in
graph mode on scikit-learn's digits, saving. Skips without Keras 3 on TensorFlow."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
if not keras.__version__.startswith("3") or keras.backend.backend() != "tensorflow":
    pytest.skip("fastcm.keras needs Keras 3 on the TensorFlow backend", allow_module_level=True)

from sklearn import metrics as skm  # noqa: E402

from fastcm import keras as fk  # noqa: E402

C = 4

# TensorFlow's own numpy-2 notice, raised inside tf.numpy_function and Keras
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, C, n)
    logits = rng.normal(size=(n, C)).astype(np.float32)
    logits[np.arange(n), t] += 1.0
    return t, logits


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", "none"])
@pytest.mark.parametrize(
    "ours, ref",
    [(fk.Precision, skm.precision_score), (fk.Recall, skm.recall_score), (fk.F1Score, skm.f1_score), (fk.IoU, skm.jaccard_score)],
    ids=["precision", "recall", "f1", "iou"],
)
def test_eager_updates_match_scikit_learn(ours, ref, average):
    m = ours(C, average=average)
    t, logits = _data()
    for i in range(0, len(t), 64):
        m.update_state(t[i:i + 64], logits[i:i + 64])
    want = ref(t, logits.argmax(1), average=None if average == "none" else average, labels=range(C), zero_division=0)
    np.testing.assert_allclose(m.result().numpy(), want, rtol=1e-6)
    m.reset_state()
    assert float(tf.reduce_sum(m.counts)) == 0


def test_label_layouts_weights_ignore_index_and_binary_scores():
    t, logits = _data(50)
    want = skm.confusion_matrix(t, logits.argmax(1), labels=range(C))
    for y_true in (t, t[:, None], np.eye(C)[t]):  # sparse, (N, 1), one-hot
        m = fk.ConfusionMatrix(C)
        m.update_state(y_true, logits)
        np.testing.assert_array_equal(m.result().numpy(), want)
    m = fk.ConfusionMatrix(C, ignore_index=3)
    m.update_state(t, logits, sample_weight=np.full(len(t), 2.0))
    np.testing.assert_array_equal(m.result().numpy(), 2 * skm.confusion_matrix(t[t != 3], logits.argmax(1)[t != 3], labels=range(C)))
    seg = fk.ConfusionMatrix(C)  # class axis last, as Keras segmentation models give it
    seg.update_state(t.reshape(5, 10), logits.reshape(5, 10, C))
    np.testing.assert_array_equal(seg.result().numpy(), want)
    # binary: one sigmoid column, probabilities or logits
    yb, z = (t % 2), logits[:, 0]
    prob = 1 / (1 + np.exp(-z))
    for scores, kw in ((prob, {}), (z, {"from_logits": True}), (prob[:, None], {})):
        m = fk.Recall(2, average="none", threshold=0.3, **kw)
        m.update_state(yb, scores)
        np.testing.assert_allclose(m.result().numpy(), skm.recall_score(yb, prob >= 0.3, average=None), rtol=1e-6)


def test_config_round_trip_and_checks():
    m = fk.F1Score(C, average="weighted", ignore_index=255, name="f1w")
    again = fk.F1Score.from_config(m.get_config())
    assert (again.name, again.average, again.ignore_index, again.num_classes) == ("f1w", "weighted", 255, C)
    fb = fk.FBetaScore.from_config(fk.FBetaScore(C, beta=2.0).get_config())
    assert fb.beta == 2.0 and fb.name == "fbeta_score"
    with pytest.raises(ValueError, match="average"):
        fk.Precision(C, average="samples")
    with pytest.raises(ValueError, match="num_classes"):
        fk.ConfusionMatrix(1)


def test_recipe_fit_and_evaluate_on_digits_match_keras_metrics(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[fk.F1Score(10), fk.IoU(10), fk.Accuracy(10, average="micro"), fk.ConfusionMatrix(10),
                 keras.metrics.SparseCategoricalAccuracy(name="keras_accuracy")],
    )
    hist = model.fit(X[:1400], y[:1400], epochs=2, batch_size=64, validation_data=(X[1400:], y[1400:]), verbose=0)
    assert hist.history["val_accuracy"] == pytest.approx(hist.history["val_keras_accuracy"], abs=1e-6)
    got = model.evaluate(X[1400:], y[1400:], batch_size=64, verbose=0, return_dict=True)

    logits = model.predict(X[1400:], verbose=0)
    f1 = keras.metrics.F1Score(average="macro")
    f1.update_state(keras.ops.one_hot(y[1400:], 10), logits)
    miou = keras.metrics.MeanIoU(num_classes=10, sparse_y_pred=False)
    miou.update_state(y[1400:], logits)
    assert got["f1_score"] == pytest.approx(float(f1.result()), abs=1e-5)
    assert got["iou"] == pytest.approx(float(miou.result()), abs=1e-5)
    assert got["accuracy"] == pytest.approx(got["keras_accuracy"], abs=1e-6)
    np.testing.assert_array_equal(np.asarray(got["confusion_matrix"]), skm.confusion_matrix(y[1400:], logits.argmax(1), labels=range(10)))

    model.save(tmp_path / "digits.keras")  # saved with the metrics' configs, loaded by name
    loaded = keras.models.load_model(tmp_path / "digits.keras")
    again = loaded.evaluate(X[1400:], y[1400:], batch_size=64, verbose=0, return_dict=True)
    assert again["f1_score"] == pytest.approx(got["f1_score"], abs=1e-6)


def test_result_is_read_from_a_variable_one_host_call_per_step():
    # Keras 3 reads result() at every step: the ratio is computed in the update's host call
    m = fk.F1Score(C, average="macro")
    t_spec, p_spec = tf.TensorSpec((None,), tf.int64), tf.TensorSpec((None, C), tf.float32)
    update = tf.function(m.update_state).get_concrete_function(t_spec, p_spec).graph
    result = tf.function(m.result).get_concrete_function().graph
    host_calls = [sum("PyFunc" in op.type for op in g.get_operations()) for g in (update, result)]
    assert host_calls == [1, 0]

    step = tf.function(lambda t, p: (m.update_state(t, p), m.result())[1])
    t, logits = _data(300, seed=3)
    for start, end in ((0, 64), (64, 128), (128, 300)):  # after each step: the value of every batch so far
        got = step(tf.constant(t[start:end]), tf.constant(logits[start:end]))
        want = skm.f1_score(t[:end], logits[:end].argmax(1), average="macro", labels=range(C), zero_division=0)
        assert float(got) == pytest.approx(want, rel=1e-6)
    m.reset_state()
    assert float(m.result()) == 0.0
    per_class = fk.IoU(C, average="none")
    per_class.update_state(t, logits, sample_weight=np.linspace(0.5, 2, len(t)))
    want = skm.jaccard_score(t, logits.argmax(1), average=None, labels=range(C), sample_weight=np.linspace(0.5, 2, len(t)))
    np.testing.assert_allclose(per_class.result().numpy(), want, rtol=1e-6)


def test_under_tf_distribute_the_replicas_counts_are_summed_before_the_ratio():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        m = fk.F1Score(C, average="macro")
    t, logits = _data(200, seed=5)
    for i in range(0, 200, 50):
        strategy.run(m.update_state, args=(tf.constant(t[i:i + 50]), tf.constant(logits[i:i + 50])))
    want = skm.f1_score(t, logits.argmax(1), average="macro", labels=range(C), zero_division=0)
    with strategy.scope():
        assert float(m.result()) == pytest.approx(want, rel=1e-6)
    assert float(m.result()) == pytest.approx(want, rel=1e-6)  # read outside the scope, after evaluate

    with strategy.scope():  # model.evaluate under the strategy, graph mode
        model = keras.Sequential([keras.Input((C,)), keras.layers.Dense(C, kernel_initializer="identity", use_bias=False)])
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=[fk.F1Score(C), fk.IoU(C, average="none")])
    got = model.evaluate(logits, t, batch_size=32, verbose=0, return_dict=True)
    assert got["f1_score"] == pytest.approx(want, rel=1e-6)
    np.testing.assert_allclose(got["iou"], skm.jaccard_score(t, logits.argmax(1), average=None, labels=range(C)), rtol=1e-6)
