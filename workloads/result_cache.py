"""A cache of experiment results (JSON) keyed by their configuration, so that reports and tests
never recompute a measured number.

Lookup order for an experiment's result (experiment name + configuration key), the counterpart of
the checkpoint store (:mod:`workloads.checkpoints`):

1. the local cache, ``data/results/<experiment>-<key>.json`` (git-ignored; ``ARCHSIM_RESULTS_DIR``
   moves it): what this machine computed;
2. the committed results, ``results/`` in the repository (``ARCHSIM_COMMITTED_RESULTS_DIR`` moves
   it): the main job's experiments, computed once by ``archsim-workloads results --commit``
   (:mod:`workloads.committed_results` lists them and checks that each is fresh);
3. otherwise the experiment runs and its result is stored in the local cache.

A stored folder (e.g. StableQ's exported traces, ``stableq-traces-<key>/``) is found the same way
(:func:`stored_folder`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable

from archsim.fileio import atomic_write_text

REPO = Path(__file__).resolve().parents[1]


def results_dir() -> Path:
    return Path(os.environ.get("ARCHSIM_RESULTS_DIR", REPO / "data" / "results"))


def committed_dir() -> Path:
    return Path(os.environ.get("ARCHSIM_COMMITTED_RESULTS_DIR", REPO / "results"))


def config_key(config: Any, version: int = 1) -> str:
    """A short hash of a dataclass (or JSON-able mapping) and a version number."""
    blob = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config
    text = json.dumps({"v": version, **blob}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_name(experiment: str, config: Any, version: int = 1) -> str:
    return f"{experiment}-{config_key(config, version)}.json"


def find(name: str, directories: Iterable[Path] | None = None) -> Path | None:
    """The first of the local cache and the committed results holding ``name``, or None."""
    for d in directories or (results_dir(), committed_dir()):
        if (Path(d) / name).exists():
            return Path(d) / name
    return None


def stored_folder(name: str, files: Iterable[str]) -> Path | None:
    """The folder ``name`` holding every one of ``files``: in the local cache, else among the
    committed results; None when neither has them all."""
    files = list(files)
    for d in (results_dir(), committed_dir()):
        if all((d / name / f).exists() for f in files):
            return d / name
    return None


def cached(experiment: str, config: Any, compute: Callable[[], dict], *, version: int = 1,
           directory: Path | None = None, refresh: bool = False) -> dict:
    """The stored result of ``experiment`` for ``config`` (local cache, then committed results),
    computing and storing it (atomically, in the local cache) when absent. The stored file holds
    the configuration beside the result. ``directory``: that folder alone, no committed lookup."""
    name = file_name(experiment, config, version)
    d = Path(directory or results_dir())
    found = find(name, [d] if directory else None)
    if found is not None and not refresh:
        return json.loads(found.read_text())["result"]
    result = compute()
    cfg = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config
    atomic_write_text(d / name, json.dumps({"experiment": experiment, "config": cfg, "result": result},
                                           indent=1, default=str))
    return result
