"""The main job's LoAS traces (setup.sh: reports/traces/loas-*.trace), when they exist: trained,
pruned networks run on a real Fashion-MNIST test image, with their Table II. Slow (reads the
traces); skipped where the main job has not run."""
from pathlib import Path

import pytest

from archsim.trace.io import load_trace
from archsim.trace.loas_stats import loas_table
from workloads.registry import get

TRACES = Path(__file__).resolve().parents[2] / "reports" / "traces"
NETS = ("alexnet", "vgg16", "resnet19")


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["", "-strong"])
@pytest.mark.parametrize("net", NETS)
def test_real_trace(net, suffix):
    path = TRACES / f"loas-{net}{suffix}.trace"
    if not path.exists():
        pytest.skip(f"{path} not produced yet (run setup.sh)")
    trace = load_trace(path)
    h = trace.header
    assert h.provenance.weights == "trained" and h.provenance.inputs == "real"
    assert h.dataset.startswith("fashion-mnist test[") and h.timesteps == 4
    target = get(f"loas-{net}").schedules["main"].get("target_sparsity", 0.98)
    assert h.metrics["weight_sparsity_pruned_layers"] == pytest.approx(target, abs=1e-4)
    assert h.metrics["accuracy_top1"] > 0.3            # well above chance (0.1)
    table = loas_table(trace)
    n = table.network
    # profiled layers are the pruned convs: their weight sparsity is at least the target's
    # neighbourhood; spikes are sparse and silence grows in strong mode
    assert n.weight_sparsity > target - 0.01
    assert 0.5 < n.spike_sparsity < 1 and n.silent_ratio <= n.silent_ratio_strong
    if suffix:
        assert n.silent_ratio == n.silent_ratio_strong      # no neuron of the strong network fires once
        assert "accuracy_strong_before_finetune" in h.metrics and "accuracy_strong_after_finetune" in h.metrics
