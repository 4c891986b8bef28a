"""Small conv SNNs written in snnTorch, SpikingJelly (multi- and single-step) and Norse (cells
and the multi-step LIF): the capture recognises their neurons (threshold, leak, reset), follows each
library's timestep convention, and the trace's spike counts equal the spikes the library's own
forward pass produces (counted by hooks on the neurons: an invariant, same input, same weights).
The traces simulate on LoAS and on the SpikeSim crossbar preset."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import workloads

T = 4


def _spikes_by_hooks(model, run) -> list[float]:
    """Total spikes of each neuron module (in call order of first use) in one forward."""
    from workloads.capture.neurons import find_neurons

    names = find_neurons(model)
    mods = dict(model.named_modules())
    counts: dict[str, float] = {}

    def hook(name):
        def fn(m, a, out):
            s = out[0] if isinstance(out, tuple) else out
            counts[name] = counts.get(name, 0.0) + float(s.sum())
        return fn
    hs = [mods[n].register_forward_hook(hook(n)) for n in names]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in hs:
            h.remove()
    return list(counts.values())


def _trace_spikes(trace) -> list[float]:
    out = []
    for op in trace.ops:
        if op.kind == "lif":
            s = op.output.sparsity
            out.append(s.density * op.neurons * op.timesteps)
            hist = s.spike_count_histogram
            assert sum(c * n for c, n in enumerate(hist)) == pytest.approx(out[-1])
    return out


def _simulate(trace):
    from archsim.engine import simulate

    for hw in ("hw_configs/loas.yaml", "hw_configs/spikesim_rram_65nm.yaml"):
        r = simulate(trace, hw, details=True)
        assert r.ops["macs"].sum() == sum(op.macs * op.timesteps for op in trace.ops)


def _x():
    torch.manual_seed(0)
    return torch.rand(1, 1, 16, 16) * 4


def _check(trace, model_spikes, n_lif):
    lifs = [op for op in trace.ops if op.kind == "lif"]
    assert len(lifs) == n_lif and all(op.timesteps == T for op in lifs)
    got = _trace_spikes(trace)
    assert sum(model_spikes) > 0
    assert got == pytest.approx(model_spikes)
    convs = [op for op in trace.ops if op.kind in ("conv2d", "linear")]
    assert all(op.timesteps == T for op in convs)
    assert [op.operand("input").role.value for op in convs] == ["activation", "spike", "spike"]


def test_snntorch_loop_in_forward():
    snn = pytest.importorskip("snntorch")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.l1 = nn.Conv2d(1, 8, 3, padding=1), snn.Leaky(beta=0.9, threshold=0.5)
            self.c2, self.l2 = nn.Conv2d(8, 8, 3, padding=1), snn.Leaky(beta=0.8, threshold=0.5,
                                                                        reset_mechanism="zero")
            self.fc, self.l3 = nn.Linear(8 * 4 * 4, 10), snn.Synaptic(alpha=0.7, beta=0.9, threshold=0.3)

        def forward(self, x):
            m1, m2 = self.l1.reset_mem(), self.l2.reset_mem()
            syn3, m3 = self.l3.reset_mem()
            out = []
            for _ in range(T):
                s1, m1 = self.l1(torch.max_pool2d(self.c1(x), 2), m1)
                s2, m2 = self.l2(torch.max_pool2d(self.c2(s1), 2), m2)
                s3, syn3, m3 = self.l3(self.fc(s2.flatten(1)), syn3, m3)
                out.append(s3)
            return torch.stack(out)

    torch.manual_seed(1)
    model, x = Net().eval(), _x()
    ref = _spikes_by_hooks(model, lambda: model(x))
    trace = workloads.trace(model, x, timesteps=T, name="snntorch")
    _check(trace, ref, 3)
    l1, l2, l3 = [op for op in trace.ops if op.kind == "lif"]
    assert (l1.threshold, l1.leak, l1.reset.value) == (0.5, pytest.approx(0.9), "soft")
    assert (l2.leak, l2.reset.value) == (pytest.approx(0.8), "hard")
    assert l3.tags["alpha"] == pytest.approx(0.7)
    assert trace.header.config["timestep_loop"] == "model"
    _simulate(trace)


def test_snntorch_init_hidden_single_step_looped_by_capture():
    snn = pytest.importorskip("snntorch")
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.MaxPool2d(2), snn.Leaky(beta=0.9, init_hidden=True),
                          nn.Conv2d(8, 8, 3, padding=1), nn.MaxPool2d(2), snn.Leaky(beta=0.9, init_hidden=True),
                          nn.Flatten(), nn.Linear(128, 10), snn.Leaky(beta=0.9, init_hidden=True, threshold=0.2))
    x = _x()

    def run():
        for m in model.modules():
            if hasattr(m, "reset_mem"):
                m.reset_mem()
        for _ in range(T):
            model(x)
    ref = _spikes_by_hooks(model, run)
    trace = workloads.trace(model, x, timesteps=T, name="snntorch-hidden")
    assert trace.header.config["timestep_loop"] == "capture"
    _check(trace, ref, 3)


@pytest.mark.parametrize("step", ["m", "s"])
def test_spikingjelly(step):
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import functional, layer, neuron

    torch.manual_seed(3)
    model = nn.Sequential(layer.Conv2d(1, 8, 3, padding=1), neuron.LIFNode(tau=2.0), layer.MaxPool2d(2),
                          layer.Conv2d(8, 8, 3, padding=1), neuron.IFNode(v_reset=None), layer.MaxPool2d(2),
                          layer.Flatten(), layer.Linear(128, 10), neuron.ParametricLIFNode(v_threshold=0.5))
    functional.set_step_mode(model, step)
    model.eval()
    x = _x()
    xs = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)

    def run():
        functional.reset_net(model)
        if step == "m":
            model(xs)
        else:
            for _ in range(T):
                model(x)
    ref = _spikes_by_hooks(model, run)
    functional.reset_net(model)
    trace = workloads.trace(model, xs if step == "m" else x, timesteps=T, name=f"spikingjelly-{step}")
    assert trace.header.batch == 1
    _check(trace, ref, 3)
    lif, if_, plif = [op for op in trace.ops if op.kind == "lif"]
    assert lif.leak == pytest.approx(0.5) and lif.reset.value == "hard"
    assert if_.leak == 1.0 and if_.reset.value == "soft"
    assert plif.threshold == 0.5 and plif.leak == pytest.approx(0.5)   # w = 0: 1/tau = sigmoid(0)
    _simulate(trace)


@pytest.mark.parametrize("kind", ["cell", "multi"])
def test_norse(kind):
    pytest.importorskip("norse")
    import norse.torch as nt

    torch.manual_seed(4)
    p = nt.LIFParameters(tau_mem_inv=torch.tensor(200.0), v_th=torch.tensor(0.3))
    if kind == "cell":
        model = nt.SequentialState(nn.Conv2d(1, 8, 3, padding=1), nt.LIFBoxCell(nt.LIFBoxParameters(
            tau_mem_inv=torch.tensor(300.0), v_th=torch.tensor(0.2))), nn.MaxPool2d(2),
            nn.Conv2d(8, 8, 3, padding=1), nt.LIFCell(p), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(128, 10), nt.LIFCell(p))
        x = _x() * 20

        def run():
            s = None
            for _ in range(T):
                _, s = model(x, s)
    else:   # multi-step: [T, B, ...] through Lift'ed convs and the LIF module
        model = nt.SequentialState(nt.Lift(nn.Conv2d(1, 8, 3, padding=1)), nt.LIF(p),
                                   nt.Lift(nn.MaxPool2d(2)), nt.Lift(nn.Conv2d(8, 8, 3, padding=1)), nt.LIF(p),
                                   nt.Lift(nn.MaxPool2d(2)), nt.Lift(nn.Flatten()), nt.Lift(nn.Linear(128, 10)),
                                   nt.LIF(p))
        x = (_x() * 20).unsqueeze(0).repeat(T, 1, 1, 1, 1)

        def run():
            model(x)
    model.eval()
    ref = _spikes_by_hooks(model, run)
    trace = workloads.trace(model, x, timesteps=T, name=f"norse-{kind}")
    _check(trace, ref, 3)
    lifs = [op for op in trace.ops if op.kind == "lif"]
    assert lifs[-1].threshold == pytest.approx(0.3) and lifs[-1].leak == pytest.approx(0.8)
    _simulate(trace)


def test_spike_tensors_stored_bit_packed():
    snn = pytest.importorskip("snntorch")
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), snn.Leaky(beta=0.9, init_hidden=True),
                          nn.Conv2d(4, 4, 3, padding=1))
    trace = workloads.trace(model, _x(), timesteps=T)
    conv2 = trace.ops[-1]
    inp = conv2.operand("input")
    assert inp.role.value == "spike" and trace.manifest.tensors[inp.tensor].encoding == "spikes_packed"
    spikes = trace.tensor(inp.tensor)
    assert spikes.shape == (T, 1, 4, 16, 16) and set(np.unique(spikes)) <= {0, 1}
