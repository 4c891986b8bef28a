"""LoAS Table II statistics against hand-computed values and an independent numpy computation."""
import json

import numpy as np
import pytest

from archsim.cli import main
from archsim.errors import TraceError
from archsim.trace.loas_stats import loas_table
from archsim.trace.schema import Role
from tests.helpers import builder


def add_conv(b, name, spikes, out_channels, k, pad, stride=1, weight=None, rng=None, role=Role.spike):
    T, B, C, H, W = spikes.shape
    if weight is None:
        weight = (rng.random((out_channels, C, k, k)) < 0.3) * rng.integers(1, 5, (out_channels, C, k, k))
    data = spikes if role == Role.spike else spikes[0]
    x = b.operand("input", role, data=data)
    w = b.operand("weight", Role.static_weight, data=weight.astype(np.int8), bits=8)
    b.add("conv2d", name, operands=[x, w], batch=B, in_channels=C, out_channels=out_channels, in_h=H, in_w=W,
          kernel_h=k, kernel_w=k, pad_h=pad, pad_w=pad, stride_h=stride, stride_w=stride)
    return weight


def test_hand_computed_small_layer():
    """T = 2, one 2x2 input channel: t0 = [[1,0],[0,0]], t1 = [[1,1],[0,0]], so the neurons fire
    2, 1, 0, 0 times.

    1x1 conv (M = 4, K = 1): spike sparsity 1 - 3/8 = 0.625; silent 2/4 = 0.5; strong (0 or 1
    spike) 3/4 = 0.75.
    3x3 conv, pad 1 (M = 4, K = 9): every 3x3 window over the padded 4x4 input covers all four
    neurons, so the 36 im2col elements hold each neuron 4 times and 20 padding zeros:
    spikes 4*3 = 12 of T*M*K = 72 -> 1 - 12/72 = 0.8333; silent (36 - 8)/36; strong (36 - 4)/36.
    Weights: 2 nonzeros of 4 in the second layer -> weight sparsity 0.5 (first layer excluded).
    """
    s = np.array([[[[[1, 0], [0, 0]]]], [[[[1, 1], [0, 0]]]]], dtype=np.uint8)   # [T, B, C, H, W]
    b = builder(T=2)
    add_conv(b, "enc", s, 1, 1, 0, weight=np.ones((1, 1, 1, 1)), role=Role.activation)
    add_conv(b, "one", s, 1, 1, 0, weight=np.array([[[[3]]]]))
    add_conv(b, "three", s, 1, 3, 1, weight=np.array([[[[1, 0, 0], [0, 0, 0], [0, 0, 2]]]]))
    table = loas_table(b.build())
    one, three = table.layers
    assert (one.M, one.K, three.M, three.K) == (4, 1, 4, 9)
    assert one.counts.spike_sparsity == pytest.approx(0.625)
    assert one.counts.silent_ratio == pytest.approx(0.5)
    assert one.counts.silent_ratio_strong == pytest.approx(0.75)
    assert three.counts.spike_sparsity == pytest.approx(1 - 12 / 72)
    assert three.counts.silent_ratio == pytest.approx(28 / 36)
    assert three.counts.silent_ratio_strong == pytest.approx(32 / 36)
    assert three.counts.weight_sparsity == pytest.approx(7 / 9)
    # network: element-weighted over "one" and "three"; "enc" (first layer) excluded
    n = table.network
    assert n.spike_sparsity == pytest.approx(1 - (3 + 12) / (8 + 72))
    assert n.silent_ratio == pytest.approx((2 + 28) / (4 + 36))
    assert n.silent_ratio_strong == pytest.approx((3 + 32) / (4 + 36))
    assert n.weight_sparsity == pytest.approx(1 - (1 + 2) / (1 + 9))
    assert table.excluded == [("enc", "first layer (direct encoding)")]


def numpy_table(layers, T):
    """Independent computation: pad, slide the window explicitly, sum over T."""
    tot = dict(spk=0, el=0, silent=0, strong=0, w=0, wnz=0)
    rows = []
    for spikes, weight, k, pad, stride in layers:
        xp = np.pad(spikes, ((0, 0), (0, 0), (0, 0), (pad, pad), (pad, pad)))
        _, B, C, Hp, Wp = xp.shape
        oh, ow = (Hp - k) // stride + 1, (Wp - k) // stride + 1
        A = np.zeros((T, B * oh * ow, C * k * k))
        for t in range(T):
            m = 0
            for bb in range(B):
                for i in range(oh):
                    for j in range(ow):
                        A[t, m] = xp[t, bb, :, i * stride:i * stride + k, j * stride:j * stride + k].reshape(-1)
                        m += 1
        P = A.sum(axis=0)
        r = dict(spk=np.count_nonzero(A), el=P.size, silent=int((P == 0).sum()),
                 strong=int((P * (P != 1) == 0).sum()), w=weight.size, wnz=np.count_nonzero(weight))
        rows.append((1 - r["spk"] / A.size, r["silent"] / P.size, r["strong"] / P.size, 1 - r["wnz"] / r["w"]))
        for key in tot:
            tot[key] += r[key]
    net = (1 - tot["spk"] / (T * tot["el"]), tot["silent"] / tot["el"], tot["strong"] / tot["el"],
           1 - tot["wnz"] / tot["w"])
    return rows, net


def test_equals_independent_numpy(rng, tmp_path):
    T = 4
    b = builder(T=T)
    x0 = (rng.random((T, 2, 3, 9, 9)) < 0.5).astype(np.uint8)
    add_conv(b, "encoder", x0, 6, 3, 1, rng=rng, role=Role.activation)
    layers = []
    for name, shape, k, pad, stride, dens in (("c2", (T, 2, 6, 9, 9), 3, 1, 1, 0.2),
                                              ("c3", (T, 2, 6, 9, 9), 3, 1, 2, 0.05),
                                              ("c4", (T, 2, 6, 5, 5), 1, 0, 1, 0.6)):
        # correlated over time, as real spikes are: some neurons busy, most quiet
        rate = rng.random(shape[1:]) ** 3 * dens * 3
        spikes = (rng.random(shape) < np.clip(rate, 0, 1)).astype(np.uint8)
        w = add_conv(b, name, spikes, 8, k, pad, stride=stride, rng=rng)
        layers.append((spikes, w, k, pad, stride))
    trace = b.build()
    path = trace.save(tmp_path / "s.trace")
    table = loas_table(trace)
    rows, net = numpy_table(layers, T)
    for row, expected in zip(table.layers, rows):
        c = row.counts
        assert (c.spike_sparsity, c.silent_ratio, c.silent_ratio_strong, c.weight_sparsity) == pytest.approx(expected)
    n = table.network
    assert (n.spike_sparsity, n.silent_ratio, n.silent_ratio_strong, n.weight_sparsity) == pytest.approx(net)
    assert n.silent_ratio_strong > n.silent_ratio > 0
    # keeping the first layer changes the result only by that layer
    assert [r.op_id for r in loas_table(trace, exclude_first=False, kinds=("conv2d",)).layers] == ["c2", "c3", "c4"]

    # the CLI prints the same numbers
    assert main(["trace", "stats", str(path), "--loas", "--json"]) == 0


def test_cli_table_and_json(tmp_path, capsys, rng):
    T = 2
    b = builder(T=T)
    s = (rng.random((T, 1, 2, 4, 4)) < 0.3).astype(np.uint8)
    add_conv(b, "enc", s, 2, 3, 1, rng=rng, role=Role.activation)
    add_conv(b, "l1", s, 2, 3, 1, rng=rng)
    path = b.build().save(tmp_path / "t.trace")
    expected = loas_table(b.build()).network
    assert main(["trace", "stats", str(path), "--loas", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["network"]["silent_ratio"] == pytest.approx(expected.silent_ratio)
    assert [r["op"] for r in out["layers"]] == ["l1"]
    assert main(["trace", "stats", str(path), "--loas"]) == 0
    text = capsys.readouterr().out
    assert f"{100 * expected.silent_ratio:.2f}" in text and "not profiled: enc" in text
    assert main(["trace", "stats", str(path)]) == 0
    assert "spike" in capsys.readouterr().out


def test_histogram_fallback_without_tensors():
    """Without a stored tensor the neurons' own histogram is used (no im2col)."""
    b = builder(T=2)
    s = np.array([[[[[1, 0], [0, 0]]]], [[[[1, 1], [0, 0]]]]], dtype=np.uint8)
    add_conv(b, "enc", s, 1, 1, 0, weight=np.ones((1, 1, 1, 1)), role=Role.activation)
    x = b.operand("input", Role.spike, data=s, store=False)
    w = b.operand("weight", Role.static_weight, data=np.ones((1, 1, 3, 3), dtype=np.int8))
    b.add("conv2d", "c", operands=[x, w], in_channels=1, out_channels=1, in_h=2, in_w=2,
          kernel_h=3, kernel_w=3, pad_h=1, pad_w=1)
    row = loas_table(b.build()).layers[0]
    assert row.view == "neurons"
    assert (row.counts.spike_sparsity, row.counts.silent_ratio, row.counts.silent_ratio_strong) == \
        pytest.approx((0.625, 0.5, 0.75))


def test_errors(tmp_path, capsys):
    b = builder(T=2)
    s = np.ones((2, 1, 1, 2, 2), dtype=np.uint8)
    add_conv(b, "enc", s, 1, 1, 0, weight=np.ones((1, 1, 1, 1)), role=Role.activation)
    trace = b.build()
    with pytest.raises(TraceError, match="no layer with spike inputs"):
        loas_table(trace)
    with pytest.raises(TraceError, match="not matmul"):
        loas_table(trace, kinds=("matmul",))
    path = trace.save(tmp_path / "e.trace")
    assert main(["trace", "stats", str(path), "--loas"]) == 2
    assert "no layer with spike inputs" in capsys.readouterr().err
    assert main(["trace", "stats", str(tmp_path / "missing.trace"), "--loas"]) == 2
