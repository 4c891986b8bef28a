"""The speed benchmark runs end to end on a small shape and finds both backends identical."""
import json
import runpy
import sys


def test_noise_engine_benchmark_smoke(repo, tmp_path, monkeypatch):
    out = tmp_path / "bench.json"
    monkeypatch.setattr(sys, "argv", ["noise_engine.py", "--tokens", "5", "--k", "70", "--n", "24", "--repeat", "1",
                                      "--json", str(out)])
    try:
        runpy.run_path(str(repo / "benchmarks/noise_engine.py"), run_name="__main__")
    except SystemExit as exc:
        assert exc.code == 0
    figures = json.loads(out.read_text())
    assert figures["identical"] and figures["row_groups"] == 2 and figures["columns_per_weight"] == 4
    assert figures["noisy_reads"] == 2 * 8 * 5 * 24 * 4


def test_drift_benchmark_smoke(repo, tmp_path, monkeypatch):
    out = tmp_path / "drift.json"
    monkeypatch.setattr(sys, "argv", ["drift_kernel.py", "--cells", "3000", "--repeat", "1", "--json", str(out)])
    try:
        runpy.run_path(str(repo / "benchmarks/drift_kernel.py"), run_name="__main__")
    except SystemExit as exc:
        assert exc.code == 0
    figures = json.loads(out.read_text())
    assert figures["identical"] and figures["cells"] == 3000 and figures["ratio_1thread_cpu"] > 0
