"""``archsim pareto``: the Pareto front of a sweep's table over two or three metrics."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "pareto", help="Pareto front of a sweep table over two or three metrics",
        description="Print (and with -o write) the rows of a sweep's result table that no other row beats in every "
                    "metric. Metrics are minimised; write NAME:max to maximise one (e.g. tops_per_w:max).")
    p.add_argument("table", metavar="DIR", help="sweep directory (or a results.parquet / results.csv file)")
    p.add_argument("metrics", nargs="+", metavar="METRIC", help="two or three columns, e.g. energy_j latency_s")
    p.add_argument("--by", default="trace", metavar="COLUMN",
                   help="one front per value of this column (default: trace); 'none' for one front over all rows")
    p.add_argument("-o", "--out", metavar="FILE", help="write the front as CSV")
    p.add_argument("--table", metavar="FILE", dest="table_json",
                   help="write the front as a recipe table file (JSON, for a recipe's 'tables:'), with a plot of "
                        "accuracy against the other metric beside it (FILE.png) when accuracy_mean is a metric")
    p.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from archsim.sweep.pareto import pareto_front
    from archsim.sweep.store import load_table

    table = load_table(args.table)
    by = None if args.by.lower() == "none" else args.by
    front = pareto_front(table, args.metrics, by=by)
    names = [m.partition(":")[0] for m in args.metrics]
    cols = list(table.columns)
    # the swept keys sit between 'architecture' and 'status' (see archsim.sweep.runner.table_frame)
    keys = cols[cols.index("architecture") + 1:cols.index("status")] if {"architecture", "status"} <= set(cols) else []
    cols = list(dict.fromkeys([c for c in ["trace", "point", *keys, *names] if c in front.columns]))
    ok = int((table["status"] == "ok").sum()) if "status" in table.columns else len(table)
    print(f"{len(front)} of {ok} runs on the Pareto front of {', '.join(args.metrics)}"
          + (f" (one front per {by})" if by else ""))
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
        print(front[cols].to_string(index=False))
    if args.out:
        from pathlib import Path

        from archsim.fileio import atomic_write_text, check_output_file
        text = front.to_csv(index=False)
        header = text.split("\n", 1)[0]

        def same_front(path: Path) -> bool:   # a previous front of these columns
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.readline(len(header) + 2).rstrip("\r\n") == header
        out = check_output_file(args.out, "Pareto front CSV", same_front)
        atomic_write_text(out, text)
        print(f"wrote {out}")
    if args.table_json:
        import json
        from pathlib import Path

        from archsim.fileio import atomic_write_text
        from archsim.report.accuracy import front_tables
        out = Path(args.table_json)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, json.dumps(front_tables(args.table, args.metrics, by, plot=out.with_suffix(".png")),
                                          indent=1))
        print(f"wrote {out} and {out.with_suffix('.png').name}")
    return 0
