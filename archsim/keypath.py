"""Dotted key paths into nested YAML data: ``params.rows``, ``energy.variables.V_READ``,
``params.engines.snn.copies``, ``layers.3.bits`` (a list indexed by an integer).

The one walker used by hardware overrides (:mod:`archsim.config.hardware`), recipe metrics
(:mod:`archsim.report.recipe`) and sweeps (swept keys and constraints, :mod:`archsim.sweep.plan`).
"""
from __future__ import annotations

from typing import Any, Iterator


class KeyPathError(KeyError):
    """``path`` does not name a value in the data: ``found`` parts of it do (``found`` is the
    number of parts walked), and ``node`` is where the walk stopped."""

    def __init__(self, path: str, found: int, node: Any):
        super().__init__(path)
        self.path, self.found, self.node = path, found, node

    @property
    def parts(self) -> list[str]:
        return self.path.split(".")

    def __str__(self) -> str:
        parts = self.parts
        if self.found and not isinstance(self.node, (dict, list)):
            return f"'{'.'.join(parts[:self.found])}' is a value ({self.node!r}), not a mapping"
        return f"no key '{parts[self.found]}'" + (f" under '{'.'.join(parts[:self.found])}'" if self.found else "")


def _child(node: Any, part: str) -> tuple[bool, Any]:
    if isinstance(node, dict) and part in node:
        return True, node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return True, node[int(part)]
    return False, None


def walk(data: Any, path: str) -> tuple[Any, int]:
    """Follow ``path`` as far as it goes: (the last node reached, how many parts were walked)."""
    node = data
    parts = path.split(".")
    for i, part in enumerate(parts):
        ok, child = _child(node, part)
        if not ok:
            return node, i
        node = child
    return node, len(parts)


def get_path(data: Any, path: str) -> Any:
    """The value at ``path``; :class:`KeyPathError` if some part is missing."""
    node, found = walk(data, path)
    if found < len(path.split(".")):
        raise KeyPathError(path, found, node)
    return node


def has_path(data: Any, path: str) -> bool:
    return walk(data, path)[1] == len(path.split("."))


def set_path(data: dict, path: str, value: Any) -> None:
    """Set ``path`` to ``value`` in place, creating mappings on the way (a value in the way is
    replaced by a mapping; list items are addressed by index and must exist)."""
    parts = path.split(".")
    node: Any = data
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
            continue
        if part not in node or not isinstance(node[part], (dict, list)):
            node[part] = {}
        node = node[part]
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def iter_paths(data: Any, prefix: str = "") -> Iterator[str]:
    """Every key path in ``data`` (mappings and lists, depth first)."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        name = f"{prefix}{key}"
        yield name
        yield from iter_paths(value, f"{name}.")


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted paths to their leaves: ``{params: {n_pe: 8}}`` and
    ``{"params.n_pe": 8}`` both give ``{"params.n_pe": 8}`` (an empty mapping is a leaf)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
