"""reports/loas_real.yaml only simulates traces that the main job (setup.sh) writes before it runs
`archsim reproduce`, and checks each of them."""
import re
from pathlib import Path

from archsim.report.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]


def traces_written_by_setup() -> tuple[set[str], int]:
    """Trace paths (relative to the repo) exported by setup.sh's LoAS loops, and the line number of
    the last loop's end, read from the script itself."""
    lines = (ROOT / "setup.sh").read_text().splitlines()
    written, end = set(), 0
    for start in [i for i, l in enumerate(lines) if re.match(r"for m in .*loas-", l)]:
        models = lines[start].split(" in ", 1)[1].split(";")[0].split()
        end = next(i for i in range(start, len(lines)) if lines[i].strip() == "done")
        outs = [re.search(r'-o "([^"]+)"', l).group(1) for l in lines[start:end] if "archsim-workloads export" in l]
        assert outs, lines[start]
        written |= {o.replace("$m", m) for o in outs for m in models}
    return written, end


def test_recipe_reads_only_traces_the_main_job_writes_first():
    from archsim.sweep.spec import TraceFamily, load_spec

    written, loop_end = traces_written_by_setup()
    variants = ("t6", "t8", "ws25", "ws50", "ws75", "ws90")
    assert written == {f"reports/traces/loas-{n}{s}.trace" for n in ("alexnet", "vgg16", "resnet19")
                       for s in ("", "-strong")} | {f"reports/traces/loas-vgg16-{v}.trace" for v in variants}
    recipe, base = load_recipe(ROOT / "reports" / "loas_real.yaml")
    used = {str((base / r.trace).resolve().relative_to(ROOT)) for r in recipe.runs}
    for sweep in recipe.sweeps:      # the real traces of the recipe's sweeps too
        loaded = load_spec(base / sweep.spec)
        for entry in loaded.spec.trace_files:
            for f in (entry.members if isinstance(entry, TraceFamily) else [entry]):
                path = str((loaded.base / f).resolve().relative_to(ROOT))
                if path.startswith("reports/traces/"):
                    used.add(path)
    assert used == written
    lines = (ROOT / "setup.sh").read_text().splitlines()
    reproduce = next(i for i, l in enumerate(lines) if "archsim reproduce" in l and not l.lstrip().startswith("#"))
    assert reproduce > loop_end


def test_every_network_is_checked():
    recipe, _ = load_recipe(ROOT / "reports" / "loas_real.yaml")
    for net in ("alexnet", "vgg16", "resnet19"):
        checked = {c.metric for c in recipe.checks if (c.run or c.ratio[0]).startswith(net + "-")}
        assert {"macs", "trace_metrics.weight_sparsity_pruned_layers", "cycles"} <= checked, net


def test_layer_figures_of_every_network():
    """One layer-wise DRAM chart per network over the five designs, normalised to LoAS-FT, with no
    published marks (archsim's own figures for these networks)."""
    recipe, _ = load_recipe(ROOT / "reports" / "loas_real.yaml")
    figs = {f.name: f for f in recipe.layer_figures}
    assert set(figs) == {f"{n}-dram" for n in ("alexnet", "vgg16", "resnet19")}
    for name, f in figs.items():
        net = name.split("-")[0]
        assert set(f.runs.values()) == {f"{net}-{d}" for d in ("sparten", "gospa", "gamma", "loas", "loasft")}
        assert f.normalize == f"{net}-loasft" and f.published is None
