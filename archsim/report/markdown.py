"""A Markdown page of recipe results: a summary row per run and paper-vs-archsim checks."""
from __future__ import annotations

from typing import Any

COLUMNS = [("latency_s", 1e3, "latency (ms)"), ("energy_j", 1e6, "energy (uJ)"), ("area_mm2", 1, "area (mm2)"),
           ("tops_per_w", 1, "TOPS/W"), ("tops_per_mm2", 1, "TOPS/mm2"), ("edap_j_s_mm2", 1, "EDAP (J*s*mm2)")]


def _fmt(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, (int, float)) else str(x)


def recipe_markdown(outcome: dict[str, Any]) -> str:
    recipe = outcome["recipe"]
    lines = [f"## {recipe.title or recipe.name}", ""]
    if recipe.description:
        lines += [recipe.description.strip(), ""]
    lines.append("| run | trace | hardware | " + " | ".join(c[2] for c in COLUMNS) + " |")
    lines.append("|---" * (3 + len(COLUMNS)) + "|")
    for name, s in outcome["summaries"].items():
        vals = " | ".join(_fmt(s[key] * scale) for key, scale, _ in COLUMNS)
        lines.append(f"| {name} | {s['trace']} | {s['hardware']} | {vals} |")
    if outcome["checks"]:
        lines += ["", "| check | metric | runs | published | archsim | archsim / published | within tolerance | source |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in outcome["checks"]:
            mark = "yes" if c["pass"] else f"**no** (tolerance {c['tolerance']:.0%})"
            lines.append(f"| {c['check']} | {c['metric']} | {c['runs']} | {_fmt(c['published'])} | {_fmt(c['archsim'])} "
                         f"| {_fmt(c['ratio_to_published'])} | {mark} | {c['source']} |")
    return "\n".join(lines) + "\n"
