"""Our models' export (workloads.model_export: the graph capture with our rules): stored spikes equal
the forward pass, graph edges, ANN export, weights."""
import numpy as np
import pytest
import torch
from torch import nn

from archsim.trace.io import load_trace
from archsim.trace.quant import quantize_weight
from archsim.trace.schema import Role
from workloads.model_export import export_model
from workloads.papers.loas.nets import BasicBlock
from workloads.models.tiny import tiny_cnn, tiny_snn
from workloads.snn.network import SpikingNet
from workloads.snn.neuron import LIF
from workloads.train import recalibrate_bn


def spiking_tiny(seed=0):
    """A tiny random-initialised SNN whose batch-norm statistics are set from random images, so
    that its neurons fire at a realistic rate."""
    torch.manual_seed(seed)
    m = tiny_snn(timesteps=4, image_size=8, width=4)
    recalibrate_bn(m, torch.rand(64, 1, 8, 8))
    return m


def capture_inputs(model, names):
    seen, hooks = {}, []
    for n, mod in model.named_modules():
        if n in names:
            hooks.append(mod.register_forward_hook(lambda mod, i, o, n=n: seen.__setitem__(n, i[0].detach().clone())))
    return seen, hooks


def test_packed_spikes_equal_the_forward_pass(tmp_path):
    model = spiking_tiny()
    x = torch.rand(2, 1, 8, 8)
    seen, hooks = capture_inputs(model, {"body.conv2", "body.fc"})
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    trace = load_trace(export_model(model, x, name="t").save(tmp_path / "t.trace"))
    for op_id, name in (("conv2", "body.conv2"), ("fc", "body.fc")):
        operand = trace.op(op_id).operand("input")
        assert operand.role == Role.spike and operand.tensor is not None
        stored = trace.tensor(operand.tensor)                              # [T, B, ...]
        expected = seen[name].numpy().reshape(4, 2, *seen[name].shape[1:])
        assert stored.shape == expected.shape and np.array_equal(stored, expected.astype(np.uint8))
        assert 0 < stored.mean() < 1                                       # real, nontrivial spikes
        # statistics recorded = statistics of the tensor
        s = operand.sparsity
        assert s.density_per_timestep == pytest.approx(expected.reshape(4, -1).mean(axis=1).tolist())
        counts = expected.reshape(4, -1).sum(axis=0).astype(int)
        assert s.spike_count_histogram == np.bincount(counts, minlength=5).tolist()
    # the direct-encoded first layer sees the analog image: an activation, 8-bit only if asked
    first = trace.op("conv1")
    assert first.operand("input").role == Role.activation and first.tags["encoding_layer"]
    assert [op.kind for op in trace.ops] == ["conv2d", "lif", "pool", "conv2d", "lif", "pool", "linear"]
    assert trace.op("lif1").leak == pytest.approx(0.25) and trace.op("lif1").reset.value == "hard"


def test_residual_graph_edges():
    torch.manual_seed(0)
    body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), LIF(), BasicBlock(4, 8, stride=2),
                         BasicBlock(8, 8), nn.Flatten(), nn.Linear(8 * 4 * 4, 3))
    model = SpikingNet(body, timesteps=2, num_classes=3, in_channels=1)
    trace = export_model(model, torch.rand(1, 1, 8, 8), name="res")
    op = {o.id: o for o in trace.ops}
    assert op["2.add"].inputs == ["2.conv2", "2.shortcut.conv"]           # the two branches
    assert op["2.shortcut.conv"].inputs == ["1"] and op["2.conv1"].inputs == ["1"]
    assert op["3.add"].inputs == ["3.conv2", "2.lif2"]                     # identity shortcut
    assert op["3.add"].operand("b").role == Role.spike                    # block input spikes
    assert op["3.add"].operand("a").role == Role.activation               # batch-normed currents
    assert op["5"].inputs == ["3.lif2"]                                    # through the flatten
    assert trace.header.timesteps == 2 and op["2.conv1"].timesteps == 2


def test_ann_export_records_activation_density_and_bits():
    torch.manual_seed(0)
    model = tiny_cnn(image_size=8, width=4)
    x = torch.rand(3, 1, 8, 8)
    seen, hooks = capture_inputs(model, {"body.conv2"})
    trace = export_model(model, x, name="cnn", activation_bits=16, input_bits=8)
    for h in hooks:
        h.remove()
    assert trace.header.timesteps == 1
    inp = trace.op("conv2").operand("input")
    assert inp.role == Role.activation and inp.bits == 16 and inp.tensor is None
    assert inp.density == pytest.approx(float((seen["body.conv2"] != 0).float().mean()))
    assert trace.op("conv1").operand("input").bits == 8
    assert trace.op("relu1").kind == "elementwise" and trace.op("relu1").function == "relu"


def test_weights_keep_the_pruning_mask():
    w = np.array([[0.5, -0.001, 0.0, 0.25], [0.0, 0.0, 0.0, 0.0], [1e-6, -2.0, 0.0, 1.0]], dtype=np.float32)
    q = quantize_weight(w, 8)
    assert q.dtype == np.int8
    assert np.array_equal(q != 0, w != 0)                # tiny weights kept as +-1, zeros stay zero
    assert q.tolist() == [[127, -1, 0, 64], [0, 0, 0, 0], [1, -127, 0, 64]]


def test_exported_weights_are_the_model_weights():
    model = spiking_tiny()
    with torch.no_grad():
        model.body.conv2.weight[:, :2] = 0.0
    trace = export_model(model, torch.rand(1, 1, 8, 8), name="t", weight_bits=None)
    w = trace.tensor(trace.op("conv2").operand("weight").tensor)
    assert np.array_equal(w, model.body.conv2.weight.detach().numpy())
    s = trace.op("conv2").operand("weight").sparsity
    assert s.row_nnz == (w.reshape(w.shape[0], -1) != 0).sum(axis=1).tolist()


def test_rate_encoded_input_is_a_spike_operand():
    torch.manual_seed(0)
    model = tiny_snn(timesteps=3, image_size=8, width=4, encoding="rate")
    model.rate_generator = torch.Generator().manual_seed(5)
    x = torch.rand(1, 1, 8, 8)
    trace = export_model(model, x, name="rate")
    inp = trace.op("conv1").operand("input")
    assert inp.role == Role.spike and trace.header.timesteps == 3
    spikes = trace.tensor(inp.tensor)[:, 0, 0]                  # [T, H, W]
    # Bernoulli(intensity): over 3 steps a pixel of intensity p fires on average 3p times
    assert spikes.shape == (3, 8, 8) and set(np.unique(spikes)) <= {0, 1}
    assert abs(spikes.mean() - float(x.mean())) < 0.15


def test_matmul_of_spikes_is_exported_with_both_producers():
    """A spiking attention-like product: Q and K spikes from two neurons, Q @ K^T per head."""
    from workloads.ops import MatMul

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k = nn.Linear(8, 8), nn.Linear(8, 8)
            self.lq, self.lk = LIF(tau=2.0, v_threshold=0.3), LIF(tau=2.0, v_threshold=0.3)
            self.mm = MatMul()

        def forward(self, x):                       # x [T*B, tokens, 8]
            q = self.lq(self.q(x)).view(x.shape[0], 5, 2, 4).transpose(1, 2)   # heads 2, dim 4
            k = self.lk(self.k(x)).view(x.shape[0], 5, 2, 4).transpose(1, 2)
            return self.mm(q, k.transpose(-1, -2))

    class Net(SpikingNet):
        def forward(self, x):
            return self.body(x.unsqueeze(0).expand(self.timesteps, *x.shape).reshape(-1, *x.shape[1:]))

    torch.manual_seed(0)
    net = Net(Attn(), timesteps=2, in_channels=1)
    trace = export_model(net, torch.randn(3, 5, 8), name="attn")
    mm = trace.op("mm")
    assert (mm.batch, mm.M, mm.K, mm.N) == (3 * 2, 5, 4, 5) and mm.inputs == ["lq", "lk"]
    assert mm.operand("a").role == Role.spike and mm.operand("b").role == Role.spike
