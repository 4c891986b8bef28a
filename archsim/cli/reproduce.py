"""``archsim reproduce``: run report recipes (the papers' reproductions) and write a report."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="run report recipes and write a Markdown report",
                       description="Run each recipe (default: every reports/*.yaml) and write results and "
                                   "OUT/index.md with the paper-vs-archsim tables.")
    p.add_argument("recipes", nargs="*", metavar="RECIPE", help="recipe YAML files (default: reports/*.yaml)")
    p.add_argument("-o", "--out", default="reports/out", metavar="DIR", help="output directory")
    p.add_argument("--strict", action="store_true", help="exit 1 if a check misses its tolerance")
    p.set_defaults(func=run)


def run(args) -> int:
    from archsim.errors import ArchsimError
    from archsim.report.markdown import recipe_markdown
    from archsim.report.recipe import run_recipe

    recipes = [Path(r) for r in args.recipes] or sorted(Path("reports").glob("*.yaml"))
    if not recipes:
        raise ArchsimError("no recipes given and none found in reports/*.yaml")
    out = Path(args.out)
    sections, failed = [], 0
    for recipe in recipes:
        outcome = run_recipe(recipe, out, progress=True)
        sections.append(recipe_markdown(outcome))
        failed += sum(not c["pass"] for c in outcome["checks"])
        print(f"{recipe}: {len(outcome['summaries'])} runs, "
              f"{sum(c['pass'] for c in outcome['checks'])}/{len(outcome['checks'])} checks within tolerance")
    index = out / "index.md"
    index.write_text("# archsim report\n\n" + "\n".join(sections))
    print(f"wrote {index}")
    return 1 if (failed and args.strict) else 0
