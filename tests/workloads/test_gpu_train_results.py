"""tools/gpu_train.py's ``results`` step: only the entries the repository's results/ lacks are
computed, into OUT/results/ (a copy of results/ plus the new files), packed into OUT/results.tar."""
import importlib.util
import json
import tarfile
from pathlib import Path

import torch

from workloads import committed_results, result_cache

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("gpu_train", ROOT / "tools" / "gpu_train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_results_step_computes_only_the_missing_entries(tmp_path, monkeypatch):
    gt = _tool()
    monkeypatch.setenv("ARCHSIM_RESULTS_DIR", str(tmp_path / "local"))
    computed = []

    def entry(label, cfg):
        def run(refresh):
            computed.append(label)
            result_cache.cached("toy", cfg, lambda: {"label": label}, refresh=refresh)
        return committed_results.Entry(label, result_cache.file_name("toy", cfg), run)
    have, lack = entry("have", {"a": 1}), entry("lack", {"a": 2})
    repo = tmp_path / "repo_results"
    repo.mkdir()
    (repo / have.file).write_text(json.dumps({"result": {}}))
    monkeypatch.setattr(committed_results, "main_job", lambda: [have, lack])
    monkeypatch.setenv("ARCHSIM_COMMITTED_RESULTS_DIR", str(repo))
    run = gt.Run(tmp_path / "out", 600.0, torch.device("cpu"), smoke=True)
    gt.results(run)
    assert computed == ["lack"]
    assert sorted(p.name for p in (tmp_path / "out" / "results").iterdir()) == sorted([have.file, lack.file])
    with tarfile.open(tmp_path / "out" / "results.tar") as tar:
        assert f"results/{lack.file}" in tar.getnames()
    assert run.log["models"]["lack"]["file"] == lack.file
