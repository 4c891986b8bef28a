"""LLM quantisation on a tiny random-initialised LLaMA (transformers), perplexity, trace export;
the real SmolLM2 run is marked slow."""
import copy
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
torch.set_num_threads(1)

from archsim.trace.io import load_trace  # noqa: E402
from workloads.papers.tesseraq.llm import (LINEARS, capture_layer_inputs,  # noqa: E402
                                           enable_token_act_quant, perplexity, quantize_llama)
from workloads.papers.tesseraq.smollm2 import tiny_llama  # noqa: E402
from workloads.papers.tesseraq.study import LlmQuantConfig, export_trace, quantize_and_measure, shape_of  # noqa: E402
from workloads.quant.progressive import ProgressiveConfig  # noqa: E402
from workloads.quant.uniform import QuantSpec, rtn  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    return tiny_llama(layers=2, hidden=64, heads=4, kv_heads=2, ffn=128, vocab=97, seed=0)


def _ids(n, seed=0, shape=None):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, 97, shape or (n,), generator=g)


def test_perplexity_matches_transformers_loss(tiny):
    ids = _ids(64)
    with torch.no_grad():
        loss = tiny(ids[None], labels=ids[None]).loss
    assert perplexity(tiny, ids, window=64) == pytest.approx(float(torch.exp(loss)), rel=1e-5)
    with pytest.raises(ValueError, match="at least"):
        perplexity(tiny, ids[:10], window=64)


def test_capture_layer_inputs_is_the_embedding(tiny):
    ids = _ids(0, shape=(3, 16))
    x, kwargs = capture_layer_inputs(tiny, ids)
    assert torch.equal(x, tiny.model.embed_tokens(ids))
    assert "position_embeddings" in kwargs and kwargs["use_cache"] is False


def test_rtn_sets_round_to_nearest_weights(tiny):
    m = copy.deepcopy(tiny)
    w0 = dict(m.model.layers[1].named_modules())["mlp.up_proj"].weight.detach().clone()
    q, stats = quantize_llama(m, QuantSpec(3, 32), "rtn", _ids(0, shape=(2, 32)))
    assert len(q) == 2 * len(LINEARS)
    got = dict(m.model.layers[1].named_modules())["mlp.up_proj"].weight
    assert torch.allclose(got, rtn(w0, QuantSpec(3, 32)).dequantize())
    assert stats["mse_final"][0] == pytest.approx(stats["mse_rtn"][0])


def test_progressive_reduces_layer_error(tiny):
    m = copy.deepcopy(tiny)
    cfg = ProgressiveConfig(schedule=(0.5, 0.25, 0.0), iters=15, lr=1e-2)
    _, stats = quantize_llama(m, QuantSpec(2, 32), "progressive", _ids(0, shape=(4, 32)), cfg)
    for before, after in zip(stats["mse_rtn"], stats["mse_final"]):
        assert after < before


def test_token_act_quant_changes_outputs_and_undoes(tiny):
    ids = _ids(32)[None]
    with torch.no_grad():
        ref = tiny(ids).logits
        handles = enable_token_act_quant(tiny, 4)
        q = tiny(ids).logits
        for h in handles:
            h.remove()
        back = tiny(ids).logits
    assert not torch.allclose(q, ref, atol=1e-3) and torch.equal(back, ref)


class CharTokenizer:
    """Bytes 3..96 of the text as token ids (enough to drive the pipeline in a test)."""

    def __call__(self, text, return_tensors="pt"):
        ids = torch.tensor([[3 + b % 94 for b in text.encode()]])
        return SimpleNamespace(input_ids=ids)


def test_measure_and_export_trace(tiny, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("The quick brown fox jumps over the lazy dog. " * 40)
    cfg = LlmQuantConfig(method="rtn", bits=2, group_size=32, eval_text=str(text), eval_tokens=128, window=64,
                         calib_text=str(text), calib_seqs=2, calib_len=32, threads=1)
    r = quantize_and_measure(cfg, model=tiny, tokenizer=CharTokenizer(), progress=False)
    assert r["format"] == "w2a16g32" and r["perplexity"] > 1
    shape = shape_of(tiny.config, "tiny-llama")
    path = export_trace(cfg, r, tmp_path, context=16, shape=shape)
    t = load_trace(path)
    w = t.op("L1.down").operand("weight")
    assert w.bits == 2 and w.quant.group_size == 32 and sum(w.histogram.counts) == w.numel
    assert len(w.histogram.counts) == 4 and t.header.metrics["perplexity"] == pytest.approx(r["perplexity"])
    assert t.header.provenance.weights == "pretrained"


@pytest.mark.slow
def test_smollm2_loads_and_predicts():
    """The real SmolLM2-135M: perplexity on 512 tokens of the GPL-3 text about 19-21 (18.8 in the
    research note with another window)."""
    from workloads.papers.tesseraq import smollm2
    from workloads.papers.tesseraq.study import EVAL_TEXT, text_ids
    model, tok = smollm2.load()
    assert model.config.num_hidden_layers == 30 and model.config.num_key_value_heads == 3
    ppl = perplexity(model, text_ids(tok, EVAL_TEXT, 512), window=512)
    assert 15 < ppl < 25
