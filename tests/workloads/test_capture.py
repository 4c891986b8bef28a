"""workloads.capture: every op that computes reaches the trace, MACs equal PyTorch's own count
(FlopCounterMode, see capture_helpers), unmodelled work stays visible, provenance is truthful,
and the traces run on the hardware models."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import workloads
from archsim.errors import UnsupportedOpError
from archsim.trace.io import load_trace
from archsim.trace.summary import describe
from tests.workloads.capture_helpers import flop_counter_macs, trace_macs


class IssueExample(nn.Module):
    """The issue's example: conv, functional relu, residual x + y, nn.MultiheadAttention, mean."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = F.relu(self.c1(x))
        x = y + self.c2(y)
        t = x.flatten(2).transpose(1, 2)
        a, _ = self.attn(t, t, t)
        return self.fc(a.mean(1))


class ConvZoo(nn.Module):
    """Grouped, depthwise, dilated, strided and 1-D convolutions, squeeze-excitation, norms,
    pooling, upsampling and concatenation: the CNN ops of torchvision's families."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.grouped = nn.Conv2d(16, 32, 3, padding=1, groups=4)
        self.dw = nn.Conv2d(32, 32, 5, padding=4, dilation=2, groups=32)
        self.se1, self.se2 = nn.Conv2d(32, 8, 1), nn.Conv2d(8, 32, 1)
        self.gn = nn.GroupNorm(4, 32)
        self.pw = nn.Conv2d(64, 24, 1)
        self.conv1d = nn.Conv1d(24, 12, 3, padding=1)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        x = F.hardswish(self.bn(self.stem(x)))
        y = self.grouped(x)
        y = self.dw(y)
        s = F.adaptive_avg_pool2d(y, 1)
        y = y * torch.sigmoid(self.se2(F.silu(self.se1(s))))
        y = self.gn(y)
        up = F.interpolate(F.max_pool2d(y, 2), scale_factor=2, mode="nearest")
        z = self.pw(torch.cat([y, up], 1))
        z = F.avg_pool2d(z, 2).flatten(2)
        z = self.conv1d(z).mean(-1)
        return self.fc(z)


class AttnBlock(nn.Module):
    """A pre-norm transformer block written with functional SDPA, einsum and matmul."""

    def __init__(self, d=32, heads=4):
        super().__init__()
        self.h = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.w_gate = nn.Parameter(torch.randn(d, 2 * d) * 0.1)
        self.down = nn.Linear(2 * d, d)

    def forward(self, x):
        B, N, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(B, N, 3, self.h, D // self.h).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v)
        scores = torch.einsum("bhnd,bhmd->bhnm", q, k).softmax(-1)   # a second, explicit attention path
        a = a + torch.matmul(scores, v)
        x = x + self.proj(a.transpose(1, 2).reshape(B, N, D))
        return x + self.down(F.gelu(self.ln2(x) @ self.w_gate))


@pytest.mark.parametrize("build, shape", [
    (IssueExample, (1, 3, 16, 16)), (ConvZoo, (2, 3, 32, 32)), (AttnBlock, (2, 10, 32))])
def test_macs_equal_flop_counter(build, shape):
    torch.manual_seed(0)
    model, x = build(), torch.randn(*shape)
    from workloads.capture import UnmodelledWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmodelledWarning)
        trace = workloads.trace(model, x, name=build.__name__)
    assert trace_macs(trace) == flop_counter_macs(model, x)
    assert not [op for op in trace.ops if op.kind == "unmodelled"]
    assert "unmodelled: none" in describe(trace)


def test_issue_example_keeps_attention_and_connects_graph(tmp_path):
    torch.manual_seed(0)
    trace = workloads.trace(IssueExample(), torch.randn(1, 3, 16, 16), name="issue")
    kinds = [op.kind for op in trace.ops]
    assert kinds.count("matmul") == 2                    # Q·Kᵀ and A·V of the attention
    assert kinds.count("conv2d") == 2 and "add" in kinds
    g = trace.graph()
    import networkx as nx
    assert nx.is_weakly_connected(g)                     # views/permutes pass producers through
    add = next(op for op in trace.ops if op.kind == "add" and op.id == "add")
    assert set(add.inputs) == {"relu", "c2"}             # the residual names both branches
    # provenance: random weights and a synthetic input are labelled so
    assert trace.header.provenance.weights == "random_init" and trace.header.provenance.inputs == "synthetic"
    path = trace.save(tmp_path / "issue.trace")
    assert trace_macs(load_trace(path)) == trace_macs(trace)


def test_real_tensors_and_weight_sparsity():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3))
    with torch.no_grad():
        model[2].weight[:, :4] = 0.0                     # half the weights pruned
    x = torch.randn(1, 3, 12, 12)
    trace = workloads.trace(model, x)
    conv2 = trace.ops[-1]
    w = conv2.operand("weight")
    assert w.sparsity.density == pytest.approx(0.5)
    assert w.sparsity.row_nnz == [36] * 4
    inp = conv2.operand("input")                         # the real ReLU output's density
    want = float((torch.relu(model[0](x)) != 0).float().mean())
    assert inp.sparsity.density == pytest.approx(want)


def test_unmodelled_ops_keep_their_macs_and_warn(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ConvTranspose2d(8, 4, 2, stride=2))
    x = torch.randn(1, 3, 8, 8)
    with pytest.warns(UserWarning, match=r"unmodelled.*convolution"):
        trace = workloads.trace(model, x)
    un = [op for op in trace.ops if op.kind == "unmodelled"]
    assert len(un) == 1 and un[0].macs == 8 * 4 * 2 * 2 * 8 * 8   # transposed conv: FlopCounterMode's formula
    assert trace_macs(trace) == flop_counter_macs(model, x)
    share = 100 * un[0].macs / trace_macs(trace)
    assert f"{share:.2f} % of MACs" in describe(trace)
    from archsim.engine import simulate
    with pytest.raises(UnsupportedOpError, match="unmodelled"):
        simulate(trace, "hw_configs/systolic_tpu_like_32x32.yaml", details=False)


def test_ann_refuses_timesteps():
    with pytest.raises(ValueError, match="no spiking neuron"):
        workloads.trace(nn.Linear(4, 2), torch.randn(1, 4), timesteps=4)


@pytest.mark.parametrize("hw", ["hw_configs/systolic_tpu_like_32x32.yaml", "hw_configs/spikesim_rram_65nm.yaml",
                                "hw_configs/loas.yaml"])
def test_captured_traces_simulate(hw):
    from archsim.engine import simulate

    torch.manual_seed(0)
    trace = workloads.trace(IssueExample(), torch.randn(1, 3, 16, 16), name="issue")
    result = simulate(trace, hw, details=True)
    assert set(result.ops["op_id"]) == {op.id for op in trace.ops}
    assert result.ops["macs"].sum() == trace_macs(trace)


def test_same_as_our_model_export_on_our_snn():
    """Our own SpikingNet ([T*B, ...] folded layout) captured whole, without rules (encoding,
    batch-norm and readout included), and by our models' export (workloads.model_export: the body,
    batch-norm folded): the same MACs of every GEMM layer, the same input spikes' per-timestep
    densities, the same neurons' firing."""
    from workloads.model_export import export_model
    from workloads.models.tiny import tiny_snn

    torch.manual_seed(0)
    model = tiny_snn(timesteps=4).eval()
    x = torch.rand(1, 1, 16, 16)
    old = export_model(model, x, name="tiny", input_bits=None)
    new = workloads.trace(model, x, timesteps=4, activation_bits=None, input_bits=None)
    assert len(new.ops) > len(old.ops)             # the whole model: encoding, batch-norm, readout
    gem = lambda t: [(op.kind, op.macs, op.timesteps) for op in t.ops if op.kind in ("conv2d", "linear")]  # noqa: E731
    assert gem(new) == gem(old)
    for a, b in zip([op for op in old.ops if op.kind in ("conv2d", "linear")],
                    [op for op in new.ops if op.kind in ("conv2d", "linear")]):
        assert a.operand("input").role == b.operand("input").role
        assert np.allclose(a.operand("input").sparsity.density_per_timestep or [],
                           b.operand("input").sparsity.density_per_timestep or [])
    lif_old = [op.output.sparsity.density for op in old.ops if op.kind == "lif"]
    lif_new = [op.output.sparsity.density for op in new.ops if op.kind == "lif"]
    assert lif_new == pytest.approx(lif_old)


def test_hf_transformer_block():
    transformers = pytest.importorskip("transformers")
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertLayer

    torch.manual_seed(0)
    cfg = BertConfig(hidden_size=64, num_attention_heads=4, intermediate_size=128, attn_implementation="sdpa")
    layer = BertLayer(cfg).eval()
    x = torch.randn(1, 12, 64)
    trace = workloads.trace(layer, x, name="bert-layer")
    assert trace_macs(trace) == flop_counter_macs(layer, x)
    mats = [op for op in trace.ops if op.kind == "matmul"]
    assert len(mats) == 2 and all(op.gemm.groups == 4 for op in mats)
    assert sum(op.kind == "linear" for op in trace.ops) == 6
    assert transformers.__version__


MODEL_FILE = '''
import torch
from torch import nn

def build():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 2))

def not_a_model():
    return 3
'''


def test_cli_trace(tmp_path, capsys):
    from workloads.capture.build import TraceWriter  # noqa: F401  (the module the CLI drives)
    from workloads.cli import main

    src = tmp_path / "mine.py"
    src.write_text(MODEL_FILE)
    out = tmp_path / "mine.trace"
    assert main(["trace", f"{src}:build", "--input", "randn(1,3,8,8)", "-o", str(out)]) == 0
    trace = load_trace(out)
    assert [op.kind for op in trace.ops] == ["conv2d", "elementwise", "linear"]
    assert (trace.header.provenance.weights, trace.header.provenance.inputs) == ("random_init", "synthetic")
    assert "unmodelled: none" in capsys.readouterr().out
    # a checkpoint: weights pretrained, the file named; a .npy input: inputs real
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 2))
    torch.save(model.state_dict(), tmp_path / "w.pt")
    np.save(tmp_path / "x.npy", np.ones((1, 3, 8, 8), np.float32))
    assert main(["trace", f"{src}:build", "--input", str(tmp_path / "x.npy"), "--checkpoint", str(tmp_path / "w.pt"),
                 "-o", str(out)]) == 0
    h = load_trace(out).header
    assert (h.provenance.weights, h.provenance.inputs) == ("pretrained", "real") and "w.pt" in h.provenance.notes
    # bad inputs: one-line errors, nothing evaluated
    for args, msg in ((["--input", "__import__('os').system('true')"], "expected randn"),
                      (["--input", "randn(1,3,-8,8)"], "expected randn"),
                      (["--input", "randn(1,3,8,8)", "--checkpoint", str(src)], "--checkpoint"),
                      (["--input", "randn(1,3,8,8)", "--timesteps", "4"], "no spiking neuron")):
        assert main(["trace", f"{src}:build", *args, "-o", str(tmp_path / "bad.trace")]) == 2
        assert msg in capsys.readouterr().err
    assert main(["trace", f"{src}:not_a_model", "--input", "randn(1,3,8,8)", "-o", str(out)]) == 2
    assert "not a torch.nn.Module" in capsys.readouterr().err
    assert not (tmp_path / "bad.trace").exists()


def test_capture_failure_names_the_op(monkeypatch):
    """No fallback: a model that fails under the recorder, or a layer the writer cannot write, is
    an error naming the aten op and the module."""
    from archsim.errors import TraceError
    from workloads.capture import CaptureError, aten_ops

    class Bad(nn.Module):
        def forward(self, x):
            return x @ torch.ones(5, 2)          # [1, 4] @ [5, 2]: the shapes do not fit

    with pytest.raises(CaptureError, match=r"aten\.mm in module '1'"):
        workloads.trace(nn.Sequential(nn.Linear(3, 4), Bad()), torch.randn(1, 3))

    def broken(view):
        raise ValueError("cannot map")
    monkeypatch.setitem(aten_ops.HANDLERS, "convolution", broken)
    with pytest.raises(TraceError, match=r"aten\.convolution of module '0'.*cannot map"):
        workloads.trace(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), torch.randn(1, 3, 8, 8))
