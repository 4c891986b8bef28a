"""Simulation results: per-operation rows, the summary figures, the action counts and the
sources of every price used.

Definitions (also in docs/results.md):

* ``latency_s`` = total cycles / clock
* ``energy_j`` = dynamic energy (action counts x table) + static energy (static power x latency)
* ``macs`` = dense multiply-accumulates of all GEMM ops, times their timesteps
* ``ops`` = 2 x ``macs`` (dense-equivalent operations, the usual TOPS convention)
* ``tops`` = ops / latency_s / 1e12; ``tops_per_w`` = ops / energy_j / 1e12;
  ``tops_per_mm2`` = tops / area_mm2; ``edap_j_s_mm2`` = energy_j x latency_s x area_mm2
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence, Union

from archsim.errors import ArchsimError, PriceError
from archsim.fileio import atomic_dir
from archsim.rows import Rows

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_FILE = "summary.json"
OPS_FILE = "ops.csv"
ACTIONS_FILE = "actions.csv"
SOURCES_FILE = "sources.csv"
COUNTS_FILE = "counts.json"

# per-op columns in this order; the priced, traffic and model columns follow, sorted
OP_LEAD = ["op_id", "kind", "timesteps", "cycles", "latency_s", "macs", "macs_effectual", "utilization",
           "energy_pj"]


def op_column_order(columns: Sequence[str]) -> list[str]:
    """The per-op table's columns in one order whatever order the models filled them in."""
    lead = [c for c in OP_LEAD if c in columns]
    return lead + sorted(c for c in columns if c not in lead)


def order_op_columns(ops: "pd.DataFrame") -> "pd.DataFrame":
    """``ops`` with its columns in :func:`op_column_order`."""
    return ops[op_column_order(list(ops.columns))]


COUNTS_VERSION = 1   # of counts.json


@dataclass
class Counts:
    """Everything pricing needs from a simulation; saved with a result as ``counts.json``."""

    architecture: str
    clock_mhz: float
    cycles: float                                   # latency of the whole run, clock cycles
    actions: dict[str, dict[str, float]]            # component -> action -> count, whole run
    instances: dict[str, float]                     # component -> instances (area, static power)
    busy_cycles: float = 0.0                        # sum of the ops' cycles (static energy per op)
    count_key: str = ""                             # archsim.energy.price.count_key of the design

    @property
    def latency_s(self) -> float:
        return self.cycles / (self.clock_mhz * 1e6)

    def to_json(self) -> dict[str, Any]:
        return {"version": COUNTS_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "counts.json") -> "Counts":
        data = dict(data)
        version = data.pop("version", None)
        if version != COUNTS_VERSION:
            raise PriceError(f"{where}: counts version {version!r}, this archsim reads {COUNTS_VERSION}; "
                             "simulate again")
        try:
            return cls(**data)
        except TypeError as exc:
            raise PriceError(f"{where}: not a counts file ({exc})") from None


def derive(summary: dict[str, Any]) -> dict[str, Any]:
    """Add the derived figures to a summary holding cycles, clock_mhz, energy_j, area_mm2, macs."""
    latency = summary["cycles"] / (summary["clock_mhz"] * 1e6)
    energy, area = summary["energy_j"], summary["area_mm2"]
    ops = 2.0 * summary["macs"]
    summary.update(
        latency_s=latency,
        ops=ops,
        power_w=energy / latency if latency > 0 else 0.0,
        edap_j_s_mm2=energy * latency * area,
        tops=ops / latency / 1e12 if latency > 0 else 0.0,
        tops_per_w=ops / energy / 1e12 if energy > 0 else 0.0,
    )
    summary["tops_per_mm2"] = summary["tops"] / area if area > 0 else 0.0
    return summary


Table = Union["pd.DataFrame", Rows]


class Result:
    """One simulation: ``summary`` (figures, see the module docstring), ``ops`` (one row per
    op), ``actions`` (op, component, action, count), ``sources`` (every price used, with its
    source) and ``counts`` (what :func:`archsim.price` needs to re-price it).

    The three tables are pandas DataFrames when read; the engine hands them over as
    :class:`archsim.rows.Rows`, turned into DataFrames on first access, so that simulating and
    saving a result does not import pandas (start-up of the ``archsim`` command)."""

    def __init__(self, summary: dict[str, Any], ops: Table, actions: Table, sources: Table,
                 counts: Counts | None = None):
        self.summary = summary
        self._tables: dict[str, Table] = {"ops": ops, "actions": actions, "sources": sources}
        self.counts = counts

    def _frame(self, name: str) -> "pd.DataFrame":
        table = self._tables[name]
        if isinstance(table, Rows):
            table = self._tables[name] = table.to_frame()
        return table

    ops = property(lambda self: self._frame("ops"), lambda self, v: self._tables.__setitem__("ops", v))
    actions = property(lambda self: self._frame("actions"), lambda self, v: self._tables.__setitem__("actions", v))
    sources = property(lambda self: self._frame("sources"), lambda self, v: self._tables.__setitem__("sources", v))

    def __repr__(self) -> str:
        return f"Result(summary={self.summary!r}, counts={self.counts!r})"

    def __getitem__(self, key: str) -> Any:
        return self.summary[key]

    def save(self, out_dir: str | Path, parquet: bool = False) -> Path:
        """Write ``summary.json``, ``counts.json``, ``ops.csv``, ``actions.csv``, ``sources.csv``
        (and ``ops.parquet`` with ``parquet=True``; it needs pyarrow) into ``out_dir`` atomically:
        the files appear together or not at all. JSON keys are sorted, so equal results give
        equal bytes."""
        out_dir = Path(out_dir)
        if parquet and not _have_pyarrow():
            raise ArchsimError(f"{out_dir}: ops.parquet asked for, but pyarrow is not installed "
                               "(pip install pyarrow, or leave parquet off: ops.csv holds the same table)")
        with atomic_dir(out_dir) as tmp:
            (tmp / SUMMARY_FILE).write_text(json.dumps(self.summary, indent=2, sort_keys=True, default=float))
            if self.counts is not None:
                (tmp / COUNTS_FILE).write_text(json.dumps(self.counts.to_json(), indent=1, sort_keys=True))
            for name, file in (("ops", OPS_FILE), ("actions", ACTIONS_FILE), ("sources", SOURCES_FILE)):
                self._tables[name].to_csv(tmp / file, **({} if isinstance(self._tables[name], Rows) else {"index": False}))
            if parquet:
                _parquet_safe(self.ops).to_parquet(tmp / "ops.parquet", index=False)
        return out_dir

    @classmethod
    def load(cls, out_dir: str | Path) -> "Result":
        import pandas as pd

        out_dir = Path(out_dir)
        try:
            summary = json.loads((out_dir / SUMMARY_FILE).read_text())
            ops = pd.read_csv(out_dir / OPS_FILE)
            actions = pd.read_csv(out_dir / ACTIONS_FILE)
            sources = pd.read_csv(out_dir / SOURCES_FILE)
            counts = None
            if (out_dir / COUNTS_FILE).exists():
                counts = Counts.from_json(json.loads((out_dir / COUNTS_FILE).read_text()), str(out_dir / COUNTS_FILE))
        except FileNotFoundError as exc:
            raise ArchsimError(f"{out_dir}: not a result directory (missing {Path(exc.filename).name})") from None
        except (json.JSONDecodeError, pd.errors.ParserError) as exc:
            raise ArchsimError(f"{out_dir}: corrupt result files ({exc})") from None
        return cls(summary=summary, ops=ops, actions=actions, sources=sources, counts=counts)


def _have_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _parquet_safe(df: "pd.DataFrame") -> "pd.DataFrame":
    """Parquet columns hold one type: a tag column whose values mix types across ops (a tag
    ``stage`` of 1, 2 and "head") is written as text."""
    mixed = [c for c in df.columns if df[c].dtype == object
             and len({type(v) for v in df[c] if v is not None and v == v}) > 1]
    return df.astype({c: str for c in mixed}) if mixed else df
