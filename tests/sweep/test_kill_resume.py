"""Kill a sweep half-way (Ctrl-C, then SIGKILL), rerun the same command, and get exactly the
table of an uninterrupted run: nothing lost, nothing duplicated, nothing recomputed, no process
left behind.

The design points are slowed by a test-only model (tests/sweep/support.py) that sleeps per point
when $ARCHSIM_TEST_SWEEP_DELAY_S is set, and each interruption happens once the store's log
holds a given number of rows, so the test does not depend on timing."""
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd

from archsim.sweep.runner import run_sweep
from archsim.sweep.store import LOG_FILE, MANIFEST_FILE, load_table, read_manifest
from tests.sweep.support import DELAY_ENV, REPO, TEST_MODEL, register, write_slow_hardware, write_spec

N_POINTS = 40
RUNNER = ("import sys; import archsim.arch.registry as r; r.BUILTIN[%r] = %r; "
          "from archsim.cli import main; sys.exit(main(sys.argv[1:]))" % TEST_MODEL)


def live_in_group(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that are still running (zombies excluded)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(d))
    return pids


def wait_for(cond, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def log_rows(out) -> int:
    path = out / LOG_FILE
    return path.read_bytes().count(b"\n") if path.exists() else 0


def start(spec, out, delay: float) -> subprocess.Popen:
    env = dict(os.environ, **{DELAY_ENV: str(delay)})
    return subprocess.Popen([sys.executable, "-c", RUNNER, "sweep", str(spec), "-o", str(out), "--jobs", "2",
                             "--batch", "1", "--quiet"], cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_and_resume_gives_the_uninterrupted_table(monkeypatch, tmp_path):
    hw = write_slow_hardware(tmp_path / "hw.yaml")
    spec = write_spec(tmp_path / "spec.yaml", hw, REPO / "examples/tiny_snn.yaml",
                      f"  grid: {{params.rows: {{range: [1, {N_POINTS}], step: 1}}}}", name="killme")
    out = tmp_path / "out"
    procs = []
    try:
        # 1. Ctrl-C (SIGINT to the whole process group, as a terminal sends it) after >= 6 rows
        p = start(spec, out, delay=0.1)
        procs.append(p)
        wait_for(lambda: log_rows(out) >= 6, 60, "6 rows in the log")
        os.killpg(p.pid, signal.SIGINT)
        stdout, stderr = p.communicate(timeout=30)
        assert p.returncode == 130, stderr
        assert "interrupted after" in stdout and "rerun the same command" in stdout
        wait_for(lambda: not live_in_group(p.pid), 10, "the workers to exit after Ctrl-C")
        n1 = log_rows(out)
        assert 6 <= n1 < N_POINTS
        table = load_table(out)                  # written on the way out, complete and readable
        assert len(table) == n1 and table["row_id"].is_unique

        # 2. SIGKILL of the sweep process alone after >= n1 + 6 rows: its workers notice and exit
        p = start(spec, out, delay=0.1)
        procs.append(p)
        wait_for(lambda: log_rows(out) >= n1 + 6, 60, f"{n1 + 6} rows in the log")
        assert [r["status"] for r in read_manifest(out)["runs"]] == ["interrupted", "running"]   # live
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=30)
        assert p.returncode == -signal.SIGKILL
        wait_for(lambda: not live_in_group(p.pid), 10, "the orphaned workers to exit")
        on_disk = json.loads((out / MANIFEST_FILE).read_text())["runs"]
        assert on_disk[-1]["status"] == "running"                    # what the killed process left
        assert read_manifest(out)["runs"][-1]["status"] == "interrupted"   # nobody holds the lock
        n2 = log_rows(out)
        assert n1 + 6 <= n2 < N_POINTS
        load_table(out)                          # the table (older) is still a valid file

        # 3. the same command again finishes the sweep, computing only what is missing
        p = start(spec, out, delay=0.0)
        procs.append(p)
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        assert f"{N_POINTS - n2} runs computed, {n2} already done" in stdout
    finally:
        for p in procs:
            for pid in live_in_group(p.pid):
                os.kill(pid, signal.SIGKILL)

    resumed = load_table(out)
    statuses = [r["status"] for r in json.loads((out / MANIFEST_FILE).read_text())["runs"]]
    assert statuses == ["interrupted", "interrupted", "complete"]   # the killed run settled on reopen
    assert log_rows(out) == N_POINTS               # each run written exactly once
    assert resumed["row_id"].is_unique and resumed["run_id"].nunique() == 3
    assert (resumed["status"] == "ok").all()

    register(monkeypatch)                          # an uninterrupted run, here, for reference
    run_sweep(spec, tmp_path / "reference", jobs=1)
    reference = load_table(tmp_path / "reference")
    volatile = ["run_id", "elapsed_s", "worker"]
    pd.testing.assert_frame_equal(resumed.drop(columns=volatile), reference.drop(columns=volatile))
