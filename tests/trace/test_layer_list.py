import textwrap

import pytest

from archsim.errors import ConfigError
from archsim.trace.layer_list import load_layer_list


def test_shapes_flow(repo):
    t = load_layer_list(repo / "examples/tiny_snn.yaml")
    conv2 = t.op("conv2")
    assert (conv2.in_channels, conv2.in_h, conv2.in_w) == (32, 16, 16)
    assert conv2.operand("input").role.value == "spike"
    assert conv2.operand("input").sparsity.spike_count_histogram == [5000, 2000, 700, 300, 192]
    fc = t.op("fc")
    assert fc.in_features == 64 * 8 * 8 and fc.tokens == 1
    assert t.op("lif1").neurons == 32 * 32 * 32
    assert t.header.timesteps == 4 and t.op("fc").timesteps == 4


def test_transformer_example(repo):
    t = load_layer_list(repo / "examples/tiny_transformer.yaml")
    assert t.op("proj").in_features == 128 and t.op("proj").tokens == 64
    assert t.op("softmax").rows == 64 * 4 and t.op("softmax").cols == 64


def test_errors_name_layer(tmp_path):
    p = tmp_path / "l.yaml"
    p.write_text(textwrap.dedent("""
        model: m
        input: {shape: [8]}
        layers:
          - {name: a, kind: conv2d, out_channels: 4, kernel: 3}
    """))
    with pytest.raises(ConfigError, match=r"l.yaml:5: layers\[0\] \(a\): conv2d needs a \[C, H, W\] input"):
        load_layer_list(p)
    p.write_text("model: m\ninput: {shape: [8]}\nlayers:\n  - {name: a, kind: linear, out_feature: 4}\n")
    with pytest.raises(ConfigError, match=r"out_feature: unknown key \(did you mean 'out_features'\?\)"):
        load_layer_list(p)
