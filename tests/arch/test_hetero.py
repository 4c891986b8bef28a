"""The hetero model: engines from hardware files, assignment rules, the link, the common clock and
the list schedule, against hand computations and the engines simulated on their own."""
import textwrap

import pytest

from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.errors import ConfigError, PriceError, UnsupportedOpError
from archsim.trace.schema import Role
from tests.config.test_config_errors import HW, TABLE
from tests.helpers import builder, write_file, write_files

LINK = """
name: link
components:
  link:
    actions: {transfer_bit: {energy_pj: 2.0, source: test}}
"""

HET = """
architecture: hetero
name: het
clock_mhz: 200
energy: {tables: [link.yaml]}
params:
  engines:
    a: hw.yaml
    b: {file: hw.yaml, set: {clock_mhz: 50}}
  rules:
    - {engine: b, tags: {branch: b}}
  default: a
  link: {bandwidth_gbps: 1.0}
"""


# the hetero test system: two engines of the mac_array test design (tests/config/test_config_errors.py)
FILES = {"table.yaml": TABLE, "hw.yaml": HW, "link.yaml": LINK, "het.yaml": HET}


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path, FILES)


def fork_join(tags_b=None, T=1):
    """fc1 (engine a) and fc2 (tags_b) read the input; ``sum`` adds their outputs."""
    b = builder(T=T)
    for name, tags in (("fc1", {}), ("fc2", tags_b if tags_b is not None else {"branch": "b"})):
        x = b.operand("input", Role.activation, shape=[4, 8], bits=8)
        w = b.operand("weight", Role.static_weight, shape=[6, 8], bits=8)
        b.add("linear", name, inputs=[], operands=[x, w], tokens=4, in_features=8, out_features=6, tags=tags)
    b.add("add", "sum", inputs=["fc1", "fc2"], elements=24)
    return b.build()


def test_fork_join_by_hand(files):
    """Each linear (M=4, K=8, N=6) takes 32 cycles on a 2x4 mac_array (tests/arch/test_mac_array.py).
    fc1 on a (100 MHz) = 64 cycles of the 200 MHz common clock; fc2 on b (50 MHz) = 128. The add
    (24 elements, 2 lanes) = 12 cycles of a = 24 common cycles. fc2's output crosses the link to
    a: 4*6 elements x 16 bits (no output operand: link.default_bits) = 384 bits = 48 B at 1 GB/s
    = 48 ns = 9.6 cycles, 384 x 2 pJ = 768 pJ. Schedule: fc1 [0, 64] || fc2 [0, 128]; transfer
    [128, 137.6]; sum [137.6, 161.6]."""
    r = simulate(fork_join(), load_hardware(files / "het.yaml"))
    s = r.summary
    assert s["cycles"] == pytest.approx(161.6)
    assert s["latency_s"] == pytest.approx(161.6 / 200e6)
    assert s["energy_j_by_component"]["link"] == pytest.approx(768e-12)
    assert s["link"] == {"transfers": 1, "bytes": 48.0, "busy_s": pytest.approx(48e-9),
                         "energy_j": pytest.approx(768e-12)}
    ops = r.ops.set_index("op_id")
    assert list(ops["engine"]) == ["a", "b", "a"]
    assert list(ops["cycles"]) == [64, 128, 24]
    assert ops.loc["sum", "link_cycles"] == pytest.approx(9.6)
    assert s["engines"]["a"]["ops"] == 2 and s["engines"]["b"]["ops"] == 1
    assert s["engines"]["b"]["busy_s"] == pytest.approx(128 / 200e6)
    assert s["engines"]["b"]["macs"] == 192


def test_engines_priced_as_on_their_own(files):
    """An engine's energy and area inside the system equal the same ops simulated on that
    engine alone (no static power in this table), and every component carries the engine name."""
    het = simulate(fork_join(), load_hardware(files / "het.yaml"))
    b = builder(T=1)
    x = b.operand("input", Role.activation, shape=[4, 8], bits=8)
    w = b.operand("weight", Role.static_weight, shape=[6, 8], bits=8)
    b.add("linear", "fc2", operands=[x, w], tokens=4, in_features=8, out_features=6)
    alone = simulate(b.build(), load_hardware(files / "hw.yaml", {"clock_mhz": 50}))
    for comp, e in alone["energy_j_by_component"].items():
        assert het["energy_j_by_component"][f"b/{comp}"] == pytest.approx(e)
    assert het["engines"]["b"]["energy_j"] == pytest.approx(alone["energy_j"])
    assert het["engines"]["b"]["area_mm2"] == pytest.approx(alone["area_mm2"])
    assert het["area_mm2"] == pytest.approx(2 * alone["area_mm2"])
    assert het["energy_j"] == pytest.approx(sum(e["energy_j"] for e in het["engines"].values())
                                            + het["link"]["energy_j"])
    assert set(het["traffic_bytes_by_level"]) == {"a/dram", "a/sram", "b/dram", "b/sram", "link"}
    sources = set(het.sources["component"])
    assert {"link", "a/mac", "b/dram"} <= sources


def test_serial_schedule_and_no_transfer_on_one_engine(files):
    """serial: 64 + 128 + 9.6 + 24 = 225.6. With fc2 on a as well, nothing crosses the link and
    the three ops run one after another on a: 64 + 64 + 24 = 152."""
    hw = load_hardware(files / "het.yaml", {"params.schedule": "serial"})
    assert simulate(fork_join(), hw)["cycles"] == pytest.approx(225.6)
    one = simulate(fork_join(tags_b={}), load_hardware(files / "het.yaml"))
    assert one["cycles"] == pytest.approx(152) and one["link"]["transfers"] == 0
    assert "link" not in one["energy_j_by_component"]


def test_copies_overlap_branches_and_multiply_area(files):
    """Two copies of a: fc1 and fc2 (both on a) run side by side: 64 + 24 = 88 cycles; the
    engine's area doubles."""
    hw = load_hardware(files / "het.yaml", {"params.engines.a": {"file": "hw.yaml", "copies": 2}})
    r = simulate(fork_join(tags_b={}), hw)
    assert r["cycles"] == pytest.approx(88)
    assert r["engines"]["a"]["area_mm2"] == pytest.approx(2 * 4916e-6)


def test_a_tensor_crosses_once_per_engine(files):
    """fc2 (b) feeds two ops on a: one transfer."""
    b = builder(T=2)
    x = b.operand("input", Role.spike, shape=[4, 8])
    w = b.operand("weight", Role.static_weight, shape=[6, 8], bits=8)
    b.add("linear", "fc2", inputs=[], operands=[x, w], tokens=4, in_features=8, out_features=6,
          output=b.operand("output", Role.activation, shape=[4, 6], bits=8), tags={"branch": "b"})
    b.add("lif", "lif", neurons=24)
    b.add("add", "res", inputs=["fc2", "lif"], elements=24)
    r = simulate(b.build(), load_hardware(files / "het.yaml"))
    assert r["link"]["transfers"] == 1
    assert r["link"]["bytes"] == 4 * 6 * 8 * 2 / 8      # the described output: 8 bits, T = 2


def test_rules_in_order(files):
    """map before rules, rules in order (first match), '@producer', operand roles, id and tag globs."""
    het = (files / "het.yaml").read_text().replace(
        "    - {engine: b, tags: {branch: b}}",
        "    - {engine: b, kind: lif}\n"
        "    - {engine: '@producer', kind: [add, pool]}\n"
        "    - {engine: b, operands: {input: spike}}\n"
        "    - {engine: b, id: 'enc.*'}\n"
        "    - {engine: b, tags: {part: 'tail*'}}\n"
        "  map: {fc_mapped: a}")
    write_file(files, "het.yaml", het)
    b = builder(T=2)

    def lin(op_id, role, inputs, tags=None):
        x = b.operand("input", role, shape=[2, 4], bits=1 if role == Role.spike else 8)
        w = b.operand("weight", Role.static_weight, shape=[4, 4], bits=8)
        b.add("linear", op_id, inputs=inputs, operands=[x, w], tokens=2, in_features=4, out_features=4,
              tags=tags or {})

    lin("fc_act", Role.activation, [])                    # no rule -> default a
    b.add("lif", "lif1", neurons=8)                       # kind lif -> b
    lin("fc_spike", Role.spike, ["lif1"])                 # spike input -> b
    b.add("add", "res", inputs=["fc_act", "fc_spike"], elements=8)   # @producer: fc_act's engine a
    lin("enc.q", Role.activation, ["res"])                # id glob -> b
    lin("fc_tail", Role.activation, ["enc.q"], {"part": "tail-2"})   # tag glob -> b
    lin("fc_mapped", Role.spike, ["fc_tail"])             # map wins over the spike rule -> a
    r = simulate(b.build(), load_hardware(files / "het.yaml"))
    got = dict(zip(r.ops["op_id"], r.ops["engine"]))
    assert got == {"fc_act": "a", "lif1": "b", "fc_spike": "b", "res": "a", "enc.q": "b",
                   "fc_tail": "b", "fc_mapped": "a"}


def test_inline_engine_and_nested_overrides(files):
    """An inline engine and a sweep-style override reaching into an engine file's params."""
    inline = textwrap.dedent(HW).replace("energy: {tables: [table.yaml]}", "energy: {tables: [table.yaml]}")
    import yaml
    data = yaml.safe_load(inline)
    hw = load_hardware(files / "het.yaml", {"params.engines.b": {"hardware": data, "set": {"params": {"rows": 4}}}})
    assert hw.parts["b"].params.rows == 4 and hw.parts["b"].config.clock_mhz == 100
    hw = load_hardware(files / "het.yaml", {"params.engines.b.set.params.cols": 8})
    assert hw.parts["b"].params.cols == 8 and hw.parts["b"].config.clock_mhz == 50


# --- bad input: one clear error naming the file and key ----------------------------------------

def test_bad_engine_file_names_the_engine_and_its_file(files):
    write_file(files, "bad.yaml", HW.replace("rows: 2", "rows: -2"))
    with pytest.raises(ConfigError) as info:
        load_hardware(files / "het.yaml", {"params.engines.b": "bad.yaml"})
    text = str(info.value)
    assert "\n" not in text
    # the engine was set by an override: the error names the option (issue 18), then the engine's file
    assert "het.yaml: --set params.engines.b: params.engines.b: " in text and "bad.yaml:7: params.rows: input should be greater" in text


def test_missing_engine_file(files):
    with pytest.raises(ConfigError) as info:
        load_hardware(files / "het.yaml", {"params.engines.b": "nope.yaml"})
    assert str(info.value) == (f"{files / 'het.yaml'}: --set params.engines.b: params.engines.b: file not found: "
                               f"{files / 'nope.yaml'}")


RULE = "{engine: b, tags: {branch: b}}"
# one mistake in one file of the system: loading het.yaml fails with (error kind, message pattern)
LOAD_ERRORS = {
    "rule_naming_an_unknown_engine": ("het.yaml", HET.replace(RULE, "{engine: c, tags: {branch: b}}"), ConfigError,
                                      r"het.yaml:\d+: params: .*rules\[0\].engine 'c' is not an engine"),
    "bad_rule_key": ("het.yaml", HET.replace(RULE, "{engine: b, knd: lif}"), ConfigError,
                     r"params.rules\[0\].knd: unknown key \(did you mean 'kind'\?\)"),
    "bad_rule_kind": ("het.yaml", HET.replace(RULE, "{engine: b, kind: conv3d}"), ConfigError,
                      r"params.rules\[0\].kind: unknown op kind"),
    "unpriced_link": ("link.yaml", LINK.replace("transfer_bit", "send_bit"), PriceError,
                      r"link.yaml: components.link.actions.transfer_bit"),
    "slash_in_own_table": ("link.yaml", LINK + "  x/y:\n    actions: {a: {energy_pj: 1, source: t}}\n", ConfigError,
                           "components.x/y: a hetero system's own table"),
}


@pytest.mark.parametrize("case", LOAD_ERRORS)
def test_a_mistake_fails_at_load(files, case):
    name, text, error, match = LOAD_ERRORS[case]
    assert text != FILES[name]
    write_file(files, name, text)
    with pytest.raises(error, match=match):
        load_hardware(files / "het.yaml")


def test_nested_hetero_refused(files):
    with pytest.raises(ConfigError, match="params.engines.b: an engine must be a single design"):
        load_hardware(files / "het.yaml", {"params.engines.b": "het.yaml"})


def test_no_rule_and_no_default(files):
    write_file(files, "het.yaml", HET.replace("  default: a\n", ""))
    with pytest.raises(UnsupportedOpError, match="no rule assigns op 'fc1'"):
        simulate(fork_join(), load_hardware(files / "het.yaml"))


def test_map_naming_a_missing_op(files):
    hw = load_hardware(files / "het.yaml", {"params.map": {"fc9": "a"}})
    with pytest.raises(ConfigError, match=r"params.map.fc9: no op 'fc9'"):
        simulate(fork_join(), hw)


def test_engine_that_cannot_run_the_op(files, repo):
    """A systolic array without a vector unit cannot run an add."""
    write_file(files, "het.yaml", HET.replace("b: {file: hw.yaml, set: {clock_mhz: 50}}",
                                         f"b: {{file: {repo}/hw_configs/systolic_tpu_like_32x32.yaml, "
                                         "set: {params.vector_lanes: null}}")
          .replace("default: a", "default: b"))
    with pytest.raises(UnsupportedOpError, match=r"engine 'b' \(systolic\) does not model op kind 'add'"):
        simulate(fork_join(tags_b={}), load_hardware(files / "het.yaml"))


def test_result_page_has_the_engine_table(files):
    from archsim.report.document import Table
    from archsim.report.pages import result_blocks

    blocks = result_blocks(simulate(fork_join(), load_hardware(files / "het.yaml")), None)
    tables = [b for b in blocks if isinstance(b, Table) and b.columns[0] == "engine"]
    assert len(tables) == 1
    rows = {r[0]: r for r in tables[0].rows}
    assert set(rows) == {"a", "b", "link"}
    energy_col = tables[0].columns[7]               # human-scaled: the prefix of the engines' energies
    from archsim.report.units import scale_for
    mult, unit = scale_for([e["energy_j"] for e in simulate(fork_join(), load_hardware(files / "het.yaml"))
                            .summary["engines"].values()], "J")
    assert energy_col == f"energy ({unit})"
    assert rows["b"][3] == 1 and rows["link"][7] == pytest.approx(768e-12 * mult)


def test_crossbar_engine_maps_its_own_ops(repo, tmp_path):
    """An imc engine maps the ops assigned to it (here every GEMM of the tiny transformer): the
    same crossbars and the same crossbar-engine energy as the GEMMs alone on that design."""
    from archsim.cli.common import load_any_trace

    write_file(tmp_path, "het.yaml", f"""
        architecture: hetero
        name: imc+mac
        clock_mhz: 500
        energy: {{tables: [{repo}/hw_configs/energy/link_ucie_2d.yaml]}}
        params:
          engines:
            xbar: {repo}/hw_configs/clipformer_rram_32nm.yaml
            dig: {repo}/hw_configs/mac_array_example.yaml
          rules:
            - {{engine: xbar, kind: [linear, conv2d, matmul]}}
          default: dig
          link: {{bandwidth_gbps: 32}}
        """)
    trace = load_any_trace(repo / "examples/tiny_transformer.yaml")
    het = simulate(trace, load_hardware(tmp_path / "het.yaml"))
    alone = simulate(trace, load_hardware(repo / "hw_configs/clipformer_rram_32nm.yaml"))
    assert het["instances"]["xbar/crossbar"] == alone["instances"]["crossbar"] > 0
    gemm = alone.ops[alone.ops.kind.isin(["linear", "matmul"])]
    het_gemm = het.ops[het.ops.engine == "xbar"]
    assert het_gemm["macs"].sum() == gemm["macs"].sum()
    dyn = lambda r, pre: sum(r.actions[r.actions.component == c]["count"].sum() for c in [pre + "crossbar"])  # noqa: E731
    assert dyn(het, "xbar/") == dyn(alone, "")
