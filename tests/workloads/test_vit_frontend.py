"""The ViT frontend: TReX reuse encoders and LV-ViT's stem in the PyTorch ViT, the trace exporter
(static weights, K^T/V dynamic with histograms, same ops as the shape generator), reuse
fine-tuning initialisation, ClipFormer on crossbars (identity, monotone, nothing else changed)
and the attention SNR."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from archsim.arch.imc.params import NoiseModel  # noqa: E402
from archsim.noise import ClipFormerTransform, CrossbarSpec, dynamic_matmul, program  # noqa: E402
from archsim.generators.shapes.examples import SMALL_VIT  # noqa: E402
from archsim.generators.shapes.reuse import reuse_pattern  # noqa: E402
from archsim.generators.shapes.transformers import vit_trace  # noqa: E402
from workloads.models.vit import ViT, ViTConfig  # noqa: E402
from workloads.papers.clipformer.study import AttentionSnr, on_crossbars  # noqa: E402
from workloads.papers.trex.search import shape_arguments  # noqa: E402
from workloads.papers.vit.small_vit import SmallViTConfig, with_reuse  # noqa: E402
from workloads.papers.vit.trace import export_vit_trace  # noqa: E402

CFG = ViTConfig(image_size=8, patch_size=4, in_channels=1, num_classes=10, dim=16, depth=4, heads=2, mlp_dim=32)
SHAPE = dict(layers=4, dim=16, heads=2, mlp_ratio=2, image=8, patch=4, in_chans=1, classes=10)
ATTENTION = (".ln1", ".qkv", ".qk", ".softmax", ".av", ".proj")


@pytest.fixture(autouse=True, scope="module")
def one_numba_thread():
    """The K/V products are tiny: Numba's thread start-up would cost ~50x the work (as in the study)."""
    import numba
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


def _x(n=3, seed=0, c=1, size=8):
    return torch.randn(n, c, size, size, generator=torch.Generator().manual_seed(seed))


def _ids(trace):
    return [(op.id, op.kind, op.macs) for op in trace.ops]


def test_reuse_encoder_forward_uses_the_source_heads():
    """Block 2 reusing block 1: no attention module, a transformation block; its output is
    x + GELU(W LN(heads_1) + b) then the MLP, with heads_1 block 1's A.V output."""
    torch.manual_seed(0)
    vit = ViT(ViTConfig(**{**CFG.__dict__, "reuse": ((2, 1),)})).eval()
    assert not hasattr(vit.blocks[2], "attn") and hasattr(vit.blocks[2], "tb")
    heads = {}
    vit.blocks[1].attn.av.register_forward_hook(lambda m, a, o: heads.__setitem__("av", o))
    x_in = {}
    vit.blocks[2].register_forward_pre_hook(lambda m, a: x_in.__setitem__("x", a[0]))
    out = {}
    vit.blocks[2].register_forward_hook(lambda m, a, o: out.__setitem__("y", o))
    with torch.no_grad():
        vit(_x())
        h = heads["av"].transpose(1, 2).reshape(3, 5, 16)
        blk = vit.blocks[2]
        y = x_in["x"] + blk.tb.act(blk.tb.fc(blk.tb.ln(h)))
        y = y + blk.mlp(blk.norm2(y))
    tokens, reuse_heads = out["y"]        # a block returns its tokens and its head outputs
    torch.testing.assert_close(tokens, y)
    assert reuse_heads is None             # a reuse encoder has none of its own
    with pytest.raises(ValueError, match="reuses attention itself"):
        ViT(ViTConfig(**{**CFG.__dict__, "reuse": ((2, 1), (3, 2))}))


def test_export_has_static_weights_and_kv_histograms():
    """K^T and V of every head are dynamic_weight with a histogram over the traced images (2
    images x 2 heads x 8 x 5 values each); the Q/K/V, projection, MLP and patch weights are
    static int8 codes; the reuse encoder has the TB and no attention ops and no written operand."""
    torch.manual_seed(0)
    vit = ViT(ViTConfig(**{**CFG.__dict__, "reuse": ((3, 1),)})).eval()
    t = export_vit_trace(vit, _x(2), model_name="tiny", dataset="random", metrics={"accuracy_top1": 0.5})
    assert _ids(t) == _ids(vit_trace(**SHAPE, reuse={3: 1}))
    for i in (0, 1, 2):
        for name in ("qk", "av"):
            b = t.op(f"e{i}.{name}").operand("b")
            assert b.role.value == "dynamic_weight" and b.tensor is None
            assert sum(b.histogram.counts) == 2 * 2 * 8 * 5
        for name in ("qkv", "proj", "fc1", "fc2"):
            w = t.op(f"e{i}.{name}").operand("weight")
            assert w.role.value == "static_weight"
            codes = t.tensor(w.tensor)
            assert codes.dtype == np.int8 and np.abs(codes).max() == 127
    # K^T of encoder 0 as recorded equals the model's K^T
    seen = {}
    vit.blocks[0].attn.qk.register_forward_hook(lambda m, a, o: seen.__setitem__("k_t", a[1]))
    with torch.no_grad():
        vit(_x(2))
    h = t.op("e0.qk").operand("b").histogram
    np.testing.assert_array_equal(h.counts, np.histogram(seen["k_t"].numpy().astype(np.float64), bins=64)[0])
    ops3 = {op.id for op in t.ops if op.id.startswith("e3.")}
    assert not any(f"e3{k}" in ops3 for k in ATTENTION) and {"e3.tb.ln", "e3.tb.fc", "e3.tb.gelu"} <= ops3
    assert t.header.provenance.weights == "trained" and t.header.provenance.inputs == "real"
    assert t.header.metrics["accuracy_top1"] == 0.5 and t.header.config["reuse"] == {"3": 1}


def test_conv_stem_and_aux_head_export_match_the_shapes():
    """LV-ViT's stem (conv 7x7/2, 2 x conv 3x3, conv (p/2)/(p/2)) and token-labelling head: the
    exported ops and MACs equal the shape generator's; BatchNorm folds into the conv codes."""
    cfg = ViTConfig(image_size=16, patch_size=4, in_channels=3, num_classes=10, dim=16, depth=2, heads=2, mlp_dim=32,
                    stem="conv", stem_channels=8, aux_head=True)
    torch.manual_seed(0)
    vit = ViT(cfg).eval()
    assert vit(_x(2, c=3, size=16)).shape == (2, 10)
    t = export_vit_trace(vit, _x(2, c=3, size=16))
    shape = vit_trace(layers=2, dim=16, heads=2, mlp_ratio=2, image=16, patch=4, in_chans=3, classes=10,
                      stem="conv", stem_channels=8, aux_head=True)
    assert _ids(t) == _ids(shape)
    assert t.op("stem.conv1").operand("weight").shape == [8, 3, 7, 7]
    assert t.op("head.aux").tokens == 16


def test_small_vit_registry_shape_matches_the_training_config():
    assert shape_arguments(SmallViTConfig()) == SMALL_VIT


def test_with_reuse_keeps_weights_and_starts_from_the_projection():
    torch.manual_seed(0)
    base = ViT(CFG).eval()
    r = with_reuse(base, reuse_pattern("continuous", 4, 2))
    assert r.cfg.reuse == ((2, 1), (3, 1))
    torch.testing.assert_close(r.blocks[2].tb.fc.weight, base.blocks[2].attn.proj.weight)
    torch.testing.assert_close(r.blocks[3].mlp.fc1.weight, base.blocks[3].mlp.fc1.weight)
    torch.testing.assert_close(r.head.weight, base.head.weight)
    with torch.no_grad():      # encoders 0 and 1 are untouched: identical features up to block 1
        torch.testing.assert_close(r.tokens(_x(), depth=2), base.tokens(_x(), depth=2))


def test_clipformer_identity_at_one_one_and_monotone():
    """alpha 1, beta 1: the written conductances are exactly those without a transform (both
    granularities); the transform is non-decreasing in G; value-level clipping keeps the order
    of the stored magnitudes."""
    spec = CrossbarSpec(g_min_us=0.1, g_max_us=10.0, signed_weights="differential",
                        write=NoiseModel(kind="txsim", sigma=0.05, gamma=5))
    W = np.random.default_rng(1).normal(size=(20, 12))
    plain = program(W, spec, dynamic=True, seed=4)
    for gran in ("value", "cell"):
        same = program(W, spec, dynamic=True, seed=4, transform=ClipFormerTransform(1, 1, granularity=gran))
        np.testing.assert_array_equal(same.G_us, plain.G_us)
    G = np.linspace(0.1, 10.0, 501)
    for alpha in (1, 2, 4, 10):
        for beta in (0.1, 0.25, 0.5, 1.0):
            out = ClipFormerTransform(alpha, beta)(G, 0.1, 10.0)
            assert np.all(np.diff(out) >= 0) and out.min() >= 0.1 and out.max() <= beta * 10.0 + 1e-12
    clean = spec.replace(write=NoiseModel())
    stored = program(W, clean, dynamic=True, transform=ClipFormerTransform(2, 0.25)).stored_weights()
    order = np.argsort(np.abs(W).ravel(), kind="stable")
    assert np.all(np.diff(np.abs(stored).ravel()[order]) >= 0)
    assert np.array_equal(np.sign(stored[stored != 0]), np.sign(W[stored != 0]))


def test_clipformer_changes_only_the_written_products():
    """With ClipFormer on the crossbar K/V products, the static (digital) Q/K/V projection of
    encoder 0 sees the same input and gives the same output; the attention products differ; a
    per-layer transform touches only its encoder."""
    spec = CrossbarSpec(signed_weights="differential", write=NoiseModel(kind="txsim", sigma=0.05, gamma=5))
    torch.manual_seed(0)
    vit = ViT(CFG).eval()
    outs = {}
    for name, t in (("off", None), ("on", ClipFormerTransform(2, 0.25)), ("layer1", {1: ClipFormerTransform(2, 0.25)})):
        m = on_crossbars(vit, spec, seed=3, transform=t)
        rec = {}
        m.blocks[0].attn.qkv.register_forward_hook(lambda mod, a, o, rec=rec: rec.__setitem__("qkv", o))
        for i in (0, 1):
            m.blocks[i].attn.av.register_forward_hook(lambda mod, a, o, rec=rec, i=i: rec.__setitem__(f"av{i}", o))
        with torch.no_grad():
            m(_x())
        outs[name] = rec
    torch.testing.assert_close(outs["on"]["qkv"], outs["off"]["qkv"], rtol=0, atol=0)
    assert not torch.equal(outs["on"]["av0"], outs["off"]["av0"])
    # per layer ({encoder: transform}): encoder 0 is written as without ClipFormer, encoder 1 clipped
    assert torch.equal(outs["layer1"]["av0"], outs["off"]["av0"])
    assert not torch.equal(outs["layer1"]["av1"], outs["off"]["av1"])
    # the same seed without a transform reproduces itself exactly
    a, b = np.random.default_rng(0).normal(size=(2, 5, 8)), np.random.default_rng(1).normal(size=(2, 8, 5))
    np.testing.assert_array_equal(dynamic_matmul(a, b, spec, seed=2),
                                  dynamic_matmul(a, b, spec, seed=2, transform=ClipFormerTransform(1, 1)))


def test_attention_snr_by_hand():
    """Noise-free, ideal-ADC crossbars: the attention output differs from the float product only
    by 8-bit quantisation (SNR well above 25 dB); TxSim write noise at gamma 5 lowers it. The
    hook's SNR equals 10 log10(sum ref^2 / sum err^2) computed here from the same tensors."""
    torch.manual_seed(0)
    vit = ViT(CFG).eval()
    ideal = CrossbarSpec(signed_weights="differential", ideal_adc=True)
    noisy = ideal.replace(write=NoiseModel(kind="txsim", sigma=0.05, gamma=5), ideal_adc=False)
    snr = {}
    for name, spec in (("ideal", ideal), ("noisy", noisy)):
        m = on_crossbars(vit, spec, seed=1)
        meter = AttentionSnr(m)
        rec = {}
        m.blocks[0].attn.qk.register_forward_hook(lambda mod, a, o, rec=rec: rec.__setitem__("qk", a))
        m.blocks[0].attn.av.register_forward_hook(lambda mod, a, o, rec=rec: rec.__setitem__("av", (a, o)))
        with torch.no_grad():
            m(_x())
        meter.remove()
        snr[name] = meter.db()
        (q, k_t), ((_, v), out) = rec["qk"], rec["av"]
        ref = torch.softmax(q.double() @ k_t.double(), -1) @ v.double()
        by_hand = 10 * np.log10(float((ref ** 2).sum()) / float(((out.double() - ref) ** 2).sum()))
        assert snr[name][0] == pytest.approx(by_hand, rel=1e-9)
    assert min(snr["ideal"].values()) > 25 and np.mean(list(snr["noisy"].values())) < np.mean(list(snr["ideal"].values()))


TINY = SmallViTConfig(patch_size=7, dim=16, depth=4, heads=2, mlp_dim=32, train_images=600, test_images=200,
                      epochs=1, batch_size=64)


@pytest.fixture
def caches(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    monkeypatch.setenv("ARCHSIM_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path


def test_checkpoint_cache(caches):
    from workloads.papers.vit.small_vit import load_or_train
    model, info = load_or_train(TINY, progress=False)
    assert 0.1 < info["test_accuracy"] <= 1 and info["parameters"] == sum(p.numel() for p in model.parameters())
    files = sorted(p.name for p in (caches / "ckpt").iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".pt")
    again, info2 = load_or_train(TINY, progress=False)          # from the cache: same weights, same record
    assert info2 == info and all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                                   again.state_dict().values()))


def test_trex_search_end_to_end(caches):
    """Budget 0.8 x the baseline latency: N_reuse is the smallest count with a pattern within it
    (checked against the cost model), every pattern of that count is fine-tuned and costed, and
    the chosen one is the most accurate within the budget."""
    from archsim.config.hardware import load_hardware
    from workloads.papers.trex import search as trex
    cfg = trex.TrexSearchConfig(vit=TINY, latency_budget=0.8)
    res = trex.search(cfg, progress=False)
    hw = load_hardware(trex.REPO / cfg.hardware)
    base = trex.cost(TINY, hw)["latency_s"]
    n = res["reuse_encoders"]
    fits = lambda k: any(trex.cost(TINY, hw, p)["latency_s"] <= 0.8 * base  # noqa: E731
                         for p in trex.patterns(cfg.kinds, 4, k).values())
    assert fits(n) and not any(fits(k) for k in range(1, n))
    rows = res["patterns"]
    assert rows[0]["reuse"] == "none" and {r["pattern"] for r in rows[1:]} == set(trex.patterns(cfg.kinds, 4, n))
    best = max((r for r in rows[1:] if r["within_budget"]), key=lambda r: r["accuracy"])
    assert res["best"] == best["pattern"]
    assert all(r["edap_j_s_mm2"] < rows[0]["edap_j_s_mm2"] for r in rows[1:])
    table = trex.tables(res)[0]
    assert len(table["rows"]) == len(rows) and "(chosen)" in " ".join(r[0] for r in table["rows"])


def test_clipformer_study_smoke(caches):
    from workloads.papers.clipformer import study as clipformer
    cfg = clipformer.ClipFormerConfig(vit=TINY, write_sigmas=(0.2,), gammas=(5.0,), clips=((2.0, 0.5),),
                                      sweep=((1.0, 0.5),), sweep_sigma=0.2, seeds=(0, 1), images=20, workers=1)
    res = clipformer.experiment(cfg, progress=False)
    assert len(res["runs"]) == 1 + 2 * 2 + 2
    rows = clipformer.summarise(res)
    on = next(r for r in rows if r["gamma"] == 5.0 and r["alpha"] == 2.0)
    off = next(r for r in rows if r["gamma"] == 5.0 and r["alpha"] is None)
    assert on["seeds"] == 2 and on["gain_points"] == pytest.approx(on["accuracy_mean"] - off["accuracy_mean"])
    ideal = next(r for r in rows if r["gamma"] == 0.0)
    assert ideal["snr_db"] > off["snr_db"]
    stats = res["kv_statistics"]
    assert len(stats) == 4 and all(s["k_clipped_0.25"] >= s["k_clipped_0.5"] >= s["k_clipped_0.75"] for s in stats)
    main, sweep, kv = clipformer.tables(res)
    assert [r[:2] for r in main["rows"]] == [[0.2, 5.0]] and len(main["rows"][0]) == len(main["columns"])
    assert len(sweep["rows"]) == 3 and len(kv["rows"]) == 4


@pytest.mark.parametrize("arg", ["--images=0", "--seeds=-2", "--images=many"])
def test_vit_studies_rejects_bad_sizes(arg, tmp_path, capsys):
    from workloads.papers.vit.studies import main
    with pytest.raises(SystemExit):
        main(["-o", str(tmp_path / "out"), arg])
    assert "expected a positive integer" in capsys.readouterr().err and not (tmp_path / "out").exists()
