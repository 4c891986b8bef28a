"""Trace export of a post-training-quantised ResNet-18 (workloads.papers.stableq.export: the graph capture
with the quantised CNN's module rules)."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from archsim.trace.io import load_trace  # noqa: E402
from archsim.trace.schema import Header, Provenance  # noqa: E402
from workloads.models.resnet import resnet18  # noqa: E402
from tests.helpers import golden_maker, golden_mismatches  # noqa: E402
from workloads.papers.stableq.cnn import fold_batchnorm, quant_layers  # noqa: E402
from workloads.papers.stableq.export import export_quantized_cnn  # noqa: E402

GOLDENS = Path(__file__).resolve().parents[1] / "goldens"

# ResNet-18, ImageNet stem, 1x32x32 input, by hand: stem 16*16*64*49 = 802,816; stage 1 (8x8):
# 4 x 64*64*9*64 = 9,437,184; stages 2-4 each 8,388,608 (strided conv, conv, 1x1 shortcut, block 2);
# classifier 512*10.
RESNET18_32_MACS = 802_816 + 9_437_184 + 3 * 8_388_608 + 5_120
SHORTCUT_BLOCKS = (2, 4, 6)      # the blocks whose shape changes: a 1x1 strided shortcut conv


@pytest.fixture(scope="module")
def maker():
    return golden_maker("make_quant_export_golden")


@pytest.fixture(scope="module")
def exported(maker):
    """The fixed-seed quantised ResNet-18 (random weights, two synthetic images, W2A4 rtn)."""
    return maker.fixed_trace()


def test_export_quantised_resnet18(exported, tmp_path):
    q, x, trace = exported
    trace.save(tmp_path / "r.trace")
    t = load_trace(tmp_path / "r.trace")
    assert t.header.batch == 2
    assert sum(op.macs for op in t.ops) == 2 * RESNET18_32_MACS
    kinds = [op.kind for op in t.ops]
    assert kinds.count("conv2d") == 20 and kinds.count("linear") == 1 and kinds.count("add") == 8
    assert kinds.count("pool") == 2 and kinds.count("elementwise") == 17 and len(kinds) == 48
    first, mid, last = t.op("stem.0"), t.op("blocks.5.conv1"), t.op("fc")
    assert first.operand("weight").bits == 8 and first.operand("input").bits == 8
    assert first.operand("input").dtype == "int"
    assert mid.operand("weight").bits == 2 and mid.operand("input").bits == 4 and mid.operand("input").dtype == "uint"
    assert last.operand("weight").bits == 8 and last.tokens == 2
    w = mid.operand("weight")
    assert w.quant.granularity == "channel" and w.quant.zero_point_bits == 2 and not w.quant.symmetric
    codes = t.tensor(w.tensor)
    layer = dict(quant_layers(q))["blocks.5.conv1"]
    assert np.array_equal(codes, layer.quantized.codes.reshape(256, -1)[:, :layer.quantized.k]
                          .reshape(codes.shape).numpy())
    assert w.histogram.counts == np.bincount(codes.reshape(-1), minlength=4).tolist()
    # edges follow the tensors (BasicBlock.forward: relu2(bn2(conv2(...)) + shortcut(x)))
    assert t.op("blocks.2.shortcut.0").inputs == ["blocks.1.relu2"]
    assert t.op("blocks.2.add").inputs == ["blocks.2.conv2", "blocks.2.shortcut.0"]
    assert t.op("blocks.1.add").inputs == ["blocks.1.conv2", "blocks.0.relu2"]
    assert t.op("blocks.2.add").tags["block"] == "blocks.2"
    assert 0 < mid.operand("input").density <= 1
    # the fake quantisation inside the layers is not traced op by op
    assert not any(op.tags["module"].endswith((".act", ".layer")) for op in t.ops)


def _tensor_edges(op_id: str) -> list[str] | None:
    """The edges of the shortcut blocks as the tensors run (None: any other op)."""
    for b in SHORTCUT_BLOCKS:
        if op_id == f"blocks.{b}.shortcut.0":
            return [f"blocks.{b - 1}.relu2"]
        if op_id == f"blocks.{b}.add":
            return [f"blocks.{b}.conv2", f"blocks.{b}.shortcut.0"]
    return None


def test_export_matches_the_forward_hook_exporter(maker, exported):
    """Every op as the forward-hook exporter wrote it (tests/goldens/quant_export.json, written by
    that exporter before the export moved onto the capture): kinds, loop bounds, MACs, operands
    (bits, dtype, shapes, densities, quantisation, histograms, the stored codes), tags; activation
    densities within tests.helpers.MEASURED_DENSITY_ABS (they move by a few elements between CPUs).
    The one difference: the shortcut blocks' edges follow the tensors instead of the execution order."""
    golden = json.loads((GOLDENS / "quant_export.json").read_text())
    ops = maker.describe(exported[2])
    assert [o["id"] for o in ops] == [o["id"] for o in golden["ops"]]
    moved, problems = [], []
    for new, old in zip(ops, golden["ops"]):
        fixed = _tensor_edges(new["id"])
        if fixed is not None:
            assert old["inputs"] != fixed and new["inputs"] == fixed, new["id"]
            moved.append(new["id"])
        else:
            assert new["inputs"] == old["inputs"], new["id"]
        problems += golden_mismatches({k: v for k, v in new.items() if k != "inputs"},
                                      {k: v for k, v in old.items() if k != "inputs"}, new["id"])
    assert not problems, "\n".join(problems)
    assert len(moved) == 2 * len(SHORTCUT_BLOCKS)


def _close(ours, golden, where, problems):
    if isinstance(golden, dict):
        assert set(ours) == set(golden), where
        for k in golden:
            _close(ours[k], golden[k], f"{where}.{k}", problems)
    elif not math.isclose(float(ours), float(golden), rel_tol=1e-9, abs_tol=0.0):
        problems.append(f"{where}: {ours!r} != golden {golden!r}")


def test_export_simulates_as_the_forward_hook_exporter(maker, exported):
    """The StableQ recipe's hardware on the trace: the systolic array's figures and the crossbar
    model's energy, area, traffic and MACs equal the forward-hook exporter's (golden). The crossbar
    model's pipelined schedule reads the edges, so its cycles and latency are shorter (a shortcut
    conv runs beside conv1/conv2 instead of after them); with the old edges put back they equal the
    golden exactly, so the edges are the whole difference."""
    golden = json.loads((GOLDENS / "quant_export.json").read_text())["runs"]
    trace = exported[2]
    runs = maker.simulate(trace)
    timing = ("cycles", "latency_s")
    problems: list[str] = []
    _close(runs["sys"], golden["sys"], "sys", problems)
    _close({k: v for k, v in runs["rram"].items() if k not in timing},
           {k: v for k, v in golden["rram"].items() if k not in timing}, "rram", problems)
    assert not problems, "\n".join(problems)
    for k in timing:
        assert runs["rram"][k] < golden["rram"][k]
    old_inputs = {o["id"]: o["inputs"] for o in json.loads((GOLDENS / "quant_export.json").read_text())["ops"]}
    rewired = trace.with_ops([op.model_copy(update={"inputs": old_inputs[op.id]}) for op in trace.ops])
    again = maker.simulate(rewired, only=("rram",))["rram"]
    for k in timing:
        assert math.isclose(again[k], golden["rram"][k], rel_tol=1e-9), (k, again[k], golden["rram"][k])


def test_export_needs_quantised_layers():
    from workloads.papers.stableq.cnn import wrap_layers
    model = wrap_layers(fold_batchnorm(resnet18().eval()), 4, 4)
    with pytest.raises(ValueError, match="not quantised"):
        export_quantized_cnn(model, torch.zeros(1, 1, 32, 32),
                             Header(model="x", provenance=Provenance(weights="random_init", inputs="none")))
