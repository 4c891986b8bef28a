"""A table kept as a list of row dicts until someone asks for a DataFrame.

A result's per-op, action and source tables are built row by row and, on the command line, only
written to CSV. Importing pandas costs more start-up than simulating a small trace, so
:class:`Rows` writes the CSV itself, byte for byte what ``pandas.DataFrame(records,
columns=columns).to_csv(path, index=False)`` writes (tested against pandas), and builds the
DataFrame only when one is asked for (:meth:`Rows.to_frame`).

How pandas writes a column depends on the dtype it infers from the column's values
(``pandas._libs.lib.maybe_convert_objects``), which :func:`_column_kind` mirrors:

* only ints (no missing value): int64: ``str(int)``;
* only bools (no missing value): bool: ``True`` / ``False``;
* numbers (ints, floats) with at least one float or missing value: float64: ``repr(float)``, a
  missing value empty;
* anything else (text, bools with missing values or numbers, all missing): the values as the
  csv module writes them, a missing value empty.

A table holding values of any other type (dates, decimals, containers) or ints beyond int64 is
handed to pandas itself.
"""
from __future__ import annotations

import csv
import math
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Iterable, Sequence

_MISSING = object()          # a key a row does not have (pandas: NaN)
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _is_null(v) -> bool:
    return v is None or v is _MISSING or (isinstance(v, float) and math.isnan(v))


_EXACT = {int: "int", str: "str", bool: "bool", type(None): "null"}    # the common types, without isinstance


def _kind(v) -> str:
    """'null', 'bool', 'int', 'float', 'str' or 'other' (numpy scalars count as their Python kind)."""
    t = type(v)
    if t is float:
        return "null" if v != v else "float"
    kind = _EXACT.get(t)
    if kind is not None:
        return kind
    if v is _MISSING:
        return "null"
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return "bool"
    if isinstance(v, Integral):
        return "int"
    if isinstance(v, Real) and type(v).__module__ in ("builtins", "numpy"):
        return "null" if math.isnan(v) else "float"
    if isinstance(v, str):
        return "str"
    return "other"


def _column_kind(values: Sequence[Any]) -> str | None:
    """How pandas writes this column: 'int', 'bool', 'float' or 'object'; None: hand it to pandas."""
    kinds = {_kind(v) for v in values}
    if "other" in kinds:
        return None
    if "int" in kinds and any(_kind(v) == "int" and not _INT64[0] <= int(v) <= _INT64[1] for v in values):
        return None                           # ints beyond int64 (uint64, object or float): pandas decides
    if kinds == {"int"}:
        return "int"
    if kinds == {"bool"}:
        return "bool"
    if kinds and kinds <= {"int", "float", "null"} and kinds & {"int", "float"}:
        return "float"
    if kinds == {"null"} and all(v is _MISSING or isinstance(v, float) for v in values):
        return "float"                        # all NaN: a float column of empty cells
    return "object"


def _cell(v, kind: str):
    if _is_null(v) and kind in ("float", "object"):
        return ""
    if kind == "int":
        return str(int(v))
    if kind == "bool":
        return str(bool(v))
    if kind == "float":
        return repr(float(v))
    return v                                  # object: the csv module writes it (floats with repr)


class Rows:
    """Rows (dicts, or sequences in ``columns`` order) with their column order.

    ``columns=None``: every key of the rows, in the order first seen (what pandas does)."""

    def __init__(self, records: Iterable[Any], columns: Sequence[str] | None = None):
        self.records = list(records)
        if columns is None:
            columns = list(dict.fromkeys(k for r in self.records for k in r))
        self.columns = list(columns)

    def __len__(self) -> int:
        return len(self.records)

    def _values(self, i: int, col: str) -> list:
        return [r.get(col, _MISSING) if isinstance(r, dict) else r[i] for r in self.records]

    def to_frame(self):
        import pandas as pd
        return pd.DataFrame(self.records, columns=self.columns) if self.columns else pd.DataFrame(self.records)

    def to_csv(self, path: str | Path) -> None:
        """Write the table as ``DataFrame.to_csv(path, index=False)`` would."""
        columns = [self._values(i, c) for i, c in enumerate(self.columns)]
        kinds = [_column_kind(v) for v in columns]
        if None in kinds:
            self.to_frame().to_csv(path, index=False)
            return
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(self.columns)
            for j in range(len(self.records)):
                w.writerow([_cell(col[j], k) for col, k in zip(columns, kinds)])
