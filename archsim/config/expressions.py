"""Safe arithmetic for configuration values.

``variables:`` in a YAML file and ``${...}`` in string values are evaluated with a whitelist of
AST nodes: numbers, names of variables, + - * / // % **, comparisons, and a few functions.
Nothing is ever passed to ``eval``.
"""
from __future__ import annotations

import ast
import functools
import math
import operator
import re
from typing import Any, Mapping

_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
FUNCTIONS = {
    "min": min, "max": max, "abs": abs, "int": int, "float": float, "round": round,
    "ceil": math.ceil, "floor": math.floor, "log2": math.log2, "log10": math.log10,
    "sqrt": math.sqrt, "exp": math.exp,
}

_FULL = re.compile(r"^\$\{(.+)\}$", re.S)
_PART = re.compile(r"\$\{([^}]+)\}")


class ExpressionError(ValueError):
    """An expression could not be parsed or evaluated (message says why)."""


def evaluate(expr: str, names: Mapping[str, Any]) -> Any:
    """Evaluate ``expr`` with the given variable ``names``; raise ExpressionError on anything
    outside the whitelist."""
    return _eval(_parse(expr.strip()), names, expr)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.AST:
    """The expression's tree, memoized by its text (a sweep resolves the same tables for every
    design point); the tree is only read."""
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression {text!r}") from exc


def _eval(node: ast.AST, names: Mapping[str, Any], src: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise ExpressionError(f"unknown variable {node.id!r} in {src!r}")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left, names, src), _eval(node.right, names, src)
        try:
            return _BINOPS[type(node.op)](left, right)
        except (ZeroDivisionError, TypeError, OverflowError) as exc:
            raise ExpressionError(f"{exc} in {src!r}") from exc
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, names, src))
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, names, src) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left = _eval(node.left, names, src)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, names, src)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, names, src) else node.orelse, names, src)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS and not node.keywords):
        args = [_eval(a, names, src) for a in node.args]
        try:
            return FUNCTIONS[node.func.id](*args)
        except (TypeError, ValueError) as exc:
            raise ExpressionError(f"{exc} in {src!r}") from exc
    raise ExpressionError(f"unsupported syntax {ast.dump(node)[:40]}... in {src!r}")


def substitute(value: Any, names: Mapping[str, Any]) -> Any:
    """Replace ``${expr}`` in a string: a string that is one whole ``${...}`` becomes the value
    of the expression (a number stays a number); ``${...}`` inside a longer string is formatted
    into it. Other values are returned unchanged."""
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = _FULL.match(value.strip())
    if whole and "${" not in whole.group(1):
        return evaluate(whole.group(1), names)
    return _PART.sub(lambda m: str(evaluate(m.group(1), names)), value)


def resolve_variables(variables: Mapping[str, Any], outer: Mapping[str, Any] | None = None) -> dict:
    """Evaluate a ``variables:`` mapping in order; each entry may use the ones before it (and
    ``outer``). A plain string is an expression (``PES: X * 2``) unless it does not parse as one
    or is a single undefined word (``mode: fast``); then it stays a string."""
    names: dict[str, Any] = dict(outer or {})
    out: dict[str, Any] = {}
    for key, raw in variables.items():
        val = substitute(raw, names)
        if isinstance(raw, str) and "${" not in raw:
            try:
                tree = ast.parse(raw.strip(), mode="eval")
            except SyntaxError:
                tree = None
            is_bare_word = isinstance(getattr(tree, "body", None), ast.Name) and raw.strip() not in names
            if tree is not None and not is_bare_word:
                val = evaluate(raw, names)
        names[key] = val
        out[key] = val
    return out
