"""``archsim price``: a stored result priced again under another table, without simulating."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("price", help="re-price a stored result under another energy/area table (no simulation)",
                       description="Price the counts stored with RESULT (a folder written by `archsim simulate` or "
                                   "`archsim reproduce`) under the energy/area tables of --hw (a hardware YAML that "
                                   "counts the same: same architecture, clock and params) or --table (an energy "
                                   "table YAML), and write a complete result folder into OUT.")
    p.add_argument("result", metavar="RESULT", help="result folder (holds counts.json)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--hw", metavar="FILE", help="hardware description whose tables price the counts")
    what.add_argument("--table", metavar="FILE", help="energy table YAML that prices the counts")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output directory (replaced atomically)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args) -> int:
    from archsim.cli.common import format_summary
    from archsim.energy.price import reprice

    result = reprice(args.result, args.hw or args.table)
    out = result.save(args.out)
    if not args.quiet:
        print(format_summary(result.summary))
        print(f"wrote {out}/")
    return 0
