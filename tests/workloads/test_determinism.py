"""The same seed gives the same trained model on a 1-core and a 2-core machine: three small
trainings (the SNN trainer of workloads/train.py, the small ViT, StableQ's FP ResNet-18), each run
in a fresh process under 1 and under 2 torch threads, end in bit-identical weights and the same
accuracy (workloads/determinism.py pins the thread count and the algorithms)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import hashlib, json, sys
import torch
torch.set_num_threads(int(sys.argv[1]))       # what the machine would give by default

def digest(model):
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode()); h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()

out = {}
from workloads.train import TrainConfig, train
cfg = TrainConfig.for_model("tiny-snn", train_size=96, test_size=48, batch_size=32, dense_epochs=1,
                            prune_rounds=1, retrain_epochs=1, rewind_step=2)
t = train(cfg, progress=False)
out["snn"] = [digest(t.model), t.metrics["accuracy_top1"]]

from workloads.papers.vit.small_vit import SmallViTConfig, fashion_mnist, train as train_vit
vcfg = SmallViTConfig(dim=16, depth=1, heads=2, mlp_dim=32, train_images=128, test_images=64, epochs=1, batch_size=32)
model, info = train_vit(vcfg, fashion_mnist(vcfg), progress=False)
out["vit"] = [digest(model), info["test_accuracy"]]

from workloads.papers.stableq.study import CnnTrainConfig, load_data, train_fp
ccfg = CnnTrainConfig(train_size=64, test_size=32, epochs=1, batch_size=32)
model, metrics = train_fp(ccfg, load_data(ccfg), progress=False)
out["resnet18"] = [digest(model), metrics["accuracy_top1"]]
print(json.dumps(out))
"""


def _start(threads: int, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "ARCHSIM_CHECKPOINT_DIR": str(tmp_path / f"ck{threads}"),
           "ARCHSIM_RESULTS_DIR": str(tmp_path / f"res{threads}" / "results")}
    env.pop("ARCHSIM_TORCH_THREADS", None)
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(threads)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_training_is_bit_identical_under_1_and_2_threads(tmp_path):
    procs = [_start(1, tmp_path), _start(2, tmp_path)]      # side by side: the thread count is pinned
    one, two = (_result(p) for p in procs)
    assert set(one) == {"snn", "vit", "resnet18"}
    for name in one:
        assert one[name][0] == two[name][0], f"{name}: weights differ between 1 and 2 threads"
        assert one[name][1] == two[name][1], f"{name}: accuracy differs between 1 and 2 threads"


def test_thread_setting_is_validated(monkeypatch):
    from workloads.determinism import pinned, train_threads
    import torch

    monkeypatch.setenv("ARCHSIM_TORCH_THREADS", "zero")
    with pytest.raises(ValueError, match="ARCHSIM_TORCH_THREADS"):
        train_threads()
    monkeypatch.delenv("ARCHSIM_TORCH_THREADS")
    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    with pinned(1):
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before
