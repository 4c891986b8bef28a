"""Trace export of a post-training-quantised ResNet-18 (workloads.quant.export)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from archsim.trace.io import load_trace  # noqa: E402
from archsim.trace.schema import Header, Provenance  # noqa: E402
from workloads.models.resnet import resnet18  # noqa: E402
from workloads.quant.cnn import fold_batchnorm, quant_layers, quantize_cnn  # noqa: E402
from workloads.quant.export import export_quantized_cnn  # noqa: E402

# ResNet-18, ImageNet stem, 1x32x32 input, by hand: stem 16*16*64*49 = 802,816; stage 1 (8x8):
# 4 x 64*64*9*64 = 9,437,184; stages 2-4 each 8,388,608 (strided conv, conv, 1x1 shortcut, block 2);
# classifier 512*10.
RESNET18_32_MACS = 802_816 + 9_437_184 + 3 * 8_388_608 + 5_120


def test_export_quantised_resnet18(tmp_path):
    torch.manual_seed(0)
    model = resnet18().eval()
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    q, _ = quantize_cnn(fold_batchnorm(model), x, 2, 4, method="rtn")
    header = Header(model="resnet18-test", provenance=Provenance(weights="random_init", inputs="synthetic"))
    trace = export_quantized_cnn(q, x, header)
    trace.save(tmp_path / "r.trace")
    t = load_trace(tmp_path / "r.trace")
    assert t.header.batch == 2
    assert sum(op.macs for op in t.ops) == 2 * RESNET18_32_MACS
    kinds = [op.kind for op in t.ops]
    assert kinds.count("conv2d") == 20 and kinds.count("linear") == 1 and kinds.count("add") == 8
    assert kinds.count("pool") == 2 and kinds.count("elementwise") == 17
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
    assert t.op("blocks.2.add").inputs == ["blocks.2.shortcut.0", "blocks.1.relu2"]
    assert 0 < mid.operand("input").density <= 1


def test_export_needs_quantised_layers():
    from workloads.quant.cnn import wrap_layers
    model = wrap_layers(fold_batchnorm(resnet18().eval()), 4, 4)
    with pytest.raises(ValueError, match="not quantised"):
        export_quantized_cnn(model, torch.zeros(1, 1, 32, 32),
                             Header(model="x", provenance=Provenance(weights="random_init", inputs="none")))
