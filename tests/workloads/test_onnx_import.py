"""archsim import onnx: a model exported with torch.onnx.export imports with the same MACs as the
capture of the same model and as PyTorch's FlopCounterMode (capture_helpers); weights' sparsity
comes from the initialisers; bad inputs get one-line errors."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import workloads
from archsim.errors import ArchsimError
from tests.workloads.capture_helpers import flop_counter_macs, trace_macs
from tests.workloads.test_capture import ConvZoo, IssueExample

onnx = pytest.importorskip("onnx")


def _export(model, x, path):
    torch.onnx.export(model.eval(), (x,), str(path), dynamo=False, opset_version=17, input_names=["x"])
    return path


@pytest.mark.parametrize("build, shape", [(IssueExample, (1, 3, 16, 16)), (ConvZoo, (2, 3, 32, 32))])
def test_onnx_macs_equal_capture_and_flop_counter(tmp_path, build, shape):
    from archsim.importers.onnx import import_onnx

    torch.manual_seed(0)
    model, x = build(), torch.randn(*shape)
    path = _export(model, x, tmp_path / "m.onnx")
    trace, warnings = import_onnx(path, {None: list(shape)})
    assert warnings == []
    assert trace_macs(trace) == flop_counter_macs(model, x) == trace_macs(workloads.trace(model, x))
    captured = workloads.trace(model, x)
    gemm = lambda t: sorted((op.kind, op.macs) for op in t.ops if op.kind in ("conv2d", "linear", "matmul"))  # noqa: E731
    assert gemm(trace) == gemm(captured)


def test_onnx_weight_sparsity_and_cli(tmp_path):
    from archsim.cli import main
    from archsim.trace.io import load_trace

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 4))
    with torch.no_grad():
        model[3].weight[:, ::2] = 0.0
    path = _export(model, torch.randn(1, 3, 8, 8), tmp_path / "s.onnx")
    out = tmp_path / "s.trace"
    assert main(["import", "onnx", str(path), "--input-shape", "1,3,8,8", "-o", str(out)]) == 0
    trace = load_trace(out)
    fc = next(op for op in trace.ops if op.kind == "linear")
    assert fc.operand("weight").sparsity.density == pytest.approx(0.5)
    assert trace.header.provenance.inputs == "none"


def test_onnx_unmodelled_and_errors(tmp_path):
    from archsim.importers.onnx import import_onnx, parse_input_shapes

    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ConvTranspose2d(4, 2, 2, stride=2))
    x = torch.randn(1, 3, 8, 8)
    path = _export(model, x, tmp_path / "t.onnx")
    trace, warnings = import_onnx(path, {None: [1, 3, 8, 8]})
    un = [op for op in trace.ops if op.kind == "unmodelled"]
    assert len(un) == 1 and len(warnings) == 1 and "ConvTranspose" in warnings[0]
    assert trace_macs(trace) == flop_counter_macs(model, x)
    with pytest.raises(ArchsimError, match="not a graph input"):
        import_onnx(path, {"nope": [1, 3, 8, 8]})
    with pytest.raises(ArchsimError, match="integer dimensions"):
        parse_input_shapes(["1,3,x"])
    with pytest.raises(ArchsimError, match="not a readable ONNX"):
        (tmp_path / "bad.onnx").write_text("nope")
        import_onnx(tmp_path / "bad.onnx", {None: [1]})


def test_onnx_attention_op(tmp_path):
    """ONNX's Attention op (opset 23) becomes Q·Kᵀ, softmax, A·V: MACs by hand, B·H·L·(S·E + S·Ev)."""
    from onnx import TensorProto, helper

    from archsim.importers.onnx import import_onnx

    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
           for n, s in (("q", [1, 4, 10, 8]), ("k", [1, 4, 12, 8]), ("v", [1, 4, 12, 6]))]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("Attention", ["q", "k", "v"], ["y"], name="attn")], "g", ins, [out])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)]), tmp_path / "a.onnx")
    trace, warnings = import_onnx(tmp_path / "a.onnx")
    assert warnings == [] and [op.kind for op in trace.ops] == ["matmul", "softmax", "matmul"]
    assert trace_macs(trace) == 1 * 4 * 10 * (12 * 8 + 12 * 6)
