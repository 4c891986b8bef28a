"""Op selectors: the one language that picks ops of a trace, used by a recipe's ``skip_ops``
(leave ops out of a run) and by a hetero design's assignment ``rules`` (send ops to an engine).

A selector is a mapping of conditions, all of which must hold:

* ``kind``: op kind(s);
* ``id``: op id(s), each an exact id or a glob (``blocks.*.attn``);
* ``operands``: operand name (``*``: any operand) -> role(s) it must have;
* ``tags``: tag -> value(s) it must equal (string values are globs);
* ``flags``: tags that must be set and true.

or a string, the short form of one condition: ``ID`` (an id or glob), ``kind:KIND``,
``tag:TAG`` (a flag). So ``skip_ops: [conv1, kind:linear, tag:encoding_layer]`` and
``rules: [{engine: ann, kind: linear, operands: {weight: static_weight}}]`` speak the same
language. :func:`without_ops` gives a view of a trace without the selected ops; every selector
must match at least one op, so a typo is an error rather than a silent no-op.
"""
from __future__ import annotations

import fnmatch
from typing import Any

import pydantic

from archsim.config.validation import Strict
from archsim.errors import ConfigError
from archsim.trace.io import Trace
from archsim.trace.schema import OP_KINDS, Role

Scalar = bool | int | float | str


class Selector(Strict):
    """Conditions on an op, all of which must hold (see the module docstring)."""

    kind: list[str] | None = None
    id: list[str] | None = None
    operands: dict[str, list[Role]] | None = None
    tags: dict[str, list[Scalar]] | None = None
    flags: list[str] | None = None

    @pydantic.field_validator("kind", "id", "operands", "tags", "flags", mode="before")
    @classmethod
    def _listify(cls, value, info):
        if value is None:
            return None
        if info.field_name in ("operands", "tags"):
            if not isinstance(value, dict):
                return value
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value if isinstance(value, list) else [value]

    @pydantic.field_validator("kind")
    @classmethod
    def _kinds(cls, value):
        bad = [k for k in value or [] if k not in OP_KINDS]
        if bad:
            raise ValueError(f"unknown op kind(s) {bad}; op kinds are {list(OP_KINDS)}")
        return value

    @classmethod
    def parse(cls, text: str) -> "Selector":
        """The short form: ``ID``, ``kind:KIND`` or ``tag:TAG``."""
        if text.startswith("kind:"):
            return cls(kind=[text[5:]])
        if text.startswith("tag:"):
            return cls(flags=[text[4:]])
        return cls(id=[text])

    def matches(self, op) -> bool:
        if self.kind is not None and op.kind not in self.kind:
            return False
        if self.id is not None and not any(op.id == g or fnmatch.fnmatchcase(op.id, g) for g in self.id):
            return False
        for name, roles in (self.operands or {}).items():
            candidates = op.operands if name == "*" else [o for o in op.operands if o.name == name]
            if not any(o.role in roles for o in candidates):
                return False
        for tag, values in (self.tags or {}).items():
            if tag not in op.tags or not any(_tag_equal(op.tags[tag], v) for v in values):
                return False
        return all(op.tags.get(flag) for flag in self.flags or ())


def _tag_equal(have: Scalar, want: Scalar) -> bool:
    if isinstance(want, str):
        return isinstance(have, str) and fnmatch.fnmatchcase(have, want)
    return type(have) is type(want) and have == want


def as_selector(item: "str | dict[str, Any] | Selector", where: str) -> Selector:
    """A selector from its short (string) or long (mapping) form; ConfigError naming ``where``."""
    if isinstance(item, Selector):
        return item
    try:
        return Selector.parse(item) if isinstance(item, str) else Selector.model_validate(item)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'selector'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where}: {item!r}: {problems}") from None


def without_ops(trace: Trace, selectors: list, where: str = "skip_ops") -> Trace:
    """``trace`` minus the ops any selector matches (``where`` names the setting in errors)."""
    if not selectors:
        return trace
    parsed = [as_selector(s, where) for s in selectors]
    for s, sel in zip(selectors, parsed):
        if not any(sel.matches(op) for op in trace.ops):
            raise ConfigError(f"{where}: '{s}' matches no op of {trace.path or trace.name}")
    kept = [op for op in trace.ops if not any(sel.matches(op) for sel in parsed)]
    if not kept:
        raise ConfigError(f"{where}: {selectors} leave no op of {trace.path or trace.name}")
    return trace.with_ops(kept)
