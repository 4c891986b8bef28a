"""``archsim simulate``: one trace on one hardware description, or a batch of them in one process."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate a trace on a hardware description and write the result",
                       description="Simulate TRACE (a trace file or a YAML layer list) on HW (a hardware YAML) "
                                   "and write summary.json, ops.csv, actions.csv and sources.csv into OUT; "
                                   "or, with --batch JOBS, every (hw, trace, out) row of a CSV file in one process.")
    p.add_argument("--hw", metavar="FILE", help="hardware description (YAML)")
    p.add_argument("--trace", metavar="FILE", help="trace file, or a YAML layer list")
    p.add_argument("-o", "--out", metavar="DIR", help="output directory (replaced atomically)")
    p.add_argument("--batch", metavar="JOBS.csv",
                   help="run many simulations in this one process (no start-up per run): a CSV file with the "
                        "header 'hw,trace,out' and one simulation per row, paths relative to the file's folder; "
                        "the other options apply to every row (instead of --hw, --trace, -o)")
    p.add_argument("--parquet", action="store_true", help="also write ops.parquet (needs pyarrow; ops.csv holds "
                                                          "the same table)")
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
    from archsim.errors import ArchsimError

    single = [name for name in ("hw", "trace", "out") if getattr(args, name)]
    if args.batch:
        if single:
            raise ArchsimError(f"simulate: --batch runs the rows of {args.batch}; drop --{single[0]}")
        if args.check_function:
            raise ArchsimError("simulate: --check-function runs one simulation; not with --batch")
        return run_batch(args)
    if len(single) < 3:
        missing = [f"--{n}" if n != "out" else "-o" for n in ("hw", "trace", "out") if n not in single]
        raise ArchsimError(f"simulate: give --hw, --trace and -o (missing {', '.join(missing)}), or --batch JOBS.csv")
    return _simulate_one(args, args.hw, args.trace, args.out)


def _simulate_one(args, hw_path, trace_path, out_dir, checked: bool = False) -> int:
    from archsim.cli.common import format_summary, load_any_trace, parse_sets, progress_wanted
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate
    from archsim.fileio import check_output_dir

    if not checked:
        check_output_dir(out_dir)         # refuse a bad -o before the work, not after
    hw = load_hardware(hw_path, overrides=parse_sets(args.set))
    trace = load_any_trace(trace_path)
    if args.timesteps is not None or args.weight_sparsity is not None:
        from archsim.generators.stats.knobs import apply_workload
        trace = apply_workload(trace, timesteps=args.timesteps, weight_sparsity=args.weight_sparsity)
    check = None
    if args.check_function:
        from archsim.arch.loas_function import check_function
        check = check_function(trace, hw, seed=args.seed)
    result = simulate(trace, hw, progress=progress_wanted(args.quiet), seed=args.seed)
    if check is not None:
        result.summary["function_check"] = check.summary()
    out = result.save(out_dir, parquet=args.parquet)
    if not args.quiet:
        print(format_summary(result.summary))
        print(f"wrote {out}/ (summary.json, ops.csv, actions.csv, sources.csv{', ops.parquet' if args.parquet else ''})")
    if check is not None:
        print(check.line())
        return 0 if check.passed else 1
    return 0


BATCH_COLUMNS = ("hw", "trace", "out")


def read_jobs(path) -> list[tuple[str, str, str, str]]:
    """The rows of a --batch file: (where, hw, trace, out), paths resolved against its folder."""
    import csv
    from pathlib import Path

    from archsim.errors import ArchsimError

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchsimError(f"{path}: cannot read the jobs file ({getattr(exc, 'strerror', None) or exc})") from None
    header = [c.strip() for c in rows[0]] if rows else []
    if header != list(BATCH_COLUMNS):
        raise ArchsimError(f"{path}:1: the header must be '{','.join(BATCH_COLUMNS)}', found '{','.join(header)}'")
    jobs, outs = [], {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(BATCH_COLUMNS) or not all(c.strip() for c in row):
            raise ArchsimError(f"{path}:{line}: expected 3 values hw,trace,out, found {len(row)}: {','.join(row)}")
        hw, trace, out = (str(path.parent / c.strip()) for c in row)
        key = str(Path(out).resolve())
        if key in outs:
            raise ArchsimError(f"{path}:{line}: out '{row[2].strip()}' is also the out of line {outs[key]}")
        outs[key] = line
        jobs.append((f"{path}:{line}", hw, trace, out))
    if not jobs:
        raise ArchsimError(f"{path}: no jobs (one 'hw,trace,out' row per simulation)")
    return jobs


def run_batch(args) -> int:
    """Every row of the jobs file, as ``archsim simulate --hw HW --trace TRACE -o OUT`` with the
    other options: the rows run one after another in this process (start-up paid once, Numba
    kernels compiled once). A row that fails is reported with its line and the others still
    run; the exit status is 2 if any failed."""
    import sys

    from archsim.errors import ArchsimError
    from archsim.fileio import check_output_dir

    jobs = read_jobs(args.batch)
    for where, _, _, out in jobs:            # every output folder checked before the first run
        try:
            check_output_dir(out)
        except ArchsimError as exc:
            raise ArchsimError(f"{where}: {exc}") from None
    failed = 0
    for where, hw, trace, out in jobs:
        try:
            _simulate_one(args, hw, trace, out, checked=True)
        except ArchsimError as exc:
            failed += 1
            for line in str(exc).splitlines() or [type(exc).__name__]:
                print(f"archsim: error: {where}: {line}", file=sys.stderr)
    if not args.quiet:
        print(f"batch {args.batch}: {len(jobs) - failed} of {len(jobs)} simulations written")
    return 2 if failed else 0
