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
