"""The bounded expression evaluator: every hostile expression is refused quickly, with one
ExpressionError naming the expression (our derivation of the limits in archsim.config.expressions)."""
import time

import pytest

from archsim.config import expressions as ex
from archsim.config.expressions import ExpressionError, evaluate, resolve_variables


@pytest.mark.parametrize("expr, names, reason", [
    ("9**9**9", {}, "integer power"),
    ("rows ** 9**9**9 > 0", {"rows": 4}, "integer power"),
    ("'x' * 10**9", {}, "repetition"),
    ("10**9 * s", {"s": "ab"}, "repetition"),
    ("L * 10**9", {"L": [1, 2]}, "repetition"),
    ("round(1e308*10)", {}, "not a finite number"),
    ("exp(1000)", {}, "OverflowError"),
    ("-'x'", {}, "TypeError"),
    ("'x' < 1", {}, "TypeError"),
    ("1 / 0", {}, "ZeroDivisionError"),
    ("1e308 + 1e308", {}, "not a finite number"),
    ("(-8) ** 0.5", {}, "not a real number"),
    ("sqrt(-1)", {}, "ValueError"),
    ("float('nan')", {}, "string"),
    ("round(10**300, -10**9)", {}, "ndigits"),
    ("'%099999999d' % 1", {}, "formatting"),
    ("2**600 * 2**600", {}, "integer product"),
    ("-" * 5000 + "1", {}, "characters"),
    ("__import__('os')", {}, "unsupported"),
    ("x.__class__", {"x": 1}, "unsupported"),
    ("[1] * 3", {}, "unsupported"),
])
def test_hostile_expression_refused_fast(expr, names, reason):
    t0 = time.monotonic()
    with pytest.raises(ExpressionError) as info:
        evaluate(expr, names)
    assert time.monotonic() - t0 < 1.0
    msg = str(info.value)
    assert reason in msg and "\n" not in msg
    assert reason in info.value.reason


def test_deep_nesting_and_long_chains_are_bounded():
    with pytest.raises(ExpressionError):
        evaluate("-" * 1500 + "1", {})        # nested unary: recursion bounded
    chain = "+".join(["1"] * 200)             # under every limit
    assert evaluate(chain, {}) == 200
    with pytest.raises(ExpressionError, match="steps"):
        old = ex.MAX_STEPS
        try:
            ex.MAX_STEPS = 100
            evaluate(chain, {})
        finally:
            ex.MAX_STEPS = old


@pytest.mark.parametrize("expr, names, value", [
    ("2 ** 1000 // 2 ** 999", {}, 2),
    ("ROWS * 2", {"ROWS": 16}, 32),
    ("log2(1024)", {}, 10.0),
    ("'a' + 'b'", {}, "ab"),
    ("'ab' * 3", {}, "ababab"),
    ("1 if X > 2 else 0", {"X": 3}, 1),
    ("round(2.567, 2)", {}, 2.57),
    ("(-1) ** (10**18)", {}, 1),
    ("0 ** (10**18)", {}, 0),
])
def test_ordinary_expressions_still_work(expr, names, value):
    assert evaluate(expr, names) == value


def test_variable_errors_name_the_variable():
    with pytest.raises(ex.VariableError) as info:
        resolve_variables({"A": 3, "ARRAY": "9**9**9"})
    assert info.value.key == "ARRAY" and "9**9**9" in str(info.value)
