"""The memory guard of the cycle-level models: the estimate bounds the traced peak of numpy
allocations (our derivation, calibrated on other layer sizes: see archsim/arch/memory_guard.py),
and an op that cannot fit fails at once with one line instead of a MemoryError."""
import time
import tracemalloc
from pathlib import Path

import pytest

from archsim.arch.memory_guard import OpMemoryError, op_working_set_bytes
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.trace.layer_list import load_layer_list

REPO = Path(__file__).resolve().parents[1]


def conv_trace(tmp_path, ch, size, T=4):
    p = tmp_path / "l.yaml"
    p.write_text(f"model: probe\ntimesteps: {T}\n"
                 f"input: {{shape: [{ch}, {size}, {size}], role: spike, bits: 1, density: 0.2}}\n"
                 "layers:\n"
                 f"  - {{name: conv, kind: conv2d, out_channels: {ch}, kernel: 3, padding: 1, "
                 "weight: {bits: 8, density: 0.3}}\n")
    return load_layer_list(p)


@pytest.mark.parametrize("hw", ["sparten_s_paper.yaml", "loas_paper.yaml"])
def test_estimate_bounds_the_peak(tmp_path, hw):
    hardware = load_hardware(REPO / "hw_configs" / hw)
    simulate(conv_trace(tmp_path, 16, 8), hardware)              # compile the kernels first
    trace = conv_trace(tmp_path, 192, 24)
    est = op_working_set_bytes(hardware.create_model(), trace.ops[0])
    tracemalloc.start()
    simulate(trace, hardware)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak <= est <= 3 * peak, (est, peak)


def test_an_op_that_cannot_fit_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_MAX_OP_BYTES", str(1 << 30))
    trace = conv_trace(tmp_path, 1024, 224)
    hardware = load_hardware(REPO / "hw_configs/loas_paper.yaml")
    t0 = time.monotonic()
    with pytest.raises(OpMemoryError) as info:
        simulate(trace, hardware)
    assert time.monotonic() - t0 < 5
    msg = str(info.value)
    assert "op 'conv'" in msg and "loas" in msg and "ARCHSIM_MAX_OP_BYTES" in msg and "\n" not in msg


def test_analytical_models_are_not_checked(tmp_path):
    hardware = load_hardware(REPO / "hw_configs/systolic_tpu_like_32x32.yaml")
    assert op_working_set_bytes(hardware.create_model(), conv_trace(tmp_path, 1024, 224).ops[0]) is None
