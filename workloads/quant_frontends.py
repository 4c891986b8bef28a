"""The main job's PyTorch step for issue 10's frontends: StableQ (quantised ResNet-18 traces),
TesseraQ (SmolLM2-135M traces with real code histograms and perplexities) and the Fashion-MNIST
continual-learning run (one- vs two-stage prompts). Every experiment is cached by configuration
under ``data/``, so a rerun only reads the caches; the measured figures are also written to
``OUT/quant_frontends.json``.

    archsim-workloads quant -o reports/traces [--only stableq llm pcl]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="archsim-workloads quant", description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", type=Path, required=True, help="folder for the traces")
    p.add_argument("--only", nargs="+", choices=("stableq", "llm", "pcl"), default=("stableq", "llm", "pcl"))
    from workloads.device import add_argument, set_default
    add_argument(p)
    args = p.parse_args(argv)
    set_default(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict = {}
    if "stableq" in args.only:
        from workloads.papers.stableq.study import StableQConfig, export_traces
        t0 = time.perf_counter()
        r = export_traces(StableQConfig(), args.out)
        summary["stableq"] = {"fp_accuracy": r["fp_accuracy"], "test_images": r["test_images"],
                              "accuracy": {run["label"]: run["accuracy"] for run in r["runs"]},
                              "seconds": time.perf_counter() - t0}
        print(f"stableq: FP {r['fp_accuracy']:.4f}; " + ", ".join(
            f"{k} {v:.4f}" for k, v in summary["stableq"]["accuracy"].items()), flush=True)
    if "llm" in args.only:
        from workloads.papers.tesseraq.study import export_trace, main_configs, measure
        t0 = time.perf_counter()
        ppl = {}
        for cfg in main_configs():
            r = measure(cfg)
            ppl[cfg.label] = r["perplexity"]
            export_trace(cfg, r, args.out)
            print(f"smollm2 {cfg.label}: perplexity {r['perplexity']:.3f}", flush=True)
        summary["smollm2_perplexity"] = ppl
        summary["smollm2_seconds"] = time.perf_counter() - t0
    if "pcl" in args.only:
        from workloads.papers.pcl.study import measure as pcl_measure
        t0 = time.perf_counter()
        r = pcl_measure()
        summary["pcl"] = {f"{run['mode']}-qr{run['qr_weight']}": {
            "final_accuracy": run["final_accuracy"], "accuracy_after_task": run["accuracy_after_task"],
            "average_forgetting": run["average_forgetting"], "train_time_s": run["train_time_s"]}
            for run in r["runs"]}
        summary["pcl"]["pretrain_train_accuracy"] = r["pretrain_train_accuracy"]
        summary["pcl_seconds"] = time.perf_counter() - t0
        for k, v in summary["pcl"].items():
            print(f"pcl {k}: {v}", flush=True)
    path = args.out / "quant_frontends.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **summary}, indent=1))
    return 0
