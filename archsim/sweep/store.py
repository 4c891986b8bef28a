"""The resumable result store of a sweep: a directory with

* ``rows.jsonl``: the append-only log, one JSON object per finished (design point, trace), written
  and fsync'ed batch by batch by the one process that runs the sweep. A kill can only cut the
  last line short; opening the store drops such a line (that run is simply done again).
* ``results.parquet`` (``results.csv`` without pyarrow): the table, one row per (design point,
  trace) of the current spec, rebuilt from the log and replaced atomically (temporary file +
  rename) from time to time and at the end, so it is never half-written.
* ``sweep.json``: the manifest (spec, swept keys, table format, one entry per run).
* ``.lock``: held (``flock``) while a sweep writes, so two sweeps never write one store.

A run's status in ``sweep.json`` is ``running`` only while a live process holds the lock: a run
that ended without recording its end (killed with SIGKILL, a crash of the machine) is recorded
as ``interrupted`` by the next sweep that opens the store, and :func:`read_manifest` reports it
so at once (it finds the lock free).

Rows are keyed by ``row_id`` (see :mod:`archsim.sweep.plan`); a finished row is never computed
again unless it failed and the sweep is rerun with ``retry_failed``.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from archsim.errors import ArchsimError
from archsim.fileio import atomic_path, atomic_write_text, check_output_dir, mark_output_dir

LOG_FILE = "rows.jsonl"
MANIFEST_FILE = "sweep.json"
LOCK_FILE = ".lock"
TABLE_STEM = "results"
FORMATS = ("parquet", "csv")


def have_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


class ResultStore:
    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.rows: dict[str, dict[str, Any]] = {}     # row_id -> latest row
        self.manifest: dict[str, Any] = {}
        self._log = None
        self._lock_fd: int | None = None

    # -- opening ---------------------------------------------------------------------------
    def open(self, name: str, table_format: str | None = None) -> "ResultStore":
        """Create or reopen the store for sweep ``name``; take the lock; read the log."""
        d = self.dir
        if d.exists() and not d.is_dir():
            raise ArchsimError(f"{d}: exists and is not a directory")
        if d.is_dir() and any(d.iterdir()) and not (d / MANIFEST_FILE).exists():
            raise ArchsimError(f"{d}: not a sweep directory (no {MANIFEST_FILE}) and not empty; "
                               "choose another output directory")
        check_output_dir(d, create=True)
        self._lock()
        try:
            if (d / MANIFEST_FILE).exists():
                self.manifest = self._read_manifest()
                if self.manifest.get("name") != name:
                    raise ArchsimError(f"{d}: holds the results of sweep '{self.manifest.get('name')}', "
                                       f"not '{name}'; choose another output directory")
                if _settle_stale_runs(self.manifest):     # we hold the lock: no run is live
                    self.write_manifest()
            else:
                self.manifest = {"name": name, "runs": []}
            fmt = table_format or self.manifest.get("table_format") or ("parquet" if have_pyarrow() else "csv")
            if fmt == "parquet" and not have_pyarrow():
                raise ArchsimError(f"{d}: the table is Parquet but pyarrow is not installed "
                                   "(pip install pyarrow, or pass --format csv)")
            self.manifest["table_format"] = fmt
            self._read_log()
            self._log = open(d / LOG_FILE, "a", encoding="utf-8")
            mark_output_dir(d, "sweep")
        except BaseException:
            self.close()
            raise
        return self

    def _lock(self) -> None:
        import fcntl

        fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ArchsimError(f"{self.dir}: another sweep is writing to this directory") from None
        self._lock_fd = fd

    def _read_manifest(self) -> dict[str, Any]:
        try:
            data = json.loads((self.dir / MANIFEST_FILE).read_text())
        except json.JSONDecodeError as exc:
            raise ArchsimError(f"{self.dir / MANIFEST_FILE}: corrupt manifest ({exc})") from None
        if not isinstance(data, dict):
            raise ArchsimError(f"{self.dir / MANIFEST_FILE}: corrupt manifest (not a JSON object)")
        return data

    def _read_log(self) -> None:
        path = self.dir / LOG_FILE
        if not path.exists():
            return
        data = path.read_bytes()
        good_end = 0
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            complete = i < len(lines) - 1          # followed by a newline
            if not line.strip():
                good_end += len(line) + (1 if complete else 0)
                continue
            try:
                row = json.loads(line) if complete else None
            except json.JSONDecodeError:
                row = None
            if row is None or not isinstance(row, dict) or "row_id" not in row:
                if complete and any(l.strip() for l in lines[i + 1:]):
                    raise ArchsimError(f"{path}:{i + 1}: corrupt record in the middle of the log; "
                                       "the store was changed by something other than archsim")
                break   # a record cut short by a kill: drop it, that run is done again
            self.rows[row["row_id"]] = row
            good_end += len(line) + 1
        if good_end < len(data):
            with open(path, "r+b") as f:
                f.truncate(good_end)

    # -- writing ---------------------------------------------------------------------------
    def done(self, row_id: str, retry_failed: bool = False) -> bool:
        row = self.rows.get(row_id)
        return row is not None and not (retry_failed and row.get("status") != "ok")

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Append finished rows to the log and make them durable before returning."""
        if not rows:
            return
        text = "".join(json.dumps(r, default=_json_default) + "\n" for r in rows)
        with _signals_deferred():
            self._log.write(text)
            self._log.flush()
            os.fsync(self._log.fileno())
            for r in rows:
                self.rows[r["row_id"]] = r

    def write_manifest(self) -> None:
        atomic_write_text(self.dir / MANIFEST_FILE, json.dumps(self.manifest, indent=2, default=str))

    @property
    def table_path(self) -> Path:
        return self.dir / f"{TABLE_STEM}.{self.manifest['table_format']}"

    def write_table(self, frame: pd.DataFrame) -> Path:
        path = self.table_path
        with atomic_path(path) as tmp:
            if self.manifest["table_format"] == "parquet":
                _to_parquet(frame, tmp)
            else:
                frame.to_csv(tmp, index=False)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        return path

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)       # releases the flock
            self._lock_fd = None


def _settle_stale_runs(manifest: dict[str, Any]) -> bool:
    """Mark every ``running`` run ``interrupted`` (call only when no live process holds the
    lock). Returns whether anything changed."""
    changed = False
    for run in manifest.get("runs") or []:
        if isinstance(run, dict) and run.get("status") == "running":
            run["status"] = "interrupted"
            run.setdefault("note", "ended without recording its end (killed or crashed)")
            changed = True
    return changed


def lock_is_held(sweep_dir: str | Path) -> bool:
    """Whether a live process holds the store's lock (a sweep is writing it now)."""
    import fcntl

    path = Path(sweep_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def read_manifest(sweep_dir: str | Path) -> dict[str, Any]:
    """``sweep.json`` of a sweep directory as it stands: a run recorded ``running`` whose process
    no longer holds the lock is reported ``interrupted``."""
    path = Path(sweep_dir) / MANIFEST_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArchsimError(f"{path}: cannot read the sweep manifest ({exc})") from None
    if not isinstance(data, dict):
        raise ArchsimError(f"{path}: corrupt manifest (not a JSON object)")
    if any(isinstance(r, dict) and r.get("status") == "running" for r in data.get("runs") or []) \
            and not lock_is_held(sweep_dir):
        _settle_stale_runs(data)
    return data


@contextlib.contextmanager
def _signals_deferred():
    """Hold Ctrl-C and SIGTERM while a batch goes into the log and the in-memory rows, then
    deliver them: the table written on the way out then holds exactly what the log holds."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.signal(s, lambda signum, frame: pending.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(pending):
            signal.raise_signal(s)


def _json_default(x: Any) -> Any:
    try:
        return x.item()          # numpy scalars
    except AttributeError:
        return str(x)


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa

    try:
        frame.to_parquet(path, index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # a swept key with values of mixed types (e.g. 8 and "auto"): store that column as text
        fixed = frame.copy()
        for col in fixed.columns:
            if fixed[col].dtype == object:
                fixed[col] = fixed[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
        fixed.to_parquet(path, index=False)


def load_table(sweep_dir: str | Path) -> pd.DataFrame:
    """The result table of a sweep directory (or a table file)."""
    p = Path(sweep_dir)
    candidates = [p] if p.is_file() else [p / f"{TABLE_STEM}.{fmt}" for fmt in FORMATS]
    for path in candidates:
        if path.exists():
            try:
                if path.suffix == ".parquet":
                    return pd.read_parquet(path)
                table = pd.read_csv(path)
                if "error" in table.columns:        # CSV cannot tell "" from missing
                    table["error"] = table["error"].astype(object).where(table["error"].notna(), "").astype(str)
                return table
            except ImportError:
                raise ArchsimError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
            except Exception as exc:   # noqa: BLE001 - pyarrow/pandas raise many kinds
                raise ArchsimError(f"{path}: cannot read the result table ({exc})") from None
    raise ArchsimError(f"{p}: no sweep result table ({TABLE_STEM}.parquet or {TABLE_STEM}.csv)")
