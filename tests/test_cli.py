"""The archsim command: happy paths and bad input (exit 2, one line, no partial output)."""
import json
import subprocess
import sys

import pytest

from archsim.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_simulate_writes_results(capsys, repo, tmp_path):
    out = tmp_path / "res"
    code, stdout, _ = run(capsys, "simulate", "--hw", str(repo / "hw_configs/mac_array_example.yaml"),
                          "--trace", str(repo / "examples/tiny_snn.yaml"), "-o", str(out), "--quiet")
    assert code == 0
    assert {p.name for p in out.iterdir()} >= {"summary.json", "ops.csv", "actions.csv", "sources.csv"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["architecture"] == "mac_array" and summary["energy_j"] > 0


@pytest.mark.parametrize("hw_text,needle", [
    ("architecture: mac_array\nname: x\nclock_mhz: -1\n", "clock_mhz"),
    ("architecture: [unclosed\n", "malformed YAML"),
])
def test_bad_hw_exits_2_without_output(capsys, repo, tmp_path, hw_text, needle):
    hw = tmp_path / "bad.yaml"
    hw.write_text(hw_text)
    out = tmp_path / "res"
    code, _, err = run(capsys, "simulate", "--hw", str(hw), "--trace", str(repo / "examples/tiny_snn.yaml"),
                       "-o", str(out))
    assert code == 2
    assert needle in err and str(hw) in err and err.startswith("archsim: error:")
    assert not out.exists() and not list(tmp_path.glob(".res*"))


def test_corrupt_trace_exits_2(capsys, repo, tmp_path):
    bad = tmp_path / "bad.trace"
    bad.write_bytes(b"PK\x03\x04 not really")
    out = tmp_path / "res"
    code, _, err = run(capsys, "simulate", "--hw", str(repo / "hw_configs/mac_array_example.yaml"),
                       "--trace", str(bad), "-o", str(out))
    assert code == 2 and "bad.trace" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_set_override_and_bad_set(capsys, repo, tmp_path):
    args = ["simulate", "--hw", str(repo / "hw_configs/mac_array_example.yaml"),
            "--trace", str(repo / "examples/tiny_snn.yaml"), "--quiet"]
    assert run(capsys, *args, "-o", str(tmp_path / "a"), "--set", "params.rows=32")[0] == 0
    code, _, err = run(capsys, *args, "-o", str(tmp_path / "b"), "--set", "params.rows=-1")
    assert code == 2 and "params.rows" in err


def test_trace_info_convert_validate(capsys, repo, tmp_path):
    code, out, _ = run(capsys, "trace", "info", str(repo / "examples/tiny_transformer.yaml"))
    assert code == 0 and "qkv" in out and "64 x 128 x 384" in out
    t = tmp_path / "tiny.trace"
    assert run(capsys, "trace", "convert", str(repo / "examples/tiny_snn.yaml"), "-o", str(t))[0] == 0
    code, out, _ = run(capsys, "validate", str(t), str(repo / "hw_configs/mac_array_example.yaml"),
                       str(repo / "hw_configs/energy/example_45nm.yaml"))
    assert code == 0 and out.count("ok:") == 3


def test_validate_reports_every_bad_file(capsys, tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("name: t\ncomponents:\n  mac:\n    actions:\n      mac: {energy_pj: -1, source: x}\n")
    b = tmp_path / "b.yaml"
    b.write_text("just: text\n")
    code, _, err = run(capsys, "validate", str(a), str(b), str(tmp_path / "missing.trace"))
    assert code == 2
    assert "a.yaml:5: components.mac.actions.mac.energy_pj" in err
    assert "b.yaml: cannot tell what this file is" in err
    assert "missing.trace: file not found" in err


def test_list(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and "mac_array" in out and "mac_array_example.yaml" in out


def test_help_is_light():
    """`archsim --help` imports neither torch, numba nor pandas."""
    code = ("import sys, runpy; sys.argv=['archsim','--help']\n"
            "try:\n    runpy.run_module('archsim.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in ('torch','numba','pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_terminal_summary_is_human_scaled_and_aligned(capsys, repo, tmp_path):
    """`archsim simulate` prints every figure with an SI prefix that puts it between 1 and 1000,
    the energy-by-component rows aligned whatever the names' length, no progress bar when stderr
    is not a terminal, and what it wrote."""
    import re

    from archsim.cli.common import format_summary
    assert main(["simulate", "--hw", str(repo / "hw_configs/mac_array_example.yaml"), "--trace",
                 str(repo / "examples/tiny_snn.yaml"), "-o", str(tmp_path / "r")]) == 0
    captured = capsys.readouterr()
    assert "%|" not in captured.err                      # no tqdm line in a log
    assert f"wrote {tmp_path / 'r'}/" in captured.out
    for line in captured.out.splitlines():
        m = re.match(r"  (latency|energy|power) +([0-9.e+-]+) ([munpk]?)(s|J|W)$", line)
        if m:
            assert 1 <= float(m.group(2)) < 1000, line
    summary = {"trace": "t", "hardware": "h", "architecture": "a", "latency_s": 0.0716189, "energy_j": 0.0716189,
               "area_mm2": 2.0, "power_w": 1.0, "cycles": 10, "ops": 2e9, "tops": 1.0, "tops_per_w": 1.0,
               "tops_per_mm2": 0.5, "edap_j_s_mm2": 1e-8,
               "energy_j_by_component": {"a_very_long_component_name/with_an_engine_prefix": 0.07, "dram": 0.0016189}}
    text = format_summary(summary)
    assert "71.6189 mJ" in text and "71618.9" not in text and "10 nJ*s*mm2" in text
    rows = [line for line in text.splitlines() if line.startswith("    ")]
    assert len({line.index("(") for line in rows}) == 1            # the % column lines up
    relative = format_summary({**summary, "energy_units": "relative"})
    assert not re.search(r" [munpk]?J\b", relative) and "relative (table units)" in relative


def test_shape_workload_scripts_say_what_they_wrote(capsys, tmp_path):
    from archsim.generators.shapes.transformers import main as transformers_main
    assert transformers_main(["deit_s", "-o", str(tmp_path / "deit.trace")]) == 0
    assert f"wrote {tmp_path / 'deit.trace'} (" in capsys.readouterr().out
