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
    st = tsub.add_parser("stats", help="sparsity statistics; --loas: the LoAS Table II columns",
                         description="Per-operand densities of a trace, or with --loas the LoAS Table II "
                                     "statistics (spike sparsity, silent-neuron ratio in normal and strong "
                                     "mode, weight sparsity) per layer and for the network.")
    st.add_argument("files", nargs="+", metavar="FILE", help="trace files or YAML layer lists")
    st.add_argument("--loas", action="store_true", help="LoAS Table II statistics on the im2col'd spike matrices")
    st.add_argument("--kinds", default="conv2d", metavar="K[,K]",
                    help="layer kinds profiled with --loas: conv2d (the artifact's choice) and/or linear")
    st.add_argument("--keep-first", action="store_true",
                    help="with --loas, also profile the first layer (the artifact skips it)")
    st.add_argument("--no-im2col", action="store_true",
                    help="with --loas, count the neurons themselves instead of the im2col'd matrix")
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")
    st.add_argument("--table", metavar="FILE.json",
                    help="with --loas, also write the network figures beside the LoAS paper's as a report table "
                         "(a recipe's `tables:` entry shows it)")
    st.set_defaults(func=run_stats)


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


def run_stats(args) -> int:
    import json

    from archsim.errors import ArchsimError

    from archsim.cli.common import load_any_trace
    from archsim.trace.summary import header_lines, sparsity_table

    traces = [load_any_trace(f) for f in args.files]
    if args.table and not args.loas:
        raise ArchsimError("--table: only with --loas (it writes the LoAS Table II comparison)")
    if not args.loas:
        for file, trace in zip(args.files, traces):
            if args.json:
                print(json.dumps({op.id: {o.name: o.sparsity.model_dump(exclude_none=True)
                                          for o in (*op.operands, *([op.output] if op.output else []))
                                          if o.sparsity is not None} for op in trace.ops}, indent=1))
            else:
                print(f"{file}:\n" + sparsity_table(trace) if len(traces) > 1 else sparsity_table(trace))
        return 0
    from archsim.trace.loas_stats import format_summary, format_table, loas_table

    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    tables = [loas_table(t, kinds=kinds, exclude_first=not args.keep_first, im2col_view=not args.no_im2col)
              for t in traces]
    if args.table:
        from archsim.fileio import atomic_write_text, check_output_file
        from archsim.trace.loas_stats import TABLE_COLUMNS, comparison_table

        def previous(p):
            return json.loads(p.read_text())["tables"][0]["columns"] == TABLE_COLUMNS
        path = check_output_file(args.table, "LoAS Table II table", previous)
        atomic_write_text(path, json.dumps(comparison_table(list(zip(map(str, args.files), traces, tables))),
                                           indent=1) + "\n")
    if args.json:
        out = [{"trace": str(f), "header": t.header.model_dump(mode="json"), **tab.as_dict()}
               for f, t, tab in zip(args.files, traces, tables)]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=1))
        return 0
    for file, trace, table in zip(args.files, traces, tables):
        if len(traces) > 1:
            print(f"== {file}")
        print("\n".join(header_lines(trace)))
        print(format_table(table))
        print()
    if len(traces) > 1:
        print(format_summary([(str(f), t, tab) for f, t, tab in zip(args.files, traces, tables)]))
    return 0
