"""The checkpoint store: packing, the committed checkpoints (fresh against the registry), devices."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from workloads import checkpoints  # noqa: E402
from workloads import train as T  # noqa: E402
from workloads.checkpoint_status import status  # noqa: E402
from workloads.device import resolve  # noqa: E402


def _state(seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(8, 4, 3, 3, generator=g)
    mask = torch.rand(w.shape, generator=g) > 0.9
    return ({"conv.weight": w * mask, "bn.running_mean": torch.randn(8, generator=g),
             "bn.num_batches_tracked": torch.tensor(7)}, {"conv.weight": mask})


def test_pack_round_trip_is_exact_without_loss():
    state, masks = _state()
    back, back_masks = checkpoints.unpack(checkpoints.pack(state, masks, lossy=False))
    for k, v in state.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v), k
    assert torch.equal(back_masks["conv.weight"], masks["conv.weight"])


def test_lossy_packing_rounds_parameters_to_float16_and_keeps_buffers():
    state, masks = _state(1)
    back = checkpoints.round_trip(state, masks, lossy=True)
    w = state["conv.weight"]
    assert torch.equal(back["conv.weight"], w.half().float())          # float16 rounding, nothing else
    assert torch.equal(back["conv.weight"] != 0, masks["conv.weight"])   # the mask survives
    assert torch.equal(back["bn.running_mean"], state["bn.running_mean"])  # statistics exact
    assert back["bn.num_batches_tracked"].item() == 7


def test_sparse_tensor_stores_only_its_kept_values():
    state, masks = _state(2)
    arrays = checkpoints.pack(state, masks)
    assert arrays["conv.weight::values"].size == int(masks["conv.weight"].sum())


def _random_trained():
    cfg = T.TrainConfig.for_model("tiny-snn")
    model = T.build(cfg).eval()
    return T.Trained(model, cfg, {}, {"accuracy_top1": 0.0})


def test_committed_checkpoint_is_used_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_COMMITTED_DIR", str(tmp_path / "committed"))
    trained = _random_trained()
    path = T.commit_checkpoint(trained, "test", lossy=False)
    prov = checkpoints.entries()[0]
    assert path.exists() and prov["key"] == trained.config.key() and status(prov) == "fresh"
    # the accuracy on record is measured on the stored weights (here: a random network)
    assert 0.0 <= prov["metrics"]["accuracy_top1"] <= 1.0

    def no_training(*a, **k):
        raise AssertionError("trained although a committed checkpoint exists")
    monkeypatch.setattr(T, "train", no_training)
    got = T.load_or_train(trained.config, cache_dir=tmp_path / "cache", progress=False)
    assert got.provenance["command"] == "test"
    for k, v in trained.model.state_dict().items():
        assert torch.equal(got.model.state_dict()[k], v), k


def test_changed_configuration_makes_a_committed_checkpoint_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_COMMITTED_DIR", str(tmp_path))
    trained = _random_trained()
    trained.config = dataclasses.replace(trained.config, lr=trained.config.lr * 2)   # not the registry's
    T.commit_checkpoint(trained, "test", lossy=False)
    assert status(checkpoints.entries()[0]) == "stale"


def test_every_committed_checkpoint_matches_the_registry():
    """A checkpoint committed under an older configuration fails here: rebuild it with
    `archsim-workloads train --all --retrain --commit` (or the one model's command in its .json)."""
    rows = checkpoints.entries()
    stale = [f"{p['name']} ({p['command']})" for p in rows if status(p) != "fresh"]
    assert not stale, "stale committed checkpoints: " + "; ".join(stale)
    for p in rows:
        assert {"command", "device", "seed", "wall_time_s", "torch", "config", "metrics"} <= set(p), p["name"]


def test_device_is_resolved_and_never_in_the_key():
    assert "device" not in {f.name for f in dataclasses.fields(T.TrainConfig)}
    assert resolve("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert resolve("auto").type == "cpu"
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve("cuda")
    with pytest.raises(ValueError, match="--device"):
        resolve("tpu")


@pytest.mark.slow
def test_retraining_reproduces_the_committed_accuracy(tmp_path):
    """Retrain the committed tiny-snn from scratch and match its recorded accuracy within 1 point."""
    prov = next((p for p in checkpoints.entries() if p["name"] == "tiny-snn"), None)
    if prov is None:
        pytest.fail("tiny-snn is not among the committed checkpoints")
    cfg = T.TrainConfig.for_model("tiny-snn")
    trained = T.load_or_train(cfg, cache_dir=tmp_path, progress=False, retrain=True, device="cpu")
    assert abs(trained.metrics["accuracy_top1"] - prov["metrics"]["accuracy_top1_before_packing"]) <= 0.01


def test_one_store_local_cache_then_committed(tmp_path, monkeypatch):
    """The local cache (atomic save, file named <name>-<key>.pt, a JSON record beside it when
    asked), then the committed checkpoint, then nothing."""
    monkeypatch.setenv("ARCHSIM_CHECKPOINT_DIR", str(tmp_path / "local"))
    monkeypatch.setenv("ARCHSIM_COMMITTED_DIR", str(tmp_path / "committed"))
    state, masks = _state(2)
    assert checkpoints.load("m", "k1") is None
    path = checkpoints.save("m", "k1", {"state": state, "n": 3}, record={"acc": 0.5})
    assert path == tmp_path / "local" / "m-k1.pt" == checkpoints.local_path("m", "k1")
    assert sorted(p.name for p in path.parent.iterdir()) == ["m-k1.json", "m-k1.pt"]     # no temporary left
    got = checkpoints.load("m", "k1", record=True)
    assert not got.committed and got.path == path and got.record == {"acc": 0.5} and got.blob["n"] == 3
    assert torch.equal(got.blob["state"]["conv.weight"], state["conv.weight"])
    # a record asked for but missing: the local entry does not count
    checkpoints.save("m", "k2", {"n": 1})
    assert checkpoints.load("m", "k2").blob == {"n": 1} and checkpoints.load("m", "k2", record=True) is None
    # the committed store answers when the local cache has nothing (unless told not to look)
    checkpoints.commit("m", "k3", state, {"metrics": {"accuracy_top1": 0.25}}, masks, lossy=False)
    got = checkpoints.load("m", "k3")
    assert got.committed and got.path is None and got.provenance["metrics"] == {"accuracy_top1": 0.25}
    assert torch.equal(got.state["conv.weight"], state["conv.weight"]) and torch.equal(got.masks["conv.weight"],
                                                                                       masks["conv.weight"])
    assert checkpoints.load("m", "k3", committed=False) is None
    assert checkpoints.load("m", "k3", directory=tmp_path / "elsewhere").committed     # another local folder
    (tmp_path / "local" / "m-k4.pt").write_bytes(b"truncated")
    with pytest.raises(ValueError, match=r"m-k4.pt: unreadable checkpoint"):
        checkpoints.load("m", "k4")
