"""TReX's reuse-pattern search (Moitra et al., IEEE TETC 2024, Algorithm 1) on the small trained
ViT: from a latency budget to the most accurate attention-reuse pattern that meets it.

1. **How many encoders must reuse.** The crossbar cost model (``imc``, the TReX-like preset) runs
   the model's shape trace with 0, 1, 2, ... reuse encoders in every pattern; ``N_reuse`` is the
   smallest count at which some pattern's latency is within the budget (a fraction of the
   baseline latency, or seconds).
2. **Enumerate** the strided, continuous and pyramid patterns of ``N_reuse`` encoders (and any
   explicit lists), keeping those within the budget.
3. **Fine-tune** each briefly: the trained model with those encoders' attention replaced by a
   transformation block (initialised from the encoder's own output projection,
   :func:`workloads.papers.vit.small_vit.with_reuse`), all weights trained for ``finetune_epochs`` on a
   ``finetune_fraction`` of the training images.
4. **Pick** the most accurate pattern within the budget. Accuracy, EDAP, TOPS/mm2 and TOPS/W are
   reported for every pattern (TReX's step 4, full variation-aware training of the winner, is not
   done here).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from workloads.papers.vit.small_vit import SCHEDULE, SmallViTConfig, accuracy, fashion_mnist, load_or_train, with_reuse
from workloads.training import fit

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class TrexSearchConfig:
    hardware: str = "hw_configs/trex_fefet_32nm.yaml"
    latency_budget: float = 0.6            # fraction of the baseline latency ...
    latency_budget_s: float | None = None  # ... or an absolute budget (seconds), which wins
    kinds: tuple[str, ...] = ("strided", "continuous", "pyramid")
    lists: tuple[tuple[int, ...], ...] = ()
    finetune_fraction: float = 0.2
    finetune_epochs: float = 1.0
    lr: float = 5e-4
    batch_size: int = 64
    seed: int = 0
    vit: SmallViTConfig = field(default_factory=SmallViTConfig)


def shape_arguments(vit: SmallViTConfig) -> dict:
    """The torch-free shape generator's arguments for the small ViT."""
    return dict(model="small-vit-fmnist", layers=vit.depth, dim=vit.dim, heads=vit.heads, mlp_ratio=vit.mlp_dim / vit.dim,
                image=vit.image_size, patch=vit.patch_size, in_chans=1, classes=10, dataset="Fashion-MNIST shapes")


def shape_trace(vit: SmallViTConfig, reuse: dict[int, int] | None = None):
    from archsim.generators.shapes.transformers import vit_trace
    return vit_trace(**shape_arguments(vit), reuse=reuse)


def cost(vit: SmallViTConfig, hw, reuse: dict[int, int] | None = None) -> dict:
    from archsim.engine import simulate
    s = simulate(shape_trace(vit, reuse), hw).summary
    return {k: s[k] for k in ("latency_s", "energy_j", "area_mm2", "edap_j_s_mm2", "tops_per_w", "tops_per_mm2")}


def patterns(kinds, layers: int, n: int, lists=()) -> dict[str, dict[int, int]]:
    """name -> {encoder: source} of every feasible pattern of ``n`` reuse encoders."""
    from archsim.generators.shapes.reuse import describe, reuse_pattern
    out = {}
    for kind in kinds:
        try:
            out[kind] = reuse_pattern(kind, layers, n)
        except ValueError:
            continue
    for enc in lists:
        pat = reuse_pattern("list", layers, encoders=enc)
        out[f"list {describe(pat)}"] = pat
    return out


def reuse_count(cfg: TrexSearchConfig, hw, base: dict) -> tuple[int, float, list[dict]]:
    """(N_reuse, budget in seconds, latency of every pattern tried)."""
    budget = cfg.latency_budget_s if cfg.latency_budget_s is not None else cfg.latency_budget * base["latency_s"]
    tried = []
    for n in range(1, cfg.vit.depth):
        for name, pat in patterns(cfg.kinds, cfg.vit.depth, n).items():
            lat = cost(cfg.vit, hw, pat)["latency_s"]
            tried.append({"reuse_encoders": n, "pattern": name, "latency_s": lat})
            if lat <= budget:
                return n, budget, tried
    raise ValueError(f"no reuse pattern meets the latency budget {budget:.3g} s "
                     f"(baseline {base['latency_s']:.3g} s)")


def search(cfg: TrexSearchConfig = TrexSearchConfig(), progress: bool = True) -> dict:
    from archsim.config.hardware import load_hardware
    from archsim.generators.shapes.reuse import describe

    torch.set_num_threads(cfg.vit.threads)
    path = Path(cfg.hardware)
    hw = load_hardware(path if path.is_absolute() else REPO / path)
    model, info = load_or_train(cfg.vit, progress=progress)
    data = fashion_mnist(cfg.vit)
    base = cost(cfg.vit, hw)
    n, budget, tried = reuse_count(cfg, hw, base)
    g = torch.Generator().manual_seed(cfg.seed)
    subset = torch.randperm(len(data["x_train"]), generator=g)[:int(round(cfg.finetune_fraction * len(data["x_train"])))]
    rows = [{"pattern": "baseline (no reuse)", "reuse": "none", "accuracy": accuracy(model, data["x_test"], data["y_test"]),
             "finetune_s": 0.0, **base, "within_budget": base["latency_s"] <= budget}]
    t0 = time.perf_counter()
    for name, pat in patterns(cfg.kinds, cfg.vit.depth, n, cfg.lists).items():
        c = cost(cfg.vit, hw, pat)
        torch.manual_seed(cfg.seed)
        reused = with_reuse(model, pat)
        t1 = time.perf_counter()
        fit(reused, data["x_train"][subset], data["y_train"][subset], epochs=cfg.finetune_epochs,
            batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.vit.weight_decay, seed=cfg.seed,
            desc=f"fine-tune {name}", progress=progress, **SCHEDULE)
        rows.append({"pattern": name, "reuse": describe(pat), "accuracy": accuracy(reused, data["x_test"], data["y_test"]),
                     "finetune_s": time.perf_counter() - t1, **c, "within_budget": c["latency_s"] <= budget})
    candidates = [r for r in rows[1:] if r["within_budget"]]
    best = max(candidates, key=lambda r: r["accuracy"])
    return {"config": asdict(cfg), "model": {k: info[k] for k in ("test_accuracy", "train_time_s", "parameters")},
            "baseline_latency_s": base["latency_s"], "budget_s": budget, "reuse_encoders": n,
            "latencies_tried": tried, "patterns": rows, "best": best["pattern"],
            "finetune_images": len(subset), "search_s": time.perf_counter() - t0}


def cache_entry(cfg: TrexSearchConfig = TrexSearchConfig()) -> tuple[str, dict, int]:
    """``(experiment, configuration, version)`` under which :func:`measure` stores the result."""
    return "trex-search-small-vit", asdict(cfg), 1


def measure(cfg: TrexSearchConfig = TrexSearchConfig(), refresh: bool = False, progress: bool = True) -> dict:
    from workloads.result_cache import cached
    name, key, version = cache_entry(cfg)
    return cached(name, key, lambda: search(cfg, progress), version=version, refresh=refresh)


def tables(result: dict) -> list[dict]:
    base = result["patterns"][0]
    rows = []
    for r in result["patterns"]:
        rows.append([r["pattern"] + (" (chosen)" if r["pattern"] == result["best"] else ""), r["reuse"],
                     round(100 * r["accuracy"], 2), round(r["latency_s"] * 1e3, 3),
                     round(base["edap_j_s_mm2"] / r["edap_j_s_mm2"], 3),
                     round(r["tops_per_mm2"] / base["tops_per_mm2"], 3), round(r["tops_per_w"] / base["tops_per_w"], 3),
                     *(float(f"{r[k]:.4g}") for k in ("edap_j_s_mm2", "tops_per_mm2", "tops_per_w")),
                     "yes" if r["within_budget"] else "no",
                     round(r["finetune_s"], 1)])
    cfg = result["config"]
    notes = (f"Small ViT ({cfg['vit']['depth']} encoders, D {cfg['vit']['dim']}, {cfg['vit']['heads']} heads, "
             f"{(cfg['vit']['image_size'] // cfg['vit']['patch_size']) ** 2 + 1} tokens) trained on Fashion-MNIST "
             f"(test accuracy {100 * result['model']['test_accuracy']:.2f} % on {cfg['vit']['test_images']} test images). "
             f"Latency budget {result['budget_s'] * 1e3:.3f} ms = {result['budget_s'] / result['baseline_latency_s']:.2f} x "
             f"the baseline on {Path(cfg['hardware']).stem}: {result['reuse_encoders']} encoders must reuse. "
             f"Each pattern fine-tuned {cfg['finetune_epochs']:g} epoch on {result['finetune_images']} training images "
             f"({sum(r['finetune_s'] for r in result['patterns']):.0f} s in all); reuse 'i<-j': encoder i reuses j.")
    return [{"title": "TReX reuse-pattern search on the small ViT (TReX-like FeFET preset)",
             "columns": ["pattern", "reuse", "accuracy (%)", "latency (ms)", "EDAP reduction", "TOPS/mm2 gain",
                         "TOPS/W gain", "EDAP (J s mm2)", "TOPS/mm2", "TOPS/W", "within budget", "fine-tune (s)"],
             "rows": rows, "notes": notes}]


PAPER = {"deit_s": (6, 2.3, 1.86, 1.07), "lvvit_s": (7, 2.19, 1.79, 1.116)}   # reuse count, EDAP, TOPS/mm2, TOPS/W


def write_sensitivity(hardware: str = "hw_configs/trex_fefet_32nm.yaml",
                      pulse_clocks: tuple[float, ...] = (1e-9, 50, 100, 200, 400, 800)) -> dict:
    """The TReX ratios of DeiT-S (6 reuse) and LV-ViT-S (7 reuse) against the K/V write time: the
    preset with ``write.pulse_clocks`` varied (200 is the preset's), the writes' share of the
    baseline delay (1 - latency without writes / latency) and the three ratios."""
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate
    from archsim.generators.shapes.reuse import reuse_pattern
    from archsim.generators.shapes.transformers import preset_trace

    path = Path(hardware)
    path = path if path.is_absolute() else REPO / path
    free = {"params.write.pulse_clocks": 1e-9, "params.write.verify_clocks": 1e-9}
    rows = []
    traces = {name: (preset_trace(name), preset_trace(name, reuse=reuse_pattern("strided", layers, PAPER[name][0])))
              for name, layers in (("deit_s", 12), ("lvvit_s", 16))}
    for name, (base_t, trex_t) in traces.items():
        latency_free = simulate(base_t, load_hardware(path, overrides=free))["latency_s"]
        for pc in pulse_clocks:
            sets = free if pc < 1 else {"params.write.pulse_clocks": pc}
            hw = load_hardware(path, overrides=sets)
            b, r = simulate(base_t, hw).summary, simulate(trex_t, hw).summary
            rows.append({"model": name, "pulse_clocks": pc, "write_share": 1 - latency_free / b["latency_s"],
                         "edap_reduction": b["edap_j_s_mm2"] / r["edap_j_s_mm2"],
                         "tops_per_mm2_gain": r["tops_per_mm2"] / b["tops_per_mm2"],
                         "tops_per_w_gain": r["tops_per_w"] / b["tops_per_w"],
                         "latency_ms": b["latency_s"] * 1e3})
    return {"hardware": str(hardware), "rows": rows}


def sensitivity_table(result: dict) -> dict:
    rows = []
    for r in result["rows"]:
        n, edap, tmm, tw = PAPER[r["model"]]
        rows.append([r["model"], r["pulse_clocks"] if r["pulse_clocks"] >= 1 else 0, round(100 * r["write_share"], 1),
                     round(r["latency_ms"], 2), f"{r['edap_reduction']:.2f} ({edap})",
                     f"{r['tops_per_mm2_gain']:.2f} ({tmm})", f"{r['tops_per_w_gain']:.3f} ({tw})"])
    return {"title": "TReX ratios against the K/V write time (DeiT-S 6 reuse, LV-ViT-S 7 reuse; paper in brackets)",
            "columns": ["model", "write pulse (ns)", "writes' share of the baseline delay (%)", "baseline latency (ms)",
                        "EDAP reduction", "TOPS/mm2 gain", "TOPS/W gain"],
            "rows": rows,
            "notes": ("trex_fefet_32nm with write.pulse_clocks varied (200 ns is the preset's: 4 pulses + 3 verify "
                      "iterations per row, 8 crossbars at a time); 0: writes free (pulses and verify reads). The "
                      "writes' share is "
                      "1 - latency without writes / latency.")}
