"""A cache of experiment results (JSON) keyed by their configuration, so that reports and tests
never recompute a measured number: ``data/results/<experiment>-<hash>.json`` (git-ignored;
``ARCHSIM_RESULTS_DIR`` moves it)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from archsim.fileio import atomic_write_text

REPO = Path(__file__).resolve().parents[1]


def results_dir() -> Path:
    return Path(os.environ.get("ARCHSIM_RESULTS_DIR", REPO / "data" / "results"))


def config_key(config: Any, version: int = 1) -> str:
    """A short hash of a dataclass (or JSON-able mapping) and a version number."""
    blob = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config
    text = json.dumps({"v": version, **blob}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached(experiment: str, config: Any, compute: Callable[[], dict], *, version: int = 1,
           directory: Path | None = None, refresh: bool = False) -> dict:
    """The stored result of ``experiment`` for ``config``, computing and storing it (atomically)
    when absent. The stored file holds the configuration beside the result."""
    d = Path(directory or results_dir())
    path = d / f"{experiment}-{config_key(config, version)}.json"
    if path.exists() and not refresh:
        return json.loads(path.read_text())["result"]
    result = compute()
    cfg = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config
    atomic_write_text(path, json.dumps({"experiment": experiment, "config": cfg, "result": result},
                                       indent=1, default=str))
    return result
