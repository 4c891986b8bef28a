"""Write ``tests/goldens/vit_export.json``: what the ViT trace export
(:func:`workloads.papers.vit.trace.export_vit_trace`) gives for fixed-seed small ViTs (random weights,
synthetic images): the header (model, source, dataset, input description, batch, timesteps,
provenance, metrics, config) and every op's id, kind, loop bounds, MACs, operands (role, bits,
dtype, shape, density, quantisation, histogram, a hash of the stored int8 codes), tags and
inputs, per configuration (:data:`CONFIGS`). tests/workloads/test_vit_export.py compares a fresh
export against it.

    python tests/goldens/make_vit_export_golden.py "<commit> (what wrote it)"

The stored file was written by the forward-hook exporter (before the export moved onto the graph
capture, commit named in the file's ``made_by``); regenerate only when a change is meant to move
the trace, and say why in the commit.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "vit_export.json"

_BASE = dict(image_size=8, patch_size=4, in_channels=1, num_classes=10, dim=16, depth=4, heads=2, mlp_dim=32)
# name -> (ViTConfig fields, images (n, channels, size), export keyword arguments); the first two
# are tests/workloads/test_vit_frontend.py's models
CONFIGS = {
    "reuse": ({**_BASE, "reuse": ((3, 1),)}, (2, 1, 8),
              dict(model_name="tiny", dataset="random", metrics={"accuracy_top1": 0.5})),
    "conv_stem_aux": ({**_BASE, "image_size": 16, "in_channels": 3, "depth": 2, "stem": "conv", "stem_channels": 8,
                       "aux_head": True}, (2, 3, 16), {}),
    "plain": (_BASE, (3, 1, 8), dict(weights="random_init", bins=16, notes="golden")),
}


def _quant_maker():
    """The quantised-CNN golden's op description (one description for both exporters' goldens)."""
    spec = importlib.util.spec_from_file_location("make_quant_export_golden",
                                                  Path(__file__).parent / "make_quant_export_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixed_trace(name: str):
    """The fixed-seed ViT of configuration ``name``, its images and its exported trace."""
    import torch

    from workloads.models.vit import ViT, ViTConfig
    from workloads.papers.vit.trace import export_vit_trace

    torch.set_num_threads(1)     # the float sums (K^T and V histogram edges) depend on the thread count
    fields, (n, c, size), kwargs = CONFIGS[name]
    torch.manual_seed(0)
    model = ViT(ViTConfig(**fields)).eval()
    if fields.get("stem") == "conv":     # BatchNorm statistics that are not the identity: the folding shows
        g = torch.Generator().manual_seed(2)
        for k in (1, 2, 3):
            bn = getattr(model.stem, f"bn{k}")
            bn.running_mean.copy_(torch.randn(bn.num_features, generator=g))
            bn.running_var.copy_(torch.rand(bn.num_features, generator=g) + 0.5)
            bn.weight.data.copy_(torch.rand(bn.num_features, generator=g) + 0.5)
    x = torch.randn(n, c, size, size, generator=torch.Generator().manual_seed(1))
    return model, x, export_vit_trace(model, x, **kwargs)


def header(trace) -> dict:
    return trace.header.model_dump(mode="json", exclude={"created_by"})


def describe(trace) -> list[dict]:
    return _quant_maker().describe(trace)


def golden(made_by: str = "") -> dict:
    out = {"made_by": made_by, "configs": {}}
    for name in CONFIGS:
        _, _, trace = fixed_trace(name)
        out["configs"][name] = {"header": header(trace), "ops": describe(trace)}
    return out


def main(argv: list[str]) -> int:
    return _quant_maker().write(GOLDEN, golden)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
