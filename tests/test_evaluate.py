"""``fastcm.accumulate.evaluate`` over loaders: batches of any array type, logits, progress bar."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

import fastcm


def _batches(n_batches=4, size=50, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, c, size), rng.integers(0, c, size)) for _ in range(n_batches)]


def _reference(batches, c):
    t = np.concatenate([np.asarray(b[0]) for b in batches])
    p = np.concatenate([np.asarray(b[1]) for b in batches])
    return sk_confusion_matrix(t, p, labels=range(c))


def test_list_of_numpy_batches():
    batches = _batches()
    cm = fastcm.evaluate(batches, num_classes=4, progress=False)
    assert isinstance(cm, fastcm.ConfusionMatrix)
    np.testing.assert_array_equal(cm.compute(), _reference(batches, 4))
    assert cm.n_samples == 200


@pytest.mark.filterwarnings("ignore:A single label was found")
@settings(max_examples=20, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=30), min_size=1, max_size=6))
def test_generator_without_len_growing_labels(batches):
    arrays = [(np.array([a for a, _ in b]), np.array([b_ for _, b_ in b])) for b in batches]
    cm = fastcm.evaluate((b for b in arrays), progress=False)
    t = np.concatenate([a for a, _ in arrays])
    p = np.concatenate([b for _, b in arrays])
    labels = np.union1d(t, p)
    np.testing.assert_array_equal(cm.labels, labels)
    np.testing.assert_array_equal(cm.compute(), sk_confusion_matrix(t, p, labels=labels))


def test_logits_weights_and_dicts():
    rng = np.random.default_rng(3)
    t = rng.integers(0, 3, 40)
    logits = rng.normal(size=(40, 3))
    w = rng.random(40)
    cm = fastcm.evaluate([(t[:20], logits[:20], w[:20]), {"y_true": t[20:], "y_pred": logits[20:], "sample_weight": w[20:]}],
                         num_classes=3, progress=False)
    expected = sk_confusion_matrix(t, logits.argmax(axis=1), sample_weight=w)
    np.testing.assert_allclose(cm.compute(), expected)


def test_labels_ignore_index_and_into():
    t = np.array([0, 255, 1, 2, 255])
    p = np.array([0, 1, 1, 0, 2])
    cm = fastcm.evaluate([(t, p)], num_classes=3, ignore_index=255, progress=False)
    np.testing.assert_array_equal(cm.compute(), sk_confusion_matrix([0, 1, 2], [0, 1, 0], labels=range(3)))
    again = fastcm.evaluate([(t, p)], into=cm, progress=False)
    assert again is cm and int(cm.compute().sum()) == 6
    named = fastcm.evaluate([(["a", "b"], ["b", "b"])], labels=["b", "a"], progress=False)
    assert named.compute().tolist() == [[1, 0], [1, 0]]


def test_torch_tensors_requiring_grad():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(3):
        y = torch.randint(0, 5, (16,), generator=g)
        logits = torch.randn(16, 5, generator=g, requires_grad=True) * 2
        batches.append((y, logits))
    cm = fastcm.evaluate(batches, num_classes=5, progress=False)
    t = torch.cat([b[0] for b in batches]).numpy()
    p = torch.cat([b[1].detach().argmax(1) for b in batches]).numpy()
    np.testing.assert_array_equal(cm.compute(), sk_confusion_matrix(t, p, labels=range(5)))


def _terminal(monkeypatch):
    import sys

    # a bar is drawn on a terminal (or in a notebook), never into a redirected log
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)


def test_progress_bar_total_from_len(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    _terminal(monkeypatch)
    fastcm.evaluate(_batches(3), num_classes=4, progress=True, desc="evalbar")
    err = capsys.readouterr().err
    assert "evalbar" in err and "3/3" in err


def test_progress_bar_without_len(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    _terminal(monkeypatch)
    fastcm.evaluate(iter(_batches(2)), num_classes=4)
    err = capsys.readouterr().err
    assert "2" in err and "batch" in err


def test_progress_without_tqdm_is_fastcms_own_bar(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    _terminal(monkeypatch)
    cm = fastcm.evaluate(_batches(2), num_classes=4)
    assert "2/2" in capsys.readouterr().err
    assert cm.n_samples == 100


def test_bad_batches_name_the_position():
    with pytest.raises(TypeError, match="batch 1"):
        fastcm.evaluate([(np.array([0]), np.array([0])), 5], num_classes=2, progress=False)
    with pytest.raises(TypeError, match="batch 0 .* 4 items"):
        fastcm.evaluate([(1, 2, 3, 4)], progress=False)
    with pytest.raises(TypeError, match="'y_true' and 'y_pred'"):
        fastcm.evaluate([{"target": [0]}], progress=False)
    with pytest.raises(TypeError, match="ConfusionMatrix"):
        fastcm.evaluate([], into=object(), progress=False)


def test_failed_batch_leaves_earlier_counts():
    cm = fastcm.ConfusionMatrix(2)
    with pytest.raises(ValueError):
        fastcm.evaluate([([0, 1], [0, 1]), ([0, 7], [0, 0])], into=cm, progress=False)
    assert cm.compute().tolist() == [[1, 0], [0, 1]]
