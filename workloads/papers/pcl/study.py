"""One-stage prompt-based continual learning (OS-Prompt, Kim et al., ECCV 2024, arXiv 2402.16189)
against the two-stage baseline (L2P / DualPrompt / CODA-Prompt), on a small ViT.

**Prompt pool** (CODA-Prompt's composition, which OS-Prompt uses): each prompted layer ``l``
has ``pool`` components, each a key ``K_m``, an attention vector ``A_m`` (both ``[D]``) and a
prompt ``P_m`` (``[length, D]``); ``pool / tasks`` components belong to each task. For a query
``q`` the weights are ``alpha_m = cos(q * A_m, K_m)`` over the components seen so far (earlier
tasks' components are frozen) and the layer's prompt is ``sum_m alpha_m P_m``; its first half
becomes prefix keys and its second half prefix values of that layer's attention.

**Modes.** ``two_stage``: the query is the final class token of a separate, un-prompted pass of
the frozen backbone (the "query ViT"), so an image costs two ViT passes. ``one_stage``: the query
of layer ``l`` is the class token of the backbone's own input to layer ``l`` (earlier layers'
prompts included), so one pass suffices. Queries are not differentiated through (the query ViT
is frozen in both modes).

**Query-pool regularisation** (OS-Prompt++, ``qr_weight > 0``): during training only, the
one-stage model also runs the query ViT and penalises the difference between the similarity of
its layer queries to the pool's keys and that of the reference query, ``mean_l ||cos(q_l * A,
K) - cos(q_ref * A, K)||^2`` (our reading of the loss [verify against the paper]). Inference
never runs it, so the exported trace and the compute figures do not contain it.

**Continual-learning protocol** (class-incremental): the classes are split into ``tasks``
tasks; for each task the current components, keys, attention vectors and the classifier are
trained on that task's images with the logits of earlier tasks' classes masked (as CODA-Prompt
does); after each task the model is evaluated on the test images of all classes seen so far with
all seen logits. The backbone is frozen throughout.

**Backbone.** No pretrained ViT is available offline, so the frozen backbone is a small ViT
pretrained here *without labels* (predicting which of four rotations an image was given) on
training images held out from the continual-learning stream (indices from ``pretrain_start``),
standing in for the ImageNet-pretrained ViT-B/16 of the paper. Accuracy figures are therefore
not the paper's; what the run shows is that both modes learn and what each costs.

    archsim-workloads pcl [--refresh] [-q]     # the three modes of MODES (cached in data/results/)
"""
from __future__ import annotations

import argparse
import copy
import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from workloads.models.vit import ViT, ViTConfig


class PromptPool(nn.Module):
    def __init__(self, layers: tuple[int, ...], pool: int, length: int, dim: int, tasks: int, seed: int = 0):
        super().__init__()
        if pool % tasks:
            raise ValueError(f"pool {pool} does not split into {tasks} tasks")
        if length % 2:
            raise ValueError(f"prompt length {length} must be even (half keys, half values)")
        g = torch.Generator().manual_seed(seed)
        self.layers, self.pool, self.length, self.tasks = tuple(layers), pool, length, tasks
        self.per_task = pool // tasks
        self.task = 0
        n = len(self.layers)
        self.keys = nn.Parameter(_orthogonal(n, pool, dim, g))
        self.attn = nn.Parameter(_orthogonal(n, pool, dim, g))
        self.prompts = nn.Parameter(_orthogonal(n, pool, length * dim, g).reshape(n, pool, length, dim))

    def set_task(self, task: int) -> None:
        self.task = task

    def _active(self, t: torch.Tensor) -> torch.Tensor:
        """Components of tasks 0..task; earlier tasks' components are frozen (detached)."""
        lo, hi = self.task * self.per_task, (self.task + 1) * self.per_task
        return torch.cat([t[:lo].detach(), t[lo:hi]], dim=0)

    def similarity(self, slot: int, q: torch.Tensor) -> torch.Tensor:
        """``cos(q * A_m, K_m)`` for the active components: ``[B, M]``."""
        keys, attn = self._active(self.keys[slot]), self._active(self.attn[slot])
        qa = F.normalize(q[:, None, :] * attn[None], dim=-1)
        return (qa * F.normalize(keys, dim=-1)[None]).sum(-1)

    def compose(self, layer: int, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(prefix keys, prefix values, similarities) of ``layer`` for queries ``q`` ``[B, D]``."""
        slot = self.layers.index(layer)
        alpha = self.similarity(slot, q)
        p = torch.einsum("bm,mld->bld", alpha, self._active(self.prompts[slot]))
        half = self.length // 2
        return p[:, :half], p[:, half:], alpha


def _orthogonal(n: int, m: int, d: int, g: torch.Generator) -> torch.Tensor:
    """``n`` sets of ``m`` vectors of size ``d``: orthonormal when ``m <= d`` (CODA-Prompt
    initialises its components orthogonally), else Gaussian with unit expected norm."""
    if m > d:
        return torch.randn(n, m, d, generator=g) / math.sqrt(d)
    return torch.stack([torch.linalg.qr(torch.randn(d, m, generator=g))[0].T for _ in range(n)])


class PromptedViT(nn.Module):
    """A frozen ViT backbone with a prompt pool and a trainable classifier."""

    def __init__(self, backbone: ViT, pool: PromptPool, num_classes: int, mode: str):
        super().__init__()
        if mode not in ("one_stage", "two_stage"):
            raise ValueError(f"mode {mode!r}: expected 'one_stage' or 'two_stage'")
        self.backbone, self.pool, self.mode = backbone, pool, mode
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.classifier = nn.Linear(backbone.cfg.dim, num_classes)
        self._alphas: dict[int, torch.Tensor] = {}

    @torch.no_grad()
    def reference_query(self, x: torch.Tensor) -> torch.Tensor:
        """The query ViT's output: the frozen backbone's final class token, no prompts."""
        return self.backbone.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._alphas = {}
        q_ref = self.reference_query(x) if self.mode == "two_stage" else None

        def prompts(layer: int, tokens: torch.Tensor):
            if layer not in self.pool.layers:
                return None
            q = q_ref if q_ref is not None else tokens[:, 0].detach()
            pk, pv, alpha = self.pool.compose(layer, q)
            self._alphas[layer] = alpha
            return pk, pv

        return self.classifier(self.backbone.features(x, prompts))

    def query_pool_loss(self, x: torch.Tensor) -> torch.Tensor:
        """OS-Prompt++'s query-pool regularisation for the last forward (training only)."""
        q_ref = self.reference_query(x)
        losses = [(alpha - self.pool.similarity(self.pool.layers.index(layer), q_ref)).pow(2).sum(-1).mean()
                  for layer, alpha in self._alphas.items()]
        return torch.stack(losses).mean()


@dataclass(frozen=True)
class PclConfig:
    mode: str = "one_stage"
    qr_weight: float = 0.0
    tasks: int = 5
    pool: int = 10                  # components in all (pool / tasks per task)
    prompt_length: int = 8
    prompt_layers: tuple[int, ...] = (0, 1, 2)
    # backbone
    image_size: int = 28
    patch_size: int = 4
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_dim: int = 128
    pretrain: str = "supervised"    # supervised | rotation (no labels)
    pretrain_images: int = 8000
    pretrain_start: int = 50000     # held-out training images used (without labels) for the backbone
    pretrain_epochs: int = 3
    # continual stream
    train_per_task: int = 2000
    test_per_class: int = 200
    epochs: int = 2
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    threads: int = 2

    def vit_config(self, num_classes: int = 4) -> ViTConfig:
        return ViTConfig(image_size=self.image_size, patch_size=self.patch_size, in_channels=1,
                         num_classes=num_classes, dim=self.dim, depth=self.depth, heads=self.heads,
                         mlp_dim=self.mlp_dim)


def pretrain_backbone(cfg: PclConfig, images: torch.Tensor, labels: torch.Tensor | None = None,
                      progress: bool = True) -> tuple[ViT, float]:
    """The frozen backbone: a ViT trained on ``labels`` (``pretrain: supervised``) or, without
    labels, to predict which of 4 rotations (0, 90, 180, 270 degrees) an image was given
    (``pretrain: rotation``); returns it and its final training accuracy on that task."""
    from workloads.training import fit

    torch.manual_seed(cfg.seed)
    rotation = cfg.pretrain == "rotation"
    vit = ViT(cfg.vit_config(num_classes=4 if rotation else 10))

    def rotate(x: torch.Tensor, _, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        target = torch.randint(0, 4, (len(x),), generator=g)
        return torch.stack([torch.rot90(im, int(r), dims=(1, 2)) for im, r in zip(x, target)]), target

    run = fit(vit, images, None if rotation else labels, epochs=cfg.pretrain_epochs, batch_size=cfg.batch_size,
              lr=2e-3, optimizer="adamw", weight_decay=0.05, schedule="one-cycle", seed=cfg.seed,
              augment=rotate if rotation else "none", desc=f"pretrain ({cfg.pretrain})", progress=progress)
    return vit, run.last_epoch_accuracy


def task_classes(task: int, tasks: int, num_classes: int = 10) -> list[int]:
    per = num_classes // tasks
    return list(range(task * per, (task + 1) * per))


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seen: int, batch: int = 256) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(x[i:i + batch])[:, :seen]
        correct += int((logits.argmax(1) == y[i:i + batch]).sum())
    return correct / len(x)


def run_continual(cfg: PclConfig, backbone: ViT, data: dict, progress: bool = True) -> dict:
    """Train ``cfg.mode`` over the task stream; accuracy on all seen classes after each task."""
    from workloads.training import fit

    torch.manual_seed(cfg.seed)
    pool = PromptPool(cfg.prompt_layers, cfg.pool, cfg.prompt_length, cfg.dim, cfg.tasks, seed=cfg.seed)
    model = PromptedViT(copy.deepcopy(backbone), pool, num_classes=10, mode=cfg.mode)
    xtr, ytr, xte, yte = data["x_train"], data["y_train"], data["x_test"], data["y_test"]
    g = torch.Generator().manual_seed(cfg.seed)
    per_task_acc, matrix = [], []
    t0 = time.perf_counter()
    for task in range(cfg.tasks):
        classes = task_classes(task, cfg.tasks)
        pool.set_task(task)
        sel = torch.isin(ytr, torch.tensor(classes)).nonzero().reshape(-1)[:cfg.train_per_task]
        params = [pool.keys, pool.attn, pool.prompts, *model.classifier.parameters()]
        lo = classes[0]

        def masked_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lo=lo, hi=classes[-1] + 1):
            logits = model(x)[:, :hi]     # earlier tasks' logits masked, later classes' left out
            logits = torch.cat([torch.full_like(logits[:, :lo], -1e4), logits[:, lo:]], dim=1)
            loss = F.cross_entropy(logits, y)
            if cfg.qr_weight > 0:
                loss = loss + cfg.qr_weight * model.query_pool_loss(x)
            return loss, logits

        fit(model, xtr[sel], ytr[sel], epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, params=params,
            loss=masked_loss, generator=g, desc=f"{cfg.mode} task {task}", progress=progress)
        seen = classes[-1] + 1
        row = []
        for t in range(task + 1):
            m = torch.isin(yte, torch.tensor(task_classes(t, cfg.tasks)))
            row.append(accuracy(model, xte[m], yte[m], seen))
        matrix.append(row)
        per_task_acc.append(accuracy(model, xte[yte < seen], yte[yte < seen], seen))
    final = matrix[-1]
    forgetting = [max(matrix[k][t] for k in range(t, cfg.tasks - 1)) - final[t] for t in range(cfg.tasks - 1)]
    return {"mode": cfg.mode, "qr_weight": cfg.qr_weight,
            "accuracy_after_task": per_task_acc, "final_accuracy": per_task_acc[-1],
            "task_accuracy_matrix": matrix, "average_forgetting": sum(forgetting) / max(len(forgetting), 1),
            "train_time_s": time.perf_counter() - t0}


def load_stream(cfg: PclConfig) -> dict:
    """Fashion-MNIST 28x28: the continual stream's training images come from the start of the
    training split, the backbone's unlabelled images from ``pretrain_start`` on, the test images
    (``test_per_class`` of each class) from the test split."""
    from workloads.data import load
    xtr, ytr = load("fashion-mnist", "train", size=cfg.image_size, channels=1)
    xte, yte = load("fashion-mnist", "test", size=cfg.image_size, channels=1)
    xtr, ytr, xte, yte = (torch.as_tensor(a) for a in (xtr, ytr, xte, yte))
    mean, std = float(xtr.mean()), float(xtr.std())
    norm = lambda x: (x - mean) / std  # noqa: E731
    keep = torch.cat([(yte == c).nonzero().reshape(-1)[:cfg.test_per_class] for c in range(10)]).sort().values
    stream_end = min(cfg.pretrain_start, len(xtr))
    return {"x_train": norm(xtr[:stream_end]), "y_train": ytr[:stream_end].long(),
            "x_test": norm(xte[keep]), "y_test": yte[keep].long(),
            "x_pretrain": norm(xtr[cfg.pretrain_start:cfg.pretrain_start + cfg.pretrain_images]),
            "y_pretrain": ytr[cfg.pretrain_start:cfg.pretrain_start + cfg.pretrain_images].long()}


MODES = (("one_stage", 0.0), ("two_stage", 0.0), ("one_stage", 0.1))


def cache_entry(cfg: PclConfig = PclConfig(), modes=MODES) -> tuple[str, dict, int]:
    """``(experiment, configuration, version)`` under which :func:`measure` stores the result."""
    key = {k: v for k, v in asdict(cfg).items() if k != "threads"}     # threads do not change the result
    return "pcl-fmnist", {"config": key, "modes": [list(m) for m in modes]}, 1


def measure(cfg: PclConfig = PclConfig(), modes=MODES, refresh: bool = False, progress: bool = True) -> dict:
    """The cached result of :func:`experiment`."""
    from workloads.result_cache import cached
    name, key, version = cache_entry(cfg, modes)
    return cached(name, key, lambda: experiment(cfg, modes, progress), version=version, refresh=refresh)


def experiment(cfg: PclConfig, modes=MODES, progress: bool = True) -> dict:
    """Pretrain the backbone once and run each (mode, qr_weight) over the same stream."""
    torch.set_num_threads(cfg.threads)
    data = load_stream(cfg)
    t0 = time.perf_counter()
    backbone, pre_acc = pretrain_backbone(cfg, data["x_pretrain"], data["y_pretrain"], progress)
    out = {"config": asdict(cfg), "pretrain_train_accuracy": pre_acc,
           "pretrain_time_s": time.perf_counter() - t0, "runs": []}
    for mode, qr in modes:
        run_cfg = PclConfig(**{**asdict(cfg), "mode": mode, "qr_weight": qr})
        out["runs"].append(run_continual(run_cfg, backbone, data, progress))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="archsim-workloads pcl", description=__doc__.split("\n\n")[0])
    p.add_argument("--refresh", action="store_true", help="recompute the cached result")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    r = measure(refresh=args.refresh, progress=not args.quiet)
    print(f"backbone (rotation pretraining): train accuracy {r['pretrain_train_accuracy']:.4f}")
    for run in r["runs"]:
        print(f"{run['mode']:<10} qr {run['qr_weight']:<4} final accuracy {run['final_accuracy']:.4f}  "
              f"average forgetting {run['average_forgetting']:.4f}  ({run['train_time_s']:.0f} s)")
    return 0
