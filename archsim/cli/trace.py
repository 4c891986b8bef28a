"""``archsim trace``: inspect and convert traces."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("trace", help="inspect or convert a trace")
    tsub = p.add_subparsers(dest="trace_command", metavar="ACTION", required=True)
    info = tsub.add_parser("info", help="header, ops, shapes and sparsity of a trace")
    info.add_argument("file", help="trace file or YAML layer list")
    info.set_defaults(func=run_info)
    conv = tsub.add_parser("convert", help="convert a YAML layer list into a trace file")
    conv.add_argument("file", help="YAML layer list")
    conv.add_argument("-o", "--out", required=True, help="trace file to write")
    conv.set_defaults(func=run_convert)


def run_info(args) -> int:
    from archsim.cli.common import load_any_trace
    from archsim.trace.summary import describe

    print(describe(load_any_trace(args.file)))
    return 0


def run_convert(args) -> int:
    from archsim.trace.layer_list import load_layer_list

    trace = load_layer_list(args.file)
    path = trace.save(args.out)
    print(f"wrote {path} ({len(trace.ops)} ops)")
    return 0
