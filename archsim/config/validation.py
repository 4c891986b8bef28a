"""Turn a loaded YAML document into a frozen pydantic model, with one-line errors.

Each error line reads ``file:line: key.path: what was expected, got what`` and unknown keys get
a "did you mean" suggestion. All errors of a document are collected into one ConfigError.
"""
from __future__ import annotations

import difflib
import types
import typing
from typing import Any, TypeVar

import pydantic

from archsim.config.yaml_loader import Document, KeyPath, format_key_path
from archsim.errors import ConfigError

M = TypeVar("M", bound=pydantic.BaseModel)


class Strict(pydantic.BaseModel):
    """Base of every configuration model: frozen, unknown keys forbidden, every float finite
    (a clock, an energy, an area or a bandwidth of inf or NaN is an error, not a division by
    zero later)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


# Ceilings on integer parameters (documented in docs/hardware-config.md): a value over them is
# almost surely a typo (a 10**12-wide array) and would only give absurd areas and run times.
MAX_COUNT = 1 << 24                # a count: rows, columns, PEs, lanes, tiles, depths
MAX_WITH_UNIT = 1 << 40            # an integer with a unit in its name: sizes in bits/bytes/KiB, ...
_UNIT_SUFFIXES = ("_bits", "_bit", "_bytes", "_b", "_kib", "_mib", "_gib", "_kb", "_mb", "_gb",
                  "_hz", "_khz", "_mhz", "_ghz", "_ns", "_ps", "_us", "_nm", "_cycles", "_words", "bits")
_EXEMPT = ("seed",)


def ceiling_for(name: str) -> int | None:
    """The ceiling of an integer parameter called ``name`` (None: none applies)."""
    low = name.lower()
    if any(e in low for e in _EXEMPT):
        return None
    return MAX_WITH_UNIT if low.endswith(_UNIT_SUFFIXES) else MAX_COUNT


def check_ceilings(value: Any, doc: Document | None, prefix: KeyPath) -> None:
    """Refuse integers over their ceiling anywhere in a validated model (nested models, lists
    and mappings included); one ConfigError listing every such value."""
    problems: list[str] = []

    def walk(v: Any, path: KeyPath, name: str) -> None:
        if isinstance(v, pydantic.BaseModel):
            for field in type(v).model_fields:
                walk(getattr(v, field), path + (field,), field)
        elif isinstance(v, dict):
            for k, item in v.items():
                walk(item, path + (k,), str(k))
        elif isinstance(v, (list, tuple)):
            for i, item in enumerate(v):
                walk(item, path + (i,), name)
        elif isinstance(v, int) and not isinstance(v, bool):
            cap = ceiling_for(name)
            if cap is not None and abs(v) > cap:
                where = doc.locate(path) if doc is not None else ""
                problems.append(f"{where}: {format_key_path(path)}: {v} is over the ceiling of {cap} for this "
                                "parameter (see docs/hardware-config.md, 'Limits')")

    walk(value, prefix, str(prefix[-1]) if prefix else "")
    if problems:
        raise ConfigError(problems)


def validate(model: type[M], data: Any, doc: Document, prefix: KeyPath = ()) -> M:
    """Validate ``data`` (found at ``prefix`` inside ``doc``) as ``model``."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(describe_errors(exc, model, doc, prefix)) from None
    except (ArithmeticError, IndexError, KeyError, TypeError, RecursionError) as exc:   # a validator tripped
        where = doc.locate(prefix) if doc is not None else ""
        raise ConfigError(f"{where}: {format_key_path(prefix)}: inconsistent values "
                          f"({type(exc).__name__}: {exc})"[:300]) from None


def describe_errors(exc: pydantic.ValidationError, model: type[pydantic.BaseModel],
                    doc: Document | None, prefix: KeyPath = ()) -> list[str]:
    lines = []
    for err in exc.errors():
        loc, target = _walk(model, tuple(err["loc"]))
        full = prefix + loc
        where = doc.locate(full) if doc is not None else ""
        lines.append(f"{where}: {format_key_path(full)}: {_message(err, target)}")
    return lines


def _message(err: dict, parent: Any) -> str:
    """``parent`` is the model type that holds the failing key (for key suggestions)."""
    kind, got = err["type"], err.get("input")
    if kind == "extra_forbidden":
        allowed = _fields(parent)
        hint = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
        text = "unknown key"
        if hint:
            text += f" (did you mean '{hint[0]}'?)"
        if allowed:
            text += f"; allowed keys: {', '.join(sorted(allowed))}"
        return text
    if kind == "missing":
        return "required key is missing"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return f"{_lower_first(msg)}, got {_short(got)}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields(tp: Any) -> list[str]:
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return [f.alias or name for name, f in tp.model_fields.items()]
    return []


def _walk(model: Any, loc: KeyPath) -> tuple[KeyPath, Any]:
    """Follow ``loc`` through the model's types. Returns the location without the tags pydantic
    inserts for union members, and the model type that holds the last key."""
    clean: list[Any] = []
    tp, parent = model, model
    i = 0
    while i < len(loc):
        part = loc[i]
        tagged = _tagged_member(tp, part)
        if tagged is not None:          # pydantic's tag of a tagged-union member: not a key
            tp = tagged
            i += 1
            continue
        members = _union_models(tp)
        if members is not None:
            match = _pick_member(members, part)
            if match is not None or isinstance(part, str) and ("[" in part or part.startswith("function-")):
                tp = match if match is not None else members[0]
                i += 1
                continue
            tp = members[0]
        tp = _strip(tp)
        if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
            parent = tp
            field = tp.model_fields.get(part)
            tp = field.annotation if field is not None else None
        else:
            origin, args = typing.get_origin(tp), typing.get_args(tp)
            if origin in (list, tuple, set, frozenset) and args:
                tp = args[0]
            elif origin is dict and len(args) == 2:
                tp = args[1]
            else:
                tp = None
        clean.append(part)
        i += 1
    return tuple(clean), parent


def _strip(tp: Any) -> Any:
    """Remove Annotated and Optional."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _tagged_member(tp: Any, tag: Any) -> Any:
    """The member of a tagged union (``Annotated[X, Tag("...")]`` members) whose tag is ``tag``."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    for member in typing.get_args(tp):
        if typing.get_origin(member) is typing.Annotated and any(
                isinstance(m, pydantic.Tag) and m.tag == tag for m in typing.get_args(member)[1:]):
            return typing.get_args(member)[0]
    return None


def _union_models(tp: Any) -> list[type] | None:
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        members = [_strip(a) for a in typing.get_args(tp) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, pydantic.BaseModel)]
        return models or None
    return None


def _pick_member(members: list[type], tag: Any) -> type | None:
    for m in members:
        if m.__name__ == tag:
            return m
        for field in m.model_fields.values():
            if typing.get_origin(field.annotation) is typing.Literal and tag in typing.get_args(field.annotation):
                return m
    return None
