"""The op-selector language shared by skip_ops and hetero rules: the short string form and the
mapping form select the same ops (compared against: ops chosen by hand in a small trace)."""
import pytest

from archsim.arch.hetero import Rule
from archsim.errors import ConfigError
from archsim.trace.schema import Role
from archsim.trace.select import Selector, as_selector, without_ops
from tests.helpers import builder


def small_trace():
    b = builder(T=2)
    for name, tags in (("enc", {"encoding_layer": True}), ("blocks.0.fc", {"stage": "body"}),
                       ("blocks.1.fc", {"stage": "head"})):
        x = b.operand("input", Role.activation, shape=[4, 8], bits=8)
        w = b.operand("weight", Role.static_weight, shape=[6, 8], bits=8)
        b.add("linear", name, operands=[x, w], tokens=4, in_features=8, out_features=6, tags=tags)
    b.add("add", "sum", inputs=["blocks.0.fc", "blocks.1.fc"], elements=24)
    return b.build()


def ids(trace, selector):
    sel = as_selector(selector, "test")
    return [op.id for op in trace.ops if sel.matches(op)]


def test_short_and_long_forms_agree():
    t = small_trace()
    assert ids(t, "kind:linear") == ids(t, {"kind": "linear"}) == ["enc", "blocks.0.fc", "blocks.1.fc"]
    assert ids(t, "tag:encoding_layer") == ids(t, {"flags": ["encoding_layer"]}) == ["enc"]
    assert ids(t, "blocks.*.fc") == ids(t, {"id": "blocks.*.fc"}) == ["blocks.0.fc", "blocks.1.fc"]
    assert ids(t, "sum") == ["sum"]
    assert ids(t, {"tags": {"stage": "h*"}}) == ["blocks.1.fc"]
    assert ids(t, {"kind": "linear", "operands": {"weight": "static_weight"}, "tags": {"stage": "body"}}) == ["blocks.0.fc"]


def test_hetero_rules_are_selectors():
    rule = Rule(engine="ann", kind="linear", tags={"stage": "head"})
    assert isinstance(rule, Selector)
    assert [op.id for op in small_trace().ops if rule.matches(op)] == ["blocks.1.fc"]


def test_without_ops_view_and_errors():
    t = small_trace()
    view = without_ops(t, ["tag:encoding_layer", {"kind": "add"}])
    assert [op.id for op in view.ops] == ["blocks.0.fc", "blocks.1.fc"]
    assert [op.id for op in t.ops] == ["enc", "blocks.0.fc", "blocks.1.fc", "sum"]   # the trace is untouched
    with pytest.raises(ConfigError, match="'kind:conv2d' matches no op"):
        without_ops(t, ["kind:conv2d"])
    with pytest.raises(ConfigError, match="unknown op kind"):
        without_ops(t, [{"kind": "nonsense"}])
    with pytest.raises(ConfigError, match="leave no op"):
        without_ops(t, ["kind:linear", "kind:add"])
