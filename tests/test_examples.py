"""The recipes in examples/ run, and count exactly what a reference counts on the same data.

Each runs where its framework is installed and is skipped otherwise.
"""

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run_script(name):
    """Run examples/<name>.py in a new process on the fastcm this test imports (installed or not)."""
    import fastcm

    root = str(pathlib.Path(fastcm.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")], capture_output=True, text=True, timeout=300, env=env)


def load(name):
    spec = importlib.util.spec_from_file_location(f"fastcm_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_torch_loop():
    torch = pytest.importorskip("torch")
    ex = load("torch_loop")
    model, loader = ex.build(n=600, batch_size=128)
    cm = ex.evaluate(model, loader, device="cpu")
    with torch.no_grad():
        t = torch.cat([y for _, y in loader]).numpy()
        p = torch.cat([model(x).argmax(1) for x, _ in loader]).numpy()
    np.testing.assert_array_equal(cm.compute(), sk_confusion_matrix(t, p, labels=range(10)))
    assert cm.accuracy() > 0.3  # the model learned something: well above 10 classes' chance


def test_torch_loop_script_runs():
    pytest.importorskip("torch")
    res = run_script("torch_loop")
    assert res.returncode == 0, res.stderr
    assert "weighted avg" in res.stdout


def test_tensorflow_loop():
    pytest.importorskip("tensorflow")
    ex = load("tensorflow_loop")
    model, ds, y = ex.build(n=600)
    cm = ex.evaluate_loop(model, ds)
    logits = model.predict(ds, verbose=0)
    np.testing.assert_array_equal(cm.compute(), sk_confusion_matrix(y, logits.argmax(1), labels=range(10)))
    np.testing.assert_array_equal(ex.evaluate_predict(model, ds, y), cm.compute())


def test_jax_loop():
    pytest.importorskip("jax")
    ex = load("jax_loop")
    params, x, y = ex.build(n=600)
    cm = ex.evaluate(params, x, y)
    p = np.asarray(x @ params["w"] + params["b"]).argmax(1)
    np.testing.assert_array_equal(cm.compute(), sk_confusion_matrix(np.asarray(y), p, labels=range(10)))


def test_segmentation_miou():
    from sklearn.metrics import jaccard_score

    ex = load("segmentation_miou")
    data = list(ex.batches(n_batches=2, batch_size=2, height=16, width=24))
    cm = ex.evaluate(iter(data))
    t = np.concatenate([m.ravel() for m, _ in data])
    p = np.concatenate([lg.argmax(axis=1).ravel() for _, lg in data])
    keep = t != ex.VOID
    c = len(ex.CLASSES)
    np.testing.assert_array_equal(cm.compute(), sk_confusion_matrix(t[keep], p[keep], labels=range(c)))
    expected_iou = jaccard_score(t[keep], p[keep], labels=range(c), average=None, zero_division=0)
    np.testing.assert_allclose(cm.iou(zero_division=0), expected_iou)
    present = np.isin(np.arange(c), np.union1d(t[keep], p[keep]))
    assert cm.mean_iou() == pytest.approx(expected_iou[present].mean())


def test_segmentation_script_runs():
    res = run_script("segmentation_miou")
    assert res.returncode == 0, res.stderr
    assert "mIoU" in res.stdout
