"""Every op kind survives write -> read unchanged, with and without tensors."""
import numpy as np
import pytest

from archsim.trace.io import load_trace
from archsim.trace.schema import OP_KINDS, Quant, Role, Sparsity, Histogram
from tests.helpers import builder, random_spikes


def build_all_kinds(rng, with_tensors: bool):
    T = 4
    b = builder(T=T, dataset="digits", input_description="one 8x8 digit")
    spikes = random_spikes(rng, T, (1, 3, 8, 8))
    weight = (rng.integers(-2, 3, (4, 3, 3, 3)) * (rng.random((4, 3, 3, 3)) < 0.3)).astype(np.int8)
    if with_tensors:
        x = b.operand("input", Role.spike, data=spikes)
        w = b.operand("weight", Role.static_weight, data=weight, bits=8)
    else:
        x = b.operand("input", Role.spike, shape=[1, 3, 8, 8], sparsity=Sparsity(density=0.2, density_per_timestep=[0.1, 0.2, 0.2, 0.3], spike_count_histogram=[100, 50, 30, 10, 2]))
        w = b.operand("weight", Role.static_weight, shape=[4, 3, 3, 3], bits=8, sparsity=Sparsity(density=0.3))
    out = b.operand("output", Role.state, shape=[1, 4, 8, 8], bits=16)
    b.add("conv2d", "conv", inputs=[], operands=[x, w], output=out, in_channels=3, out_channels=4, in_h=8, in_w=8,
          kernel_h=3, kernel_w=3, pad_h=1, pad_w=1)
    b.add("lif", "lif", neurons=256, threshold=0.5, leak=0.25, reset="soft")
    b.add("pool", "pool", mode="avg", channels=4, in_h=8, in_w=8, kernel_h=2, kernel_w=2, stride_h=2, stride_w=2)
    qw = b.operand("weight", Role.static_weight, shape=[10, 64], bits=4,
                   quant=Quant(granularity="group", group_size=32, symmetric=False, zero_point_bits=4))
    b.add("linear", "fc", operands=[b.operand("input", Role.spike, shape=[1, 64], sparsity=Sparsity(density=0.1)), qw],
          tokens=1, in_features=64, out_features=10, tags={"layer": 3, "branch": "snn"})
    kv = b.operand("b", Role.dynamic_weight, shape=[2, 16, 5], bits=8,
                   histogram=Histogram(edges=[-1.0, 0.0, 1.0], counts=[80, 80]))
    b.add("matmul", "qk", operands=[b.operand("a", Role.activation, shape=[2, 5, 16], bits=8), kv],
          batch=2, M=5, K=16, N=5, timesteps=1)
    b.add("softmax", "softmax", rows=10, cols=5, timesteps=1)
    b.add("layernorm", "ln", rows=5, cols=16, variant="rms", timesteps=1)
    b.add("gelu", "gelu", elements=80, timesteps=1)
    b.add("silu", "silu", elements=80, timesteps=1)
    b.add("add", "add", inputs=["gelu", "silu"], elements=80, timesteps=1)
    b.add("concat", "cat", inputs=["add", "ln"], elements=160, axis=0, timesteps=1)
    b.add("elementwise", "quant", function="quantize", elements=160, ops_per_element=2.0, timesteps=1)
    trace = b.build()
    assert {op.kind for op in trace.ops} == set(OP_KINDS)
    return trace, spikes, weight


@pytest.mark.parametrize("with_tensors", [True, False])
def test_roundtrip_every_kind(tmp_path, rng, with_tensors):
    trace, spikes, weight = build_all_kinds(rng, with_tensors)
    path = trace.save(tmp_path / "t.trace")
    back = load_trace(path)
    assert back.manifest == trace.manifest
    assert len(back.manifest.tensors) == (2 if with_tensors else 0)
    if with_tensors:
        conv = back.op("conv")
        assert np.array_equal(back.tensor(conv.operand("input").tensor), spikes)
        assert np.array_equal(back.tensor(conv.operand("weight").tensor), weight)
    g = back.graph()
    assert list(g.predecessors("add")) == ["gelu", "silu"]
    assert g.number_of_nodes() == len(back.ops)


def test_statistics_from_tensors(rng):
    trace, spikes, weight = build_all_kinds(rng, True)
    sp = trace.op("conv").operand("input").sparsity
    counts = spikes.reshape(4, -1).sum(axis=0)
    assert sp.spike_count_histogram == [int((counts == c).sum()) for c in range(5)]
    assert sp.density_per_timestep == pytest.approx(spikes.reshape(4, -1).mean(axis=1).tolist())
    ws = trace.op("conv").operand("weight").sparsity
    assert ws.row_nnz == [int((weight[n] != 0).sum()) for n in range(4)]
    assert ws.density == pytest.approx((weight != 0).mean())


def test_gemm_views(rng):
    trace, _, _ = build_all_kinds(rng, False)
    conv = trace.op("conv")
    assert (conv.gemm.M, conv.gemm.K, conv.gemm.N) == (64, 27, 4)
    assert conv.macs == 64 * 27 * 4
    assert trace.op("qk").gemm.groups == 2 and trace.op("qk").macs == 2 * 5 * 16 * 5
    assert trace.op("fc").macs == 640


def test_saved_trace_is_an_ordinary_file(tmp_path, rng):
    import os
    trace, _, _ = build_all_kinds(rng, False)
    path = trace.save(tmp_path / "t.trace")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
