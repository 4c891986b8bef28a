"""Trace export of a PyTorch ViT (workloads.papers.vit.trace: the graph capture with the ViT's module
rules) against what the forward-hook exporter wrote (tests/goldens/vit_export.json)."""
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from torch import nn  # noqa: E402

from archsim.errors import TraceError  # noqa: E402
from tests.helpers import golden_maker, golden_mismatches  # noqa: E402
from workloads.models.vit import ViT, ViTConfig  # noqa: E402
from workloads.papers.vit.trace import export_vit_trace  # noqa: E402

GOLDENS = Path(__file__).resolve().parents[1] / "goldens"
# the header keys the capture writes itself (how it traced: capture, loop, neurons, bit widths,
# the example input's shape); every key the forward-hook exporter wrote keeps its value
CAPTURE_CONFIG = {"capture", "timestep_loop", "neurons", "weight_bits", "activation_bits", "input_bits",
                  "example_input"}


@pytest.fixture(scope="module")
def maker():
    return golden_maker("make_vit_export_golden")


@pytest.fixture(scope="module")
def golden():
    return json.loads((GOLDENS / "vit_export.json").read_text())["configs"]


@pytest.mark.parametrize("name", ["reuse", "conv_stem_aux", "plain"])
def test_export_matches_the_forward_hook_exporter(maker, golden, name):
    """Every op as the forward-hook exporter wrote it: ids, kinds, loop bounds, MACs, edges,
    operands (roles, bits, dtypes, shapes, densities, K^T/V histograms, the stored int8 codes),
    tags (less the capture's own: module path, aten op, layer index). The header is the same but
    for two intended differences: ``source`` names the capture, and ``config`` gains the
    capture's own keys (:data:`CAPTURE_CONFIG`)."""
    _, x, trace = maker.fixed_trace(name)
    old = golden[name]
    problems = golden_mismatches(maker.describe(trace), old["ops"], name)   # densities: within a margin
    assert not problems, "\n".join(problems[:20])
    new_header, old_header = maker.header(trace), old["header"]
    assert new_header["source"] == "workloads.vit_trace (graph capture, ViT rules)"
    assert old_header["source"] == "workloads.vit_trace (PyTorch forward hooks)"
    config = new_header.pop("config")
    assert set(config) - set(old_header["config"]) == CAPTURE_CONFIG
    assert {k: v for k, v in config.items() if k not in CAPTURE_CONFIG} == old_header["config"]
    assert config["example_input"] == [list(x.shape)]
    assert {k: v for k, v in new_header.items() if k != "source"} == \
        {k: v for k, v in old_header.items() if k not in ("source", "config")}


def test_ops_keep_their_module_paths(maker):
    """The capture's tags say which module each op came from (what the hook exporter did not)."""
    _, _, t = maker.fixed_trace("conv_stem_aux")
    assert t.op("e0.qkv").tags["module"] == "blocks.0.attn.qkv"
    assert t.op("stem.relu2").tags["module"] == "stem.relu"
    assert t.op("head.combine").tags["module"] == "(model)"
    assert t.op("e1.res2").tags["module"] == "blocks.1" and t.op("e1.res2").inputs == ["e1.fc2", "e1.res1"]


CFG = ViTConfig(image_size=8, patch_size=4, in_channels=1, num_classes=10, dim=16, depth=2, heads=2, mlp_dim=32)


def test_an_op_the_shape_generator_lacks_is_an_error():
    """A ViT these rules do not describe fails loudly: a module op of another kind (a ReLU MLP),
    or an op no rule names (an extra layer after the final LayerNorm)."""
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    relu = ViT(CFG).eval()
    relu.blocks[1].mlp.act = nn.ReLU()
    with pytest.raises(TraceError, match="module 'blocks.1.mlp.act'.*gave a elementwise op where the shape generator "
                                         "has e1.gel"):     # the capture names the layer its rule refused
        export_vit_trace(relu, x)
    extra = ViT(CFG).eval()
    extra.norm = nn.Sequential(nn.LayerNorm(16), nn.Linear(16, 16))
    with pytest.raises(ValueError, match="not the shape generator's"):
        export_vit_trace(extra, x)
