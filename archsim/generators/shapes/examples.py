"""The shape-only traces the LLM and PCL report recipes simulate, written to ``examples/shapes/``
(committed; ``tests/trace/test_shape_examples.py`` checks they match this code):

    python -m archsim.generators.shapes.examples examples/shapes
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from archsim.trace.io import Trace
from archsim.generators.shapes.llm import llm_trace
from archsim.generators.shapes.pcl import pcl_trace
from archsim.generators.shapes.reuse import reuse_pattern
from archsim.generators.shapes.transformers import preset_trace, vit_trace

LLM_FORMATS = ("fp16", "w2a16", "w2a16g128", "w2a16g64", "w3a16", "w3a16g128", "w4a16", "w4a4")
DECODE_CONTEXT = 2048
PREFILL_FORMATS = ("fp16", "w2a16g128", "w4a4")
PREFILL_CONTEXT = 512
# the small ViT of the Fashion-MNIST continual-learning run (workloads.papers.pcl.study.PclConfig defaults)
FMNIST_VIT = dict(layers=4, dim=64, heads=4, mlp_ratio=2, image=28, patch=4, in_chans=1, classes=10)
FMNIST_PROMPTS = dict(prompt_layers=(0, 1, 2), pool=10, prompt_length=8)
# TReX (reports/trex.yaml): baselines and attention-reuse variants; the number in a name is the
# count of reuse encoders (TReX-D-6 keeps 6 of DeiT-S's 12 attentions, TReX-L-9 9 of LV-ViT-S's 16)
TREX = {
    "deit_s_trex6": ("deit_s", "strided", 6, {}),
    "deit_s_trex8": ("deit_s", "pyramid", 8, {}),
    "lvvit_s": ("lvvit_s", None, 0, {}),
    "lvvit_s_trex7": ("lvvit_s", "strided", 7, {}),
    "lvvit_s_patch_stem": ("lvvit_s", None, 0, {"stem": "patch", "aux_head": False, "model": "lv-vit-s-patch-stem"}),
    "lvvit_s_patch_stem_trex7": ("lvvit_s", "strided", 7, {"stem": "patch", "aux_head": False,
                                                           "model": "lv-vit-s-patch-stem"}),
    "bert_base": ("bert_base", None, 0, {}),
    "bert_base_trex4": ("bert_base", "strided", 4, {}),
    "bert_base_trex6": ("bert_base", "strided", 6, {}),
}
LAYERS = {"deit_s": 12, "lvvit_s": 16, "bert_base": 12}
# the small ViT trained on Fashion-MNIST for the TReX / ClipFormer studies (workloads.papers.vit.small_vit)
SMALL_VIT = dict(model="small-vit-fmnist", layers=8, dim=64, heads=4, mlp_ratio=2, image=28, patch=4, in_chans=1,
                 classes=10, dataset="Fashion-MNIST shapes")


def _trex(preset: str, kind: str | None, n: int, overrides: dict) -> Trace:
    reuse = reuse_pattern(kind, LAYERS[preset], n) if kind else None
    return preset_trace(preset, reuse=reuse, **overrides)


def examples() -> dict[str, Callable[[], Trace]]:
    out: dict[str, Callable[[], Trace]] = {}
    for fmt in LLM_FORMATS:
        out[f"llama2_7b_{fmt}_decode.trace"] = (
            lambda fmt=fmt: llm_trace("llama2_7b", fmt, phase="decode", context=DECODE_CONTEXT))
    for fmt in PREFILL_FORMATS:
        out[f"llama2_7b_{fmt}_prefill.trace"] = (
            lambda fmt=fmt: llm_trace("llama2_7b", fmt, phase="prefill", context=PREFILL_CONTEXT))
    for mode in ("one_stage", "two_stage"):
        out[f"vitb16_pcl_{mode}.trace"] = lambda mode=mode: pcl_trace(mode)
        out[f"vit_fmnist_pcl_{mode}.trace"] = (
            lambda mode=mode: pcl_trace(mode, vit=FMNIST_VIT, **FMNIST_PROMPTS, model=f"pcl-{mode}-fmnist-vit"))
    out["small_vit_fmnist.trace"] = lambda: vit_trace(**SMALL_VIT)
    for name, (preset, kind, n, overrides) in TREX.items():
        out[f"{name}.trace"] = lambda a=(preset, kind, n, overrides): _trex(*a)
    return out


def write_all(out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in examples().items():
        make().save(out_dir / name)
        paths.append(out_dir / name)
    return paths


if __name__ == "__main__":
    from archsim.cli.common import say_wrote

    for path in write_all(sys.argv[1] if len(sys.argv) > 1 else "examples/shapes"):
        say_wrote(path)
