"""Training on digits, the checkpoint cache, strong-mode fine-tuning and the CLI, end to end on
the tiny model (a few seconds)."""
import dataclasses

import pytest
import torch

from archsim.trace.io import load_trace
from archsim.trace.loas_stats import loas_table
from workloads import train as W
from workloads.cli import main

TINY = dict(train_size=256, test_size=128, dense_epochs=1, prune_rounds=2, retrain_epochs=1,
            target_sparsity=0.75, rewind_step=2, batch_size=32, image_size=8)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("ckpt")


@pytest.fixture(scope="module")
def trained(cache):
    return W.load_or_train(W.TrainConfig.for_model("tiny-snn", **TINY), cache_dir=cache, progress=False)


def test_training_prunes_and_learns(trained):
    m = trained.metrics
    assert m["weight_sparsity_pruned_layers"] == pytest.approx(0.75, abs=1e-3)
    assert m["accuracy_top1"] > 0.3            # 10 classes: chance is 0.1
    conv2 = trained.model.body.conv2.weight
    assert torch.equal(conv2 != 0, trained.masks["body.conv2.weight"])


def test_cache_is_keyed_by_the_whole_config(trained, cache, monkeypatch):
    def no_training(*a, **k):
        raise AssertionError("retrained although cached")
    monkeypatch.setattr(W, "train", no_training)
    again = W.load_or_train(trained.config, cache_dir=cache, progress=False)
    assert again.metrics == trained.metrics
    for a, b in zip(again.model.state_dict().values(), trained.model.state_dict().values()):
        assert torch.equal(a, b)
    other = dataclasses.replace(trained.config, seed=1)
    assert other.key() != trained.config.key()
    with pytest.raises(AssertionError, match="retrained"):
        W.load_or_train(other, cache_dir=cache, progress=False)


def test_strong_finetune_reports_before_and_after(trained, cache):
    strong = W.load_or_train(trained.config, W.StrongConfig(epochs=1, lr=1e-3), cache_dir=cache, progress=False)
    m = strong.metrics
    assert 0 <= m["accuracy_strong_before_finetune"] <= 1 and 0 <= m["accuracy_strong_after_finetune"] <= 1
    assert m["accuracy_top1"] == m["accuracy_strong_after_finetune"]
    assert all(lif.drop_single_spike for lif in (strong.model.body.lif1, strong.model.body.lif2))
    assert not trained.model.body.lif1.drop_single_spike         # the base model is untouched


def test_cli_export_end_to_end(trained, cache, tmp_path, capsys):
    args = ["export", "tiny-snn", "--dataset", "digits", "--cache-dir", str(cache), "-q",
            "-o", str(tmp_path / "tiny.trace"), "--batch", "2"]
    for k, v in TINY.items():
        args += ["--set", f"{k}={v}"]
    assert main(args) == 0
    trace = load_trace(tmp_path / "tiny.trace")
    h = trace.header
    assert h.dataset == "digits test[0:2]" and h.batch == 2 and h.timesteps == 4
    assert h.metrics["accuracy_top1"] == trained.metrics["accuracy_top1"]
    assert h.provenance.weights == "trained" and "train[0:256]" in h.provenance.notes
    assert loas_table(trace).layers[0].op_id == "conv2"
    assert "wrote" in capsys.readouterr().out


def test_cli_errors(capsys, tmp_path):
    assert main(["export", "no-such-model", "-o", str(tmp_path / "x.trace")]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert main(["train", "tiny-snn", "--set", "bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["train", "tiny-snn", "--set", "novalue"]) == 2
    assert not (tmp_path / "x.trace").exists()


def test_corrupt_checkpoint_is_a_clear_error(trained, tmp_path, capsys):
    path = W.checkpoint_path(trained.config, tmp_path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="unreadable checkpoint"):
        W.load_or_train(trained.config, cache_dir=tmp_path, progress=False)
    args = ["train", "tiny-snn", "--cache-dir", str(tmp_path), "-q"] + [f"--set={k}={v}" for k, v in TINY.items()]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "unreadable checkpoint" in err and err.count("\n") == 1


def test_bad_setting_values(capsys):
    with pytest.raises(ValueError, match="train_size: expected int"):
        W.TrainConfig.for_model("tiny-snn", train_size="many")
    with pytest.raises(ValueError, match="rewind"):
        W.TrainConfig.for_model("tiny-snn", rewind="sometimes")
    with pytest.raises(ValueError, match="target_sparsity"):
        W.TrainConfig.for_model("tiny-snn", target_sparsity=1.5)
    assert main(["train", "tiny-snn", "--set", "lr=fast"]) == 2
    assert "lr: expected float" in capsys.readouterr().err


def test_a_model_built_from_another_is_keyed_on_its_checkpoint(monkeypatch):
    """TT-SNN's STT starts from the trained baseline: retraining the baseline (another schedule)
    must change the STT's key, so its stale checkpoint is not loaded; models that start from
    scratch keep the key they had before the field existed."""
    from workloads import registry
    stt = W.TrainConfig.for_model("ttsnn-r18-fmnist-stt")
    base = W.TrainConfig.for_model("ttsnn-r18-fmnist")
    assert stt.starts_from == base.key()
    entry = registry.get("ttsnn-r18-fmnist")
    monkeypatch.setitem(entry.schedules, "main", {**entry.schedules["main"], "lr": 5e-3})
    assert W.TrainConfig.for_model("ttsnn-r18-fmnist-stt").key() != stt.key()
    scratch = W.TrainConfig.for_model("tiny-snn", **TINY)
    # fields added after the first keys (starts_from, augment, finetune_parent) are left out at their defaults
    blob = {"v": W.CACHE_VERSION, **{k: v for k, v in dataclasses.asdict(scratch).items()
                                     if k not in ("starts_from", "augment", "finetune_parent")}}
    import hashlib
    import json
    assert scratch.key() == hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]
    flipped = dataclasses.replace(scratch, augment="crop-flip")
    assert flipped.key() != scratch.key()
