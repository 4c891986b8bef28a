"""The frontends have one command: README, docs, setup.sh, recipes and the code's own docstrings
show ``archsim-workloads SUBCOMMAND``, never ``python -m workloads.X`` (compared against: the
files themselves)."""
from __future__ import annotations

import re
from pathlib import Path

PATTERN = re.compile(r"python[\d.]* -m workloads\b")


def offenders(repo: Path) -> list[str]:
    files = [repo / "README.md", repo / "setup.sh", *(repo / "docs").rglob("*.md"),
             *(repo / "reports").glob("*.yaml"), *(repo / "workloads").rglob("*.py"), *(repo / "tests").rglob("*.py")]
    out = []
    for path in files:
        if path.name == Path(__file__).name:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if PATTERN.search(line):
                out.append(f"{path.relative_to(repo)}:{n}: {line.strip()}")
    return out


def test_no_python_m_workloads_commands(repo):
    found = offenders(repo)
    assert not found, "use `archsim-workloads SUBCOMMAND` (workloads/cli.py):\n" + "\n".join(found)


def test_the_check_sees_one(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("run `.venv/bin/python -m workloads.papers.stableq.study run`\n")
    (tmp_path / "setup.sh").write_text("archsim-workloads quant -o x\n")
    assert offenders(tmp_path) == ["README.md:1: run `.venv/bin/python -m workloads.papers.stableq.study run`"]
