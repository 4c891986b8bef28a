"""Leaving ops out of a trace (recipes' ``skip_ops``): what remains, and the errors."""
from pathlib import Path

import numpy as np
import pytest

from archsim.errors import ConfigError
from archsim.trace.select import without_ops
from tests.helpers import builder, random_spikes

REPO = Path(__file__).resolve().parents[2]


def three_layer_trace(rng, tmp_path):
    """enc (tagged encoding_layer) 8x8x3 -> 4 channels, lif, conv 4 -> 4, linear 256 -> 10."""
    b = builder(T=2)
    s = random_spikes(rng, 2, (1, 3, 8, 8))
    w = (rng.integers(-2, 3, (4, 3, 3, 3))).astype(np.int8)
    b.add("conv2d", "enc", operands=[b.operand("input", "activation", data=s), b.operand("weight", "static_weight", data=w)],
          in_channels=3, out_channels=4, in_h=8, in_w=8, kernel_h=3, kernel_w=3, pad_h=1, pad_w=1,
          tags={"encoding_layer": True})
    b.add("lif", "lif", neurons=256, threshold=1.0, leak=0.25, reset="hard")
    s2 = random_spikes(rng, 2, (1, 4, 8, 8))
    w2 = (rng.integers(-2, 3, (4, 4, 3, 3))).astype(np.int8)
    b.add("conv2d", "conv", operands=[b.operand("input", "spike", data=s2), b.operand("weight", "static_weight", data=w2)],
          in_channels=4, out_channels=4, in_h=8, in_w=8, kernel_h=3, kernel_w=3, pad_h=1, pad_w=1)
    b.add("linear", "fc", operands=[b.operand("input", "spike", shape=[1, 256], data=random_spikes(rng, 2, (1, 256))),
                                    b.operand("weight", "static_weight", data=rng.integers(-2, 3, (10, 256)).astype(np.int8))],
          tokens=1, in_features=256, out_features=10)
    from archsim.trace.io import load_trace
    return load_trace(b.build().save(tmp_path / "t.trace"))


def test_selectors_and_simulation(rng, tmp_path):
    from archsim.engine import simulate
    trace = three_layer_trace(rng, tmp_path)
    view = without_ops(trace, ["tag:encoding_layer", "kind:linear", "lif"])
    assert [op.id for op in view.ops] == ["conv"] and [op.id for op in trace.ops] == ["enc", "lif", "conv", "fc"]
    assert without_ops(trace, []) is trace
    # the view simulates only what is left: MACs = T x 64 positions x 36 x 4 (hand-computed)
    result = simulate(view, REPO / "hw_configs/mac_array_example.yaml")   # not the cwd
    assert result.summary["macs"] == 2 * 64 * 36 * 4
    assert list(result.ops["op_id"]) == ["conv"]
    assert np.array_equal(view.tensor(view.ops[0].operands[0].tensor), trace.tensor(trace.ops[2].operands[0].tensor))


def test_errors(rng, tmp_path):
    trace = three_layer_trace(rng, tmp_path)
    with pytest.raises(ConfigError, match="'kind:matmul' matches no op"):
        without_ops(trace, ["kind:matmul"])
    with pytest.raises(ConfigError, match="r.yaml: run 'x': skip_ops: 'conv9' matches no op of .*t.trace"):
        without_ops(trace, ["conv9"], "r.yaml: run 'x': skip_ops")
    with pytest.raises(ConfigError, match="leave no op"):
        without_ops(trace, ["kind:conv2d", "kind:lif", "kind:linear"])
