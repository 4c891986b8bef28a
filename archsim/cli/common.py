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
        out[key.strip()] = yaml.safe_load(value)
    return out


def format_summary(summary: dict[str, Any]) -> str:
    rows = [
        ("latency", summary["latency_s"] * 1e3, "ms"),
        ("energy", summary["energy_j"] * 1e6, "uJ"),
        ("area", summary["area_mm2"], "mm2"),
        ("power", summary["power_w"] * 1e3, "mW"),
        ("cycles", summary["cycles"], ""),
        ("dense ops", summary["ops"] / 1e9, "GOP"),
        ("throughput", summary["tops"], "TOPS"),
        ("efficiency", summary["tops_per_w"], "TOPS/W"),
        ("area efficiency", summary["tops_per_mm2"], "TOPS/mm2"),
        ("EDAP", summary["edap_j_s_mm2"], "J*s*mm2"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{summary['trace']} on {summary['hardware']} ({summary['architecture']})"]
    lines += [f"  {name:<{width}}  {value:14.6g} {unit}" for name, value, unit in rows]
    by = summary.get("energy_j_by_component") or {}
    total = summary["energy_j"] or 1.0
    if by:
        lines.append("  energy by component:")
        for comp, e in sorted(by.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {comp:<{width - 2}}  {e * 1e6:14.6g} uJ  ({100 * e / total:5.1f} %)")
    return "\n".join(lines)
