"""Safe, bounded arithmetic for configuration values.

``variables:`` in a YAML file, ``${...}`` in string values and sweep constraints are evaluated
with a whitelist of AST nodes: numbers, strings, names of variables, + - * / // % **,
comparisons, ``and/or/not``, ``a if c else b`` and a few functions. Nothing is ever passed to
``eval``.

Every evaluation is bounded, whatever the expression says (``9**9**9``, ``'x' * 10**9``):

* an integer result has at most :data:`MAX_INT_BITS` bits, checked *before* a power or a product
  is computed; a float result must be finite (no inf, no NaN);
* a string (or any sequence a variable holds) has at most :data:`MAX_SEQUENCE_LEN` elements,
  also checked before a repetition is built;
* an expression has at most :data:`MAX_EXPRESSION_CHARS` characters and takes at most
  :data:`MAX_STEPS` evaluation steps and :data:`MAX_SECONDS` seconds.

Anything that goes wrong (a limit, a ZeroDivisionError, a TypeError such as ``-'x'`` or
``'x' < 1``, an OverflowError such as ``exp(1000)``) becomes one :class:`ExpressionError` whose
message names the expression; callers add the file and key.
"""
from __future__ import annotations

import ast
import functools
import math
import operator
import re
import time
from typing import Any, Callable, Mapping

MAX_INT_BITS = 1024            # an integer result: at most this many bits (about 10**308)
MAX_SEQUENCE_LEN = 10_000      # a string or list result: at most this many elements
MAX_EXPRESSION_CHARS = 2_000   # the text of one expression
MAX_STEPS = 10_000             # AST nodes evaluated per expression
MAX_SECONDS = 1.0              # wall time per expression
MAX_ROUND_DIGITS = 100         # |ndigits| of round(x, ndigits)

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


def _round(x: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        return round(x)
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise ValueError(f"round(): ndigits must be an integer within +-{MAX_ROUND_DIGITS}")
    return round(x, ndigits)


FUNCTIONS: dict[str, Callable] = {
    "min": min, "max": max, "abs": abs, "int": int, "float": float, "round": _round,
    "ceil": math.ceil, "floor": math.floor, "log2": math.log2, "log10": math.log10,
    "sqrt": math.sqrt, "exp": math.exp,
}

_FULL = re.compile(r"^\$\{(.+)\}$", re.S)
_PART = re.compile(r"\$\{([^}]+)\}")


class ExpressionError(ValueError):
    """An expression could not be parsed or evaluated. The message says why and names the
    expression; ``reason`` is the why alone (for callers that name the expression themselves)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


def _short(src: str) -> str:
    text = src.strip()
    return repr(text if len(text) <= 80 else text[:77] + "...")


def evaluate(expr: str, names: Mapping[str, Any]) -> Any:
    """Evaluate ``expr`` with the given variable ``names``; raise ExpressionError on anything
    outside the whitelist or over a limit."""
    if not isinstance(expr, str):
        raise ExpressionError(f"expected an expression (text), got {type(expr).__name__}")
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression of {len(expr)} characters is longer than the limit "
                              f"({MAX_EXPRESSION_CHARS}): {_short(expr)}")
    tree = _parse(expr.strip())
    ev = _Evaluator(names, expr)
    try:
        return ev.eval(tree)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(f"expression nested too deeply in {_short(expr)}", "expression nested too deeply") from None
    except (ArithmeticError, TypeError, ValueError, MemoryError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise ExpressionError(f"{reason} in {_short(expr)}", reason) from None


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.AST:
    """The expression's tree, memoized by its text (a sweep resolves the same tables for every
    design point); the tree is only read."""
    try:
        return ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionError(f"cannot parse expression {_short(text)}") from None


class _Evaluator:
    def __init__(self, names: Mapping[str, Any], src: str):
        self.names, self.src = names, src
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def fail(self, what: str) -> ExpressionError:
        return ExpressionError(f"{what} in {_short(self.src)}", what)

    def eval(self, node: ast.AST) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise self.fail(f"more than {MAX_STEPS} evaluation steps")
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise self.fail(f"evaluation took longer than {MAX_SECONDS} s")
        return self.check(self._eval(node))

    def check(self, value: Any) -> Any:
        """The size limits every intermediate value obeys."""
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            if value.bit_length() > MAX_INT_BITS:
                raise self.fail(f"integer result larger than {MAX_INT_BITS} bits")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail(f"result is not a finite number ({value})")
        elif isinstance(value, complex):
            raise self.fail(f"result is not a real number ({value})")
        elif isinstance(value, (str, bytes, list, tuple, dict)):
            if len(value) > MAX_SEQUENCE_LEN:
                raise self.fail(f"result of {len(value)} elements is larger than the limit ({MAX_SEQUENCE_LEN})")
        return value

    def _eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            raise self.fail(f"unknown variable {node.id!r}")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = self.eval(node.left), self.eval(node.right)
            self.precheck(node.op, left, right)
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](self.eval(node.operand))
        if isinstance(node, ast.BoolOp):
            values = [self.eval(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            left = self.eval(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = self.eval(comp)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.eval(node.body if self.eval(node.test) else node.orelse)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in FUNCTIONS and not node.keywords):
            args = [self.eval(a) for a in node.args]
            if node.func.id in ("int", "float") and any(isinstance(a, str) for a in args):
                raise self.fail(f"{node.func.id}() of a string is not supported")
            return FUNCTIONS[node.func.id](*args)
        raise self.fail(f"unsupported syntax ({type(node).__name__})")

    def precheck(self, op: ast.operator, left: Any, right: Any) -> None:
        """Refuse an operation whose result would be over a limit before computing it."""
        def is_int(x):
            return isinstance(x, int)

        def bits(x):
            return abs(int(x)).bit_length()
        seqs = (str, bytes, list, tuple)
        if isinstance(op, ast.Pow) and is_int(left) and is_int(right) and right > 0 and abs(left) > 1:
            if (bits(left) - 1) * right > MAX_INT_BITS:
                raise self.fail(f"integer power larger than {MAX_INT_BITS} bits")
        elif isinstance(op, ast.Mult):
            if is_int(left) and is_int(right) and bits(left) + bits(right) > MAX_INT_BITS + 1:
                raise self.fail(f"integer product larger than {MAX_INT_BITS} bits")
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, seqs) and is_int(n) and len(seq) * max(n, 0) > MAX_SEQUENCE_LEN:
                    raise self.fail(f"repetition of {len(seq)} elements x {n} is larger than the limit "
                                    f"({MAX_SEQUENCE_LEN})")
        elif isinstance(op, ast.Add):
            if isinstance(left, seqs) and isinstance(right, seqs) and len(left) + len(right) > MAX_SEQUENCE_LEN:
                raise self.fail(f"concatenation longer than the limit ({MAX_SEQUENCE_LEN})")
        elif isinstance(op, ast.Mod) and isinstance(left, (str, bytes)):
            raise self.fail("string formatting with % is not supported")


def substitute(value: Any, names: Mapping[str, Any]) -> Any:
    """Replace ``${expr}`` in a string: a string that is one whole ``${...}`` becomes the value
    of the expression (a number stays a number); ``${...}`` inside a longer string is formatted
    into it. Other values are returned unchanged."""
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = _FULL.match(value.strip())
    if whole and "${" not in whole.group(1):
        return evaluate(whole.group(1), names)
    out = _PART.sub(lambda m: str(evaluate(m.group(1), names)), value)
    if len(out) > MAX_SEQUENCE_LEN and len(out) > len(value):
        raise ExpressionError(f"substituted text of {len(out)} characters is longer than the limit "
                              f"({MAX_SEQUENCE_LEN}) in {_short(value)}")
    return out


class VariableError(ExpressionError):
    """An entry of a ``variables:`` mapping failed; ``key`` names it."""

    def __init__(self, key: Any, message: str):
        super().__init__(message)
        self.key = key


def resolve_variables(variables: Mapping[str, Any], outer: Mapping[str, Any] | None = None) -> dict:
    """Evaluate a ``variables:`` mapping in order; each entry may use the ones before it (and
    ``outer``). A plain string is an expression (``PES: X * 2``) unless it does not parse as one
    or is a single undefined word (``mode: fast``); then it stays a string. An error is a
    :class:`VariableError` naming the entry."""
    names: dict[str, Any] = dict(outer or {})
    out: dict[str, Any] = {}
    for key, raw in variables.items():
        try:
            val = substitute(raw, names)
            if isinstance(raw, str) and "${" not in raw:
                try:
                    tree = ast.parse(raw.strip(), mode="eval") if len(raw) <= MAX_EXPRESSION_CHARS else None
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    tree = None
                is_bare_word = isinstance(getattr(tree, "body", None), ast.Name) and raw.strip() not in names
                if tree is not None and not is_bare_word:
                    val = evaluate(raw, names)
        except VariableError:
            raise
        except ExpressionError as exc:
            raise VariableError(key, str(exc)) from None
        names[key] = val
        out[key] = val
    return out
