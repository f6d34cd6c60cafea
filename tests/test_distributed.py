"""ConfusionMatrix.all_reduce across two CPU processes with torch.distributed (gloo)."""

import json
import os
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

from sklearn.metrics import confusion_matrix as sk_confusion_matrix  # noqa: E402

from fastcm import ConfusionMatrix  # noqa: E402

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _data(rank):
    """Each rank's batches: fixed classes, string labels seen only by one rank, weights."""
    rng = np.random.default_rng(rank)
    t = rng.integers(0, 5, 300 + 17 * rank)
    p = np.where(rng.random(t.size) < 0.7, t, rng.integers(0, 5, t.size))
    strings = np.array(["cat", "dog"] if rank == 0 else ["dog", "emu", "emu"])
    return t, p, strings


def _worker(rank, port, out_dir):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    try:
        t, p, strings = _data(rank)
        result = {}

        cm = ConfusionMatrix(num_classes=5)
        cm.update(t[:100], p[:100]).update(t[100:], p[100:])
        assert cm.all_reduce() is cm
        result["fixed"] = cm.compute().tolist()
        result["fixed_dtype"] = str(cm.compute().dtype)
        result["n_samples"] = cm.n_samples

        big = ConfusionMatrix(num_classes=2).update([0, 1], [0, 1])
        big._counts = big._counts + (1 << 61)  # two ranks sum past 2**53: exact only in int64
        result["big"] = [str(v) for v in big.all_reduce().compute().ravel()]

        grow = ConfusionMatrix().update(strings, strings)
        grow.all_reduce()
        result["grow_labels"] = grow.labels.tolist()
        result["grow"] = grow.compute().tolist()

        weighted = ConfusionMatrix(num_classes=5)
        w = np.full(t.size, 0.5) if rank == 0 else np.arange(t.size) % 3  # float on one rank only
        weighted.update(t, p, sample_weight=w).all_reduce()
        result["weighted"] = weighted.compute().tolist()
        result["weighted_dtype"] = str(weighted.compute().dtype)

        mismatch = ConfusionMatrix(num_classes=3 + rank)
        try:
            mismatch.all_reduce()
            result["mismatch"] = "no error"
        except ValueError as exc:
            result["mismatch"] = str(exc)

        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
            json.dump(result, f)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    import torch.multiprocessing as mp

    out = tmp_path_factory.mktemp("all_reduce")
    mp.spawn(_worker, args=(_free_port(), str(out)), nprocs=WORLD, join=True)
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(WORLD)]


def test_fixed_classes_sum_exactly_on_every_rank(results):
    ts, ps, _ = zip(*(_data(r) for r in range(WORLD)))
    expected = sk_confusion_matrix(np.concatenate(ts), np.concatenate(ps), labels=range(5))
    for res in results:
        assert res["fixed"] == expected.tolist()
        assert res["fixed_dtype"] == "int64"
        assert res["n_samples"] == sum(t.size for t in ts)


def test_int64_counts_are_exact_beyond_float_precision(results):
    expected = [str(2 * ((1 << 61) + v)) for v in (1, 0, 0, 1)]
    for res in results:
        assert res["big"] == expected


def test_growing_labels_are_unioned_first(results):
    strings = np.concatenate([_data(r)[2] for r in range(WORLD)])
    expected = sk_confusion_matrix(strings, strings, labels=["cat", "dog", "emu"])
    for res in results:
        assert res["grow_labels"] == ["cat", "dog", "emu"]
        assert res["grow"] == expected.tolist()


def test_float_weights_on_one_rank_give_float_counts_everywhere(results):
    parts = [_data(r) for r in range(WORLD)]
    t = np.concatenate([d[0] for d in parts])
    p = np.concatenate([d[1] for d in parts])
    w = np.concatenate([np.full(parts[0][0].size, 0.5), np.arange(parts[1][0].size) % 3])
    expected = sk_confusion_matrix(t, p, labels=range(5), sample_weight=w)
    for res in results:
        assert res["weighted_dtype"] == "float64"
        np.testing.assert_allclose(res["weighted"], expected)


def test_mismatched_classes_raise_on_every_rank(results):
    for res in results:
        assert res["mismatch"].startswith("Cannot all_reduce: process")
