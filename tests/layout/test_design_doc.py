"""docs/design.md matches the tree: every package, module or file it names in backticks exists
(compared against: the repository itself)."""
from __future__ import annotations

import re

ROOTS = ("archsim/", "workloads/", "tests/", "benchmarks/", "hw_configs/", "reports/", "docs/", "tools/", "examples/")


def named_paths(text: str) -> tuple[list[str], list[str]]:
    """(paths like ``archsim/energy/price.py``, dotted modules like ``archsim.energy.price``),
    with ``a.py, b.py`` lists in a table cell read relative to the first path's folder."""
    paths, dotted = [], []
    for row in text.splitlines():
        spans = re.findall(r"`([^`]+)`", row)
        folder = None
        for span in spans:
            if "<" in span or " " in span or "*" in span:
                continue
            if span.startswith(ROOTS):
                paths.append(span)
                folder = span if span.endswith("/") else span.rsplit("/", 1)[0] + "/"
            elif folder and re.fullmatch(r"[\w/]+\.py|[\w]+/", span):
                paths.append(folder + span)          # `a.py`, `b.py` beside a named path
            elif re.fullmatch(r"archsim(\.\w+)+", span) and f"`{span}` entry point" not in row:
                dotted.append(span)
    return paths, dotted


def test_every_named_path_exists(repo):
    paths, dotted = named_paths((repo / "docs/design.md").read_text())
    assert len(paths) > 40, "the page names the code's modules"
    missing = [p for p in paths if not (repo / p).exists()]
    assert not missing, f"docs/design.md names paths that do not exist: {missing}"
    unresolved = []
    for name in dotted:    # a module, or an attribute of one (archsim.energy.price.count_key)
        parts = name.split(".")
        if not any((repo / "/".join(parts[:n])).with_suffix(".py").is_file()
                   or (repo / "/".join(parts[:n]) / "__init__.py").is_file() for n in range(len(parts), 1, -1)):
            unresolved.append(name)
    assert not unresolved, f"docs/design.md names modules that do not exist: {unresolved}"


def test_the_checker_sees_a_missing_module():
    paths, _ = named_paths("| `archsim/energy/table.py`, `nothere.py` | x |")
    assert paths == ["archsim/energy/table.py", "archsim/energy/nothere.py"]
