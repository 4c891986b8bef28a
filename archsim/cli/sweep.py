"""``archsim sweep``: run a design-space sweep into a resumable result table."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="run a design-space sweep (grid/zip/random over hardware keys, x traces)",
        description="Run the sweep SPEC (see docs/sweeps.md) into DIR: DIR/results.parquet (or .csv) gets one row "
                    "per (design point, trace). Rerunning the same command resumes: finished runs are kept.")
    p.add_argument("spec", metavar="SPEC", help="sweep spec (YAML)")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output directory (created, or resumed)")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="worker processes (default: the CPUs available; 1 runs in this process)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local process pool (default) or a Dask distributed cluster (pip install 'archsim[dask]')")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://head:8786 (default: start a LocalCluster of --jobs workers)")
    p.add_argument("--batch", type=int, default=None, metavar="N",
                   help="runs per task sent to a worker (default: about 8 tasks per worker, at most 64 runs each)")
    p.add_argument("--retry-failed", action="store_true", help="run again the points that failed before")
    p.add_argument("--format", choices=("parquet", "csv"), default=None,
                   help="table format (default: parquet when pyarrow is installed, else csv)")
    p.add_argument("--dry-run", action="store_true", help="check the spec and print the plan; run nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar; print only the final line")
    p.set_defaults(func=run)


def run(args) -> int:
    import signal

    from archsim.errors import ArchsimError
    from archsim.sweep.plan import make_plan
    from archsim.sweep.runner import SweepInterrupted, run_sweep

    if args.jobs is not None and args.jobs < 1:
        raise ArchsimError(f"--jobs {args.jobs}: expected at least 1")
    if args.batch is not None and args.batch < 1:
        raise ArchsimError(f"--batch {args.batch}: expected at least 1")
    if args.scheduler and args.executor != "dask":
        raise ArchsimError("--scheduler needs --executor dask")
    from archsim.cli.common import progress_wanted

    plan = make_plan(args.spec, progress=progress_wanted(args.quiet))
    print(plan.describe())
    if args.dry_run:
        for row in plan.rows[:5]:
            values = ", ".join(f"{k}={row[k]!r}" for k in plan.keys)
            print(f"  point {row['point']}: {row['trace']} on {row['hardware']} ({values})")
        if len(plan.rows) > 5:
            print(f"  ... {len(plan.rows) - 5} more")
        return 0

    def stop(signum, frame):   # SIGTERM: stop like Ctrl-C, keeping what finished
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        outcome = run_sweep(plan.loaded, args.out, executor=args.executor, jobs=args.jobs,
                            scheduler=args.scheduler, batch_size=args.batch, retry_failed=args.retry_failed,
                            table_format=args.format, progress=progress_wanted(args.quiet), plan=plan)
    except SweepInterrupted as exc:
        o = exc.outcome
        done = o.already_done + o.computed
        print(f"archsim sweep: interrupted after {done} of {o.total} runs ({o.computed} this time); "
              f"{o.table} holds them; rerun the same command to go on")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    o = outcome
    failed = f", {o.failed} failed (see the 'error' column)" if o.failed else ""
    print(f"{o.computed} runs computed, {o.already_done} already done{failed}; wrote {o.table}")
    return 0
