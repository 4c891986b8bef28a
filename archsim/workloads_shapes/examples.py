"""The shape-only traces the LLM and PCL report recipes simulate, written to ``examples/shapes/``
(committed; ``tests/trace/test_shape_examples.py`` checks they match this code):

    python -m archsim.workloads_shapes.examples examples/shapes
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from archsim.trace.io import Trace
from archsim.workloads_shapes.llm import llm_trace
from archsim.workloads_shapes.pcl import pcl_trace

LLM_FORMATS = ("fp16", "w2a16", "w2a16g128", "w2a16g64", "w3a16", "w3a16g128", "w4a16", "w4a4")
DECODE_CONTEXT = 2048
PREFILL_FORMATS = ("fp16", "w2a16g128", "w4a4")
PREFILL_CONTEXT = 512
# the small ViT of the Fashion-MNIST continual-learning run (workloads.pcl.PclConfig defaults)
FMNIST_VIT = dict(layers=4, dim=64, heads=4, mlp_ratio=2, image=28, patch=4, in_chans=1, classes=10)
FMNIST_PROMPTS = dict(prompt_layers=(0, 1, 2), pool=10, prompt_length=8)


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
    write_all(sys.argv[1] if len(sys.argv) > 1 else "examples/shapes")
