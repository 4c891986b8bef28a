"""Time of one sweep point's accuracy evaluation on the small ViT (issue target: 200 images in
under 10 s on 2 cores): every linear layer and every per-image K^T/V write on the ClipFormer-like
preset (differential pairs), through the sweep's ``crossbar`` evaluator. Uses the trained
checkpoint when it is cached, else the same network with random weights (the time does not depend
on the weights; the accuracy printed then means nothing).

    .venv/bin/python benchmarks/accuracy_point.py [--images 200] [--kinds linear,conv2d,matmul]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--kinds", default="linear,conv2d,matmul")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import torch

    from archsim.noise import CrossbarSpec
    from workloads.noise import evaluate as ev
    from workloads import checkpoints
    from workloads.papers.vit.small_vit import SmallViTConfig, checkpoint_key, fashion_mnist
    from workloads.models.vit import ViT

    cfg = SmallViTConfig()
    trained = checkpoints.local_path("small-vit", checkpoint_key(cfg)).exists()
    if not trained:   # same network, random weights (seeded): the timing is what is measured
        torch.manual_seed(0)
        data = fashion_mnist(cfg)
        ev._MODELS[("small-vit", "fashion-mnist", "main")] = (ViT(cfg.vit_config()).eval(), data["x_test"],
                                                              data["y_test"])
    spec = CrossbarSpec.from_hardware(ROOT / "hw_configs/clipformer_rram_32nm.yaml").replace(
        signed_weights="differential")
    opts = {"kinds": args.kinds.split(",")}
    ev.evaluate("small-vit", "fashion-mnist", 2, 0, spec, opts)          # load, compile
    w0, c0 = time.perf_counter(), time.process_time()
    acc = ev.evaluate("small-vit", "fashion-mnist", args.images, 0, spec, opts)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    figures = {"images": args.images, "kinds": opts["kinds"], "trained_checkpoint": trained, "wall_s": wall,
               "cpu_s": cpu, "torch_threads": torch.get_num_threads(), "accuracy": acc}
    print(f"small ViT, {args.images} images, {args.kinds} on crossbars: {wall:.1f} s wall, {cpu:.1f} s cpu"
          f" (accuracy {acc:.3f}{'' if trained else ', random weights: meaningless'})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
