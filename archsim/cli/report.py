"""``archsim report``: the HTML and Markdown page of a result, a sweep or a reproduce output."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "report", help="write index.html and index.md (tables and plots) for a result or sweep directory",
        description="DIR is a result (archsim simulate -o), a sweep (archsim sweep -o) or the output of "
                    "archsim reproduce. Writes OUT/index.html, OUT/index.md and the plots in OUT/img/.")
    p.add_argument("dir", metavar="DIR", help="result, sweep or reproduce output directory")
    p.add_argument("-o", "--out", default=None, metavar="OUT", help="where to write the page (default: DIR)")
    p.add_argument("--embed", action="store_true", help="embed the images in index.html (one self-contained file)")
    p.set_defaults(func=run)


def run(args) -> int:
    from archsim.fileio import check_output_dir, mark_output_dir
    from archsim.report.pages import kind_of_dir, report_dir
    from pathlib import Path

    kind_of_dir(Path(args.dir))            # the input is a result, sweep or reproduce output
    if args.out is not None:
        check_output_dir(args.out, create=True)
    md, html = report_dir(args.dir, args.out, embed=args.embed)
    if args.out is not None:
        mark_output_dir(args.out, "report")
    print(f"wrote {html} and {md}")
    return 0
