"""Write ``tests/goldens/trainer.json``: the trained weights (a SHA-256 over the state dict, and a
per-tensor sum and absolute sum) and training metrics of tiny runs of every training loop that
now goes through the one trainer (:mod:`workloads.training`):

* ``registry``: ``workloads.train.train`` (dense Adam + cosine phase with a rewind point,
  crop-flip augmentation, a pruning round with masks) and ``finetune_strong``;
* ``small_vit``: ``workloads.papers.vit.small_vit.train`` (AdamW + one-cycle, 1.5 epochs, crop-flip);
* ``stableq``: ``workloads.papers.stableq.study.train_fp`` (Adam + one-cycle);
* ``pcl_rotation`` / ``pcl_supervised``: ``workloads.papers.pcl.study.pretrain_backbone``;
* ``pcl_continual``: ``workloads.papers.pcl.study.run_continual`` (two tasks, query-pool regularisation).

tests/workloads/test_trainer_goldens.py runs the same cases on today's code and compares. The
stored file was written by each caller's own loop, before the loops were merged (the commit is
named in the file's ``made_by``): the shared trainer must reproduce them bit for bit, so that
the committed checkpoints and results stay reproducible. Regenerate only when a change is meant
to move trained weights, and say why in the commit. ``--this-machine`` records the same cases
on another CPU kind (torch's kernels round differently per vector width) in
``trainer_machines.json``, made by the one trainer: there the bit-exact check is against that.

    python tests/goldens/make_trainer_goldens.py [--this-machine]
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "trainer.json"
MACHINES = Path(__file__).resolve().parent / "trainer_machines.json"   # the same cases on other CPU kinds


def summary(state: dict) -> dict:
    """SHA-256 of the state dict (names, then raw bytes, in name order) and per-tensor sums."""
    h = hashlib.sha256()
    sums = {}
    for name, t in sorted(state.items()):
        t = t.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(t.numpy().tobytes())
        if t.is_floating_point():
            sums[name] = [float(t.double().sum()), float(t.double().abs().sum())]
    return {"sha256": h.hexdigest(), "sums": sums}


def _images(n: int, size: int, seed: int):
    import torch
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, size, size, generator=g), torch.randint(0, 10, (n,), generator=g)


def run_cases() -> dict:
    """Each case's state-dict summary and metrics (call with the checkpoint and results caches
    pointing at empty folders)."""
    import torch

    out = {}
    from workloads import train as W
    cfg = W.TrainConfig.for_model("tiny-snn", train_size=80, test_size=40, batch_size=32, dense_epochs=2,
                                  prune_rounds=1, retrain_epochs=1, rewind_step=2, augment="crop-flip")
    t = W.train(cfg, progress=False)
    out["registry"] = {**summary(t.model.state_dict()), "masks": summary(t.masks)["sha256"],
                       "metrics": {k: v for k, v in t.metrics.items() if not k.startswith(("time", "cpu_time"))}}
    s = W.finetune_strong(t, W.StrongConfig(epochs=1, images=48), progress=False)
    out["registry_strong"] = {**summary(s.model.state_dict()),
                              "metrics": {k: v for k, v in s.metrics.items() if not k.startswith(("time", "cpu_time"))}}

    from workloads.papers.vit import small_vit as V
    vcfg = V.SmallViTConfig(dim=16, depth=1, heads=2, mlp_dim=32, train_images=96, test_images=32, epochs=1.5,
                            batch_size=32, augment="crop-flip")
    model, info = V.train(vcfg, V.fashion_mnist(vcfg), progress=False)
    out["small_vit"] = {**summary(model.state_dict()),
                        "metrics": {k: info[k] for k in ("train_accuracy", "test_accuracy")}}

    from workloads.papers.stableq import study as Q
    ccfg = Q.CnnTrainConfig(train_size=48, test_size=16, epochs=2, batch_size=32, threads=1)
    model, metrics = Q.train_fp(ccfg, Q.load_data(ccfg), progress=False)
    out["stableq"] = {**summary(model.state_dict()), "metrics": {"accuracy_top1": metrics["accuracy_top1"]}}

    from workloads.papers.pcl import study as P
    torch.set_num_threads(1)
    base = dict(image_size=8, patch_size=4, dim=16, depth=2, heads=2, mlp_dim=32, batch_size=16, pretrain_epochs=2,
                tasks=2, pool=4, prompt_length=4, prompt_layers=(0, 1), epochs=2, lr=3e-3)
    x, y = _images(40, 8, 1)
    for kind in ("rotation", "supervised"):
        vit, acc = P.pretrain_backbone(P.PclConfig(pretrain=kind, **base), x, y, progress=False)
        out[f"pcl_{kind}"] = {**summary(vit.state_dict()), "metrics": {"train_accuracy": acc}}
    xtr, ytr = _images(64, 8, 2)
    xte, yte = _images(40, 8, 3)
    data = {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}
    cfg = P.PclConfig(qr_weight=0.1, train_per_task=24, **base)
    states = []                           # the prompted model's weights at each evaluation
    evaluate = P.accuracy
    P.accuracy = lambda model, *a, **k: (states.append(summary(model.state_dict())["sha256"]), evaluate(model, *a, **k))[1]
    try:
        r = P.run_continual(cfg, vit, data, progress=False)
    finally:
        P.accuracy = evaluate
    out["pcl_continual"] = {"sha256_at_evaluations": states,
                            "metrics": {k: r[k] for k in ("accuracy_after_task", "task_accuracy_matrix")}}
    return out


def fingerprint() -> dict:
    import torch
    return {"torch": torch.__version__, "cpu": torch.backends.cpu.get_cpu_capability()}


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(description="write the trainer goldens")
    p.add_argument("--this-machine", action="store_true",
                   help=f"add (or replace) this CPU kind's entry in {MACHINES.name}: the one trainer's weights here, "
                        f"bit for bit (the old loops no longer exist; {GOLDEN.name} keeps theirs)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ARCHSIM_CHECKPOINT_DIR"] = str(Path(tmp) / "checkpoints")
        os.environ["ARCHSIM_RESULTS_DIR"] = str(Path(tmp) / "results")
        cases = run_cases()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    if args.this_machine:
        entries = [e for e in machine_goldens() if e["machine"] != fingerprint()]
        entries.append({"made_by": f"tests/goldens/make_trainer_goldens.py --this-machine at commit {commit} "
                                   "(the one trainer)", "machine": fingerprint(), "cases": cases})
        MACHINES.write_text(json.dumps({"machines": entries}, indent=1, sort_keys=True) + "\n")
        print(f"wrote {MACHINES}")
        return 0
    GOLDEN.write_text(json.dumps({"made_by": f"tests/goldens/make_trainer_goldens.py at commit {commit} "
                                             "(each caller's own training loop)",
                                  "machine": fingerprint(), "cases": cases}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
    return 0


def machine_goldens() -> list[dict]:
    """The per-CPU-kind entries of MACHINES (other CPU kinds round differently, so the bit-exact
    check needs the weights of that kind)."""
    return json.loads(MACHINES.read_text())["machines"] if MACHINES.exists() else []


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
