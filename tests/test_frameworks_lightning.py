"""fastcm.torch inside a real Lightning loop: metrics logged with ``self.log`` give what
torchmetrics gives on the same predictions, epoch after epoch. Skips without lightning."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchmetrics")
L = pytest.importorskip("lightning")
from torchmetrics import classification as tmc  # noqa: E402

from fastcm import torch as ft  # noqa: E402

C = 10


class DigitsModule(L.LightningModule):
    """A small classifier of scikit-learn's digits, logging fastcm and torchmetrics side by side."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, C))
        self.val_f1 = ft.F1Score(C)
        self.val_acc = ft.Accuracy(C, average="micro")
        self.val_cm = ft.ConfusionMatrix(C)
        self.tm_f1 = tmc.MulticlassF1Score(C)
        self.tm_acc = tmc.MulticlassAccuracy(C, average="micro")
        self.tm_cm = tmc.MulticlassConfusionMatrix(C)
        self.epochs = []  # per validation epoch: (fastcm matrix, torchmetrics matrix)
        self.steps = []  # per validation step: the batch's accuracy from fastcm and torchmetrics

    def training_step(self, batch, batch_idx):
        x, t = batch
        return torch.nn.functional.cross_entropy(self.net(x), t)

    def validation_step(self, batch, batch_idx):
        x, t = batch
        logits = self.net(x)
        # forward: the batch's value, its counts kept for the epoch's value
        self.steps.append((float(self.val_acc(logits, t)), float(self.tm_acc(logits, t))))
        self.val_f1.update(logits, t)
        self.tm_f1.update(logits, t)
        self.val_cm.update(logits, t)
        self.tm_cm.update(logits, t)
        # the metric object itself: Lightning calls compute() and reset() at the epoch's end
        for name in ("val_f1", "tm_f1", "val_acc", "tm_acc"):
            self.log(name, getattr(self, name), on_epoch=True)

    def on_validation_epoch_end(self):
        self.epochs.append((self.val_cm.compute(), self.tm_cm.compute()))
        self.val_cm.reset()
        self.tm_cm.reset()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def _loaders():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    data = torch.utils.data.TensorDataset(torch.tensor(X / 16, dtype=torch.float32), torch.tensor(y))
    train = torch.utils.data.Subset(data, range(1400))
    val = torch.utils.data.Subset(data, range(1400, len(y)))
    return (torch.utils.data.DataLoader(train, batch_size=100, shuffle=False),
            torch.utils.data.DataLoader(val, batch_size=64))


def _trainer(**kw):
    return L.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, num_sanity_val_steps=0, **kw)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Lightning: few workers, small logging interval
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_self_log_of_fastcm_metrics_matches_torchmetrics(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Lightning writes nothing with logger=False; any stray file lands here
    torch.manual_seed(0)
    train, val = _loaders()
    module = DigitsModule()
    logged = []

    class Record(L.Callback):
        def on_validation_end(self, trainer, pl_module):
            logged.append({k: float(v) for k, v in trainer.callback_metrics.items()})

    _trainer(max_epochs=2, callbacks=[Record()]).fit(module, train, val)
    [result] = _trainer().validate(module, val, verbose=False)

    assert len(logged) == 2 and len(module.epochs) == 3  # two epochs of fit, one validate
    for epoch in logged + [result]:
        assert epoch["val_f1"] == pytest.approx(epoch["tm_f1"], abs=1e-6)
        assert epoch["val_acc"] == pytest.approx(epoch["tm_acc"], abs=1e-6)  # accumulated by forward
    assert logged[0]["val_f1"] != logged[1]["val_f1"]  # the model trained on: counts reset between epochs
    assert result["val_f1"] > 0.7
    assert len(module.steps) == 3 * 7 and len({a for a, _ in module.steps}) > 1
    for ours, theirs in module.steps:
        assert ours == pytest.approx(theirs, abs=1e-6)
    for ours, theirs in module.epochs:
        torch.testing.assert_close(ours, theirs)
        assert int(ours.sum()) == 1797 - 1400  # one epoch's predictions, no more
