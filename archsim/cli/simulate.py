"""``archsim simulate``: one trace on one hardware description."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate a trace on a hardware description and write the result",
                       description="Simulate TRACE (a trace file or a YAML layer list) on HW (a hardware YAML) "
                                   "and write summary.json, ops.csv, actions.csv and sources.csv into OUT.")
    p.add_argument("--hw", required=True, metavar="FILE", help="hardware description (YAML)")
    p.add_argument("--trace", required=True, metavar="FILE", help="trace file, or a YAML layer list")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output directory (replaced atomically)")
    p.add_argument("--set", action="append", metavar="KEY.PATH=VALUE",
                   help="override a hardware key before validation, e.g. --set params.rows=32 (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed for synthetic tensors (default: the trace's)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args) -> int:
    from archsim.cli.common import format_summary, load_any_trace, parse_sets, progress_wanted
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate

    hw = load_hardware(args.hw, overrides=parse_sets(args.set))
    trace = load_any_trace(args.trace)
    result = simulate(trace, hw, progress=progress_wanted(args.quiet), seed=args.seed)
    out = result.save(args.out)
    if not args.quiet:
        print(format_summary(result.summary))
        print(f"wrote {out}/ (summary.json, ops.csv, actions.csv, sources.csv)")
    return 0
