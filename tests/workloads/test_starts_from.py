"""A model built from another's trained checkpoint (``starts_from`` in the registry) gets that
trained model from the trainer as ``parent`` (the registry does not import the trainer; compared
against: the parent configuration the key already names, and a TT network built from it)."""
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from workloads import registry  # noqa: E402
from workloads import train as W  # noqa: E402


def test_the_trainer_hands_over_the_trained_parent(monkeypatch):
    parent_model, built, loaded = object(), [], []

    def build(parent=None, **kw):
        built.append((parent, kw))
        return torch.nn.Linear(1, 1)
    monkeypatch.setitem(registry.MODELS, "child-of-tiny", registry.ModelEntry(
        "child-of-tiny", build, "snn", "test", "test", schedules={"main": dict(dataset="digits", timesteps=2)},
        starts_from="tiny-snn"))
    monkeypatch.setattr(W, "load_or_train", lambda cfg, progress: loaded.append(cfg) or SimpleNamespace(model=parent_model))
    cfg = W.TrainConfig.for_model("child-of-tiny")
    W.build(cfg)
    assert loaded == [W.TrainConfig.for_model("tiny-snn", "main", timesteps=2)]
    assert cfg.starts_from == loaded[0].key()             # the key names the parent that was loaded
    assert built[0][0] is parent_model and built[0][1]["timesteps"] == 2
    W.build(W.TrainConfig.for_model("tiny-snn"))           # a model from scratch loads nothing
    assert len(loaded) == 1


def test_tt_network_is_built_from_its_parent():
    kw = dict(num_classes=10, timesteps=2, encoding="direct", in_channels=1, image_size=16, widths=(4, 4, 8, 8))
    base = registry.get("ttsnn-r18-fmnist").build(**kw)
    tt = registry.get("ttsnn-r18-fmnist-stt").build(parent=base, **kw)
    assert registry.get("ttsnn-r18-fmnist-stt").starts_from == "ttsnn-r18-fmnist"
    assert sum(p.numel() for p in tt.parameters()) < sum(p.numel() for p in base.parameters())
    x = torch.rand(2, 1, 16, 16)
    assert tt(x).shape == base(x).shape == (2, 10)


# --- finetune_parent variants (the LoAS VGG16 T / sparsity family) --------------------------------

def test_grow_by_gradient_picks_the_largest_gradients_among_the_pruned():
    from workloads import prune as P
    params = {"a": torch.tensor([1.0, 0.0, 0.0, 2.0]), "b": torch.tensor([0.0, 0.0, 3.0])}
    masks = P.masks_of_nonzeros(params)
    grads = {"a": torch.tensor([9.0, 0.5, -4.0, 9.0]), "b": torch.tensor([3.0, -1.0, 0.0])}
    grown = P.grow_by_gradient(params, masks, grads, 5)
    assert grown["a"].tolist() == [True, False, True, True] and grown["b"].tolist() == [True, False, True]
    with pytest.raises(ValueError, match="cannot grow 3 weights to 2"):
        P.grow_by_gradient(params, masks, grads, 2)


def _variant(monkeypatch, name, **knobs):
    tiny = registry.get("tiny-snn")
    schedule = dict(tiny.schedules["main"], train_size=64, test_size=64, dense_epochs=1, prune_rounds=0,
                    batch_size=32, finetune_parent=True, **knobs)
    monkeypatch.setitem(registry.MODELS, name, registry.ModelEntry(name, tiny.build, "snn", "test", "test",
                                                                   schedules={"main": schedule}, starts_from="tiny-snn"))
    return W.TrainConfig.for_model(name)


@pytest.mark.parametrize("target", [0.5, 0.9])
def test_variant_moves_the_parent_mask_and_holds_it(monkeypatch, tmp_path, target):
    """The committed tiny-snn (80 % sparse) grown to 50 % or pruned to 90 %: the parent's survivors
    stay (growing) or are a superset (pruning), the sparsity is the target, the mask holds in training."""
    from workloads import prune as P
    parent = W.load_or_train(W.TrainConfig.for_model("tiny-snn"), progress=False)
    cfg = _variant(monkeypatch, "tiny-variant", target_sparsity=target)
    assert W.parent_config(cfg) == W.TrainConfig.for_model("tiny-snn") and cfg.starts_from == parent.config.key()
    v = W.train(cfg, progress=False, device="cpu")
    total = sum(m.numel() for m in v.masks.values())
    assert sum(int(m.sum()) for m in v.masks.values()) == round(total * (1 - target))
    for n, m in v.masks.items():
        old = parent.masks[n]
        assert bool((m >= old).all()) if target < 0.8 else bool((m <= old).all()), n
    params = P.prunable(v.model)
    assert all(bool((params[n][~m] == 0).all()) for n, m in v.masks.items())       # pruned weights stay zero
    assert v.metrics["weight_sparsity_pruned_layers"] == pytest.approx(target, abs=1e-3)
    assert v.metrics["parent_weight_sparsity_pruned_layers"] == pytest.approx(0.8, abs=1e-3)
    assert {"accuracy_before_finetune", "accuracy_top1"} <= set(v.metrics)


def test_variant_at_another_timestep_starts_from_the_parent_as_trained(monkeypatch):
    cfg = _variant(monkeypatch, "tiny-variant-t6", timesteps=6, target_sparsity=0.8)
    assert cfg.timesteps == 6 and W.parent_config(cfg).timesteps == W.TrainConfig.for_model("tiny-snn").timesteps
    with pytest.raises(ValueError, match="prune_rounds must be 0"):
        W.TrainConfig(model="tiny-snn", finetune_parent=True, prune_rounds=2)
    # the field is left out of the keys of configurations that do not use it (committed checkpoints keep theirs)
    import dataclasses
    base = W.TrainConfig.for_model("tiny-snn")
    assert base.key() == "783032e044c65eb5"            # checkpoints/tiny-snn-783032e044c65eb5.*
    plain = dataclasses.replace(base, prune_rounds=0)
    assert dataclasses.replace(plain, finetune_parent=True).key() != plain.key()
