"""The registry models' traces (workloads.model_export: the graph capture with our models' module
rules) against the forward-hook exporter's (tests/goldens/snn_export.json, written by
workloads/export.py before it was removed): every case of every model kind, op by op."""
import json
import math
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from workloads.capture import UnmodelledWarning  # noqa: E402
from tests.helpers import golden_maker, golden_mismatches  # noqa: E402

GOLDENS = Path(__file__).resolve().parents[1] / "goldens"

# The intended differences, all in the tags (no hardware model, rule or recipe reads them):
# * "module": the hook exporter wrote the class name ("Conv2d", "Linear") on GEMM ops only; the
#   capture writes, on every op, the path of the module it came from (its provenance);
# * "aten": the capture's: the aten op an op was mapped from ("convolution", "neuron", "module"...);
# * "library": the capture's, on lif ops: the neuron's library ("archsim").
CAPTURE_TAGS = ("module", "aten", "library")


@pytest.fixture(scope="module")
def maker():
    return golden_maker("make_snn_export_golden")


@pytest.fixture(scope="module")
def golden_file():
    return json.loads((GOLDENS / "snn_export.json").read_text())


@pytest.fixture(scope="module")
def golden(golden_file):
    return golden_file["cases"]


@pytest.fixture(scope="module")
def traces(maker):
    cache = {}

    def get(case):
        if case not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("error", UnmodelledWarning)     # every op of our models is modelled
                cache[case] = maker.export(case)
        return cache[case]
    return get


CASES = ("tiny-snn", "tiny-snn-rate", "tiny-cnn", "loas-alexnet", "loas-vgg16", "loas-resnet19", "ttsnn-baseline",
         "ttsnn-stt", "ttsnn-ptt", "ttsnn-htt", "respike", "respike-kv-once", "statten", "spikformer")


def test_every_case_is_checked(maker, golden):
    assert set(CASES) == set(maker.CASES) == set(golden)


def _same_cpu_kind(golden_file) -> bool:
    import torch
    return golden_file.get("machine") == {"cpu": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__}


def _structure(op: dict) -> dict:
    """An op without what float arithmetic on another CPU kind can move: the spike and activation
    tensors' statistics and stored bits (a membrane a few ulps from its threshold fires or not);
    weights (seeded, quantised) keep theirs."""
    def operand(o):
        if o is None or o["role"] in ("static_weight", "dynamic_weight"):
            return o
        return {k: v for k, v in o.items() if k not in ("sparsity", "histogram", "data_sha256")}
    return {**op, "operands": [operand(o) for o in op["operands"]], "output": operand(op["output"])}


@pytest.mark.parametrize("case", CASES)
def test_same_trace_as_the_hook_exporter(maker, golden_file, traces, case):
    """Same ops in the same order with the same ids, kinds, loop bounds, MACs, timesteps, edges,
    operands (role, bits, dtype, shape, quantisation, sparsity statistics, stored data) and
    header; tags equal but for the capture's own (CAPTURE_TAGS) while the golden is the hook
    exporter's (a regenerated golden is the capture's own: then everything is equal). On another
    CPU kind than the golden's, the spike and activation statistics are compared within
    tests.helpers' margin and their stored bits are not compared."""
    trace = traces(case)
    new, old = maker.describe(trace), golden_file["cases"][case]
    same_cpu = _same_cpu_kind(golden_file)
    if same_cpu and "forward hooks" not in golden_file["made_by"]:
        assert new == {k: v for k, v in old.items() if k != "runs"}
        return
    assert new["header"] == old["header"]
    assert [o["id"] for o in new["ops"]] == [o["id"] for o in old["ops"]]
    if not same_cpu:
        untagged = lambda op: _structure({k: v for k, v in op.items() if k != "tags"})  # noqa: E731
        problems = golden_mismatches([untagged(o) for o in new["ops"]], [untagged(o) for o in old["ops"]], case)
        for a, b in zip(new["ops"], old["ops"]):
            for x, y in zip([*a["operands"], a["output"]], [*b["operands"], b["output"]]):
                if x is not None and y is not None and x["role"] not in ("static_weight", "dynamic_weight"):
                    problems += golden_mismatches({"density": x["sparsity"]["density"]},
                                                  {"density": y["sparsity"]["density"]}, f"{a['id']}.{x['name']}")
        assert not problems, "\n".join(problems[:20])
    for a, b in zip(new["ops"], old["ops"]):
        if same_cpu:
            assert {k: v for k, v in a.items() if k != "tags"} == {k: v for k, v in b.items() if k != "tags"}, a["id"]
        ta, tb = a["tags"], b["tags"]
        assert {k: v for k, v in ta.items() if k not in CAPTURE_TAGS} == \
               {k: v for k, v in tb.items() if k != "module"}, a["id"]
        # the differences are exactly the listed ones
        assert tb.get("module") in ((None,) if a["kind"] not in ("conv2d", "linear") else ("Conv2d", "Linear"))
        path = ta["module"]
        assert a["id"] == path or a["id"].startswith((f"{path}.", f"{path}#")), (a["id"], path)
        assert ta["aten"] and ("library" in ta) == (a["kind"] == "lif")


@pytest.mark.parametrize("case", CASES)
def test_same_simulation_as_the_hook_exporter(maker, golden, golden_file, traces, case):
    """The traces simulate to the golden's figures (cycles, energy, area, traffic) on the recipes'
    hardware for the model."""
    runs = maker.simulate(traces(case), case)
    assert set(runs) == set(golden[case]["runs"])
    rel = 1e-12 if _same_cpu_kind(golden_file) else 2e-2   # another CPU kind: a few spikes may differ
    problems = []
    for hw, figures in golden[case]["runs"].items():
        for k, v in figures.items():
            ours = runs[hw][k]
            if isinstance(v, dict):
                if set(ours) != set(v) or any(not math.isclose(ours[c], v[c], rel_tol=rel) for c in v):
                    problems.append(f"{hw} {k}: {ours} != {v}")
            elif not math.isclose(ours, v, rel_tol=rel):
                problems.append(f"{hw} {k}: {ours} != {v}")
    assert not problems, "\n".join(problems)


def test_a_moved_trace_fails(maker, golden):
    """The comparison can fail: one more pruned weight moves the weight's statistics and data."""
    from workloads.model_export import export_model

    model, x, options = maker.instance("tiny-snn")
    with torch.no_grad():
        model.body.conv2.weight[0, 0, 0, 0] = 0.0
    moved = maker.describe(export_model(model, x, name="tiny-snn", **options))
    conv2 = lambda ops: next(o for o in ops if o["id"] == "conv2")  # noqa: E731
    w_new, w_old = conv2(moved["ops"])["operands"][1], conv2(golden["tiny-snn"]["ops"])["operands"][1]
    assert w_new["sparsity"]["row_nnz"][0] == w_old["sparsity"]["row_nnz"][0] - 1
    assert w_new["data_sha256"] != w_old["data_sha256"]
