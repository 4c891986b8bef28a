"""Write ``tests/goldens/snn_export.json``: the traces of small fixed-seed instances of every
registry model kind (LoAS AlexNet / VGG16 / ResNet19, tiny-snn (direct and rate encoding),
tiny-cnn, TT-SNN baseline / STT / PTT / HTT, ReSpike (K/V per timestep and once per clip),
STAtten, Spikformer), random weights and synthetic inputs, exported with the options
``workloads.frontend.export_trained`` gives each (8-bit weights and input pixels, the registry
entry's ``export_options``): per op its id, kind, loop bounds, MACs, timesteps, tags, edges, and
every operand's role, bits, dtype, shape, quantisation, sparsity statistics and a hash of its
stored data; the header fields the simulator reads; and the summary figures of the traces
simulated on the recipes' hardware for these models (:data:`HW`). tests/workloads/test_snn_export.py compares a
fresh export against it.

    python tests/goldens/make_snn_export_golden.py [made_by]

The stored file was written by the forward-hook exporter ``workloads/export.py`` (commit named in
the file's ``made_by``) before the registry models moved onto the graph capture and that exporter
was removed; the test checks the capture against it. Regenerate only when a change is meant to
move the traces, and say why in the commit.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "snn_export.json"

TT_RANKS = [3] * 16
TT_WIDTHS = (8, 8, 8, 8)
LONG = 32          # statistics lists longer than this are kept as a hash (the file stays small)


def _bn(m, x, batch=16):
    from workloads.train import recalibrate_bn
    recalibrate_bn(m, x, images=len(x), batch_size=batch)
    return m


def _tiny_snn(encoding):
    import torch
    from workloads.models.tiny import tiny_snn

    torch.manual_seed(0)
    m = _bn(tiny_snn(timesteps=4, image_size=8, width=4, encoding=encoding), torch.rand(32, 1, 8, 8))
    return m, torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1)), {}


def _tiny_cnn():
    import torch
    from workloads.models.tiny import tiny_cnn

    torch.manual_seed(0)
    return tiny_cnn(image_size=8, width=4), torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1)), {}


def _loas(name):
    import torch
    from workloads.papers.loas import nets as loas_nets
    from workloads.snn.network import SpikingNet

    torch.manual_seed(0)
    if name == "alexnet":
        m = loas_nets.loas_alexnet(timesteps=2, in_channels=1, image_size=16)
        with torch.no_grad():    # no batch norm: stronger weights, so that the deeper neurons fire
            for p in m.parameters():
                p.mul_(4.0)
    elif name == "vgg16":
        m = loas_nets.loas_vgg16(timesteps=2, in_channels=1, image_size=16, cfg=(8, 8, "M", 16, "M"))
    else:                # ResNet19's body at test widths: a strided block with a 1x1 shortcut, an identity block
        m = SpikingNet(loas_nets.ResNetBody(blocks=(2, 1), widths=(8, 16), in_channels=1), timesteps=2,
                       in_channels=1)
    _bn(m, torch.rand(16, 1, 16, 16))
    return m, torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(1)), {}


def _ttsnn(schedule):
    import torch
    from workloads.papers.ttsnn.model import ttsnn_resnet18

    torch.manual_seed(0)
    m = ttsnn_resnet18(timesteps=4, widths=TT_WIDTHS, schedule=schedule,
                       ranks=None if schedule == "baseline" else TT_RANKS)
    _bn(m, torch.rand(16, 1, 16, 16))
    return m, torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(1)), dict(activation_bits=8)


def _respike(kv_reuse):
    import torch
    from workloads.papers.respike.model import respike

    torch.manual_seed(0)
    m = respike(timesteps=3, kv_reuse=kv_reuse)
    clips = torch.rand(8, 4, 1, 40, 40, generator=torch.Generator().manual_seed(2))
    m.set_input_stats(float(clips.mean()), float(clips.std()))
    _bn(m, clips, batch=8)
    with torch.no_grad():           # zero-initialised: a trained fusion writes into the stream
        for f in m.fusions:
            f.proj_out.weight.normal_(0, 0.05)
    return m, torch.rand(1, 4, 1, 40, 40, generator=torch.Generator().manual_seed(1)), dict(activation_bits=8)


def _statten():
    import torch
    from workloads.papers.statten.model import statten

    torch.manual_seed(0)
    m = _bn(statten(timesteps=4, image_size=16, dim=16, layers=1, heads=2, chunk_size=2), torch.rand(32, 1, 16, 16))
    return m, torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(1)), {}


def _spikformer():
    import torch
    from workloads.papers.spikformer.model import spikformer

    torch.manual_seed(0)
    m = _bn(spikformer(timesteps=4, dim=16, heads=2, layers=1), torch.rand(32, 1, 16, 16))
    return m, torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(1)), {}


CASES = {
    "tiny-snn": lambda: _tiny_snn("direct"), "tiny-snn-rate": lambda: _tiny_snn("rate"), "tiny-cnn": _tiny_cnn,
    "loas-alexnet": lambda: _loas("alexnet"), "loas-vgg16": lambda: _loas("vgg16"),
    "loas-resnet19": lambda: _loas("resnet19"),
    "ttsnn-baseline": lambda: _ttsnn("baseline"), "ttsnn-stt": lambda: _ttsnn("stt"),
    "ttsnn-ptt": lambda: _ttsnn("ptt"), "ttsnn-htt": lambda: _ttsnn("htt"),
    "respike": lambda: _respike(False), "respike-kv-once": lambda: _respike(True),
    "statten": _statten, "spikformer": _spikformer,
}


def instance(case: str):
    """``(model, input, export options)`` of one case; the model's rate generator reseeded."""
    import torch

    model, x, options = CASES[case]()
    model.rate_generator = torch.Generator().manual_seed(3)
    return model, x, {"weight_bits": 8, "input_bits": 8, **options}


def _short(v):
    if isinstance(v, list) and len(v) > LONG:
        return {"len": len(v), "sum": float(sum(v)),
                "sha256": hashlib.sha256(json.dumps(v).encode()).hexdigest()}
    return v


def _operand(trace, o) -> dict:
    d = {"name": o.name, "role": o.role.value, "bits": o.bits, "dtype": o.dtype.value, "shape": list(o.shape),
         "quant": o.quant.model_dump(mode="json") if o.quant is not None else None,
         "histogram": o.histogram.model_dump(mode="json") if o.histogram is not None else None,
         "sparsity": ({k: _short(v) for k, v in o.sparsity.model_dump(mode="json").items()}
                      if o.sparsity is not None else None),
         "store": o.tensor is not None}
    if o.tensor is not None:
        data = trace.tensor(o.tensor)
        d["data_sha256"] = hashlib.sha256(data.tobytes()).hexdigest()
        d["data_shape"] = list(data.shape)
        d["data_dtype"] = str(data.dtype)
    return d


def describe(trace) -> dict:
    """The header fields the simulator reads and every op as it sees it."""
    h = trace.header
    ops = []
    for op in trace.ops:
        fields = op.model_dump(mode="json", exclude={"operands", "output", "tags", "inputs", "id", "kind"})
        ops.append({"id": op.id, "kind": op.kind, "macs": op.macs, "timesteps": op.timesteps, "fields": fields,
                    "inputs": list(op.inputs), "tags": dict(sorted(op.tags.items())),
                    "operands": [_operand(trace, o) for o in op.operands],
                    "output": _operand(trace, op.output) if op.output is not None else None})
    header = {"batch": h.batch, "timesteps": h.timesteps,
              "config": {k: h.config.get(k) for k in ("weight_bits", "activation_bits", "input_bits", "batch")}}
    return {"header": header, "ops": ops}


# the hardware each case is simulated on (the recipes' configurations for these models)
HW = {"tiny-cnn": ("spikesim_rram_65nm.yaml",), "respike": ("respike_hetero.yaml", "systolic_tpu_like_32x32.yaml"),
      "respike-kv-once": ("respike_hetero.yaml",), "statten": ("loas.yaml", "hetero_loas_systolic.yaml"),
      **{f"ttsnn-{s}": ("loas.yaml", "hetero_loas_systolic.yaml") for s in ("baseline", "stt", "ptt", "htt")}}


def simulate(trace, case: str) -> dict:
    """The summary figures (cycles, energy, area, traffic...) of ``trace`` on the case's hardware
    (:data:`HW`; default LoAS)."""
    import importlib.util

    import archsim

    spec = importlib.util.spec_from_file_location("make_recipe_goldens", Path(__file__).parent / "make_recipe_goldens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {hw: module.summary_figures(archsim.simulate(trace, REPO / "hw_configs" / hw).summary)
            for hw in HW.get(case, ("loas.yaml",))}


def export(case: str):
    """The case's trace, as ``workloads.frontend.export_trained`` writes a registry model's
    (:func:`workloads.model_export.export_model`)."""
    from workloads.model_export import export_model

    model, x, options = instance(case)
    return export_model(model, x, name=case, **options)


def golden(made_by: str = "") -> dict:
    cases = {}
    for case in CASES:
        trace = export(case)
        cases[case] = {**describe(trace), "runs": simulate(trace, case)}
    import torch
    return {"made_by": made_by, "machine": {"cpu": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__},
            "cases": cases}


def dumps(g: dict) -> str:
    """Compact JSON, one op per line (diffs stay readable, the file small)."""
    line = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"))  # noqa: E731
    parts = [f'{{"made_by":{line(g["made_by"])},"machine":{line(g["machine"])},"cases":{{']
    for i, (case, d) in enumerate(g["cases"].items()):
        parts.append(f'{line(case)}:{{"header":{line(d["header"])},"runs":{line(d["runs"])},"ops":[')
        parts.append(",\n".join(line(op) for op in d["ops"]))
        parts.append("]}" + ("," if i < len(g["cases"]) - 1 else ""))
    return "\n".join(parts) + "\n}}\n"


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    import torch
    torch.set_num_threads(1)
    made_by = argv[0] if argv else ""
    GOLDEN.write_text(dumps(golden(made_by)))
    print(f"wrote {GOLDEN.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
