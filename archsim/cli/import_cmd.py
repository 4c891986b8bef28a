"""``archsim import``: bring other tools' input files into archsim (SCALE-Sim, SpikeSim, ONNX)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("import", help="convert other tools' inputs into traces and hardware YAML")
    isub = p.add_subparsers(dest="import_source", metavar="TOOL", required=True)
    s = isub.add_parser(
        "scalesim", help="SCALE-Sim topology CSV -> trace, SCALE-Sim .cfg -> systolic hardware YAML",
        description="Convert a SCALE-Sim topology CSV into an archsim trace (OUT/<csv name>.trace) and a "
                    "SCALE-Sim .cfg into a `systolic` hardware YAML (OUT/<cfg name>.yaml). Give either or both.")
    s.add_argument("--topology", metavar="CSV", help="SCALE-Sim topology CSV (conv or GEMM form)")
    s.add_argument("--config", metavar="CFG", help="SCALE-Sim architecture .cfg file")
    form = s.add_mutually_exclusive_group()
    form.add_argument("--gemm", dest="gemm", action="store_true", default=None,
                      help="the topology is in GEMM form (M, N, K); default: from its header")
    form.add_argument("--conv", dest="gemm", action="store_false", help="the topology is in conv form")
    s.add_argument("-o", "--out", default=".", metavar="DIR", help="output folder (default: current)")
    s.add_argument("--bits", type=int, default=8,
                   help="operand width of the imported layers and PEs (SCALE-Sim words are 1 byte; default 8)")
    s.add_argument("--clock-mhz", type=float, default=1000.0,
                   help="clock of the hardware YAML (SCALE-Sim has none; default 1000)")
    s.add_argument("--energy-table", metavar="YAML",
                   help="energy table to copy beside the hardware YAML, which refers to it by name "
                        "(default: hw_configs/energy/systolic_45nm.yaml)")
    s.add_argument("--dram-model", choices=("scalesim", "reuse"), default="scalesim",
                   help="DRAM traffic and stalls of the hardware YAML: 'scalesim' replays SCALE-Sim's buffers "
                        "(its numbers exactly), 'reuse' is archsim's closed-form reuse model (default: scalesim)")
    s.set_defaults(func=run_scalesim)
    k = isub.add_parser(
        "spikesim", help="SpikeSim network lists -> layer list, SpikeSim preset -> imc hardware YAML",
        description="Read SpikeSim's network lists (in_ch_list, out_ch_list, in_dim_list, out_dim_list and "
                    "xbar_size, kernel_size, pe_per_tile, time_steps, clk_freq) from its ELA script (parsed, not "
                    "run) or a YAML/JSON file; write OUT/<name>.yaml (layer list) and OUT/<name>_hw.yaml (the "
                    "SpikeSim preset with accounting: spikesim, its energy table copied beside it).")
    k.add_argument("network", help="SpikeSim script (.py) or YAML/JSON with the network lists")
    k.add_argument("-o", "--out", default=".", metavar="DIR", help="output folder (default: current)")
    k.add_argument("--device", choices=("rram", "sram"), default="rram",
                   help="SpikeSim's device (the argument of its ELA energy and area functions; default: rram)")
    k.set_defaults(func=run_spikesim)
    o = isub.add_parser("onnx", help="ONNX model -> trace (shapes by ONNX shape inference, weights from initialisers)",
                        description="Convert an ONNX model into an archsim trace (conv, gemm/matmul, attention "
                                    "products, norms, pooling, elementwise); ops with no trace kind become "
                                    "'unmodelled' ops, listed as warnings. Needs the onnx package (archsim[onnx]).")
    o.add_argument("model", help="ONNX file")
    o.add_argument("--input-shape", action="append", default=[], metavar="[NAME=]D0,D1,...",
                   help="shape of a graph input (repeatable; the name may be left out when there is one input)")
    o.add_argument("-o", "--out", required=True, help="trace file to write")
    o.add_argument("--weight-bits", type=int, default=8,
                   help="weights stored as integers of this width per output channel (0: float32; default 8)")
    o.add_argument("--activation-bits", type=int, default=8, help="bit width of activation operands (default 8)")
    o.add_argument("--name", help="model name in the trace header (default: the file's stem)")
    o.set_defaults(func=run_onnx)


def run_scalesim(args) -> int:
    import contextlib
    from pathlib import Path

    from archsim.errors import ArchsimError
    from archsim.fileio import atomic_path, check_output_file
    from archsim.trace.io import is_trace_file
    from archsim.importers import scalesim

    if not args.topology and not args.config:
        raise ArchsimError("import scalesim: give --topology CSV and/or --config CFG")
    if args.bits < 1:
        raise ArchsimError(f"import scalesim: --bits must be >= 1, got {args.bits}")
    if args.clock_mhz <= 0:
        raise ArchsimError(f"import scalesim: --clock-mhz must be > 0, got {args.clock_mhz}")
    out = Path(args.out)
    trace = hw_text = trace_path = hw_path = None
    # convert everything in memory first, so that a bad input leaves no output behind
    if args.topology:
        topology = scalesim.read_topology(args.topology, gemm=args.gemm)
        trace = scalesim.topology_to_trace(topology, input_bits=args.bits, weight_bits=args.bits,
                                           output_bits=args.bits)
        trace_path = out / f"{topology.name}.trace"
    if args.config:
        cfg = scalesim.read_config(args.config)
        table = Path(args.energy_table) if args.energy_table else scalesim.default_energy_table()
        if table is None or not table.is_file():
            raise ArchsimError(f"import scalesim: energy table not found ({table or 'no source checkout'}); "
                               "pass --energy-table")
        hw_path = out / f"{Path(args.config).stem}.yaml"
        # the table is copied beside the YAML and named relative to it: the folder can move
        table_copy = out / table.name
        hw_text = scalesim.config_to_hardware_yaml(cfg, hw_path, energy_table=table_copy, clock_mhz=args.clock_mhz,
                                                   bits=args.bits, dram_model=args.dram_model)
    def imported_yaml(path: Path) -> bool:   # a hardware file a previous import wrote
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline(200).startswith("# Imported by `archsim import scalesim`")
    if trace_path is not None:
        check_output_file(trace_path, "trace", is_trace_file)
    if hw_path is not None:
        check_output_file(hw_path, "imported hardware YAML", imported_yaml)
        if table.resolve() != table_copy.resolve():   # a previous import's copy of the same table only
            check_output_file(table_copy, "copy of the energy table", lambda p: p.read_bytes() == table.read_bytes())
    # The hardware file is written aside first, so that a failed trace write leaves neither.
    with contextlib.ExitStack() as stack:
        if hw_text is not None:
            tmp = stack.enter_context(atomic_path(hw_path))
            tmp.write_text(hw_text)
            if table.resolve() != table_copy.resolve():
                stack.enter_context(atomic_path(table_copy)).write_bytes(table.read_bytes())
        if trace is not None:
            trace.save(trace_path)
    if trace is not None:
        print(f"wrote {trace_path} ({len(trace.ops)} ops, {'GEMM' if topology.gemm else 'conv'} form)")
    if hw_text is not None:
        print(f"wrote {hw_path} ({cfg.rows}x{cfg.cols} {cfg.dataflow.upper()}, "
              f"InterfaceBandwidth {cfg.interface_bandwidth})")
        print(f"wrote {table_copy} (energy table, referred to by the hardware YAML)")
        for item in cfg.ignored:
            print(f"warning: not modelled: {item}")
        for item in cfg.notes:
            print(f"note: {item}")
    return 0


def run_spikesim(args) -> int:
    import contextlib
    from pathlib import Path

    import yaml

    import archsim
    from archsim.fileio import atomic_path, check_output_file
    from archsim.importers import spikesim

    net, notes = spikesim.read_network(args.network)
    name = Path(args.network).stem
    layers = spikesim.network_to_layer_list(net, name=f"spikesim-{name}")
    preset = Path(archsim.__file__).resolve().parents[1] / "hw_configs" / spikesim.DEVICES[args.device]
    hw = spikesim.hardware_yaml(net, preset)
    out = Path(args.out)
    names = list(hw["energy"]["tables"])
    for t in list(names):         # a table that extends another needs that one beside it too
        base = (yaml.safe_load((preset.parent / "energy" / t).read_text()) or {}).get("extends")
        if base and base not in names:
            names.append(base)
    tables = [(preset.parent / "energy" / t, out / t) for t in names]
    marker = "# Imported by `archsim import spikesim`"

    def previous(path: Path) -> bool:   # a file a previous import wrote
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline(200).startswith(marker)
    for path in (out / f"{name}.yaml", out / f"{name}_hw.yaml"):
        check_output_file(path, "imported SpikeSim file", previous)
    for src, dst in tables:
        check_output_file(dst, "copy of the energy table", lambda p, src=src: p.read_bytes() == src.read_bytes())
    with contextlib.ExitStack() as stack:
        stack.enter_context(atomic_path(out / f"{name}.yaml")).write_text(
            f"{marker} from {Path(args.network).name}\n" + yaml.safe_dump(layers, sort_keys=False))
        stack.enter_context(atomic_path(out / f"{name}_hw.yaml")).write_text(
            f"{marker} from {Path(args.network).name}\n" + yaml.safe_dump(hw, sort_keys=False))
        for src, dst in tables:
            stack.enter_context(atomic_path(dst)).write_bytes(src.read_bytes())
    print(f"wrote {out / f'{name}.yaml'} ({len(net['out_ch_list'])} conv layers, T = {net['time_steps']})")
    print(f"wrote {out / f'{name}_hw.yaml'} (crossbar {net['xbar_size']}, {net['pe_per_tile']} PEs/tile, "
          f"{net['clk_freq']} MHz, {args.device}, accounting spikesim) and its energy table(s)")
    for n in notes:
        print(f"note: {n}")
    return 0


def run_onnx(args) -> int:
    import sys

    from archsim.errors import ArchsimError
    from archsim.importers.onnx import import_onnx, parse_input_shapes
    from archsim.trace.summary import unmodelled_line

    if args.weight_bits < 0 or args.activation_bits < 1:
        raise ArchsimError("import onnx: --weight-bits must be >= 0 and --activation-bits >= 1")
    trace, warnings = import_onnx(args.model, parse_input_shapes(args.input_shape),
                                  weight_bits=args.weight_bits or None, activation_bits=args.activation_bits,
                                  name=args.name)
    for w in warnings:
        print(f"archsim: warning: {w}", file=sys.stderr)
    path = trace.save(args.out)
    macs = sum(op.macs * op.timesteps for op in trace.ops)
    print(f"wrote {path} ({len(trace.ops)} ops, {macs / 1e6:.3f} M MACs)")
    print(unmodelled_line(trace))
    return 0
