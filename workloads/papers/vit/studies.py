"""The main job's vision-transformer studies (``setup.sh`` runs this before ``archsim reproduce``):

1. the small ViT trained on Fashion-MNIST (:mod:`workloads.papers.vit.small_vit`, checkpoint cached), and
   its trace with real K/V histograms (``OUT/vit/small_vit_fmnist.trace``);
2. TReX's reuse-pattern search on it (:mod:`workloads.papers.trex.search`) and the TReX ratios' sensitivity to
   the K/V write time -> ``OUT/vit/trex_search.json``;
3. ClipFormer's accuracy and attention SNR under K/V write noise (:mod:`workloads.papers.clipformer.study`)
   -> ``OUT/vit/clipformer.json``.

The report recipes ``reports/trex.yaml`` and ``reports/clipformer.yaml`` show the tables
(``tables:``); each JSON has a Markdown twin for reading alone. Results are cached by
configuration in ``data/`` (git-ignored), so a second run only rewrites the files.

    archsim-workloads vit-studies -o reports/out
    archsim-workloads vit-studies -o reports/out --only clipformer --images 250   # a larger ClipFormer run
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def write_tables(path: Path, tables: list[dict], extra: dict | None = None) -> None:
    """``path`` (JSON, ``{"tables": [...]}``) and its Markdown twin, each written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    md = []
    for t in tables:
        md += [f"## {t['title']}", "", t.get("notes", ""), "", "| " + " | ".join(t["columns"]) + " |",
               "|" + "---|" * len(t["columns"])]
        md += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in t["rows"]]
        md.append("")
    for target, text in ((path, json.dumps({"tables": tables, **(extra or {})}, indent=1, default=str)),
                         (path.with_suffix(".md"), "\n".join(md))):
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="archsim-workloads vit-studies",
                                description="train the small ViT and write the TReX / ClipFormer study tables")
    p.add_argument("-o", "--out", default="reports/out", type=Path, help="the archsim reproduce output folder")
    p.add_argument("--only", choices=("trex", "clipformer"), help="run one study")
    p.add_argument("--refresh", action="store_true", help="recompute cached results")
    p.add_argument("--workers", type=int, default=0, help="ClipFormer processes (0: one per CPU core)")
    p.add_argument("--images", type=_positive, help="ClipFormer: first test images (default 150)")
    p.add_argument("--seeds", type=_positive, help="ClipFormer: write-noise seeds 0..N-1 (default 3)")
    from workloads.device import add_argument, set_default
    add_argument(p)
    args = p.parse_args(argv)
    set_default(args.device)

    import torch

    from workloads.papers.clipformer import study as clipformer
    from workloads.papers.trex import search as trex
    from workloads.papers.vit.small_vit import SmallViTConfig, fashion_mnist, load_or_train
    from workloads.papers.vit.trace import export_vit_trace

    out = args.out / "vit"
    t0 = time.perf_counter()
    vit = SmallViTConfig()
    model, info = load_or_train(vit)
    print(f"small ViT: test accuracy {100 * info['test_accuracy']:.2f} % "
          f"(trained in {info['train_time_s']:.0f} s, {info['parameters']} parameters)")
    data = fashion_mnist(vit)
    out.mkdir(parents=True, exist_ok=True)
    trace = export_vit_trace(model, data["x_test"][:32], model_name="small-vit-fmnist",
                             dataset="fashion-mnist test[0:32]", metrics={"accuracy_top1": info["test_accuracy"]})
    trace.save(out / "small_vit_fmnist.trace")
    if args.only in (None, "trex"):
        t1 = time.perf_counter()
        result = trex.measure(trex.TrexSearchConfig(vit=vit), refresh=args.refresh)
        sensitivity = trex.write_sensitivity()
        write_tables(out / "trex_search.json", [*trex.tables(result), trex.sensitivity_table(sensitivity)],
                     {"result": result, "write_sensitivity": sensitivity})
        print(f"TReX search: {result['reuse_encoders']} reuse encoders, best pattern {result['best']} "
              f"({time.perf_counter() - t1:.0f} s with the write-time sensitivity)")
    if args.only in (None, "clipformer"):
        default = clipformer.ClipFormerConfig(vit=vit, workers=args.workers)
        cfg = replace(default, images=args.images or default.images,
                      seeds=tuple(range(args.seeds)) if args.seeds else default.seeds)
        # another size is written beside the default's table (which the clipformer recipe shows)
        name = "clipformer.json" if cfg == default else f"clipformer-{cfg.images}x{len(cfg.seeds)}.json"
        result = clipformer.measure(cfg, refresh=args.refresh)
        write_tables(out / name, clipformer.tables(result), {"result": result})
        print(f"ClipFormer: {len(result['runs'])} evaluations in {result['seconds']:.0f} s")
    print(f"wrote {out}/ in {time.perf_counter() - t0:.0f} s")
    return 0
