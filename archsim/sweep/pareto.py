"""Pareto fronts of a result table over two or three metrics.

A row is on the front when no other row is at least as good in every metric and strictly
better in one. Metrics are minimised unless named with ``:max`` (e.g. ``tops_per_w:max``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from archsim.errors import ArchsimError


def parse_metrics(specs: list[str], columns) -> list[tuple[str, bool]]:
    """``["energy_j", "tops_per_w:max"]`` -> ``[("energy_j", False), ("tops_per_w", True)]``
    (name, maximise), checked against the table's columns."""
    out = []
    for spec in specs:
        name, _, sense = spec.partition(":")
        if sense not in ("", "min", "max"):
            raise ArchsimError(f"metric '{spec}': write NAME, NAME:min or NAME:max")
        if name not in columns:
            import difflib
            hint = difflib.get_close_matches(name, [str(c) for c in columns], n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ArchsimError(f"metric '{name}' is not a column of the result table{extra}")
        out.append((name, sense == "max"))
    if not 2 <= len(out) <= 3:
        raise ArchsimError(f"a Pareto front takes two or three metrics, got {len(out)}")
    if len({n for n, _ in out}) != len(out):
        raise ArchsimError("give each metric once")
    return out


def pareto_mask_reference(values: np.ndarray) -> np.ndarray:
    """The definition, row against row (O(n^2) memory): True where no row dominates (all
    objectives minimised)."""
    v = np.asarray(values, dtype=float)
    le = (v[:, None, :] <= v[None, :, :]).all(axis=2)   # le[i, j]: row i is at least as good as j
    lt = (v[:, None, :] < v[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)
    return ~dominated


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """True where no other row dominates (all objectives minimised). Sorts by the objectives,
    then checks each candidate only against the front found so far (rows earlier in the order
    cannot be dominated by later ones)."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    order = np.lexsort(v.T[::-1])          # by the first objective, then the second, ...
    front: list[int] = []
    for i in order:
        if front:
            f = v[front]
            if ((f <= v[i]).all(axis=1) & (f < v[i]).any(axis=1)).any():
                continue
        front.append(int(i))
        mask[i] = True
    return mask


def pareto_front(table: pd.DataFrame, metrics: list[str], by: str | None = "trace") -> pd.DataFrame:
    """The rows of ``table`` on the Pareto front of ``metrics`` (failed rows and rows with a
    missing metric are left out), computed separately for each value of column ``by`` (a front
    across different workloads means little); ``by=None`` for one front over all rows."""
    parsed = parse_metrics(metrics, table.columns)
    ok = table
    if "status" in ok.columns:
        ok = ok[ok["status"] == "ok"]
    names = [n for n, _ in parsed]
    ok = ok.dropna(subset=names)
    if by is not None and by not in ok.columns:
        raise ArchsimError(f"column '{by}' (to group the fronts by) is not in the result table")
    groups = [ok] if by is None else [g for _, g in ok.groupby(by, sort=False)]
    parts = []
    for g in groups:
        vals = np.column_stack([-g[n].to_numpy(float) if mx else g[n].to_numpy(float) for n, mx in parsed])
        parts.append(g[pareto_mask(vals)].sort_values(names))
    return pd.concat(parts) if parts else ok.iloc[0:0]
