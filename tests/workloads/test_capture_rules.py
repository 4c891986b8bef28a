"""workloads.capture per-module rules (workloads/capture/rules.py): a module written as its own op,
edits of the ops the table makes, tags, and the errors of a rule set that cannot apply.
Compared against: the model's own structure and tensors (invariants), and the same capture
without rules."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

import workloads
from archsim.errors import TraceError
from archsim.trace.schema import DType, Role
from workloads.capture import Call, ModuleRule, UnmodelledWarning
from workloads.capture.aten_ops import Emit, Operand
from workloads.snn.neuron import LIF


class FakeQuant(nn.Module):
    """A linear layer on a rounded input: several aten ops (div, round, mul, addmm)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.fc = nn.Linear(cin, cout)

    def forward(self, x):
        return self.fc(torch.round(x * 4) / 4)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.q1, self.act, self.q2 = FakeQuant(8, 16), nn.ReLU(), FakeQuant(16, 4)

    def forward(self, x):
        h = self.act(self.q1(x))
        return self.q2(h) + self.q2.fc(h)      # a second use of q2's inner linear, outside q2


def _x():
    return torch.randn(3, 8, generator=torch.Generator().manual_seed(0))


def _codes(call: Call) -> list[Emit]:
    m, x = call.module, call.view.t(0)
    w = m.fc.weight.detach().numpy()
    codes = np.rint(w * 8).astype(np.int8)
    return [Emit("linear", dict(tokens=x.shape[0], in_features=x.shape[1], out_features=w.shape[0]),
                 [("input", x), ("weight", Operand.described(role=Role.static_weight, data=codes, bits=4))],
                 call.view.out, {"codes": True})]


def test_ops_rule_writes_the_module_as_one_op_and_hides_its_aten_ops():
    torch.manual_seed(0)
    model, x = Net().eval(), _x()
    plain = workloads.trace(model, x)
    t = workloads.trace(model, x, rules={FakeQuant: ModuleRule(ops=_codes)})
    # without rules the rounding is traced op by op; with the rule each FakeQuant call is one op
    assert any(op.tags.get("module") == "q1" and op.kind == "elementwise" for op in plain.ops)
    assert [op.id for op in t.ops if op.tags["module"] in ("q1", "q2")] == ["q1", "q2"]
    q1 = t.op("q1")
    assert q1.kind == "linear" and q1.tags["codes"] and q1.tags["aten"] == "module"
    w = q1.operand("weight")
    assert w.bits == 4 and np.array_equal(t.tensor(w.tensor), np.rint(model.q1.fc.weight.detach().numpy() * 8))
    # the described input is the tensor the module read (before its own rounding): density of x
    assert q1.operand("input").density == pytest.approx(float((x.numpy() != 0).mean()))
    # edges follow the tensors through the rule's op: relu <- q1, q2 <- relu, the inner linear used
    # outside q2 is still traced by the table, and the sum reads both
    assert t.op("act").inputs == ["q1"] and t.op("q2").inputs == ["act"]
    inner = next(op for op in t.ops if op.tags["module"] == "q2.fc")
    assert inner.kind == "linear" and inner.inputs == ["act"]
    add = next(op for op in t.ops if op.kind == "add")
    assert set(add.inputs) == {"q2", inner.id}
    # MACs: the two rule ops and the inner linear, as the layers' shapes say
    assert sum(op.macs for op in t.ops if op.kind == "linear") == 3 * (8 * 16 + 16 * 4 + 16 * 4)


def test_edit_rule_and_tags_change_the_table_ops():
    torch.manual_seed(0)
    model, x = Net().eval(), _x()

    def relu16(call: Call, e: Emit) -> Emit:
        (_, inp), = e.operands
        data = np.asarray(inp.data).reshape(inp.shape)
        return replace(e, operands=[("input", Operand.described(role=Role.activation, data=data, bits=16,
                                                                 dtype=DType.int, store=False))],
                       tags={**e.tags, "seen_by": call.name})

    t = workloads.trace(model, x, rules={nn.ReLU: ModuleRule(edit=relu16), "q2": ModuleRule(tags={"stage": 2})})
    relu = t.op("act")
    assert relu.kind == "elementwise" and relu.operand("input").bits == 16
    assert relu.operand("input").dtype == "int" and relu.tags["seen_by"] == "act"
    q2_ops = [op for op in t.ops if op.tags["module"] == "q2"]
    assert q2_ops and all(op.tags["stage"] == 2 for op in q2_ops)
    assert all("stage" not in op.tags for op in t.ops if op.tags["module"] != "q2")


def test_a_path_rule_wins_over_a_class_rule():
    torch.manual_seed(0)
    t = workloads.trace(Net().eval(), _x(), rules={FakeQuant: ModuleRule(ops=_codes),
                                                   "q2": ModuleRule(tags={"kept": True})})
    assert t.op("q1").kind == "linear" and t.op("q1").tags["aten"] == "module"
    assert not any(op.id == "q2" and op.tags["aten"] == "module" for op in t.ops)
    assert all(op.tags.get("kept") for op in t.ops if op.tags["module"] == "q2")


def test_rule_errors_name_the_module():
    model, x = Net().eval(), _x()
    with pytest.raises(KeyError, match="no module 'q3'"):
        workloads.trace(model, x, rules={"q3": ModuleRule()})
    with pytest.raises(TypeError, match="ModuleRule"):
        workloads.trace(model, x, rules={FakeQuant: {"ops": _codes}})
    with pytest.raises(ValueError, match="would never apply"):
        workloads.trace(model, x, rules={FakeQuant: ModuleRule(ops=_codes), "q1.fc": ModuleRule(tags={"a": 1})})
    # a rule's own operand description that the trace refuses is an error, not an unmodelled op
    bad = ModuleRule(ops=lambda call: [Emit("linear", dict(tokens=3, in_features=8, out_features=16),
                                            [("weight", Operand.described(role=Role.static_weight))])])
    with pytest.raises(TraceError, match="module 'q1'"):
        workloads.trace(model, x, rules={"q1": bad})


def test_a_rule_that_writes_no_op_leaves_a_visible_unmodelled_op():
    with pytest.warns(UnmodelledWarning):
        t = workloads.trace(Net().eval(), _x(), rules={"q1": ModuleRule(ops=lambda call: [])})
    op = t.op("q1")
    assert op.kind == "unmodelled" and "wrote no op" in op.tags["reason"]


def test_rules_as_a_function_of_path_and_module():
    torch.manual_seed(0)
    t = workloads.trace(Net().eval(), _x(),
                        rules=lambda name, m: ModuleRule(ops=_codes) if isinstance(m, FakeQuant) else None)
    assert t.op("q1").tags["codes"] and t.op("q2").tags["codes"]
    with pytest.raises(TypeError, match="ModuleRule or None"):
        workloads.trace(Net().eval(), _x(), rules=lambda name, m: {"tags": {}})


class TwoAdds(nn.Module):
    """Two residual-style sums in one forward: ``h = x + flip(x)``, ``h + relu(h)``."""

    def __init__(self):
        super().__init__()
        self.act = nn.ReLU()

    def forward(self, x):
        h = x + x.flip(-1)
        return h + self.act(h)


def test_edit_drops_renames_and_rewires_ops():
    """``edit`` returning None drops the op (its consumer reads its producer); ``id`` names an
    op; ``call.nth`` tells the module's two adds apart; ``inputs`` reorders an op's edges."""
    x = _x()
    plain = workloads.trace(TwoAdds(), x)
    assert [(op.id, op.inputs) for op in plain.ops] == [("add", []), ("act", ["add"]), ("add#2", ["add", "act"])]
    seen = []

    def sums(call: Call, e: Emit) -> Emit:
        seen.append((call.nth, call.inputs))
        if call.nth == 0:
            return replace(e, id="first")
        return replace(e, id="second", inputs=list(reversed(call.inputs)))

    t = workloads.trace(TwoAdds(), x, rules={"": ModuleRule(edit=sums), nn.ReLU: ModuleRule(edit=lambda c, e: None)})
    assert seen == [(0, ()), (1, ("first",))]     # the dropped relu: the sum reads its producer
    assert [(op.id, op.inputs) for op in t.ops] == [("first", []), ("second", ["first"])]
    # the relu kept, the second sum's edges reversed
    t = workloads.trace(TwoAdds(), x, rules={"": ModuleRule(edit=sums)})
    assert [(op.id, op.inputs) for op in t.ops] == [("first", []), ("act", ["first"]), ("second", ["act", "first"])]
    with pytest.raises(TraceError, match="already taken"):
        workloads.trace(TwoAdds(), x, rules={"": ModuleRule(edit=lambda c, e: replace(e, id="same"))})
    with pytest.raises(TraceError, match="not written before it"):
        workloads.trace(TwoAdds(), x, rules={"": ModuleRule(edit=lambda c, e: replace(e, inputs=["nowhere"]))})


def test_per_sample_describes_one_sample_with_statistics_over_the_batch():
    """Loop bounds and shapes of one sample (as a trace of one sample has them), header batch 1,
    densities over all samples (the ReLU's output: zeros differ from sample to sample)."""
    torch.manual_seed(0)
    model, x = Net().eval(), torch.randn(6, 8, generator=torch.Generator().manual_seed(3))
    t = workloads.trace(model, x, per_sample=True)
    one = workloads.trace(model, x[:1])
    assert t.header.batch == 1 and [op.id for op in t.ops] == [op.id for op in one.ops]
    for a, b in zip(t.ops, one.ops):
        skip = {"operands", "output", "tags"}
        assert a.model_dump(exclude=skip) == b.model_dump(exclude=skip)
        assert [o.shape for o in a.operands] == [o.shape for o in b.operands]
    with torch.no_grad():
        h = model.act(model.q1(x))
    assert t.op("act").output.density == pytest.approx(float((h != 0).float().mean()))
    assert t.op("act").output.density != pytest.approx(one.op("act").output.density)
    with pytest.raises(ValueError, match="contradicts"):
        workloads.trace(model, x, per_sample=True, batch=6)
    from workloads.models.tiny import tiny_snn
    with pytest.raises(ValueError, match="ANN"):     # a spiking network's leading axis may be time
        workloads.trace(tiny_snn(timesteps=2).eval(), torch.rand(2, 1, 16, 16), per_sample=True)


def test_through_rule_writes_no_op_and_passes_the_producer_on():
    """A batch-norm folded into its convolution: no op, and the ReLU reads the convolution; its
    statistics are the tensors' (the ReLU's input is the batch-normed output, not the conv's)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    x = torch.randn(1, 1, 6, 6)
    plain = workloads.trace(model, x)
    t = workloads.trace(model, x, rules={nn.BatchNorm2d: ModuleRule(through=True)})
    assert [op.kind for op in plain.ops] == ["conv2d", "elementwise", "elementwise"]
    assert [(op.id, op.kind) for op in t.ops] == [("0", "conv2d"), ("2", "elementwise")]
    assert t.op("2").inputs == ["0"]
    with pytest.raises(ValueError, match="no ops or edit"):
        ModuleRule(through=True, ops=_codes)


class Halves(nn.Module):
    """A [T*B, ...] stream whose second half of the timesteps goes through ``late`` alone."""

    def __init__(self):
        super().__init__()
        self.lif, self.late = LIF(timesteps=4), nn.Linear(4, 4, bias=False)

    def forward(self, x):
        s = self.lif(x)
        return self.late(s[s.shape[0] // 2:])


def test_timesteps_rule_lays_the_tensors_out_over_its_timesteps():
    """T = 4, batch 1: ``late`` reads the last 2 timesteps ([2, 4]): with the rule its op runs on 2
    timesteps of one token each, and its spike operand is the spikes it read, per timestep."""
    torch.manual_seed(0)
    model, x = Halves().eval(), torch.rand(4, 4) * 3
    t = workloads.trace(model, x, timesteps=4, timed_input=True, batch=1,
                        rules={"late": ModuleRule(timesteps=2)})
    late = t.op("late")
    assert (late.timesteps, late.tokens, late.macs) == (2, 1, 16)
    with torch.no_grad():
        s = model.lif(x)[2:]
    stored = t.tensor(late.operand("input").tensor)
    assert late.operand("input").role == Role.spike and np.array_equal(stored.reshape(2, 4), s.numpy())
    assert t.op("lif").timesteps == 4 and t.op("lif").neurons == 4


def test_emits_name_their_ops_edges_and_results():
    """A module written as two ops: ``.a`` reads the first argument, ``.b`` reads ``.a`` and the
    second argument, with its own timesteps; both stand for the output (its reader names both)."""
    class Two(nn.Module):
        def forward(self, x, y):
            return x * y

    class Net2(nn.Module):
        def __init__(self):
            super().__init__()
            self.fx, self.fy, self.two, self.out = nn.Linear(3, 3), nn.Linear(3, 3), Two(), nn.Linear(3, 2)

        def forward(self, x):
            return self.out(self.two(self.fx(x), self.fy(x)))

    def ops(call):
        v = call.view
        n = int(np.prod(v.out.shape))
        return [Emit("elementwise", dict(elements=n, function="a"), [("input", v.t(0))], suffix=".a", reads=[0],
                     result=True),
                Emit("elementwise", dict(elements=n, function="b"), [("input", v.t(1))], suffix=".b",
                     reads=[".a", 1], timesteps=1, result=True)]

    t = workloads.trace(Net2().eval(), torch.randn(2, 3), rules={Two: ModuleRule(ops=ops)})
    assert t.op("two.a").inputs == ["fx"] and t.op("two.b").inputs == ["two.a", "fy"]
    assert t.op("out").inputs == ["two.a", "two.b"]
