"""The PyTorch adapter: crossbar Linear/Conv2d/attention, seeds, and accuracy on real digits."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from archsim.arch.imc.params import NoiseModel  # noqa: E402
from archsim.noise import CrossbarSpec, quantize  # noqa: E402
from workloads.noise import CrossbarConv2d, CrossbarLinear, convert, patch_attention  # noqa: E402

IDEAL = CrossbarSpec(rows=16, cols=16, bits_per_cell=2, weight_bits=8, input_bits=8, ideal_adc=True, pe_crossbars=9)


def quantised_linear(x, weight, bias, spec):
    wq, ws, _ = quantize(weight.T, spec.weight_bits, signed=True)
    xq, xs, _ = quantize(x.reshape(-1, x.shape[-1]), spec.input_bits)
    return (xq @ wq) * xs * ws + bias


def test_linear_exact_without_noise():
    torch.manual_seed(0)
    lin = nn.Linear(40, 9)
    x = torch.randn(3, 5, 40)
    y = CrossbarLinear(lin, IDEAL)(x)
    ref = quantised_linear(x.double().numpy(), lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy(), IDEAL)
    np.testing.assert_allclose(y.reshape(-1, 9).double().numpy(), ref, rtol=1e-5, atol=1e-6)
    assert y.shape == (3, 5, 9) and y.dtype == torch.float32


@pytest.mark.parametrize("sharing", ["crossbar", "pe"])
@pytest.mark.parametrize("mapping", ["kernel_positions", "unrolled"])
@pytest.mark.parametrize("groups", [1, 2])
def test_conv_exact_without_noise(sharing, mapping, groups):
    """im2col + crossbar product = the quantised convolution, for every mapping and conv groups."""
    torch.manual_seed(1)
    spec = IDEAL.replace(adc_sharing=sharing, conv_mapping=mapping)
    conv = nn.Conv2d(20, 6, 3, padding=1, stride=2, groups=groups)
    x = torch.randn(2, 20, 9, 9)
    y = CrossbarConv2d(conv, spec)(x).double()
    cols = F.unfold(x.double(), 3, padding=1, stride=2).numpy().transpose(0, 2, 1)     # (2, 25, 180)
    k, co = 20 // groups * 9, 6 // groups
    w = conv.weight.detach().double().numpy()
    outs = []
    for g in range(groups):
        wq, ws, _ = quantize(w[g * co:(g + 1) * co].reshape(co, -1).T, 8, signed=True)
        xq, xs, _ = quantize(cols[..., g * k:(g + 1) * k].reshape(-1, k), 8)
        outs.append((xq @ wq) * xs * ws)
    ref = np.concatenate(outs, axis=1).reshape(2, 25, 6).transpose(0, 2, 1).reshape(2, 6, 5, 5)
    ref = ref + conv.bias.detach().double().numpy()[None, :, None, None]
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-6)


def test_patched_attention_matches_float_with_fine_quantisation():
    torch.manual_seed(2)
    mha = nn.MultiheadAttention(32, 4, batch_first=True)
    x = torch.randn(2, 10, 32)
    ref = mha(x, x, x, need_weights=False)[0]
    original = F.scaled_dot_product_attention
    with patch_attention(IDEAL.replace(input_bits=12, weight_bits=12), seed=1) as module:
        y = mha(x, x, x, need_weights=False)[0]
    assert F.scaled_dot_product_attention is original and module.calls == 1
    assert (y - ref).abs().max() < 2e-3 * ref.abs().max() + 1e-4


def test_attention_write_noise_and_seeds():
    torch.manual_seed(3)
    q, k, v = torch.randn(3, 2, 8, 16).unbind(0)
    spec = IDEAL.replace(write=NoiseModel(kind="txsim", sigma=0.05, gamma=5))
    with patch_attention(spec, seed=5):
        a = F.scaled_dot_product_attention(q, k, v)
        b = F.scaled_dot_product_attention(q, k, v)
    with patch_attention(spec, seed=5):
        a2 = F.scaled_dot_product_attention(q, k, v)
    assert torch.equal(a, a2) and not torch.equal(a, b)     # reproducible; fresh writes per call
    clean = F.scaled_dot_product_attention(q, k, v)
    assert (a - clean).abs().max() > 1e-3


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(64, 48), nn.Linear(48, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


@pytest.fixture(scope="module")
def digits_mlp():
    """A small MLP trained on scikit-learn's digits (real handwritten digits, 8x8)."""
    from workloads.data import load_digits
    xtr, ytr = load_digits("train")
    xte, yte = load_digits("test")
    xtr, xte = torch.from_numpy(xtr.reshape(len(xtr), -1)), torch.from_numpy(xte.reshape(len(xte), -1))
    torch.manual_seed(0)
    model = MLP()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(300):
        opt.zero_grad()
        F.cross_entropy(model(xtr), torch.from_numpy(ytr)).backward()
        opt.step()
    return model.eval(), xte, torch.from_numpy(yte)


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def test_digits_accuracy_under_noise(digits_mlp):
    """Float accuracy > 90 %; the ideal 8-bit crossbar keeps it within 2 points; heavy read noise
    (proportional 0.5 on offset-encoded weights) costs more than 10 points."""
    import copy
    model, x, y = digits_mlp
    base = accuracy(model, x, y)
    assert base > 0.9
    ideal = copy.deepcopy(model)
    assert convert(ideal, IDEAL, seed=0) == ["fc1", "fc2"]
    assert abs(accuracy(ideal, x, y) - base) < 0.02
    noisy = copy.deepcopy(model)
    convert(noisy, IDEAL.replace(read_sigma=0.5), seed=0)
    assert accuracy(noisy, x, y) < base - 0.1


def test_convert_skip_options_and_reproducibility(digits_mlp):
    import copy
    model, x, _ = digits_mlp
    m = copy.deepcopy(model)
    assert convert(m, IDEAL, skip=["fc2"], options={"fc1": {"noise.read_sigma": 0.2}}) == ["fc1"]
    assert isinstance(m.fc1, CrossbarLinear) and isinstance(m.fc2, nn.Linear) and m.fc1.spec.read_sigma == 0.2
    a, b = m(x[:8]), m(x[:8])
    assert not torch.equal(a, b)                       # each call draws fresh read noise
    m2 = copy.deepcopy(model)
    convert(m2, IDEAL, skip=["fc2"], options={"fc1": {"noise.read_sigma": 0.2}})
    assert torch.equal(m2(x[:8]), a)                   # same seed, same draws
    with pytest.raises(ValueError, match="options given for modules that were not converted"):
        convert(copy.deepcopy(model), IDEAL, options={"fc3": {}})
