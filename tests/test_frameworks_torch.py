"""fastcm.torch against torchmetrics: batch values, accumulated values, state_dict, DDP, and
a Lightning-style validation loop on scikit-learn's digits. Skips without torch."""

import os
import socket
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
tm = pytest.importorskip("torchmetrics")
from torchmetrics import classification as tmc  # noqa: E402

from fastcm import torch as ft  # noqa: E402

C = 5

#: fastcm class -> the torchmetrics class it stands for
PAIRS = [
    (ft.Accuracy, tmc.MulticlassAccuracy),
    (ft.Precision, tmc.MulticlassPrecision),
    (ft.Recall, tmc.MulticlassRecall),
    (ft.F1Score, tmc.MulticlassF1Score),
    (ft.JaccardIndex, tmc.MulticlassJaccardIndex),
]


def _batches(n=4, size=64, seed=0, ignore=None):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        t = torch.randint(0, C, (size,), generator=g)
        if ignore is not None:
            t[torch.rand(size, generator=g) < 0.2] = ignore
        out.append((torch.randn(size, C, generator=g), t))
    return out


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=[p[0].__name__ for p in PAIRS])
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", "none"])
def test_batch_and_accumulated_values_match_torchmetrics(ours, theirs, average):
    if theirs is tmc.MulticlassJaccardIndex and average == "micro":
        kw = {"average": "micro"}
    else:
        kw = {"average": average}
    a, b = ours(C, **kw), theirs(C, **kw)
    for logits, t in _batches():
        torch.testing.assert_close(a(logits, t), b(logits, t).to(torch.get_default_dtype()))
    torch.testing.assert_close(a.compute(), b.compute().to(torch.get_default_dtype()))
    a.reset()
    b.reset()
    logits, t = _batches(1, seed=3)[0]
    a.update(logits.argmax(1), t)  # labels as predictions
    b.update(logits.argmax(1), t)
    torch.testing.assert_close(a.compute(), b.compute().to(torch.get_default_dtype()))


def test_confusion_matrix_with_ignore_index_and_segmentation_shapes():
    ours, theirs = ft.ConfusionMatrix(C, ignore_index=255), tmc.MulticlassConfusionMatrix(C, ignore_index=255)
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        t = torch.randint(0, C, (2, 8, 8), generator=g)
        t[:, :2] = 255
        logits = torch.randn(2, C, 8, 8, generator=g)
        torch.testing.assert_close(ours(logits, t), theirs(logits, t))
    assert ours.compute().dtype == torch.int64
    torch.testing.assert_close(ours.compute(), theirs.compute())


@pytest.mark.filterwarnings("ignore:The ``compute`` method")  # torchmetrics: compute() on a loaded state
def test_state_dict_resumes_counts_and_reset_forgets():
    m = ft.F1Score(C)
    for logits, t in _batches(2):
        m.update(logits, t)
    state = m.state_dict()
    assert set(state) == {"confmat"}
    resumed = ft.F1Score(C)
    resumed.load_state_dict(state)
    torch.testing.assert_close(resumed.compute(), m.compute())
    resumed.reset()
    assert int(resumed.confmat.sum()) == 0
    assert resumed.to("cpu").confmat.device.type == "cpu"


def test_is_a_torchmetrics_metric_in_a_collection():
    assert isinstance(ft.ConfusionMatrix(C), tm.Metric)
    col = tm.MetricCollection({"f1": ft.F1Score(C), "acc": ft.Accuracy(C, average="micro"), "tm_f1": tmc.MulticlassF1Score(C)})
    for logits, t in _batches():
        col.update(logits, t)
    out = col.compute()
    torch.testing.assert_close(out["f1"], out["tm_f1"])


def test_invalid_labels_raise_and_leave_the_state():
    m = ft.ConfusionMatrix(3)
    m.update(torch.tensor([0, 1]), torch.tensor([0, 1]))
    with pytest.raises(ValueError):
        m.update(torch.tensor([0, 7]), torch.tensor([0, 1]))
    assert m.compute().sum().item() == 2
    with pytest.raises(ValueError, match="num_classes"):
        ft.ConfusionMatrix(1)
    with pytest.raises(ValueError, match="average"):
        ft.F1Score(3, average="samples")


def test_without_torchmetrics_the_module_has_the_same_interface():
    code = (
        "import sys; sys.modules['torchmetrics'] = None\n"
        "import torch; from fastcm import torch as ft\n"
        "assert not ft.USES_TORCHMETRICS and isinstance(ft.F1Score(3), torch.nn.Module)\n"
        "m = ft.Accuracy(3, average='micro')\n"
        "b = m(torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]), torch.tensor([0, 2]))\n"
        "m.update(torch.tensor([1]), torch.tensor([1]))\n"
        "s = ft.Accuracy(3, average='micro'); s.load_state_dict(m.state_dict())\n"
        "print(float(b), round(float(m.compute()), 4), round(float(s.compute()), 4), m.confmat.sum().item())\n"
        "m.reset(); print(m.confmat.sum().item())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0.5", "0.6667", "0.6667", "3", "0"]


# -- DDP: one all_reduce of the counts ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, port, out):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        calls = []
        real = dist.all_reduce

        def counting(*a, **k):
            calls.append(1)
            return real(*a, **k)

        dist.all_reduce = counting
        m = ft.ConfusionMatrix(C)
        for logits, t in _batches(seed=rank):
            m.update(logits, t)
        total = m.compute()
        local = m.confmat.clone()  # compute() leaves the local counts as they were
        torch.save({"total": total, "local": local, "calls": len(calls)}, os.path.join(out, f"{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_ddp_sums_the_counts_with_one_all_reduce(tmp_path):
    import torch.distributed as dist
    import torch.multiprocessing as mp

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    # fork: the workers start with torch and fastcm already imported (spawn re-imports them: ~20 s)
    mp.start_processes(_ddp_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork")
    res = [torch.load(tmp_path / f"{r}.pt") for r in range(2)]
    want = sum(tmc.MulticlassConfusionMatrix(C)(torch.cat([b[0] for b in _batches(seed=r)]),
                                                 torch.cat([b[1] for b in _batches(seed=r)])) for r in range(2))
    for r in res:
        torch.testing.assert_close(r["total"], want)
        assert r["calls"] == 1
    torch.testing.assert_close(res[0]["local"] + res[1]["local"], want)


# -- recipe: a Lightning-style validation loop on scikit-learn's digits ---------------------------


def test_lightning_style_loop_on_digits_matches_torchmetrics():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    class Module:  # what a LightningModule does with its metrics, without Lightning
        def __init__(self):
            self.val_f1 = ft.F1Score(num_classes=10)
            self.val_cm = ft.ConfusionMatrix(num_classes=10)
            self.tm_f1 = tmc.MulticlassF1Score(num_classes=10)
            self.val_f1_per_class = ft.F1Score(num_classes=10, average="none")
            self.tm_f1_per_class = tmc.MulticlassF1Score(num_classes=10, average="none")
            self.logged = {}

        def log(self, name, value):
            self.logged[name] = value.compute() if isinstance(value, tm.Metric) else value

        def validation_step(self, batch):
            x, t = batch
            logits = model(x)
            self.val_f1.update(logits, t)
            self.tm_f1.update(logits, t)
            # forward: the batch's value, counts kept; per class, as a batch may miss a class
            # (torchmetrics leaves it out of a macro mean, fastcm counts it as 0: scikit-learn's rule)
            torch.testing.assert_close(self.val_f1_per_class(logits, t), self.tm_f1_per_class(logits, t))
            self.val_cm.update(logits, t)

        def on_validation_epoch_end(self):
            self.log("val_f1", self.val_f1)
            self.log("tm_f1", self.tm_f1)
            self.val_cm_value = self.val_cm.compute()
            for m in (self.val_f1, self.val_cm, self.tm_f1, self.val_f1_per_class, self.tm_f1_per_class):
                m.reset()

    lm = Module()
    for _ in range(2):
        for i in range(0, 1400, 100):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[i:i + 100]), y[i:i + 100]).backward()
            opt.step()
        with torch.no_grad():
            for i in range(1400, len(y), 64):
                lm.validation_step((X[i:i + 64], y[i:i + 64]))
        lm.on_validation_epoch_end()
        torch.testing.assert_close(lm.logged["val_f1"], lm.logged["tm_f1"])
    with torch.no_grad():
        want = tmc.MulticlassConfusionMatrix(10)(model(X[1400:]), y[1400:])
    torch.testing.assert_close(lm.val_cm_value, want)
    assert lm.logged["val_f1"] > 0.5
