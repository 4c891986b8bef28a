"""Train the main job's checkpoints on one GPU within a time budget (issue 17), then pack them.

    python tools/gpu_train.py --budget 540 --out OUT [--smoke]

Order (what the main job needs most first): the CUDA-vs-CPU agreement check
(tools/cuda_check.py on tiny-snn), the three LoAS networks and their strong-mode fine-tunes, the
small ViT, STAtten, the TT-SNN baseline and its three TT schedules, ReSpike, then (step ``results``)
the main job's committed experiment results the repository lacks. Every model's step time
is measured on the GPU first (a few warm-up steps, then timed steps); a model whose estimated time
does not fit in what is left of the budget is skipped and logged, never half-trained. For the LoAS
networks the number of epochs is chosen here: the longest of :data:`LOAS_TIERS` that fits the
network's share of the budget; the registry's "main" schedule is then set to the tier that was run
(``_LOAS_MAIN`` in workloads/registry.py), so the committed checkpoints are what
``archsim-workloads train --all --retrain --commit`` reproduces. Every checkpoint is committed
(workloads.checkpoints format, provenance beside it) into OUT/checkpoints/ and packed after each
model into OUT/checkpoints.tar, so a run cut short keeps what finished. OUT/gpu_train.json logs
the measured step times, the chosen tiers, the accuracies and the wall times.

``--smoke``: the "quick" schedules and tiny budgets, on any device (tests the flow on a CPU).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

# (dense epochs, pruning rounds, epochs of the last round); the rounds before it take one epoch each
LOAS_TIERS = [(12, 4, 6), (10, 4, 4), (8, 4, 4), (6, 3, 3), (5, 3, 2), (4, 2, 2), (3, 2, 1), (2, 1, 1)]
LOAS_SHARE = {"loas-alexnet": 0.2, "loas-vgg16": 0.35, "loas-resnet19": 0.45}
OTHERS = ["statten-fmnist", "ttsnn-r18-fmnist", "ttsnn-r18-fmnist-stt", "ttsnn-r18-fmnist-ptt",
          "ttsnn-r18-fmnist-htt", "respike-fmnist-clips"]
SAFETY = 1.25        # estimated time x this must fit (evaluation, BN recalibration, cuDNN autotuning)


def epochs_of(cfg) -> int:
    last = cfg.final_retrain_epochs if cfg.final_retrain_epochs is not None else cfg.retrain_epochs
    return cfg.dense_epochs + max(cfg.prune_rounds - 1, 0) * cfg.retrain_epochs + (last if cfg.prune_rounds else 0)


def step_time(cfg, device, steps: int = 12) -> float:
    """Seconds per training step (forward, backward, Adam) of ``cfg``'s model on ``device``."""
    import torch
    import torch.nn.functional as F

    from workloads.augment import augment
    from workloads.determinism import accelerated, pinned
    from workloads.train import build, load_data

    small = dataclasses.replace(cfg, train_size=cfg.batch_size)
    x, y = load_data(small, "train")
    g = torch.Generator().manual_seed(0)
    with pinned(), accelerated(device):
        model = build(cfg).to(device).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        xb, yb = x.to(device), y.to(device)

        def one():
            loss = F.cross_entropy(model(augment(cfg.augment, xb, g)), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        for _ in range(4):
            one()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            one()
        if device.type == "cuda":
            torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps


def estimate(cfg, t_step: float, strong_epochs: int = 0) -> float:
    steps = math.ceil(cfg.train_size / cfg.batch_size)
    return (epochs_of(cfg) + strong_epochs) * steps * t_step


class Run:
    def __init__(self, out: Path, budget: float, device, smoke: bool):
        self.out, self.budget, self.device, self.smoke = out, budget, device, smoke
        self.t0 = time.monotonic()
        self.ckpt = out / "checkpoints"
        self.ckpt.mkdir(parents=True, exist_ok=True)
        self.log: dict = {"budget_s": budget, "device": str(device), "models": {}}

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.t0)

    def save(self) -> None:
        self.log["elapsed_s"] = round(time.monotonic() - self.t0, 1)
        (self.out / "gpu_train.json").write_text(json.dumps(self.log, indent=1, default=str) + "\n")
        with tarfile.open(self.out / "checkpoints.tar.tmp", "w") as tar:
            tar.add(self.ckpt, arcname="checkpoints")
        os.replace(self.out / "checkpoints.tar.tmp", self.out / "checkpoints.tar")

    def note(self, name: str, **kw) -> None:
        self.log["models"].setdefault(name, {}).update(kw)
        print(f"[{time.monotonic() - self.t0:6.0f} s] {name}: " + ", ".join(f"{k}={v}" for k, v in kw.items()
                                                                           if k != "config"), flush=True)
        self.save()

    def train_commit(self, cfg, strong=None) -> None:
        from workloads.cli import _command
        from workloads.train import commit_checkpoint, load_or_train

        t = time.perf_counter()
        trained = load_or_train(cfg, strong, progress=False, retrain=strong is None, device=self.device,
                                committed=False)
        schedule = "main"
        commit_checkpoint(trained, _command(cfg, strong, schedule), directory=self.ckpt, schedule=schedule,
                          device=self.device)
        m = trained.metrics
        self.note(cfg.model + (" (strong)" if strong else ""), wall_s=round(time.perf_counter() - t, 1),
                  accuracy_top1=m.get("accuracy_top1"), accuracy_dense=m.get("accuracy_dense"),
                  sparsity=m.get("weight_sparsity_pruned_layers"), key=cfg.key(), config=dataclasses.asdict(cfg))


def cuda_check(run: Run) -> None:
    import subprocess

    t = time.perf_counter()
    p = subprocess.run([sys.executable, "tools/cuda_check.py", "--model", "tiny-snn", "-o",
                        str(run.out / "cuda_check.json")], capture_output=True, text=True, timeout=240)
    run.note("cuda_check", rc=p.returncode, wall_s=round(time.perf_counter() - t, 1),
             tail=(p.stdout + p.stderr)[-1500:])


def loas(run: Run, name: str, allowed: float) -> None:
    from workloads import registry
    from workloads.train import StrongConfig, TrainConfig

    schedule = "quick" if run.smoke else "main"
    base = TrainConfig.for_model(name, schedule)
    t_step = step_time(base, run.device)
    allowed = min(allowed, run.left())
    strong = StrongConfig(**registry.get(name).strong)
    chosen = None
    for dense, rounds, final in (LOAS_TIERS if not run.smoke else [(1, 1, 1)]):
        cfg = dataclasses.replace(base, dense_epochs=dense, prune_rounds=rounds, final_retrain_epochs=final)
        if estimate(cfg, t_step, strong.epochs) * SAFETY <= allowed or run.smoke:
            chosen = cfg
            break
    run.note(name, step_s=round(t_step, 4), allowed_s=round(allowed, 1),
             tier=None if chosen is None else [chosen.dense_epochs, chosen.prune_rounds, chosen.final_retrain_epochs],
             estimated_s=None if chosen is None else round(estimate(chosen, t_step, strong.epochs), 1))
    if chosen is None:
        return
    run.train_commit(chosen)
    run.train_commit(chosen, strong)


def other(run: Run, name: str) -> None:
    from workloads.train import TrainConfig

    if run.smoke and name.startswith("ttsnn-r18-fmnist-"):
        run.note(name, skipped="smoke: a TT schedule starts from the main baseline")
        return
    smoke = dict(train_size=256, test_size=128, dense_epochs=1) if run.smoke else {}
    cfg = TrainConfig.for_model(name, "main", **smoke)
    base_name = name.rsplit("-", 1)[0] if name.startswith("ttsnn-r18-fmnist-") else name
    t_step = run.log["models"].get(base_name, {}).get("step_s") if base_name != name else None
    if t_step is None:
        t_step = step_time(cfg, run.device)
    est = estimate(cfg, t_step)
    if est * SAFETY > run.left():
        run.note(name, step_s=round(t_step, 4), estimated_s=round(est, 1), skipped="does not fit the time left")
        return
    run.note(name, step_s=round(t_step, 4), estimated_s=round(est, 1))
    run.train_commit(cfg)


def small_vit(run: Run) -> None:
    from workloads.papers.vit import small_vit as sv

    cfg = sv.SmallViTConfig()
    if run.smoke:
        cfg = dataclasses.replace(cfg, train_images=256, test_images=128, epochs=1, depth=2)
    # step time of the real model on 20 batches, as for the other models: skip what cannot finish
    import torch

    from workloads.models.vit import ViT
    data = sv.fashion_mnist(dataclasses.replace(cfg, train_images=cfg.batch_size * 20))
    probe = ViT(cfg.vit_config()).to(run.device)
    t0 = time.perf_counter()
    sv.fit(probe, data["x_train"], data["y_train"], epochs=1, batch_size=cfg.batch_size, lr=cfg.lr,
           weight_decay=cfg.weight_decay, seed=cfg.seed, progress=False, augment=cfg.augment)
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    t_step = (time.perf_counter() - t0) / 20
    est = cfg.epochs * math.ceil(cfg.train_images / cfg.batch_size) * t_step
    if est * SAFETY > run.left():
        run.note("small-vit", step_s=round(t_step, 4), estimated_s=round(est, 1), skipped="does not fit the time left")
        return
    t = time.perf_counter()
    os.environ["ARCHSIM_COMMITTED_DIR"] = str(run.ckpt)
    path = sv.commit(cfg)
    meta = json.loads(path.with_suffix(".json").read_text())
    run.note("small-vit", wall_s=round(time.perf_counter() - t, 1), accuracy_top1=meta["metrics"]["accuracy_top1"],
             key=meta["key"])


def results(run: Run) -> None:
    """The main job's committed experiment results the repository still lacks
    (workloads.committed_results: StableQ, the SmolLM2 formats, PCL, ClipFormer, the seed studies),
    computed on this device into OUT/results/ (a copy of the repository's results/ plus the new
    files) and packed into OUT/results.tar after each entry. Copy the new files into results/."""
    import shutil

    from workloads import committed_results, result_cache

    repo = result_cache.committed_dir()         # the repository's results/ (or ARCHSIM_COMMITTED_RESULTS_DIR)
    target = run.out / "results"
    if not target.exists():
        shutil.copytree(repo, target)
    os.environ["ARCHSIM_COMMITTED_RESULTS_DIR"] = str(target)
    os.environ.setdefault("ARCHSIM_RESULTS_DIR", tempfile.mkdtemp(prefix="gpu-train-results-"))
    missing, _ = committed_results.check()
    for entry in committed_results.main_job():
        if not any(m.startswith(entry.label + ": ") for m in missing):
            continue
        if run.left() < 30:
            run.note(entry.label, skipped="budget spent")
            continue
        t = time.perf_counter()
        committed_results.commit([entry], command=f"tools/gpu_train.py --only results ({run.device})",
                                 log=lambda m: None)
        run.note(entry.label, wall_s=round(time.perf_counter() - t, 1), file=entry.file)
        with tarfile.open(run.out / "results.tar.tmp", "w") as tar:
            tar.add(target, arcname="results")
        os.replace(run.out / "results.tar.tmp", run.out / "results.tar")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=float, default=540.0, help="seconds for the whole run")
    p.add_argument("--out", required=True)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--skip-cuda-check", action="store_true")
    p.add_argument("--only", help="comma-separated step names (default: all)")
    args = p.parse_args(argv)
    from workloads.device import resolve, set_default

    device = resolve("auto")
    set_default(device.type)
    out = Path(args.out)
    cache = tempfile.mkdtemp(prefix="gpu-train-cache-")
    os.environ["ARCHSIM_CHECKPOINT_DIR"] = cache        # nothing from an earlier run is reused
    run = Run(out, args.budget, device, args.smoke)
    steps = []
    if device.type == "cuda" and not args.skip_cuda_check:
        steps.append(("cuda_check", lambda: cuda_check(run)))
    loas_time = {"total": None, "spent": 0.0, "done": []}

    def loas_step(name):
        def go():
            if loas_time["total"] is None:
                loas_time["total"] = run.left() * 0.85     # the LoAS networks get 85 % of what is left
            shares = sum(LOAS_SHARE[n] for n in LOAS_SHARE if n not in loas_time["done"])
            allowed = LOAS_SHARE[name] / shares * (loas_time["total"] - loas_time["spent"])
            t = time.monotonic()
            try:
                loas(run, name, allowed)
            finally:
                loas_time["spent"] += time.monotonic() - t
                loas_time["done"].append(name)
        return go
    steps += [(n, loas_step(n)) for n in LOAS_SHARE]
    steps.append(("small-vit", lambda: small_vit(run)))
    steps += [(n, (lambda n=n: other(run, n))) for n in OTHERS]
    steps.append(("results", lambda: results(run)))
    if args.only:
        steps = [(n, go) for n, go in steps if n in args.only.split(",")]
    for name, go in steps:
        if run.left() < 10:
            run.note(name, skipped="budget spent")
            continue
        try:
            go()
        except Exception as exc:        # log and go on: one failure must not lose the other models
            import traceback
            run.note(name, error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc()[-1500:])
    run.save()
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk not in ("config", "trace", "tail")}
                      for k, v in run.log["models"].items()}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
