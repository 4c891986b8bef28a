"""Training, lottery-ticket pruning and strong-mode fine-tuning, with a checkpoint cache.

Schedule (:class:`TrainConfig`): train the dense network for ``dense_epochs`` on the first
``train_size`` training images (Adam, cosine learning rate); keep the weights after
``rewind_step`` steps (late rewinding, as lottery-ticket work does for deep networks); then for
each of ``prune_rounds`` rounds: prune globally by magnitude to the round's size
(:mod:`workloads.prune`), rewind, and retrain. ``rewind="weights"`` is the lottery ticket:
the surviving weights (and batch-norm state) go back to the kept early weights.
``rewind="lr"`` is learning-rate rewinding (Renda et al., ICLR 2020): the weights stay, the
learning-rate schedule restarts; each round then builds on the last one's training, which
matters when a round is only a few dozen steps. Either way the pruned network is retrained for
``retrain_epochs`` (the last round: ``final_retrain_epochs``) with the mask held. Batch-norm
statistics are re-estimated before each evaluation. Accuracy is measured on the first
``test_size`` test images.

:func:`finetune_strong` is LoAS's strong mode: neurons that fire once in T are silenced
(:func:`workloads.snn.neuron.set_drop_single_spike`), and the pruned network is fine-tuned for a
few epochs; accuracy is reported before and after.

Trained models are kept in the checkpoint store (:mod:`workloads.checkpoints`: the local cache
``data/checkpoints/<model>-<hash>.pt``, then the committed checkpoints), the hash taken over the
whole configuration (and :data:`CACHE_VERSION`), so tests and reports never retrain.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from workloads import prune as P
from workloads import registry
from workloads.determinism import accelerated, deterministic

CACHE_VERSION = 1
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class TrainConfig:
    model: str
    dataset: str = "fashion-mnist"
    image_size: int = 32
    channels: int = 3
    timesteps: int = 4
    encoding: str = "direct"
    train_size: int = 3000        # first N training images
    test_size: int = 1000         # first N test images
    batch_size: int = 64
    lr: float = 1e-3
    dense_epochs: int = 2
    rewind: str = "weights"       # "weights": lottery ticket (late) rewinding; "lr": learning-rate rewinding
    rewind_step: int = 20         # weight rewinding point (optimizer steps into dense training)
    prune_rounds: int = 4
    target_sparsity: float = 0.98
    retrain_epochs: int = 1
    final_retrain_epochs: int | None = None   # epochs of the last round (default: retrain_epochs)
    eval_dense: bool = True       # measure the dense network's test accuracy before pruning
    skip_first_last: bool = True  # keep the first and the classifier layer dense
    seed: int = 0
    starts_from: str | None = None   # config key of the checkpoint this model is built from (set from the registry)
    augment: str = "none"         # training-time augmentation (workloads.augment): "none" or "crop-flip"
    # a variant of a trained, pruned parent (the registry's starts_from): the parent's weights at this
    # configuration's T, its mask moved to target_sparsity (grown by gradient magnitude when denser,
    # pruned by magnitude when sparser), then dense_epochs of training with the mask held
    finetune_parent: bool = False

    def __post_init__(self):
        if self.rewind not in ("weights", "lr"):
            raise ValueError(f"rewind must be 'weights' or 'lr', got {self.rewind!r}")
        from workloads.augment import AUGMENTATIONS
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}, got {self.augment!r}")
        if self.finetune_parent and self.prune_rounds:
            raise ValueError("finetune_parent moves the parent's mask to target_sparsity once: prune_rounds must be 0")
        if not 0.0 <= self.target_sparsity < 1.0:
            raise ValueError(f"target_sparsity must be in [0, 1), got {self.target_sparsity}")
        for f in ("train_size", "test_size", "batch_size", "timesteps", "image_size", "channels"):
            if getattr(self, f) < 1:
                raise ValueError(f"{f} must be >= 1, got {getattr(self, f)}")

    def key(self) -> str:
        fields = dataclasses.asdict(self)
        # settings added later leave the keys of configurations that do not use them unchanged
        for name, default in (("starts_from", None), ("augment", "none"), ("finetune_parent", False)):
            if fields[name] == default:
                del fields[name]
        blob = json.dumps({"v": CACHE_VERSION, **fields}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def for_model(cls, model: str, schedule: str = "main", **overrides) -> "TrainConfig":
        entry = registry.get(model)
        if schedule not in entry.schedules:
            raise KeyError(f"model {model!r} has no schedule {schedule!r}; it has: {', '.join(entry.schedules)}")
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        bad = set(overrides) - set(fields)
        if bad:
            raise KeyError(f"unknown training setting(s) {', '.join(sorted(bad))}; known: {', '.join(sorted(fields))}")
        for key, value in overrides.items():
            _check_type(key, fields[key], value)
        cfg = cls(model=model, **{**entry.schedules[schedule], **overrides})
        if entry.starts_from is not None:
            # a model built from another's checkpoint is stale when that one retrains: key on it
            cfg = dataclasses.replace(cfg, starts_from=parent_config(cfg).key())
        return cfg


def parent_config(cfg: TrainConfig) -> TrainConfig:
    """The configuration of the trained model ``cfg``'s model starts from (its registry entry's
    ``starts_from``, "main" schedule) at ``cfg``'s timesteps and seed: a seed repeats the chain.
    A ``finetune_parent`` variant starts from the parent as trained (its own T): changing T is
    what such a variant is for."""
    entry = registry.get(cfg.model)
    if cfg.finetune_parent:
        return TrainConfig.for_model(entry.starts_from, "main", seed=cfg.seed)
    return TrainConfig.for_model(entry.starts_from, "main", timesteps=cfg.timesteps, seed=cfg.seed)


def _check_type(key: str, annotation: str, value) -> None:
    """``annotation`` is the field's type as written ("int", "float", "int | None", ...)."""
    names = [a.strip() for a in str(annotation).split("|")]
    if value is None and "None" in names:
        return
    ok = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str)}
    if not any(ok[n](value) for n in names if n in ok):
        raise ValueError(f"training setting {key}: expected {annotation}, got {value!r}")


@dataclass(frozen=True)
class StrongConfig:
    """Fine-tuning with neurons that fire once silenced (LoAS strong mode, their Fig. 11)."""

    epochs: int = 1
    lr: float = 5e-4
    images: int | None = None     # training images used (default: all of the training subset)

    def __post_init__(self):
        if self.epochs < 1 or (self.images is not None and self.images < 1) or self.lr <= 0:
            raise ValueError(f"strong fine-tune needs epochs >= 1, images >= 1 and lr > 0 "
                             f"(got {self.epochs}, {self.images}, {self.lr})")


@dataclass
class Trained:
    model: torch.nn.Module
    config: TrainConfig
    masks: dict[str, torch.Tensor]
    metrics: dict[str, float]
    path: Path | None = None
    strong: StrongConfig | None = None
    device: str = "cpu"                   # where it was trained (never part of the key)
    provenance: dict | None = None        # a committed checkpoint's provenance


# --- data ----------------------------------------------------------------------------------------

def load_data(cfg: TrainConfig, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from workloads.data import load

    limit = cfg.train_size if split == "train" else cfg.test_size
    x, y = load(cfg.dataset, split, size=cfg.image_size, channels=cfg.channels, limit=limit)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


def dataset_description(cfg: TrainConfig, split: str, start: int, stop: int) -> str:
    return f"{cfg.dataset} {split}[{start}:{stop}] ({cfg.channels}x{cfg.image_size}x{cfg.image_size})"


# --- building, training, evaluation --------------------------------------------------------------

def build(cfg: TrainConfig) -> torch.nn.Module:
    entry = registry.get(cfg.model)
    kw = {}
    if entry.starts_from is not None and not cfg.finetune_parent:
        # built from the trained model it starts from (its "main" schedule)
        kw["parent"] = load_or_train(parent_config(cfg), progress=False).model
    return entry.build(num_classes=10, timesteps=cfg.timesteps, encoding=cfg.encoding,
                       in_channels=cfg.channels, image_size=cfg.image_size, **kw)


def _gradients(model: torch.nn.Module, params: dict, x: torch.Tensor, y: torch.Tensor, batches: int,
               batch_size: int) -> dict[str, torch.Tensor]:
    """The loss gradient of ``params`` summed over the first ``batches`` training batches (the
    pruned weights included: it is what growing them would buy)."""
    import torch.nn.functional as F

    model.train()
    model.zero_grad(set_to_none=True)
    dev = _device_of(model)
    for i in range(0, min(batches * batch_size, len(x)), batch_size):
        F.cross_entropy(model(x[i:i + batch_size].to(dev)), y[i:i + batch_size].to(dev)).backward()
    grads = {n: p.grad.detach().clone() for n, p in params.items()}
    model.zero_grad(set_to_none=True)
    return grads


def _variant_of_parent(cfg: TrainConfig, model: torch.nn.Module, x, y, metrics: dict):
    """The parent's weights and mask in ``model`` (built at ``cfg``'s T), the mask moved to
    ``cfg.target_sparsity``. Returns the prunable parameters and their masks."""
    parent = load_or_train(parent_config(cfg), progress=False)
    model.load_state_dict(parent.model.state_dict())
    params = P.prunable(model, cfg.skip_first_last)
    dev = _device_of(model)
    masks = {n: parent.masks[n].to(dev) for n in params}
    total = sum(p.numel() for p in params.values())
    alive = sum(int(m.sum()) for m in masks.values())
    keep = int(round(total * (1.0 - cfg.target_sparsity)))
    metrics["parent_weight_sparsity_pruned_layers"] = 1.0 - alive / total
    if keep > alive:
        masks = P.grow_by_gradient(params, masks, _gradients(model, params, x, y, 8, cfg.batch_size), keep)
    elif keep < alive:
        masks = P.global_magnitude_masks(params, masks, keep)
    P.apply_masks(params, masks)
    return params, masks


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@deterministic
@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 128,
             progress: bool = False, desc: str = "eval") -> float:
    from tqdm import tqdm

    model.eval()
    dev = _device_of(model)
    correct = 0
    for i in tqdm(range(0, len(x), batch_size), desc=desc, disable=not progress, leave=False):
        out = model(x[i:i + batch_size].to(dev))
        correct += int((out.argmax(1).cpu() == y[i:i + batch_size]).sum())
    return correct / len(x)


@deterministic
@torch.no_grad()
def recalibrate_bn(model: torch.nn.Module, x: torch.Tensor, images: int = 512, batch_size: int = 64) -> None:
    """Re-estimate batch-norm running statistics as plain averages over ``images`` training
    images. Short schedules (a few dozen steps per pruning round, after rewinding) leave the
    exponential running averages far from the weights' actual statistics, which wrecks
    evaluation-mode accuracy."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None            # cumulative average
    model.train()
    dev = _device_of(model)
    for i in range(0, min(images, len(x)), batch_size):
        model(x[i:i + batch_size].to(dev))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


def _train_phase(model, x, y, cfg: TrainConfig, epochs: int, lr: float, params=None, masks=None,
                 rewind_at: int | None = None, progress=True, desc="train"):
    """One phase of the schedule on the shared trainer (:func:`workloads.training.fit`): Adam with
    a cosine schedule over the phase, masks re-applied after each step, each batch augmented per
    ``cfg.augment``, the order seeded per phase. Returns the state after ``rewind_at`` steps (if
    asked) and the running training accuracy over the phase."""
    from workloads.training import fit

    run = fit(model, x, y, epochs=epochs, batch_size=cfg.batch_size, lr=lr, schedule="cosine", masks=masks,
              masked=params if masks is not None else None, augment=cfg.augment,
              seed=cfg.seed + 7919 * epochs + len(desc), snapshot_at=rewind_at, progress=progress, desc=desc)
    return run.snapshot, run.accuracy


@deterministic
def train(cfg: TrainConfig, progress: bool = True, device: str | torch.device | None = None) -> Trained:
    """Train, prune and retrain per ``cfg`` on ``device`` (no cache; see :func:`load_or_train`).
    The returned model and masks are on the CPU."""
    from workloads.device import resolve

    dev = resolve(device)
    with accelerated(dev):
        return _train(cfg, progress, dev)


def _train(cfg: TrainConfig, progress: bool, dev: torch.device) -> Trained:
    from workloads.device import describe

    torch.manual_seed(cfg.seed)
    x, y = load_data(cfg, "train")
    xt, yt = load_data(cfg, "test")
    model = build(cfg).to(dev)
    if hasattr(model, "set_input_stats"):
        model.set_input_stats(float(x.mean()), float(x.std()))
    metrics: dict[str, float] = {}
    name = cfg.model
    if cfg.finetune_parent:
        return _finetune_variant(cfg, model, x, y, xt, yt, metrics, progress, dev)
    params = P.prunable(model, cfg.skip_first_last)
    masks = P.full_masks(params)

    t0, c0 = time.perf_counter(), time.process_time()
    rewind, acc = _train_phase(model, x, y, cfg, cfg.dense_epochs, cfg.lr, rewind_at=cfg.rewind_step,
                               progress=progress, desc=f"{name} dense")
    metrics["train_accuracy_dense"] = acc
    metrics["time_dense_s"] = time.perf_counter() - t0
    if cfg.prune_rounds and cfg.eval_dense:
        recalibrate_bn(model, x)
        metrics["accuracy_dense"] = evaluate(model, xt, yt, progress=progress, desc=f"{name} test")
    total = sum(p.numel() for p in params.values())
    for r in range(1, cfg.prune_rounds + 1):
        t1 = time.perf_counter()
        keep = P.kept_after_round(total, cfg.target_sparsity, r, cfg.prune_rounds)
        masks = P.global_magnitude_masks(params, masks, keep)
        if cfg.rewind == "weights":
            model.load_state_dict(rewind)                  # rewind the survivors
        P.apply_masks(params, masks)
        epochs = cfg.retrain_epochs
        if r == cfg.prune_rounds and cfg.final_retrain_epochs is not None:
            epochs = cfg.final_retrain_epochs
        _, acc = _train_phase(model, x, y, cfg, epochs, cfg.lr, params, masks,
                              progress=progress, desc=f"{name} round {r}/{cfg.prune_rounds}")
        metrics[f"train_accuracy_round{r}"] = acc
        metrics[f"time_round{r}_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    recalibrate_bn(model, x)
    metrics["accuracy_top1"] = evaluate(model, xt, yt, progress=progress, desc=f"{name} test")
    metrics["time_eval_s"] = time.perf_counter() - t2
    metrics["weight_sparsity_pruned_layers"] = P.sparsity(params.values())
    metrics["time_total_s"] = time.perf_counter() - t0
    metrics["cpu_time_total_s"] = time.process_time() - c0     # all threads; wall time varies with load
    model.eval().cpu()
    masks = {n: m.cpu() for n, m in masks.items()}
    trained = Trained(model, cfg, masks, metrics)
    trained.device = describe(dev)
    return trained


def _finetune_variant(cfg: TrainConfig, model, x, y, xt, yt, metrics: dict, progress: bool,
                      dev: torch.device) -> Trained:
    """A ``finetune_parent`` variant: the parent at this T and sparsity, measured, then trained
    ``dense_epochs`` with the mask held, measured again."""
    from workloads.device import describe

    t0, c0 = time.perf_counter(), time.process_time()
    params, masks = _variant_of_parent(cfg, model, x, y, metrics)
    recalibrate_bn(model, x)
    metrics["accuracy_before_finetune"] = evaluate(model, xt, yt, progress=progress, desc=f"{cfg.model} test")
    _, acc = _train_phase(model, x, y, cfg, cfg.dense_epochs, cfg.lr, params, masks, progress=progress,
                          desc=f"{cfg.model} fine-tune")
    metrics["train_accuracy_finetune"] = acc
    recalibrate_bn(model, x)
    metrics["accuracy_top1"] = evaluate(model, xt, yt, progress=progress, desc=f"{cfg.model} test")
    metrics["weight_sparsity_pruned_layers"] = P.sparsity(params.values())
    metrics["time_total_s"] = time.perf_counter() - t0
    metrics["cpu_time_total_s"] = time.process_time() - c0
    model.eval().cpu()
    trained = Trained(model, cfg, {n: m.cpu() for n, m in masks.items()}, metrics)
    trained.device = describe(dev)
    return trained


@deterministic
def finetune_strong(trained: Trained, scfg: StrongConfig, progress: bool = True,
                    device: str | torch.device | None = None) -> Trained:
    """Silence neurons firing once in T, measure accuracy, fine-tune, measure again."""
    from workloads.device import resolve

    dev = resolve(device)
    with accelerated(dev):
        return _finetune_strong(trained, scfg, progress, dev)


def _finetune_strong(trained: Trained, scfg: StrongConfig, progress: bool, dev: torch.device) -> Trained:
    from workloads.device import describe
    from workloads.snn.neuron import set_drop_single_spike, spiking_modules

    cfg = trained.config
    model = copy.deepcopy(trained.model).to(dev)
    if not spiking_modules(model):
        raise ValueError(f"{cfg.model} has no spiking neurons: strong mode applies to SNNs only")
    torch.manual_seed(cfg.seed + 1)
    x, y = load_data(cfg, "train")
    x, y = x[:scfg.images], y[:scfg.images]
    xt, yt = load_data(cfg, "test")
    params = P.prunable(model, cfg.skip_first_last)
    masks = {n: m.clone().to(dev) for n, m in trained.masks.items()}
    set_drop_single_spike(model, True)
    metrics = dict(trained.metrics)
    t0, c0 = time.perf_counter(), time.process_time()
    metrics["accuracy_strong_before_finetune"] = evaluate(model, xt, yt, progress=progress,
                                                          desc=f"{cfg.model} strong test")
    _, acc = _train_phase(model, x, y, cfg, scfg.epochs, scfg.lr, params, masks, progress=progress,
                          desc=f"{cfg.model} strong fine-tune")
    recalibrate_bn(model, x)
    metrics["accuracy_strong_after_finetune"] = evaluate(model, xt, yt, progress=progress,
                                                         desc=f"{cfg.model} strong test")
    metrics["time_strong_finetune_s"] = time.perf_counter() - t0
    metrics["cpu_time_strong_finetune_s"] = time.process_time() - c0
    metrics["accuracy_top1"] = metrics["accuracy_strong_after_finetune"]
    model.eval().cpu()
    out = Trained(model, cfg, {n: m.cpu() for n, m in masks.items()}, metrics, strong=scfg)
    out.device = describe(dev)
    return out


# --- the cache (workloads.checkpoints: local cache, then the committed checkpoints) ---------------

def strong_key(strong: StrongConfig) -> str:
    return hashlib.sha256(json.dumps(dataclasses.asdict(strong), sort_keys=True).encode()).hexdigest()[:8]


def entry_key(cfg: TrainConfig, strong: StrongConfig | None = None) -> str:
    """The checkpoint key: the configuration's hash (plus the strong fine-tune's)."""
    return cfg.key() + (f"-strong-{strong_key(strong)}" if strong is not None else "")


def checkpoint_path(cfg: TrainConfig, cache_dir: Path | None = None, strong: StrongConfig | None = None) -> Path:
    from workloads import checkpoints
    return checkpoints.local_path(cfg.model, entry_key(cfg, strong), cache_dir)


def save(trained: Trained, cache_dir: Path | None = None) -> Path:
    """Store ``trained`` in the local checkpoint cache (workloads.checkpoints)."""
    from workloads import checkpoints

    cfg = trained.config
    blob = {"config": dataclasses.asdict(cfg), "state_dict": trained.model.state_dict(), "masks": trained.masks,
            "metrics": trained.metrics, "device": trained.device,
            "strong": dataclasses.asdict(trained.strong) if trained.strong else None}
    trained.path = checkpoints.save(cfg.model, entry_key(cfg, trained.strong), blob, directory=cache_dir)
    return trained.path


def _assemble(cfg: TrainConfig, state: dict, masks: dict, metrics: dict, strong: StrongConfig | None,
              path: Path | None, device: str = "cpu", provenance: dict | None = None) -> Trained:
    from workloads.snn.neuron import set_drop_single_spike

    model = build(cfg)
    model.load_state_dict(state)
    if strong is not None:
        set_drop_single_spike(model, True)
    model.eval()
    return Trained(model, cfg, masks, metrics, path=path, strong=strong, device=device, provenance=provenance)


def _restore(cfg: TrainConfig, strong: StrongConfig | None, stored) -> Trained:
    """The :class:`Trained` of a checkpoint found in the store (the local cache's file records
    its own configuration; a committed one keys its masks by parameter name, workloads.prune)."""
    if stored.committed:
        return _assemble(cfg, stored.state, stored.masks, stored.provenance["metrics"], strong, None,
                         stored.provenance.get("device", "cpu"), stored.provenance)
    blob = stored.blob
    try:
        cfg = TrainConfig(**blob["config"])
        strong = StrongConfig(**blob["strong"]) if blob.get("strong") else None
        return _assemble(cfg, blob["state_dict"], blob["masks"], blob["metrics"], strong, stored.path,
                         blob.get("device", "cpu"))
    except Exception as exc:     # another version's keys, ...
        raise ValueError(f"{stored.path}: unreadable checkpoint ({type(exc).__name__}: {str(exc)[:200]}); "
                         "delete it or retrain with --retrain") from None


def load_or_train(cfg: TrainConfig, strong: StrongConfig | None = None, cache_dir: Path | None = None,
                  progress: bool = True, retrain: bool = False, device: str | torch.device | None = None,
                  committed: bool = True) -> Trained:
    """The trained (and, with ``strong``, strong-mode fine-tuned) model for ``cfg``: from the local
    cache, else from the project's committed checkpoints (``committed``), else trained on
    ``device`` and cached (workloads.checkpoints). ``retrain`` ignores both."""
    from workloads import checkpoints

    if not retrain:
        stored = checkpoints.load(cfg.model, entry_key(cfg, strong), directory=cache_dir, committed=committed)
        if stored is not None:
            return _restore(cfg, strong, stored)
    if strong is None:
        trained = train(cfg, progress=progress, device=device)
    else:
        base = load_or_train(cfg, None, cache_dir, progress, retrain, device, committed)
        trained = finetune_strong(base, strong, progress, device=device)
    save(trained, cache_dir)
    return trained


def provenance(trained: Trained, command: str, wall_time_s: float, metrics: dict, schedule: str = "main") -> dict:
    """What a committed checkpoint records beside its weights."""
    import platform

    return {"model": trained.config.model, "config": dataclasses.asdict(trained.config),
            "config_key": trained.config.key(), "schedule": schedule, "seed": trained.config.seed,
            "strong": dataclasses.asdict(trained.strong) if trained.strong else None,
            "command": command, "device": trained.device, "wall_time_s": round(wall_time_s, 1),
            "torch": torch.__version__, "python": platform.python_version(), "metrics": metrics}


def stored_accuracy(trained: Trained, lossy: bool = True, device: str | torch.device | None = None) -> float:
    """Test accuracy of ``trained`` as a committed checkpoint stores it (packed with ``lossy``
    precision, workloads.checkpoints), measured on ``device``: the same figure for a model
    trained here and one read from ``checkpoints/``."""
    from workloads import checkpoints
    from workloads.device import resolve

    stored = checkpoints.round_trip(trained.model.state_dict(), trained.masks, lossy)
    model = _assemble(trained.config, stored, trained.masks, {}, trained.strong, None).model.to(resolve(device))
    xt, yt = load_data(trained.config, "test")
    return evaluate(model, xt, yt)


def commit_checkpoint(trained: Trained, command: str, directory: Path | None = None, lossy: bool = True,
                      schedule: str = "main", device: str | torch.device | None = None) -> Path:
    """Store ``trained`` among the project's committed checkpoints, with its test accuracy
    measured again (on ``device``) on the stored (decompressed) weights."""
    from workloads import checkpoints

    cfg = trained.config
    state = trained.model.state_dict()
    metrics = dict(trained.metrics)
    metrics["accuracy_top1_before_packing"] = metrics.get("accuracy_top1")
    metrics["accuracy_top1"] = stored_accuracy(trained, lossy, device)
    wall = metrics.get("time_strong_finetune_s" if trained.strong else "time_total_s", float("nan"))
    prov = provenance(trained, command, wall, metrics, schedule)
    return checkpoints.commit(cfg.model, entry_key(cfg, trained.strong), state, prov, trained.masks, lossy,
                              directory)
