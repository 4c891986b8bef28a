"""Run the `archsim` command as an adversarial user would: in a subprocess, in a sandbox folder,
under resource limits; report the exit code, stderr, CPU time, peak memory and every file
touched outside the output folder."""
from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CPU_LIMIT_S = 5.0              # CPU seconds a bad input may cost (the bound)
MEMORY_LIMIT_BYTES = 500 << 20  # heap (RLIMIT_DATA) and peak resident memory
WALL_LIMIT_S = 120.0           # a hang on a machine shared by many processes


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    cpu_s: float
    max_rss_bytes: int
    touched: list[str]          # files created, changed or removed outside the output folder

    @property
    def lines(self) -> list[str]:
        return [l for l in self.stderr.splitlines() if l.strip()]

    def describe(self) -> str:
        return (f"exit {self.code}, cpu {self.cpu_s:.2f} s, rss {self.max_rss_bytes >> 20} MiB, "
                f"touched {self.touched}\nstderr: {self.stderr[-1500:]}")


def snapshot(root: Path, skip: set[Path]) -> dict[str, str]:
    """Path -> digest of every file under ``root`` except under the ``skip`` folders."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        dirnames[:] = [n for n in dirnames if d / n not in skip and n not in ("__pycache__", ".hypothesis")]
        for n in filenames:
            p = d / n
            try:
                st = p.lstat()
                h = hashlib.sha256(p.read_bytes()).hexdigest() if st.st_size < (16 << 20) else str(st.st_size)
            except OSError:
                h = "unreadable"
            out[str(p.relative_to(root))] = h
    return out


# the command, writing its own peak resident memory at exit (RUSAGE_CHILDREN would give the
# largest of every child this test process ever waited for)
WRAPPER = """
import atexit, resource, sys
stat = sys.argv.pop(1)
def _write():
    with open(stat, "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
atexit.register(_write)
sys.argv[0] = "archsim"
from archsim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _limits():
    resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    cpu = int(CPU_LIMIT_S * 4)          # the kill switch; the bound itself is checked on the measurement
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 30, 1 << 30))


def run_cli(args: list[str], sandbox: Path, out_dirs: tuple[str, ...] = ("out",), env: dict | None = None,
            watch_repo: bool = False) -> Outcome:
    """Run ``archsim ARGS`` with ``sandbox`` as the current folder. Files outside
    ``sandbox/<out_dirs>`` (and, with ``watch_repo``, the repository's configs and examples)
    must stay as they were."""
    skip = {sandbox / o for o in out_dirs}
    before = snapshot(sandbox, skip)
    watched = [REPO / "hw_configs", REPO / "examples"] if watch_repo else []
    repo_before = [snapshot(w, set()) for w in watched]
    environ = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(str(sandbox)), "numba-cache"))
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    stat = sandbox.parent / f".maxrss-{sandbox.name}"
    stat.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, str(stat), *args], cwd=sandbox, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_limits)
    try:
        stdout, stderr = proc.communicate(timeout=WALL_LIMIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        stderr += f"\n[harness: killed after {time.monotonic() - t0:.0f} s of wall time]"
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    after = snapshot(sandbox, skip)
    touched = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    for w, b in zip(watched, repo_before):
        a = snapshot(w, set())
        touched += sorted(f"{w}/{k}" for k in set(a) | set(b) if a.get(k) != b.get(k))
    try:
        rss = int(stat.read_text()) * 1024
    except (OSError, ValueError):
        rss = 0 if proc.returncode in (0, 1, 2) else MEMORY_LIMIT_BYTES + 1   # killed: unknown
    return Outcome(code=proc.returncode, stdout=stdout, stderr=stderr, cpu_s=cpu,
                   max_rss_bytes=rss, touched=touched)


def assert_clean_failure(o: Outcome, needles: tuple[str, ...] = ()) -> None:
    """Exit 2, one ``archsim: error:`` line naming what ``needles`` say, no traceback, within the
    CPU and memory bounds, nothing touched outside the output folder."""
    assert o.code == 2, o.describe()
    assert len(o.lines) == 1 and o.lines[0].startswith("archsim: error: "), o.describe()
    assert "Traceback" not in o.stderr, o.describe()
    for n in needles:
        assert n in o.lines[0], f"{n!r} not in the error line\n{o.describe()}"
    assert_bounded(o)


def assert_bounded(o: Outcome) -> None:
    assert o.cpu_s <= CPU_LIMIT_S, o.describe()
    assert o.max_rss_bytes <= MEMORY_LIMIT_BYTES, o.describe()
    assert not o.touched, o.describe()
