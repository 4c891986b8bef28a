"""Start-up of the ``archsim`` command: what a small simulation imports, the CSV writer that keeps
pandas out of it, and the batch mode (docs/performance.md).

What the checks compare against: the import budget is our invariant (a small `simulate` imports no
heavy library it does not use); the CSV writer is compared byte for byte with pandas' own
``DataFrame.to_csv`` (the writer it replaces); a batch row is compared with the same simulation run
on its own.
"""
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from archsim.cli import main
from archsim.rows import Rows

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "networkx", "numba", "scipy", "pyarrow", "torch", "matplotlib", "tqdm", "llvmlite")

# A simulation in a fresh interpreter; prints the heavy top-level packages it imported.
CHILD = ("import sys\nfrom archsim.cli import main\n"
         "rc = main(sys.argv[1:])\n"
         "print(sorted({m.split('.')[0] for m in sys.modules} & set(%r)), rc)" % (HEAVY,))


def heavy_imports(*argv: str) -> str:
    out = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, cwd=REPO,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_small_simulate_imports_no_heavy_library(tmp_path):
    """`archsim simulate` of a small layer list on the MAC array: no pandas, networkx, Numba, ..."""
    assert heavy_imports("simulate", "--hw", "hw_configs/mac_array_example.yaml", "--trace",
                         "examples/tiny_snn.yaml", "-o", str(tmp_path / "out"), "--quiet") == "[] 0"


def test_small_scalesim_case_imports_no_numba(tmp_path):
    """A small SCALE-Sim topology on an imported config (dram_model: scalesim) replays its buffers
    with the numpy reference: Numba's start-up would cost more than the whole replay."""
    (tmp_path / "net.csv").write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                                      "Channels, Num Filter, Strides,\nc1, 12, 12, 3, 3, 5, 8, 1,\n")
    (tmp_path / "a.cfg").write_text("[general]\nrun_name = t\n[architecture_presets]\nArrayHeight: 8\n"
                                    "ArrayWidth: 8\nIfmapSramSzkB: 4\nFilterSramSzkB: 4\nOfmapSramSzkB: 2\n"
                                    "IfmapOffset: 0\nFilterOffset: 10000000\nOfmapOffset: 20000000\n"
                                    "Dataflow: ws\nBandwidth: 10\n[run_presets]\nInterfaceBandwidth: CALC\n")
    assert main(["import", "scalesim", "--config", str(tmp_path / "a.cfg"), "-o", str(tmp_path / "imp")]) == 0
    assert heavy_imports("simulate", "--hw", str(tmp_path / "imp/a.yaml"), "--trace", str(tmp_path / "net.csv"),
                         "-o", str(tmp_path / "out"), "--quiet") == "[] 0"


def _csv_by_pandas(records, columns, path):
    (pd.DataFrame(records, columns=columns) if columns else pd.DataFrame(records)).to_csv(path, index=False)
    return path.read_bytes()


VALUES = [0, 1, -3, 2 ** 40, 2 ** 63, np.int64(7), 0.1, 1e16, 1e-5, 123456.789, -0.0, float("inf"), float("nan"),
          np.float64(2.5e-7), np.float32(0.1), True, False, np.bool_(True), None, "", "a,b", 'q"uote', "x\ny"]


@pytest.mark.parametrize("seed", range(40))
def test_rows_csv_equals_pandas(tmp_path, seed):
    """Random tables mixing ints, floats, bools, text and missing values: same bytes as pandas."""
    rng = random.Random(seed)
    n_cols, n_rows = rng.randint(1, 6), rng.randint(0, 6)
    pools = [rng.sample(VALUES, rng.randint(1, 4)) for _ in range(n_cols)]
    records = []
    for _ in range(n_rows):
        rec = {}
        for c in range(n_cols):
            if rng.random() < 0.85:            # some rows lack some keys (pandas: NaN)
                rec[f"c{c}"] = rng.choice(pools[c])
        records.append(rec)
    columns = [f"c{c}" for c in range(n_cols)] if rng.random() < 0.5 or not records else None
    Rows(records, columns).to_csv(tmp_path / "ours.csv")
    assert (tmp_path / "ours.csv").read_bytes() == _csv_by_pandas(records, columns, tmp_path / "pd.csv")


def test_rows_csv_edge_cases(tmp_path):
    cases = [([], None), ([], ["a", "b"]), ([{"a": None}, {"a": None}], None), ([{"a": 1}, {"b": 2.0}], None),
             ([{"a": math.nan}], None), ([{"a": 2 ** 64}, {"a": 1}], None), ([{"a": 2 ** 64}, {"a": 0.5}], None),
             ([("x", 1), ("y", 2)], ["name", "n"]), ([{"a": [1, 2]}], None)]
    for i, (records, columns) in enumerate(cases):
        Rows(records, columns).to_csv(tmp_path / f"o{i}.csv")
        assert (tmp_path / f"o{i}.csv").read_bytes() == _csv_by_pandas(records, columns, tmp_path / f"p{i}.csv"), \
            (records, columns)


def test_result_tables_are_dataframes_and_saved_as_pandas_would(tmp_path):
    """The engine's result: tables read as DataFrames, files equal to pandas' writing of them."""
    from archsim.engine import simulate
    from archsim.trace.load import load_trace
    result = simulate(load_trace(REPO / "examples/tiny_transformer.yaml"), REPO / "hw_configs/mac_array_example.yaml")
    result.save(tmp_path / "r")
    for name, file in (("ops", "ops.csv"), ("actions", "actions.csv"), ("sources", "sources.csv")):
        frame = getattr(result, name)
        assert isinstance(frame, pd.DataFrame) and len(frame)
        frame.to_csv(tmp_path / f"pd_{file}", index=False)
        assert (tmp_path / "r" / file).read_bytes() == (tmp_path / f"pd_{file}").read_bytes(), file
    assert not (tmp_path / "r/ops.parquet").exists()


def test_batch_rows_equal_single_runs(tmp_path, capsys):
    jobs = tmp_path / "jobs.csv"
    hw = REPO / "hw_configs/mac_array_example.yaml"
    jobs.write_text(f"hw,trace,out\n{hw},{REPO}/examples/tiny_snn.yaml,b1\n{hw},{REPO}/examples/tiny_transformer.yaml,b2\n")
    assert main(["simulate", "--batch", str(jobs), "--quiet", "--set", "params.rows=8"]) == 0
    for name, trace in (("b1", "tiny_snn"), ("b2", "tiny_transformer")):
        assert main(["simulate", "--hw", str(hw), "--trace", f"{REPO}/examples/{trace}.yaml", "-o",
                     str(tmp_path / f"single_{name}"), "--quiet", "--set", "params.rows=8"]) == 0
        for f in ("summary.json", "ops.csv", "actions.csv", "sources.csv", "counts.json"):
            assert (tmp_path / name / f).read_bytes() == (tmp_path / f"single_{name}" / f).read_bytes(), (name, f)
    assert json.loads((tmp_path / "b1/summary.json").read_text())["trace"] == "tiny-snn"


def test_batch_bad_rows_are_named(tmp_path, capsys):
    hw = REPO / "hw_configs/mac_array_example.yaml"
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("hardware,trace,out\n")
    assert main(["simulate", "--batch", str(bad_header)]) == 2
    assert f"{bad_header}:1: the header must be 'hw,trace,out'" in capsys.readouterr().err
    short = tmp_path / "s.csv"
    short.write_text(f"hw,trace,out\n{hw},x\n")
    assert main(["simulate", "--batch", str(short)]) == 2
    assert f"{short}:2: expected 3 values" in capsys.readouterr().err
    dup = tmp_path / "d.csv"
    dup.write_text(f"hw,trace,out\n{hw},{REPO}/examples/tiny_snn.yaml,o\n{hw},{REPO}/examples/tiny_snn.yaml,o\n")
    assert main(["simulate", "--batch", str(dup)]) == 2
    assert f"{dup}:3: out 'o' is also the out of line 2" in capsys.readouterr().err
    # a row that fails is named; the other rows are written, the exit status says one failed
    mixed = tmp_path / "m.csv"
    mixed.write_text(f"hw,trace,out\n{hw},{REPO}/examples/missing.yaml,m1\n{hw},{REPO}/examples/tiny_snn.yaml,m2\n")
    assert main(["simulate", "--batch", str(mixed), "--quiet"]) == 2
    assert f"{mixed}:2: " in capsys.readouterr().err
    assert (tmp_path / "m2/summary.json").is_file() and not (tmp_path / "m1").exists()
    assert main(["simulate", "--batch", str(mixed), "--hw", str(hw)]) == 2
    assert "drop --hw" in capsys.readouterr().err
    assert main(["simulate", "--hw", str(hw)]) == 2
    assert "missing --trace, -o" in capsys.readouterr().err


def test_parquet_on_request(tmp_path):
    pytest.importorskip("pyarrow")
    assert main(["simulate", "--hw", str(REPO / "hw_configs/mac_array_example.yaml"), "--trace",
                 str(REPO / "examples/tiny_snn.yaml"), "-o", str(tmp_path / "p"), "--quiet", "--parquet"]) == 0
    back = pd.read_parquet(tmp_path / "p/ops.parquet")
    assert list(back["op_id"]) == list(pd.read_csv(tmp_path / "p/ops.csv")["op_id"])


def test_same_yaml_in_two_folders_names_its_own_file(tmp_path):
    """A batch reuses the parsed data of a file whose bytes it has seen (imported designs each hold
    a copy of the same energy table): the lines still name the file read, not the first copy."""
    from archsim.config.yaml_loader import load_yaml_unresolved
    text = "name: t\ncomponents:\n  a:\n    actions: {read: {energy_pj: 1.0, source: assumed}}\n"
    docs = []
    for d in ("one", "two"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "table.yaml").write_text(text)
        docs.append(load_yaml_unresolved(tmp_path / d / "table.yaml"))
    assert docs[0].data == docs[1].data
    first = docs[0].locate(("components", "a"))
    assert first.startswith(f"{tmp_path / 'one' / 'table.yaml'}:")
    assert docs[1].locate(("components", "a")) == first.replace("one", "two")
    docs[1].data["name"] = "changed"                     # a copy: the next load is unaffected
    (tmp_path / "three").mkdir()
    (tmp_path / "three" / "table.yaml").write_text(text)
    assert load_yaml_unresolved(tmp_path / "three" / "table.yaml").data["name"] == "t"
