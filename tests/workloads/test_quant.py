"""Quantisers: RTN against a numpy reference, progressive rounding, activation quantisation,
BN folding, CNN post-training quantisation and the BN-statistics generator."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)   # the machine's cores are shared: one thread is faster than two competing
from torch import nn  # noqa: E402

from workloads.papers.stableq.cnn import (accuracy, bn_statistics_inversion, fold_batchnorm,  # noqa: E402
                                          quant_layers, quantize_cnn)
from workloads.quant.activation import ActQuant, per_token_fake_quant  # noqa: E402
from workloads.quant.progressive import ProgressiveConfig, SoftRounding, block_mse, progressive_round  # noqa: E402
from workloads.quant.uniform import QuantSpec, rtn, rtn_numpy, search_clip, to_groups  # noqa: E402


@pytest.mark.parametrize("bits, group", [(2, 16), (3, 8), (4, None), (8, 32)])
def test_rtn_matches_numpy_reference(rng, bits, group):
    w = rng.normal(size=(12, 64)).astype(np.float32)
    q = rtn(torch.from_numpy(w), QuantSpec(bits, group))
    assert np.allclose(q.dequantize().numpy(), rtn_numpy(w, bits, group), atol=1e-6)
    codes = q.codes.numpy()
    assert codes.min() >= 0 and codes.max() <= 2 ** bits - 1 and np.all(codes == np.round(codes))
    edges, counts = q.code_histogram()
    assert edges == list(range(2 ** bits + 1)) and sum(counts) == w.size


def test_rtn_partial_group_and_conv_weight(rng):
    """K = 27 with groups of 8: the last group holds 3 values; padding must not change it."""
    w = torch.from_numpy(rng.normal(size=(5, 3, 3, 3)).astype(np.float32))
    q = rtn(w, QuantSpec(3, 8))
    assert q.dequantize().shape == w.shape and q.codes.shape == (5, 4, 8)
    last = w.reshape(5, 27)[:, 24:].numpy()
    ref = rtn_numpy(last, 3, 3)       # the 3-value group on its own
    assert np.allclose(q.dequantize().reshape(5, 27)[:, 24:].numpy(), ref, atol=1e-6)
    assert sum(q.code_histogram()[1]) == w.numel()


def test_symmetric_and_error_bound(rng):
    w = torch.from_numpy(rng.normal(size=(8, 32)).astype(np.float32))
    q = rtn(w, QuantSpec(4, None, symmetric=True))
    assert q.codes.min() >= -8 and q.codes.max() <= 7 and float(q.zero.abs().max()) == 0
    # round to nearest inside the range: error at most half a step
    assert float((q.dequantize() - w).abs().max()) <= float(q.scale.max()) / 2 + 1e-6


def test_clip_search_never_worse(rng):
    w = torch.from_numpy(rng.standard_t(3, size=(16, 128)).astype(np.float32))   # heavy tails
    spec = QuantSpec(2, 32)
    grouped, _ = to_groups(w, 32)
    clip = search_clip(grouped, spec)
    assert float(clip.min()) < 1.0
    assert rtn(w, spec, clip_search=True).error(w) < rtn(w, spec).error(w)


def test_spec_validation():
    with pytest.raises(ValueError):
        QuantSpec(0)
    with pytest.raises(ValueError):
        QuantSpec(4, 0)
    with pytest.raises(ValueError):
        ProgressiveConfig(schedule=(0.5, 0.6, 0.0))
    with pytest.raises(ValueError):
        ProgressiveConfig(schedule=(0.5,))


def test_soft_rounding_starts_at_the_fp_weight_and_hardens(rng):
    w = torch.from_numpy(rng.normal(size=(6, 40)).astype(np.float32))
    s = SoftRounding(w, QuantSpec(4, 8), clip_search=False)
    # inside the grid (the integer zero point can push a group's extreme just past it) the soft
    # weight is the FP weight
    x = to_groups(w, 8)[0] / s.scale0 + s.zero
    inside = ((x >= 0) & (x <= 15)).reshape(6, 40)
    assert float(inside.float().mean()) > 0.8     # about one extreme per group of 8 falls outside
    assert torch.allclose(s.weight()[inside], w[inside], atol=1e-3 * float(s.scale0.max()))
    total = s.v.numel()
    s.harden(0.5)
    assert int((~s.hard).sum()) == total // 2
    s.harden(0.0)
    assert bool(s.hard.all())
    q = s.result()
    assert torch.equal(q.codes, torch.round(q.codes))
    # every hardened code is the floor or the ceiling of w/s (+ zero point)
    x = to_groups(w, 8)[0] / s.scale0
    assert bool(((q.codes - s.zero - torch.floor(x)).abs() <= 1).all())


def _mlp_block(seed=0, d=16, h=32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, h), nn.GELU(), nn.Linear(h, d)).eval()


def test_progressive_beats_round_to_nearest():
    block = _mlp_block()
    x = torch.randn(256, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        target = block(x)
    specs = {"0": QuantSpec(2, 8), "2": QuantSpec(2, 8)}
    cfg = ProgressiveConfig(schedule=(0.5, 0.25, 0.0), iters=40, lr=2e-2, clip_search=False)
    got, hist = progressive_round(block, specs, x, target, cfg)
    rtn_w = {n: rtn(dict(block.named_modules())[n].weight, s).dequantize() for n, s in specs.items()}
    prog_w = {n: q.dequantize() for n, q in got.items()}
    mse_rtn = block_mse(block, rtn_w, x, target)
    mse_prog = block_mse(block, prog_w, x, target)
    assert mse_prog < 0.8 * mse_rtn
    assert hist["mse_end"] == pytest.approx(mse_prog, rel=1e-5)
    # the block itself is untouched
    assert torch.equal(block(x), target)


def test_per_token_fake_quant_numpy(rng):
    x = rng.normal(size=(3, 5, 16)).astype(np.float32)
    got = per_token_fake_quant(torch.from_numpy(x), 4).numpy()
    lo, hi = np.minimum(x.min(-1, keepdims=True), 0), np.maximum(x.max(-1, keepdims=True), 0)
    s = (hi - lo) / 15
    z = np.round(-lo / s)
    ref = (np.clip(np.round(x / s) + z, 0, 15) - z) * s
    assert np.allclose(got, ref, atol=1e-6)
    # each token has its own scale: scaling one token leaves the others unchanged
    x2 = x.copy()
    x2[0, 0] *= 100
    got2 = per_token_fake_quant(torch.from_numpy(x2), 4).numpy()
    assert np.allclose(got2[0, 1:], got[0, 1:]) and np.allclose(got2[1:], got[1:])


def test_act_quant_calibration():
    g = torch.Generator().manual_seed(0)
    aq = ActQuant(8, signed=False)
    aq.observing = True
    aq(torch.rand(10000, generator=g))
    aq.observing = False
    r = aq.calibrate()
    assert 0.95 < r <= 1.0     # uniform data: clipping costs more than it saves
    y = aq(torch.tensor([0.3, 2.0, -1.0]))
    assert y[1] == pytest.approx(r) and y[2] == 0 and abs(float(y[0]) - 0.3) <= r / 255 / 2 + 1e-6
    aq4 = ActQuant(4, signed=True)
    aq4.observing = True
    aq4(torch.randn(20000, generator=g))
    aq4.observing = False
    assert aq4.calibrate() < 0.9 * 4.5   # a Gaussian at 4 bits is clipped well inside its max
    with pytest.raises(RuntimeError, match="nothing observed"):
        ActQuant(4, False).calibrate()


def _tiny_cnn(seed=0):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    for bn in (m[1], m[4]):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    return m.eval()


def test_fold_batchnorm_is_exact():
    from workloads.models.resnet import resnet18
    x = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    m = _tiny_cnn()
    assert torch.allclose(fold_batchnorm(m)(x), m(x), atol=1e-5)
    r = resnet18()
    for bn in (mod for mod in r.modules() if isinstance(mod, nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.1, 0.1)
        bn.running_var.uniform_(0.5, 1.5)
    r.eval()
    folded = fold_batchnorm(r)
    assert not any(isinstance(mod, nn.BatchNorm2d) for mod in folded.modules())
    assert torch.allclose(folded(x), r(x), atol=1e-4)


def test_quantize_cnn_on_digits():
    from workloads.data import load_digits
    x, y = load_digits("train", size=8, channels=1)
    xt, yt = load_digits("test", size=8, channels=1)
    x, y, xt, yt = torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(xt), torch.as_tensor(yt)
    model = _tiny_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(12):
        for idx in torch.randperm(len(x), generator=torch.Generator().manual_seed(0)).split(128):
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    fp_acc = accuracy(model, xt, yt)
    assert fp_acc > 0.8
    folded = fold_batchnorm(model)
    q8, _ = quantize_cnn(folded, x[:64], 8, 8, method="rtn")
    assert accuracy(q8, xt, yt) >= fp_acc - 0.03
    layers = quant_layers(q8)
    assert [m.w_spec.bits for _, m in layers] == [8, 8, 8] and layers[0][1].act.signed
    cfg = ProgressiveConfig(schedule=(0.5, 0.0), iters=15, lr=2e-2, batch_size=64)
    q2, stats = quantize_cnn(folded, x[:64], 2, 4, method="progressive", cfg=cfg)
    mid = quant_layers(q2)[1][1]
    assert mid.w_spec.bits == 2 and mid.a_bits == 4 and not mid.act.signed
    assert int(mid.quantized.codes.max()) <= 3
    assert stats["mse_final"][1] < stats["mse_rtn"][1]


def test_bn_statistics_inversion_matches_statistics():
    """The running statistics come from real digits (so they are consistent with the weights);
    inverted noise must match them far better than the noise it started from."""
    from workloads.data import load_digits
    m = _tiny_cnn()
    bns = [m[1], m[4]]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None          # cumulative average
    m.train()
    with torch.no_grad():
        m(torch.as_tensor(load_digits("train", size=8, channels=1)[0][:512]))
    m.eval()

    def stat_loss(x):
        feats = []
        hs = [bn.register_forward_hook(lambda mod, a, o: feats.append(a[0])) for bn in bns]
        with torch.no_grad():
            m(x)
        for h in hs:
            h.remove()
        return sum(float((f.mean((0, 2, 3)) - bn.running_mean).norm() + (f.var((0, 2, 3), unbiased=False)
                                                                        - bn.running_var).norm())
                   for f, bn in zip(feats, bns))
    noise = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    x, y = bn_statistics_inversion(m, 16, (1, 8, 8), steps=60, batch=16, lr=0.1, seed=0)
    assert x.shape == (16, 1, 8, 8) and y.shape == (16,)
    assert stat_loss(x) < 0.5 * stat_loss(noise)
