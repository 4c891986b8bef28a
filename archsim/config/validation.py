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
    """Base of every configuration model: frozen, unknown keys forbidden."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


def validate(model: type[M], data: Any, doc: Document, prefix: KeyPath = ()) -> M:
    """Validate ``data`` (found at ``prefix`` inside ``doc``) as ``model``."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(describe_errors(exc, model, doc, prefix)) from None


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
