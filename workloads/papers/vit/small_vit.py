"""A small ViT trained here on Fashion-MNIST, so that TReX and ClipFormer are measured on a real
trained model with real attention maps and K/V distributions (no pretrained ViT exists offline).

The default (:class:`SmallViTConfig`): 28x28 grey images, 4x4 patches (49 + 1 tokens), width 64,
8 encoders of 4 heads (head dim 16), MLP 128; AdamW with a one-cycle schedule on the first
``train_images`` training images, evaluated on the first ``test_images`` test images. The
checkpoint is kept in the checkpoint store (:mod:`workloads.checkpoints`) under a hash of the
configuration, with its measured accuracy and training time beside it.

    from workloads.papers.vit.small_vit import SmallViTConfig, load_or_train, fashion_mnist
    model, info = load_or_train(SmallViTConfig())
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from workloads.determinism import accelerated, deterministic, pinned
from workloads.models.vit import ViT, ViTConfig
from workloads.result_cache import config_key

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class SmallViTConfig:
    image_size: int = 28
    patch_size: int = 4
    dim: int = 64
    depth: int = 8
    heads: int = 4
    mlp_dim: int = 128
    train_images: int = 20000
    test_images: int = 2000
    epochs: int = 5
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    seed: int = 0
    augment: str = "none"       # training-time augmentation (workloads.augment)
    threads: int = 1           # more threads ran 4x slower per image on the shared 2-core machine

    def vit_config(self, reuse: tuple[tuple[int, int], ...] = ()) -> ViTConfig:
        return ViTConfig(image_size=self.image_size, patch_size=self.patch_size, in_channels=1, num_classes=10,
                         dim=self.dim, depth=self.depth, heads=self.heads, mlp_dim=self.mlp_dim, reuse=reuse)


def fashion_mnist(cfg: SmallViTConfig) -> dict[str, torch.Tensor]:
    """Train and test tensors ``[N, 1, size, size]``, normalised by the training mean and std."""
    from workloads.data import load
    xtr, ytr = load("fashion-mnist", "train", size=cfg.image_size, channels=1, limit=cfg.train_images)
    xte, yte = load("fashion-mnist", "test", size=cfg.image_size, channels=1, limit=cfg.test_images)
    xtr, xte = torch.as_tensor(xtr), torch.as_tensor(xte)
    mean, std = float(xtr.mean()), float(xtr.std())
    return {"x_train": (xtr - mean) / std, "y_train": torch.as_tensor(ytr).long(),
            "x_test": (xte - mean) / std, "y_test": torch.as_tensor(yte).long()}


@deterministic
@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> float:
    model.eval()
    dev = next(model.parameters()).device
    correct = sum(int((model(x[i:i + batch].to(dev)).argmax(1).cpu() == y[i:i + batch]).sum())
                  for i in range(0, len(x), batch))
    return correct / len(x)


# the small ViT's optimiser and schedule (its training and TReX's fine-tunes), for workloads.training.fit
SCHEDULE = {"optimizer": "adamw", "schedule": "one-cycle", "pct_start": 0.15}


def train(cfg: SmallViTConfig, data: dict | None = None, progress: bool = True,
          device: str | torch.device | None = None) -> tuple[ViT, dict]:
    from workloads.device import describe, resolve
    from workloads.training import fit

    dev = resolve(device)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    data = data or fashion_mnist(cfg)
    model = ViT(cfg.vit_config()).to(dev)
    t0 = time.perf_counter()
    with pinned(cfg.threads), accelerated(dev):
        train_acc = fit(model, data["x_train"], data["y_train"], epochs=cfg.epochs, batch_size=cfg.batch_size,
                        lr=cfg.lr, weight_decay=cfg.weight_decay, seed=cfg.seed, desc="small ViT", progress=progress,
                        augment=cfg.augment, **SCHEDULE).last_epoch_accuracy
    seconds = time.perf_counter() - t0
    info = {"config": asdict(cfg), "train_accuracy": train_acc, "test_accuracy": accuracy(model, data["x_test"], data["y_test"]),
            "train_time_s": seconds, "parameters": sum(p.numel() for p in model.parameters()),
            "torch": torch.__version__, "device": describe(dev)}
    return model.cpu().eval(), info


def checkpoint_key(cfg: SmallViTConfig) -> str:
    return config_key(cfg, CHECKPOINT_VERSION)


def load_or_train(cfg: SmallViTConfig = SmallViTConfig(), *, directory: Path | None = None,
                  refresh: bool = False, progress: bool = True) -> tuple[ViT, dict]:
    """The trained model for ``cfg`` from the checkpoint store (workloads.checkpoints: the local
    cache, its weights with a JSON record beside them, then the committed checkpoints), trained
    and stored when absent."""
    from workloads import checkpoints

    stored = None if refresh else checkpoints.load("small-vit", checkpoint_key(cfg), directory=directory, record=True)
    if stored is not None:
        model = ViT(cfg.vit_config())
        model.load_state_dict(stored.state if stored.committed else stored.blob)
        return model.eval(), stored.provenance["metrics"] if stored.committed else stored.record
    model, info = train(cfg, progress=progress)
    checkpoints.save("small-vit", checkpoint_key(cfg), model.state_dict(), record=info, directory=directory)
    return model, info


def commit(cfg: SmallViTConfig = SmallViTConfig(), progress: bool = False) -> Path:
    """Store the trained small ViT among the committed checkpoints (workloads.checkpoints), its
    test accuracy measured again on the stored float16 weights."""
    from workloads import checkpoints

    model, info = load_or_train(cfg, progress=progress)
    stored = ViT(cfg.vit_config())
    stored.load_state_dict(checkpoints.round_trip(model.state_dict()))
    data = fashion_mnist(cfg)
    metrics = {k: v for k, v in info.items() if isinstance(v, (int, float))}
    metrics["test_accuracy_before_packing"] = metrics.get("test_accuracy")
    metrics["accuracy_top1"] = metrics["test_accuracy"] = accuracy(stored, data["x_test"], data["y_test"])
    prov = {"model": "small-vit", "config": asdict(cfg), "config_key": checkpoint_key(cfg),
            "schedule": "default", "seed": cfg.seed, "strong": None,
            "command": "archsim-workloads train --all --retrain --commit", "device": info.get("device", "cpu"),
            "wall_time_s": round(info["train_time_s"], 1), "torch": torch.__version__, "metrics": metrics}
    return checkpoints.commit("small-vit", checkpoint_key(cfg), model.state_dict(), prov)


def with_reuse(model: ViT, reuse: dict[int, int]) -> ViT:
    """A copy of ``model`` whose encoders ``reuse`` (``{encoder: source}``) reuse attention: every
    other weight is kept; each transformation block starts as LayerNorm (identity affine) ->
    the reusing encoder's own output projection -> GELU, so fine-tuning starts near the original
    encoder's contribution."""
    cfg = replace(model.cfg, reuse=tuple(sorted(reuse.items())))
    new = ViT(cfg)
    state = model.state_dict()
    own = new.state_dict()
    for key in own:
        if key in state and state[key].shape == own[key].shape:
            own[key] = state[key].clone()
    for i in reuse:
        own[f"blocks.{i}.tb.fc.weight"] = state[f"blocks.{i}.attn.proj.weight"].clone()
        own[f"blocks.{i}.tb.fc.bias"] = state[f"blocks.{i}.attn.proj.bias"].clone()
    new.load_state_dict(own)
    return new.eval()
