"""Write ``tests/goldens/quant_export.json``: what the StableQ trace export
(:func:`workloads.papers.stableq.export.export_quantized_cnn`) gives for a fixed-seed quantised ResNet-18
(random weights, two synthetic 1x32x32 images, W2A4 round-to-nearest): every op's kind, loop
bounds, MACs, operands (role, bits, dtype, shape, density, quantisation, a hash of the stored
codes), tags and inputs, and the summary figures of the StableQ recipe's hardware runs on it.
tests/workloads/test_quant_export.py compares a fresh export against it.

    python tests/goldens/make_quant_export_golden.py

The stored file was written by the forward-hook exporter (before the export moved onto the graph
capture, commit named in the file's ``made_by``); regenerate only when a change is meant to move
the trace, and say why in the commit.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "quant_export.json"
RECIPE = REPO / "reports" / "stableq.yaml"


def fixed_trace():
    """The fixed-seed quantised ResNet-18 and its exported trace."""
    import torch

    from archsim.trace.schema import Header, Provenance
    from workloads.models.resnet import resnet18
    from workloads.papers.stableq.cnn import fold_batchnorm, quantize_cnn
    from workloads.papers.stableq.export import export_quantized_cnn

    torch.manual_seed(0)
    model = resnet18().eval()
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    q, _ = quantize_cnn(fold_batchnorm(model), x, 2, 4, method="rtn")
    header = Header(model="resnet18-golden", provenance=Provenance(weights="random_init", inputs="synthetic"),
                    config={"weight_bits": 2, "act_bits": 4})
    return q, x, export_quantized_cnn(q, x, header)


def _operand(trace, o) -> dict:
    d = {"name": o.name, "role": str(o.role.value if hasattr(o.role, "value") else o.role), "bits": o.bits,
         "dtype": str(o.dtype.value if hasattr(o.dtype, "value") else o.dtype), "shape": list(o.shape or []),
         "density": o.density, "store": o.tensor is not None,
         "quant": o.quant.model_dump(mode="json") if o.quant is not None else None,
         "histogram": o.histogram.model_dump(mode="json") if o.histogram is not None else None}
    if o.tensor is not None:
        d["data_sha256"] = hashlib.sha256(trace.tensor(o.tensor).tobytes()).hexdigest()
    return d


# tags the capture writes for every op (where it came from); no model or recipe reads them
CAPTURE_TAGS = ("module", "aten", "layer_index", "encoding_layer")


def describe(trace) -> list[dict]:
    """Every op as the simulator sees it."""
    out = []
    for op in trace.ops:
        fields = op.model_dump(mode="json", exclude={"operands", "output", "tags", "inputs", "id", "kind"})
        out.append({"id": op.id, "kind": op.kind, "macs": op.macs, "timesteps": op.timesteps, "fields": fields,
                    "inputs": list(op.inputs),
                    "tags": {k: v for k, v in sorted(op.tags.items()) if k not in CAPTURE_TAGS},
                    "operands": [_operand(trace, o) for o in op.operands],
                    "output": _operand(trace, op.output) if op.output is not None else None})
    return out


def _summary_figures(summary: dict) -> dict:
    spec = importlib.util.spec_from_file_location("make_recipe_goldens", Path(__file__).parent / "make_recipe_goldens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.summary_figures(summary)


def simulate(trace, only: tuple[str, ...] = ()) -> dict:
    """Summary figures of the StableQ recipe's hardware runs (``rram``, ``sys``: the recipe's runs
    differ only in their traces) on ``trace``; ``only``: these of them."""
    import archsim
    from archsim.report.recipe import load_recipe

    recipe, base = load_recipe(RECIPE)
    out = {}
    for run in recipe.runs:
        key = run.name.split("-")[0]
        if key not in out and (not only or key in only):
            out[key] = _summary_figures(archsim.simulate(trace, base / run.hw, overrides=run.set or None).summary)
    return out


def golden(made_by: str = "") -> dict:
    _, _, trace = fixed_trace()
    return {"made_by": made_by, "batch": trace.header.batch, "ops": describe(trace), "runs": simulate(trace)}


def write(path: Path, make) -> int:
    """The goldens makers' command: ``make(made_by)`` (the first argument, the exporter that wrote
    it) as JSON into ``path``."""
    sys.path.insert(0, str(REPO))
    made_by = sys.argv[1] if len(sys.argv) > 1 else ""
    path.write_text(json.dumps(make(made_by), indent=1, sort_keys=True, default=float) + "\n")
    print(f"wrote {path.relative_to(REPO)}")
    return 0


def main(argv: list[str]) -> int:
    return write(GOLDEN, golden)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
