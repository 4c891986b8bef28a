"""StableQ's traces are cached with its numbers: a second export (say, after reports/traces was
deleted) copies them instead of re-running the quantisation."""
import pytest

pytest.importorskip("torch")

from archsim.trace.io import load_trace  # noqa: E402
from workloads.papers.stableq import study as stableq  # noqa: E402
from workloads.quant.progressive import ProgressiveConfig  # noqa: E402

TINY = stableq.StableQConfig(
    train=stableq.CnnTrainConfig(train_size=64, test_size=16, epochs=1, batch_size=32, threads=1),
    formats=((4, 4),), calibrations=("real",), methods=("progressive",), calib_images=8,
    progressive=ProgressiveConfig(iters=1, batch_size=8))


def test_second_export_copies_the_cached_traces(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_RESULTS_DIR", str(tmp_path / "data" / "results"))
    monkeypatch.setenv("ARCHSIM_CHECKPOINT_DIR", str(tmp_path / "data" / "checkpoints"))
    first = stableq.export_traces(TINY, tmp_path / "a", progress=False)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["resnet18-fmnist-w4a4-real-progressive.trace", "resnet18-fmnist-w8a8-real-rtn.trace"]

    def no_rerun(*a, **k):
        raise AssertionError("quantisation re-ran although its traces are cached")
    monkeypatch.setattr(stableq, "run", no_rerun)
    second = stableq.export_traces(TINY, tmp_path / "b", progress=False)
    assert second == first
    for name in names:
        a, b = load_trace(tmp_path / "a" / name), load_trace(tmp_path / "b" / name)
        assert a.header.metrics == b.header.metrics and len(a.ops) == len(b.ops)
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
