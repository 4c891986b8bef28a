"""Every training loop that goes through the one trainer (workloads/training.py) ends in the same
weights, bit for bit, as its own loop did before the loops were merged: tiny runs of each caller
against ``tests/goldens/trainer.json`` (written by the old loops; see make_trainer_goldens.py).
On another CPU kind or torch version the SHA-256 cannot be expected to match (other kernels
round differently); there the per-tensor sums (and masks) must agree to 1e-4 relative, which a changed
batch order, optimiser or schedule breaks by far more."""
import importlib
import json
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
GOLDENS = Path(__file__).resolve().parents[1] / "goldens"


def _maker():
    sys.path.insert(0, str(GOLDENS))
    try:
        return importlib.import_module("make_trainer_goldens")
    finally:
        sys.path.remove(str(GOLDENS))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    mk = _maker()
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("trainer")
    mp.setenv("ARCHSIM_CHECKPOINT_DIR", str(tmp / "checkpoints"))
    mp.setenv("ARCHSIM_RESULTS_DIR", str(tmp / "results"))
    try:
        yield mk.run_cases(), json.loads((GOLDENS / "trainer.json").read_text()), mk.fingerprint()
    finally:
        mp.undo()


CASES = ["registry", "registry_strong", "small_vit", "stableq", "pcl_rotation", "pcl_supervised", "pcl_continual"]


@pytest.mark.parametrize("case", CASES)
def test_trainer_reproduces_the_old_loops(runs, case):
    now, golden, machine = runs
    new, old = now[case], golden["cases"][case]
    same_machine = machine == golden["machine"]
    if same_machine:
        assert new["metrics"] == old["metrics"], f"{case}: training metrics moved"
    if "sha256" in old:
        if same_machine:
            assert new["sha256"] == old["sha256"], f"{case}: trained weights differ from the old loop's"
        assert new["sums"].keys() == old["sums"].keys()
        for name, (s, a) in old["sums"].items():
            assert math.isclose(new["sums"][name][0], s, rel_tol=1e-4, abs_tol=1e-4 * a), f"{case}: {name}"
            assert math.isclose(new["sums"][name][1], a, rel_tol=1e-4), f"{case}: {name}"
    if "masks" in old:
        assert new["masks"] == old["masks"]
    if "sha256_at_evaluations" in old and same_machine:
        assert new["sha256_at_evaluations"] == old["sha256_at_evaluations"]
