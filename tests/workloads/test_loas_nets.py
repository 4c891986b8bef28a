"""The LoAS networks have the paper's layer shapes: the GEMM view (M, K, N) of every profiled
layer as in the authors' per-layer data (shared/research/loas.md 7.3) and the parameter counts
(workloads.md 2.9: 2.26 M, 14.73 M, 12.62 M)."""
from pathlib import Path

import pytest
import torch

from workloads.model_export import export_model
from workloads.papers.loas import nets as loas_nets

ALEXNET = [(64, 576, 192), (64, 1728, 384), (64, 3456, 256), (64, 2304, 256)]
VGG16 = [(1024, 576, 64), (256, 576, 128), (256, 1152, 128), (64, 1152, 256), (64, 2304, 256),
         (64, 2304, 256), (16, 2304, 512), (16, 4608, 512), (16, 4608, 512), (4, 4608, 512),
         (4, 4608, 512), (4, 4608, 512)]
RESNET19 = [(256, 576, 128), (256, 1152, 128), (256, 64, 128), (256, 1152, 128), (256, 1152, 128),
            (256, 1152, 128), (256, 1152, 128), (64, 1152, 256), (64, 2304, 256), (64, 128, 256),
            (64, 2304, 256), (64, 2304, 256), (64, 2304, 256), (64, 2304, 256), (16, 2304, 512),
            (16, 4608, 512), (16, 256, 512), (16, 4608, 512), (16, 4608, 512)]


def recipe_macs(network: str) -> float:
    """The hand-computed MACs (T = 4) that reports/loas_real.yaml checks the real traces against."""
    from archsim.report.recipe import load_recipe
    recipe, _ = load_recipe(Path(__file__).resolve().parents[2] / "reports" / "loas_real.yaml")
    (check,) = [c for c in recipe.checks if c.metric == "macs" and c.run == f"{network}-whole-loas"]
    return check.published


@pytest.mark.parametrize("build,shapes,params_m,network", [
    (loas_nets.loas_alexnet, ALEXNET, 2.26, "alexnet"), (loas_nets.loas_vgg16, VGG16, 14.73, "vgg16"),
    (loas_nets.loas_resnet19, RESNET19, 12.62, "resnet19")], ids=["alexnet", "vgg16", "resnet19"])
def test_layer_shapes(build, shapes, params_m, network):
    torch.manual_seed(0)
    model = build(timesteps=2)
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(params_m, abs=0.011)
    trace = export_model(model, torch.rand(1, 3, 32, 32), name="shape", weight_bits=None, store_spikes=False)
    convs = [op for op in trace.ops if op.kind == "conv2d"]
    assert convs[0].tags["encoding_layer"] and convs[0].gemm.K == 27
    assert [(op.gemm.M, op.gemm.K, op.gemm.N) for op in convs[1:]] == shapes
    assert all(op.timesteps == 2 for op in trace.ops)
    assert sum(op.macs for op in trace.ops) * 4 == recipe_macs(network)
