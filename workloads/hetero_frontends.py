"""The main job's PyTorch step for issue 9's small trained configurations (real spikes): STAtten on
Fashion-MNIST, TT-SNN (baseline, STT, PTT, HTT) on Fashion-MNIST, ReSpike on moving Fashion-MNIST
clips. Each model is trained once (cached by configuration under ``data/checkpoints/``) and run
on one real test input; the traces go to ``OUT/`` for ``reports/hetero_trained.yaml``, the
measured figures to ``OUT/hetero_frontends.json``.

    archsim-workloads hetero -o reports/traces [--only statten ttsnn respike]

Trace metrics added to the header for the recipe's checks (all counted from the trace's ops,
MACs over all timesteps): ``params`` (the model's parameters), ``macs``, ``attention_macs``
(STAtten's per-chunk ops), ``macs_<branch>`` and ``macs_cross_kv`` (ReSpike), ``macs_g1``..``macs_g4``
(TT-SNN's cores). STAtten is also exported with the trained weights at chunk sizes 1 and 4 (the
chunk changes the function, so their accuracy is measured again, not trained).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from archsim.trace.io import Trace

TT_SCHEDULES = ("baseline", "stt", "ptt", "htt")
STATTEN_CHUNKS = (1, 4)          # besides the trained c = 2
# the traces each step writes (OUT/<name>.trace), which reports/hetero_trained.yaml reads
TRACES = {"statten": ["statten-fmnist", *(f"statten-fmnist-c{c}" for c in STATTEN_CHUNKS)],
          "ttsnn": ["ttsnn-r18-fmnist" + ("" if s == "baseline" else f"-{s}") for s in TT_SCHEDULES],
          "respike": ["respike-fmnist-clips", "respike-fmnist-clips-kv-once"]}


def op_macs(op) -> float:
    return float(op.macs * op.timesteps) if op.macs else 0.0


def work_metrics(trace: Trace) -> dict[str, float]:
    """MAC counts of a trace by what the ops are (see the module docstring)."""
    out: dict[str, float] = {"macs": sum(op_macs(o) for o in trace.ops)}
    attn = [o for o in trace.ops if o.tags.get("chunk") is not None]
    if attn:
        out["attention_macs"] = sum(op_macs(o) for o in attn)
    for o in trace.ops:
        if "branch" in o.tags:
            key = f"macs_{o.tags['branch']}"
            out[key] = out.get(key, 0.0) + op_macs(o)
        core = o.id.rsplit(".", 1)[-1]
        if core in ("g1", "g2", "g3", "g4"):
            out[f"macs_{core}"] = out.get(f"macs_{core}", 0.0) + op_macs(o)
    cross_kv = [o for o in trace.ops if o.tags.get("part") == "cross" and o.id.endswith((".to_k", ".to_v"))]
    if cross_kv:
        out["macs_cross_kv"] = sum(op_macs(o) for o in cross_kv)
    return out


def with_header(trace: Trace, **updates) -> Trace:
    """The same trace with header fields replaced (``metrics`` merged)."""
    h = trace.header
    if "metrics" in updates:
        updates["metrics"] = {**h.metrics, **updates["metrics"]}
    manifest = trace.manifest.model_copy(update={"header": h.model_copy(update=updates)})
    return Trace(manifest, trace._arrays)


def export_model(trained, out: Path, name: str | None = None, extra: dict[str, float] | None = None,
                 notes: str = "") -> dict[str, float]:
    """Trace of ``trained`` on test input 0, with the work metrics, saved as ``out/<name>.trace``."""
    from workloads.frontend import export_trained

    trace = export_trained(trained)
    params = float(sum(p.numel() for p in trained.model.parameters()))
    metrics = {"params": params, **work_metrics(trace), **(extra or {})}
    updates = {"metrics": metrics}
    if name:
        updates["model"] = name
    if notes:
        updates["provenance"] = trace.header.provenance.model_copy(
            update={"notes": f"{trace.header.provenance.notes}; {notes}"})
    trace = with_header(trace, **updates)
    trace.save(out / f"{trace.header.model}.trace")
    return {k: float(v) for k, v in trace.header.metrics.items()}


def _accuracy(trained) -> float:
    from workloads.train import evaluate, load_data

    xt, yt = load_data(trained.config, "test")
    return evaluate(trained.model, xt, yt)


def statten(out: Path, progress: bool = True) -> dict:
    from workloads.train import TrainConfig, load_or_train

    trained = load_or_train(TrainConfig.for_model("statten-fmnist", "main"), progress=progress)
    result = {"c2": export_model(trained, out)}
    attn = [m for m in trained.model.modules() if type(m).__name__ == "ChunkAttention"]
    for c in STATTEN_CHUNKS:
        for m in attn:
            m.chunk_size = c
        acc = _accuracy(trained)
        result[f"c{c}"] = export_model(
            trained, out, name=f"statten-fmnist-c{c}", extra={"accuracy_top1_at_this_chunk": acc},
            notes=f"trained at chunk 2, run at chunk {c} (accuracy_top1_at_this_chunk: measured on the same "
                  "test images)")
    for m in attn:
        m.chunk_size = 2
    return result


def ttsnn(out: Path, progress: bool = True) -> dict:
    """The baseline and its TT versions; their traces carry each decomposed conv's rank
    (``rank_<i>``) and the EVBMF estimate it was floored from (``evbmf_rank_<i>``)."""
    from workloads.papers.ttsnn.model import decomposed_convs, vbmf_ranks
    from workloads.train import TrainConfig, load_or_train

    result, evbmf = {}, None
    for s, name in zip(TT_SCHEDULES, TRACES["ttsnn"]):
        trained = load_or_train(TrainConfig.for_model(name, "main"), progress=progress)
        extra = {}
        if s == "baseline":
            evbmf = vbmf_ranks(trained.model)
        else:
            ranks = [m.g1.out_channels for _, m in decomposed_convs(trained.model)]
            extra = {**{f"rank_{i}": float(r) for i, r in enumerate(ranks)},
                     **{f"evbmf_rank_{i}": float(r) for i, r in enumerate(evbmf)}}
        result[s] = export_model(trained, out, extra=extra)
    return result


def respike(out: Path, progress: bool = True) -> dict:
    from workloads.train import TrainConfig, load_or_train

    trained = load_or_train(TrainConfig.for_model("respike-fmnist-clips", "main"), progress=progress)
    result = {"kv_every_timestep": export_model(trained, out)}
    trained.model.set_kv_reuse(True)          # the same function (and weights), K/V once per clip
    try:
        result["kv_once"] = export_model(trained, out, name="respike-fmnist-clips-kv-once",
                                         notes="cross-attention K/V computed once per clip (same weights, same output)")
    finally:
        trained.model.set_kv_reuse(False)
    return result


STEPS = {"statten": statten, "ttsnn": ttsnn, "respike": respike}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="archsim-workloads hetero", description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", type=Path, required=True, help="folder for the traces")
    p.add_argument("--only", nargs="+", choices=tuple(STEPS), default=tuple(STEPS))
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    from workloads.device import add_argument, set_default
    add_argument(p)
    args = p.parse_args(argv)
    set_default(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict = {}
    for name in args.only:
        t0 = time.perf_counter()
        summary[name] = STEPS[name](args.out, progress=not args.quiet)
        summary[name]["seconds"] = time.perf_counter() - t0
        accs = {k: v.get("accuracy_top1_at_this_chunk", v.get("accuracy_top1"))
                for k, v in summary[name].items() if isinstance(v, dict)}
        print(f"{name}: test accuracy " + ", ".join(f"{k} {a:.4f}" for k, a in accs.items()), flush=True)
    path = args.out / "hetero_frontends.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **summary}, indent=1, sort_keys=True))
    return 0
