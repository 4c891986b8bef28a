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
    p.add_argument("--timesteps", type=int, default=None, metavar="T",
                   help="run a statistics-only trace at T timesteps (per-T spike statistics from archsim's "
                        "dead-neuron + Bernoulli model; docs/sweeps.md); an error on stored tensors")
    p.add_argument("--weight-sparsity", type=float, default=None, metavar="S",
                   help="set every statistics-only GEMM weight to sparsity S (0 <= S < 1); an error on stored weights")
    p.add_argument("--check-function", action="store_true",
                   help="loas only: also compute every stored spike layer's output through the FTP join and "
                        "compare it with the dense product (exit 1 on a mismatch)")
    p.set_defaults(func=run)


def run(args) -> int:
    from archsim.cli.common import format_summary, load_any_trace, parse_sets, progress_wanted
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate
    from archsim.fileio import check_output_dir

    check_output_dir(args.out)            # refuse a bad -o before the work, not after
    hw = load_hardware(args.hw, overrides=parse_sets(args.set))
    trace = load_any_trace(args.trace)
    if args.timesteps is not None or args.weight_sparsity is not None:
        from archsim.workloads_stats.knobs import apply_workload
        trace = apply_workload(trace, timesteps=args.timesteps, weight_sparsity=args.weight_sparsity)
    check = None
    if args.check_function:
        from archsim.arch.loas_function import check_function
        check = check_function(trace, hw, seed=args.seed)
    result = simulate(trace, hw, progress=progress_wanted(args.quiet), seed=args.seed)
    if check is not None:
        result.summary["function_check"] = check.summary()
    out = result.save(args.out)
    if not args.quiet:
        print(format_summary(result.summary))
        print(f"wrote {out}/ (summary.json, ops.csv, actions.csv, sources.csv)")
    if check is not None:
        print(check.line())
        return 0 if check.passed else 1
    return 0
