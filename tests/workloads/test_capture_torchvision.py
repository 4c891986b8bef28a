"""Ten torchvision architectures (random weights: architecture only, nothing downloaded) traced
with MACs equal to PyTorch's own FlopCounterMode count (capture_helpers), no unmodelled op, and
simulated on the systolic and crossbar presets.

torchvision is an optional extra: PyPI's torchvision wheels are built against CUDA torch and do not
import beside this project's CPU torch 2.13.0 ('operator torchvision::nms does not exist'), so
these tests skip where it is missing. `pip install ".[torchvision]"` in a separate environment
(torch 2.14.1 + torchvision 0.29.1) runs them; see docs/workloads.md.
"""
from __future__ import annotations

import warnings

import pytest
import torch

from tests.workloads.capture_helpers import flop_counter_macs, trace_macs

try:
    import torchvision.models as tvm
except Exception as exc:   # ImportError, or the RuntimeError of a torchvision built for another torch
    pytest.skip(f"torchvision not importable here ({type(exc).__name__}: {str(exc)[:80]}); "
                "install the torchvision extra to run these", allow_module_level=True)

import workloads  # noqa: E402
from workloads.capture import UnmodelledWarning  # noqa: E402

# (builder, input side): small inputs where the architecture allows, to keep the test fast
ARCHS = {
    "resnet18": (lambda: tvm.resnet18(), 64),
    "mobilenet_v2": (lambda: tvm.mobilenet_v2(), 64),
    "mobilenet_v3_small": (lambda: tvm.mobilenet_v3_small(), 64),
    "efficientnet_b0": (lambda: tvm.efficientnet_b0(), 64),
    "regnet_y_400mf": (lambda: tvm.regnet_y_400mf(), 64),
    "vgg11": (lambda: tvm.vgg11(), 32),
    "convnext_tiny": (lambda: tvm.convnext_tiny(), 64),
    "resnet50": (lambda: tvm.resnet50(), 64),
    "swin_t": (lambda: tvm.swin_t(), 64),
    "vit_b_16": (lambda: tvm.vit_b_16(image_size=64), 64),
}
HEAVY = {"resnet50", "swin_t", "vit_b_16", "convnext_tiny", "vgg11"}


@pytest.mark.parametrize("arch", [pytest.param(a, marks=pytest.mark.slow) if a in HEAVY else a for a in ARCHS])
def test_torchvision_macs_equal_flop_counter(arch):
    build, side = ARCHS[arch]
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(1, 3, side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmodelledWarning)
        trace = workloads.trace(model, x, name=arch, weight_bits=8)
    assert trace_macs(trace) == flop_counter_macs(model, x)
    if arch in ("vit_b_16", "swin_t"):   # the attention products are ops of their own
        mats = [op for op in trace.ops if op.kind == "matmul"]
        assert len(mats) == 2 * (12 if arch == "vit_b_16" else 12)


@pytest.mark.slow
@pytest.mark.parametrize("hw", ["hw_configs/systolic_tpu_like_32x32.yaml", "hw_configs/spikesim_rram_65nm.yaml"])
def test_torchvision_traces_simulate(hw):
    from archsim.engine import simulate

    for arch in ("resnet18", "vit_b_16"):
        build, side = ARCHS[arch]
        torch.manual_seed(0)
        trace = workloads.trace(build().eval(), torch.randn(1, 3, side, side), name=arch)
        result = simulate(trace, hw, details=True)
        assert result.ops["macs"].sum() == trace_macs(trace)


def test_torchvision_onnx_import_same_macs(tmp_path):
    pytest.importorskip("onnx")
    from archsim.importers.onnx import import_onnx

    build, side = ARCHS["resnet18"]
    torch.manual_seed(0)
    model, x = build().eval(), torch.randn(1, 3, side, side)
    path = tmp_path / "resnet18.onnx"
    torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17)
    trace, warnings = import_onnx(path, {None: [1, 3, side, side]})
    assert warnings == []
    assert trace_macs(trace) == flop_counter_macs(model, x) == trace_macs(workloads.trace(model, x))
