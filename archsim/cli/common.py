"""Helpers shared by the subcommands."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from archsim.errors import ArchsimError


def load_any_trace(path: str | Path):
    """A trace file, or a YAML layer list or SCALE-Sim topology CSV converted on the fly
    (:func:`archsim.trace.load.load_trace`)."""
    from archsim.trace.load import load_trace
    return load_trace(path)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``--set key.path=value`` -> {key.path: value}; values are parsed as YAML scalars."""
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ArchsimError(f"--set {item!r}: expected KEY.PATH=VALUE")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ArchsimError(f"--set {key.strip()}: the value {value[:60]!r} is not valid YAML ({problem})") from None
    return out


def say_wrote(path, detail: str = "") -> None:
    """What a command wrote, one line on stdout: ``wrote PATH (DETAIL)``. Every command that
    writes files says so (the shape-workload scripts call this too)."""
    print(f"wrote {path}" + (f" ({detail})" if detail else ""))


def progress_wanted(quiet: bool = False) -> bool:
    """Progress bars only at a terminal: in a log file their refreshes are noise ("0%" lines)."""
    import sys
    return not quiet and sys.stderr.isatty()


def format_summary(summary: dict[str, Any]) -> str:
    """The result's figures in human-scaled units (``71.62 mJ``), aligned however long the
    component names; energies of a table marked ``units: relative`` without SI units."""
    from archsim.report.pages import RELATIVE_SCALE, RELATIVE_UNIT, relative_energy, summary_rows
    from archsim.report.units import scale_for

    relative = relative_energy(summary)
    rows = [(label, value, unit.replace("µ", "u").replace("²", "2").replace("·", "*"))
            for label, value, unit in summary_rows(summary, relative)]
    by = summary.get("energy_j_by_component") or {}
    total = summary["energy_j"] or 1.0
    if relative:
        mult, e_unit = RELATIVE_SCALE, RELATIVE_UNIT
    else:
        mult, e_unit = scale_for(list(by.values()), "J", ascii=True)
    width = max([len(r[0]) for r in rows] + [len(c) + 2 for c in by])
    lines = [f"{summary['trace']} on {summary['hardware']} ({summary['architecture']})"]
    lines += [f"  {name:<{width}}  {value:>12.6g} {unit}" for name, value, unit in rows]
    if by:
        lines.append(f"  energy by component ({e_unit}, % of the total):")
        for comp, e in sorted(by.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {comp:<{width - 2}}  {e * mult:>12.6g}  ({100 * e / total:5.1f} %)")
    return "\n".join(lines)
