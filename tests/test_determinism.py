"""Every output file is byte-identical across runs and across ``PYTHONHASHSEED`` values: two
subprocesses with different hash seeds simulate a LoAS (cycle-level, Numba) and an imc example
and re-price one result, and every file they write is compared byte for byte (compared
against: the other run, an invariant)."""
from __future__ import annotations

import os
import subprocess
import sys

CASES = {   # output folder -> archsim arguments
    "loas": ["simulate", "--hw", "hw_configs/loas.yaml", "--trace", "examples/loas_paper/alexnet.trace"],
    "imc": ["simulate", "--hw", "hw_configs/clipformer_rram_32nm.yaml", "--trace", "examples/tiny_transformer.yaml"],
}


def _run_all(repo, out, hashseed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(repo)}
    script = ["import sys", "from archsim.cli import main"]
    for name, argv in CASES.items():
        script.append(f"assert main({argv + ['-o', str(out / name), '--quiet']!r}) == 0")
    script.append(f"assert main({['price', str(out / 'imc'), '--hw', 'hw_configs/clipformer_rram_32nm.yaml', '-o', str(out / 'imc-priced'), '--quiet']!r}) == 0")
    subprocess.run([sys.executable, "-c", "\n".join(script)], cwd=repo, env=env, check=True, timeout=600)


def test_outputs_identical_across_hash_seeds(repo, tmp_path):
    _run_all(repo, tmp_path / "a", "1")
    _run_all(repo, tmp_path / "b", "2024")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert {f.parts[0] for f in files} == {*CASES, "imc-priced"}
    assert len(files) >= 15
    other = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files == other
    differ = [str(f) for f in files if (tmp_path / "a" / f).read_bytes() != (tmp_path / "b" / f).read_bytes()]
    assert not differ, f"files differ between PYTHONHASHSEED=1 and 2024: {differ}"
