"""CUDA vs CPU agreement of the frontends' trainer (issue 17): run on a machine with a GPU.

    python tools/cuda_check.py [--model tiny-snn] [-o cuda_check.json]

Trains the model's main schedule from scratch twice, on the CPU and on CUDA, with the same seed
and data order (the batch order is drawn on the CPU), and compares: test accuracy (tolerance:
1 point; GPU kernels sum in another order, so bit-identity is not expected), the relative L2
distance of the final weights, and the pruning masks' agreement. Exit code 1 when a tolerance is
exceeded, 2 when no GPU is visible. Nothing is cached (temporary cache folders).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

ACCURACY_POINTS = 1.0       # |accuracy_cuda - accuracy_cpu| in percentage points


def main(argv=None) -> int:
    import torch

    from workloads.train import TrainConfig, load_or_train

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tiny-snn")
    p.add_argument("-o", "--out", help="write the comparison as JSON")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("cuda_check: no CUDA device visible; run this on a GPU machine", file=sys.stderr)
        return 2
    cfg = TrainConfig.for_model(args.model)
    runs = {}
    for device in ("cpu", "cuda"):
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            runs[device] = load_or_train(cfg, cache_dir=cache, progress=False, retrain=True, device=device)
            runs[device].metrics["wall_s"] = time.perf_counter() - t0
    a, b = runs["cpu"], runs["cuda"]
    sa, sb = a.model.state_dict(), b.model.state_dict()
    num = sum(float((sa[k].float() - sb[k].float()).norm() ** 2) for k in sa if sa[k].is_floating_point())
    den = sum(float(sa[k].float().norm() ** 2) for k in sa if sa[k].is_floating_point())
    masks = [float((a.masks[k] == b.masks[k]).float().mean()) for k in a.masks]
    result = {"model": args.model, "config_key": cfg.key(), "gpu": torch.cuda.get_device_name(0),
              "torch": torch.__version__,
              "accuracy_cpu": a.metrics["accuracy_top1"], "accuracy_cuda": b.metrics["accuracy_top1"],
              "wall_s_cpu": a.metrics["wall_s"], "wall_s_cuda": b.metrics["wall_s"],
              "weights_relative_l2": (num / den) ** 0.5 if den else 0.0,
              "mask_agreement_min": min(masks) if masks else 1.0,
              "tolerance_accuracy_points": ACCURACY_POINTS}
    result["agree"] = abs(result["accuracy_cpu"] - result["accuracy_cuda"]) * 100 <= ACCURACY_POINTS
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0 if result["agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
