"""One command for the frontends: every ``main(argv)`` in workloads/ is an ``archsim-workloads``
subcommand that gets exactly the arguments after its name (compared against: the source tree's
own entry points, found by reading it, and the arguments given)."""
import ast
import importlib
import re

import pytest

pytest.importorskip("torch")

from workloads import cli  # noqa: E402


def entry_point_modules(repo) -> set[str]:
    """Modules of workloads/ with a top-level ``def main`` (an entry point)."""
    found = set()
    for path in (repo / "workloads").rglob("*.py"):
        tree = ast.parse(path.read_text())
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            found.add(".".join(path.relative_to(repo).with_suffix("").parts))
    return found


def test_every_entry_point_is_a_subcommand(repo):
    modules = {module for module, _ in cli.DELEGATED.values()}
    assert entry_point_modules(repo) == modules | {"workloads.cli"}


@pytest.mark.parametrize("name", sorted(cli.DELEGATED))
def test_subcommand_hands_over_its_arguments(name, monkeypatch):
    module = importlib.import_module(cli.DELEGATED[name][0])
    seen = []
    monkeypatch.setattr(module, "main", lambda argv: seen.append(argv) or 3)
    assert cli.main([name, "-o", "x y", "--only", "a"]) == 3
    assert seen == [["-o", "x y", "--only", "a"]]


@pytest.mark.parametrize("name", sorted(cli.DELEGATED))
def test_subcommand_help_names_the_one_command(name, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([name, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: archsim-workloads {name} ")


def test_top_level_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    listed = set(re.findall(r"^ {4}([\w-]+)", out, re.MULTILINE))
    assert set(cli.DELEGATED) <= listed and {"train", "export", "trace"} <= listed


def test_a_subcommand_error_is_one_line(monkeypatch, capsys):
    module = importlib.import_module(cli.DELEGATED["pcl"][0])

    def bad(argv):
        raise ValueError("pcl: no such mode 'x'")
    monkeypatch.setattr(module, "main", bad)
    assert cli.main(["pcl"]) == 2
    assert capsys.readouterr().err == "archsim-workloads: error: pcl: no such mode 'x'\n"


def test_pcl_subcommand_prints_every_run(monkeypatch, capsys):
    from workloads.papers.pcl import study as pcl

    runs = [{"mode": m, "qr_weight": q, "final_accuracy": 0.5, "average_forgetting": 0.1, "train_time_s": 1.0}
            for m, q in pcl.MODES]
    monkeypatch.setattr(pcl, "measure", lambda refresh, progress: {"pretrain_train_accuracy": 0.9, "runs": runs})
    assert cli.main(["pcl", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + len(pcl.MODES) and lines[1].startswith("one_stage")
