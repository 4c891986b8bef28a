"""Issue 18's bad inputs as a table: each gives exit 2 and one line on stderr naming the file or
option and the key, no traceback, within the CPU and memory bounds of tests/hardening/harness.py,
and touches nothing outside the output folder (files listed in ``keep`` keep their content)."""
import pytest

from tests.hardening.cases import CASES, make_sandbox
from tests.hardening.harness import assert_clean_failure, run_cli


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_fails_cleanly(case, tmp_path):
    box = make_sandbox(tmp_path / "box")
    case.setup(box)
    kept = {name: (box / name).read_text() for name in case.keep}
    assert kept == case.keep
    outcome = run_cli(case.args, box, out_dirs=(), env=case.env, watch_repo=False)
    assert_clean_failure(outcome, case.needles)
    assert "root:x:" not in outcome.stderr and "secret-value" not in outcome.stderr   # contents never printed


def test_a_good_run_writes_only_its_output_folder(tmp_path):
    """The control: the same sandbox simulates fine, and a rerun replaces its own result."""
    box = make_sandbox(tmp_path / "box")
    for _ in range(2):
        o = run_cli(["simulate", "--hw", "hw.yaml", "--trace", "layers.yaml", "-o", "out", "--quiet"], box)
        assert o.code == 0 and not o.stderr.strip() and not o.touched, o.describe()
    assert (box / "out/summary.json").is_file() and (box / "out/.archsim-output").is_file()
