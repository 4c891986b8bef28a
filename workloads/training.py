"""The one training loop every frontend uses (the registry's prune-and-retrain schedule, the small
ViT and its TReX fine-tunes, StableQ's FP ResNet-18, PCL's backbone and its continual stream).

:func:`fit` runs mini-batch training of ``model`` on ``(x, y)``:

* **order**: one permutation of the training set per epoch, drawn on the CPU from ``generator``
  (or a new one seeded with ``seed``), so every device sees the same batches; the same generator
  draws the augmentation (:mod:`workloads.augment`, or a ``transform`` of the batch);
* **steps**: ``round(epochs * ceil(N / batch_size))`` (a fractional ``epochs`` ends with a partial
  epoch); each step is forward, loss (cross-entropy unless ``loss`` says otherwise), zero grad,
  backward, optimiser step, schedule step, and the pruning masks re-applied;
* **optimiser**: Adam or AdamW over ``params`` (default: all the model's parameters);
* **schedule**: ``constant``; ``cosine`` (``lr * (1 + cos(pi s / steps)) / 2``); ``one-cycle``
  (:class:`torch.optim.lr_scheduler.OneCycleLR` peaking at ``lr`` after ``pct_start`` of the steps).

On a GPU the training set is moved there once. The callers keep what is theirs: the global seed
(:func:`torch.manual_seed`), the thread count, the model's construction and the cache.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "cosine", "one-cycle")

Transform = Callable[[torch.Tensor, "torch.Tensor | None", torch.Generator], "tuple[torch.Tensor, torch.Tensor]"]
Loss = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]


@dataclass
class Fitted:
    """What a run of :func:`fit` reports: per epoch, the training predictions that were right and
    the images seen (the last epoch may be partial), and the state after ``snapshot_at`` steps."""

    epochs: list[tuple[int, int]] = field(default_factory=list)
    snapshot: dict | None = None

    @property
    def accuracy(self) -> float:
        """Running training accuracy over the whole run."""
        return sum(c for c, _ in self.epochs) / max(sum(n for _, n in self.epochs), 1)

    @property
    def last_epoch_accuracy(self) -> float:
        c, n = self.epochs[-1] if self.epochs else (0, 0)
        return c / max(n, 1)


def _cross_entropy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
    logits = model(x)
    return F.cross_entropy(logits, y), logits


def _transform(augment: str | Transform) -> Transform:
    if callable(augment):
        return augment
    from workloads.augment import AUGMENTATIONS, augment as apply
    if augment not in AUGMENTATIONS:
        raise ValueError(f"fit: augment must be one of {', '.join(AUGMENTATIONS)} or a function, got {augment!r}")
    return lambda x, y, g: (apply(augment, x, g), y)


def _optimizer(name: str, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"fit: optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def _scheduler(name: str, opt: torch.optim.Optimizer, lr: float, total: int, pct_start: float):
    if name == "constant":
        return None
    if name == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    if name == "one-cycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=pct_start)
    raise ValueError(f"fit: schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")


def fit(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None, *, epochs: float, batch_size: int,
        lr: float, optimizer: str = "adam", weight_decay: float = 0.0, schedule: str = "constant",
        pct_start: float = 0.3, params=None, masks: dict[str, torch.Tensor] | None = None,
        masked: dict[str, torch.Tensor] | None = None, augment: str | Transform = "none", loss: Loss | None = None,
        seed: int | None = None, generator: torch.Generator | None = None, snapshot_at: int | None = None,
        progress: bool = True, desc: str = "train") -> Fitted:
    """Train ``model`` in place (see the module's description); it is left in evaluation mode.

    ``augment``: a name from :data:`workloads.augment.AUGMENTATIONS` or a function ``(x, y,
    generator) -> (x, y)`` of each batch (``y`` is None when ``y`` is). ``masks`` (with the
    ``masked`` parameters they belong to, by name) are re-applied after every step. ``loss``:
    ``(model, x, y) -> (loss, logits)``, default cross-entropy. Exactly one of ``seed`` and
    ``generator`` (a generator carries on from where the last run left it)."""
    from tqdm.auto import tqdm

    from workloads.prune import apply_masks

    if (seed is None) == (generator is None):
        raise ValueError("fit: give exactly one of seed and generator")
    if (masks is None) != (masked is None):
        raise ValueError("fit: masks and masked (the parameters they apply to) go together")
    if epochs <= 0 or batch_size < 1 or len(x) == 0:
        raise ValueError(f"fit: needs epochs > 0, batch_size >= 1 and training images "
                         f"(got {epochs}, {batch_size}, {len(x)} images)")
    transform = _transform(augment)
    loss = loss or _cross_entropy
    g = generator if generator is not None else torch.Generator().manual_seed(seed)
    total = max(1, int(round(epochs * math.ceil(len(x) / batch_size))))
    opt = _optimizer(optimizer, params if params is not None else model.parameters(), lr, weight_decay)
    sched = _scheduler(schedule, opt, lr, total, pct_start)
    dev = next(model.parameters()).device
    if dev.type == "cuda":
        x = x.to(dev)
        y = y.to(dev) if y is not None else None
    out = Fitted()
    step = 0
    model.train()
    with tqdm(total=total, desc=desc, leave=False, disable=not progress) as bar:
        while step < total:
            correct = seen = 0
            for idx in torch.randperm(len(x), generator=g).split(batch_size):   # on the CPU: same on every device
                if step == total:
                    break
                idx = idx.to(x.device)
                xb, yb = transform(x[idx].to(dev), y[idx].to(dev) if y is not None else None, g)
                value, logits = loss(model, xb, yb)
                opt.zero_grad(set_to_none=True)
                value.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                if masks is not None:
                    apply_masks(masked, masks)
                step += 1
                correct += int((logits.argmax(1) == yb).sum())
                seen += len(idx)
                if snapshot_at is not None and step == min(snapshot_at, total):
                    out.snapshot = copy.deepcopy(model.state_dict())
                bar.update(1)
                if progress:
                    bar.set_postfix(loss=f"{value.item():.3f}", acc=f"{correct / seen:.3f}")
            out.epochs.append((correct, seen))
    model.eval()
    return out
