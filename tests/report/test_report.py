"""Report pages: a result, a sweep and a reproduce output, in HTML and Markdown with plots.

Every page is checked for well-formed HTML, for images that exist and are real PNGs and for
links and anchors that resolve; test_browser.py renders pages in headless Chromium."""
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.engine import simulate
from archsim.report.document import Page, Paragraph, write_report
from archsim.sweep.pareto import pareto_front
from archsim.sweep.runner import run_sweep
from archsim.sweep.store import load_table
from tests.sweep.support import register, write_slow_hardware, write_spec

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr", "area", "base", "embed", "track"}


class StrictHTML(HTMLParser):
    """Collects problems: end tags that close nothing or the wrong element, elements left open;
    the src of every image, the href of every link and every id."""

    def __init__(self):
        super().__init__()
        self.stack, self.problems, self.images, self.doctype = [], [], [], False
        self.links, self.ids = [], []

    def handle_decl(self, decl):
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src"))
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if a.get("id"):
            self.ids.append(a["id"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def parse_html(path: Path) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(path.read_text())
    parser.close()
    assert parser.doctype, "missing <!DOCTYPE html>"
    assert not parser.problems and not parser.stack, (parser.problems, parser.stack)
    assert len(parser.ids) == len(set(parser.ids)), f"{path}: repeated ids"
    return parser


def check_html(path: Path, images: bool = True) -> list[str]:
    """Assert ``path`` is well-formed HTML whose images exist and are non-empty PNGs and whose
    links to local files and anchors resolve (the file exists, the id is on it); return the image
    paths."""
    parser = parse_html(path)
    assert parser.images or not images, "no images"
    for src in parser.images:
        img = path.parent / src
        assert img.is_file() and img.stat().st_size > 1000, src
        assert img.read_bytes()[:8] == PNG_MAGIC, src
    for href in parser.links:
        target, _, anchor = href.partition("#")
        if ":" in target:          # another scheme (none are written today)
            continue
        file = (path.parent / target) if target else path
        assert file.exists(), f"{path}: link {href}: {file} missing"
        if anchor:
            assert file.suffix == ".html", href
            assert anchor in (parser.ids if file == path else parse_html(file).ids), f"{path}: link {href}: no id"
    return parser.images


def md_anchors_resolve(md: Path) -> None:
    """The Markdown page's links to local files exist and their anchors are GitHub heading slugs
    or explicit ``<a id>`` on the target page."""
    import re

    from archsim.report.document import slug
    for href in re.findall(r"\]\(([^)]+)\)", md.read_text()):
        target, _, anchor = href.partition("#")
        file = (md.parent / target) if target else md
        assert file.exists(), f"{md}: link {href}: {file} missing"
        if anchor:
            text = file.read_text()
            ids = set(re.findall(r'<a id="([^"]+)"></a>', text))
            seen: dict[str, int] = {}
            for h in re.findall(r"^#{2,6} (.+)$", text, flags=re.M):
                n = seen.get(slug(h), 0)
                seen[slug(h)] = n + 1
                ids.add(slug(h) if n == 0 else f"{slug(h)}-{n}")
            assert anchor in ids, f"{md}: link {href}: no such anchor"


def md_images(md: Path) -> list[str]:
    import re
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md.read_text())


@pytest.fixture
def result_dir(repo, tmp_path):
    from archsim.cli.common import load_any_trace
    result = simulate(load_any_trace(repo / "examples/tiny_snn.yaml"), repo / "hw_configs/mac_array_example.yaml")
    return result, result.save(tmp_path / "res")


def test_result_report(capsys, result_dir):
    result, res = result_dir
    assert main(["report", str(res)]) == 0
    html, md = res / "index.html", res / "index.md"
    assert sorted(check_html(html)) == sorted(md_images(md)) == ["img/result-components.png", "img/result-layers.png"]
    text = md.read_text()
    s = result.summary
    # the component table holds the summary's numbers (µJ, % of the total)
    from archsim.report.units import scale_for
    e_mult, e_unit = scale_for(list(s["energy_j_by_component"].values()), "J")
    assert f"| component | energy ({e_unit}) | energy (%) |" in text
    for comp, e in s["energy_j_by_component"].items():
        share = 100 * e / s["energy_j"]
        assert f"| {comp} | {e * e_mult:.4g} | {share:.4g} |" in text
    from archsim.report.units import scale_for
    mult, unit = scale_for([s["latency_s"]], "s")
    assert f"| latency | {s['latency_s'] * mult:.4g} | {unit} |" in text and 1 <= s["latency_s"] * mult < 1000
    for op_id in result.ops["op_id"]:
        assert f"| {op_id} |" in text
    assert "Prices used" in text and "Horowitz" in text


def test_sweep_report_with_pareto_front_and_failures(monkeypatch, repo, tmp_path):
    register(monkeypatch)
    hw = write_slow_hardware(tmp_path / "hw.yaml", fail_rows=6)
    spec = write_spec(tmp_path / "s.yaml", hw, [repo / "examples/tiny_snn.yaml", repo / "examples/tiny_transformer.yaml"],
                      "  grid: {params.rows: [2, 4, 6, 8, 16], params.cols: [2, 8, 32]}")
    run_sweep(spec, tmp_path / "sw", jobs=1)
    assert main(["report", str(tmp_path / "sw"), "-o", str(tmp_path / "page")]) == 0
    page = tmp_path / "page"
    images = check_html(page / "index.html")
    assert {"img/pareto-energy-latency.png", "img/pareto-edap-area.png", "img/vs-params.rows.png",
            "img/vs-params.cols.png"} <= set(images)
    text = (page / "index.md").read_text()
    # the Pareto table lists exactly the front, per trace
    table = load_table(tmp_path / "sw")
    front = pareto_front(table, ["energy_j", "latency_s"])
    section = text.split("## Pareto front: energy vs latency")[1].split("![")[0]
    listed = [line.split(" | ")[1:3] for line in section.splitlines() if line.startswith("| rows=")]
    assert listed == [[t, str(p)] for t, p in zip(front["trace"], front["point"])]
    # the design named by its swept values, in the table and as the first column
    r = front.iloc[0]
    assert f"| rows={r['params.rows']} cols={r['params.cols']} | {r['trace']} | {r['point']} |" in section
    assert "## Failed runs (6)" in text and "RuntimeError: test failure at rows=6" in text
    assert "[results.parquet](../sw/results.parquet)" in text
    assert "30 of 30 runs in the table (24 ok, 6 failed)" in text


def _recipe(tmp_path, repo, published_ratio, tolerance):
    (tmp_path / "r.yaml").write_text(f"""\
name: demo
title: Demo recipe
description: Two array sizes.
runs:
  - {{name: small, trace: {repo}/examples/tiny_snn.yaml, hw: {repo}/hw_configs/mac_array_example.yaml}}
  - {{name: big, trace: {repo}/examples/tiny_snn.yaml, hw: {repo}/hw_configs/mac_array_example.yaml,
     set: {{variables.ARRAY: 32}}}}
checks:
  - {{name: speed-up, kind: published, metric: latency_s, ratio: [small, big], published: {published_ratio},
     tolerance: {tolerance}, source: "made up for the test"}}
  - {{name: energy, kind: derived, metric: energy_j, run: small, published: 1.0, tolerance: 0.1, source: "made up too"}}
""")
    return tmp_path / "r.yaml"


def test_reproduce_writes_html_and_markdown_with_paper_vs_archsim(capsys, repo, tmp_path):
    recipe = _recipe(tmp_path, repo, published_ratio=1.7, tolerance=0.2)
    out = tmp_path / "out"
    assert main(["reproduce", str(recipe), "-o", str(out), "--lenient"]) == 0
    # the index links to the recipe's page (and to the miss on it); the recipe page has the plots
    check_html(out / "index.html", images=False)
    md_anchors_resolve(out / "index.md")
    assert "[Demo recipe](demo/index.md)" in (out / "index.md").read_text()
    assert "demo/index.html#check-energy" in (out / "index.html").read_text()
    md, html = out / "demo" / "index.md", out / "demo" / "index.html"
    images = check_html(html)
    md_anchors_resolve(md)
    assert sorted(images) == sorted(md_images(md))
    assert {"img/demo-runs.png", "img/demo-small-layers.png", "img/demo-big-components.png"} <= set(images)
    small = json.loads((out / "demo/small/summary.json").read_text())
    big = json.loads((out / "demo/big/summary.json").read_text())
    ratio = small["latency_s"] / big["latency_s"]
    text = md.read_text()
    assert "## Paper vs archsim" in text and "- [Paper vs archsim](#paper-vs-archsim)" in text
    assert (f"| <a id=\"check-speed-up\"></a>speed-up | published | latency_s | small / big | 1.7 | {ratio:.4g} | {ratio / 1.7:.4g} | "
            f"{'yes' if abs(ratio / 1.7 - 1) <= 0.2 else '**no (tolerance 20%)**'} | made up for the test |") in text
    assert (f'| <a id="check-energy"></a>energy | derived | energy_j | small | 1 | {small["energy_j"]:.4g} |' in text
            and "**no (tolerance 10%)**" in text)
    assert "<span class=\"fail\">no (tolerance 10%)</span>" in html.read_text()
    # `archsim report` rebuilds the same pages from the files alone
    pages = [md, html, out / "index.md", out / "index.html"]
    before = [p.read_text() for p in pages]
    assert main(["report", str(out)]) == 0
    assert [p.read_text() for p in pages] == before
    assert main(["reproduce", str(recipe), "-o", str(out)]) == 1   # strict by default: a check misses


def test_recipe_markdown_stays_available(repo, tmp_path):
    from archsim.report.markdown import recipe_markdown
    from archsim.report.recipe import run_recipe

    outcome = run_recipe(_recipe(tmp_path, repo, 1.7, 0.2), tmp_path / "o")
    text = recipe_markdown(outcome)
    assert text.startswith("## Demo recipe") and "| small | tiny-snn | mac-array-16x16-45nm |" in text


def test_report_of_something_else_is_a_clear_error(capsys, tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    assert main(["report", str(tmp_path)]) == 2
    assert "not a result (summary.json), sweep (sweep.json) or reproduce output" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_a_failing_page_leaves_the_old_one(tmp_path):
    write_report(tmp_path, lambda figures: Page("first", [Paragraph("one")]))
    before = (tmp_path / "index.md").read_text()

    def broken(figures):
        figures.add("half", lambda p: p.write_bytes(b"partial"), "a figure")
        raise RuntimeError("plotting failed")
    with pytest.raises(RuntimeError):
        write_report(tmp_path, broken)
    assert (tmp_path / "index.md").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "index.md"]


def test_a_new_page_drops_only_its_own_old_images(tmp_path):
    def page(names):
        def build(figures):
            return Page("p", [figures.add(n, lambda p: p.write_bytes(PNG_MAGIC + b"x" * 2000), n) for n in names])
        return build
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "mine.png").write_bytes(b"someone else's")
    write_report(tmp_path, page(["a", "b"]))
    assert {p.name for p in (tmp_path / "img").glob("*.png")} == {"a.png", "b.png", "mine.png"}
    write_report(tmp_path, page(["b"]))
    assert {p.name for p in (tmp_path / "img").glob("*.png")} == {"b.png", "mine.png"}


def test_sweep_of_two_hardware_files_names_each_design(monkeypatch, repo, tmp_path):
    """LoAS vs SparTen-S on a statistics-only trace (AlexNet's first layer): the page tells the
    two designs apart by name and hardware file, in tables, legend and Pareto labels, with
    human-scaled units and the TOPS/mm², TOPS/W and EDAP columns."""
    from archsim.trace.io import load_trace
    from archsim.trace.select import without_ops

    trace = without_ops(load_trace(repo / "examples/loas_paper/alexnet.trace"), ["Layer_2", "Layer_3", "Layer_4"],
                        "test")
    trace.save(tmp_path / "layer1.trace")
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: loas-vs-sparten\nhardware: [{repo}/hw_configs/loas.yaml, {repo}/hw_configs/sparten_s.yaml]\n"
                    f"traces: [{tmp_path / 'layer1.trace'}]\n")
    run_sweep(spec, tmp_path / "sw", jobs=1)
    assert main(["report", str(tmp_path / "sw")]) == 0
    page = tmp_path / "sw"
    images = check_html(page / "index.html")
    md_anchors_resolve(page / "index.md")
    assert "img/designs.png" in images
    text = (page / "index.md").read_text()
    table = load_table(tmp_path / "sw")
    assert sorted(table["hardware"]) == ["loas", "sparten-s"]
    all_runs = text.split("## All runs")[1]
    header = all_runs.split("\n")[2]
    assert header.startswith("| design | trace | point | status | hardware file | latency (")
    assert all(c in header for c in ("TOPS/W", "TOPS/mm²", "EDAP ("))
    for r in table.to_dict("records"):
        name = Path(r["hardware_file"]).name
        assert f"| {r['hardware']} | {r['trace']} | {r['point']} | ok | {name} |" in all_runs
    # human-scaled: each unit has a prefix that puts the median between 1 and 1000
    from archsim.report.units import scale_for
    for col, unit in (("latency_s", "s"), ("energy_j", "J")):
        mult, scaled = scale_for(table[col], unit)
        assert f"({scaled})" in header and 1 <= table[col].median() * mult < 1000
    assert "e-0" not in all_runs.split("\n")[4]     # no raw SI exponents in the rows
    # the Pareto plot labels its front with the design's name
    from archsim.report import plots
    calls = []
    real = plots._label_points
    monkeypatch.setattr(plots, "_label_points",
                        lambda fig, ax, points, n: calls.append([p[0] for p in points]) or real(fig, ax, points, n))
    assert main(["report", str(tmp_path / "sw")]) == 0
    front = pareto_front(table, ["energy_j", "latency_s"])
    assert calls[0] == list(front["hardware"])


def test_design_labels_and_keys_varied_together():
    """Zipped keys (each value of one with one value of the other) are plotted once; a key
    crossed with them is not; labels use the last part of each key unless two keys share it."""
    import pandas as pd

    from archsim.report.pages import design_labels, short_keys, varied_together
    t = pd.DataFrame({"params.sram_kib": [128, 256, 512] * 2, "params.bw": [12.8, 25.6, 51.2] * 2,
                      "params.rows": [8, 8, 8, 16, 16, 16], "energy.variables.rows": [1, 2, 3, 1, 2, 3],
                      "hardware": ["a"] * 6, "hardware_file": ["a.yaml"] * 6})
    keys = ["params.sram_kib", "params.bw", "params.rows", "energy.variables.rows"]
    assert varied_together(t, keys) == [["params.sram_kib", "params.bw", "energy.variables.rows"], ["params.rows"]]
    assert short_keys(keys)["params.rows"] == "params.rows" and short_keys(keys)["params.bw"] == "bw"
    assert design_labels(t, keys)[0] == "sram_kib=128 bw=12.8 params.rows=8 energy.variables.rows=1"
    t["hardware_file"] = ["a.yaml"] * 3 + ["b.yaml"] * 3
    t["hardware"] = ["design-a"] * 3 + ["design-b"] * 3
    assert design_labels(t, ["params.bw"]) == [f"design-{h} bw={v}" for h in "ab" for v in (12.8, 25.6, 51.2)]


def test_relative_units_print_no_si_unit(repo, tmp_path):
    """A table marked `units: relative` (the LoAS authors' script units): the result page, the
    recipe page and the terminal print its energies as relative, never in J; a recipe marked
    `units: relative` makes every run relative."""
    import re
    recipe = tmp_path / "rel.yaml"
    recipe.write_text(f"""\
name: rel
runs:
  - {{name: paper, trace: {repo}/examples/loas_paper/alexnet.trace, hw: {repo}/hw_configs/sparten_s_paper.yaml,
     skip_ops: [Layer_2, Layer_3, Layer_4]}}
  - {{name: physical, trace: {repo}/examples/tiny_snn.yaml, hw: {repo}/hw_configs/mac_array_example.yaml}}
""")
    out = tmp_path / "out"
    assert main(["reproduce", str(recipe), "-o", str(out)]) == 0
    assert json.loads((out / "rel/paper/summary.json").read_text())["energy_units"] == "relative"
    text = (out / "rel/index.md").read_text()
    runs = text.split("## Runs")[1].split("##")[0]
    header = [line for line in runs.splitlines() if line.startswith("| run |")][0]
    assert "energy (relative (table units))" in header and re.search(r"energy \([mµnp]?J\)", header)
    paper_row = [line for line in runs.splitlines() if line.startswith("| paper |")][0].split(" | ")
    physical_row = [line for line in runs.splitlines() if line.startswith("| physical |")][0].split(" | ")
    e_col = header.split(" | ").index(re.search(r"energy \([mµnp]?J\)", header).group(0))
    assert paper_row[e_col] == "" and physical_row[e_col] != ""          # no joules for the relative run
    assert physical_row[-1].strip(" |") == "" and paper_row[-1].strip(" |") != ""
    details = text.split("Run paper:")[1].split("Run physical:")[0]
    assert "| energy |" in details and not re.search(r"\| energy \| [^|]+ \| [mµnp]?J \|", details)
    assert "relative (table units)" in details
    # the whole recipe marked relative
    recipe.write_text(recipe.read_text().replace("name: rel\n", "name: rel\nunits: relative\n"))
    assert main(["reproduce", str(recipe), "-o", str(out)]) == 0
    runs = (out / "rel/index.md").read_text().split("## Runs")[1].split("##")[0]
    assert not re.search(r"\((?:[mµnpk]?J|[mµnpk]?W)\)", runs)


def test_overrides_rename_the_design(repo, capsys, tmp_path):
    """--set that changes a design without changing its name adds the change to the name; one
    that changes the name through a variable keeps the resolved name."""
    from archsim.config.hardware import load_hardware
    hw = repo / "hw_configs/mac_array_example.yaml"
    assert load_hardware(hw).name == "mac-array-16x16-45nm"
    assert load_hardware(hw, {"params.rows": 32}).name == "mac-array-16x16-45nm (rows=32)"
    assert load_hardware(hw, {"params.rows": 16}).name == "mac-array-16x16-45nm"      # nothing changed
    assert load_hardware(hw, {"variables.ARRAY": 32}).name == "mac-array-32x32-45nm"
    assert load_hardware(hw, {"params.rows": 32, "name": "mine"}).name == "mine"
    assert main(["simulate", "--hw", str(hw), "--trace", str(repo / "examples/tiny_snn.yaml"), "-o",
                 str(tmp_path / "r"), "--set", "params.rows=32"]) == 0
    assert "on mac-array-16x16-45nm (rows=32)" in capsys.readouterr().out


def test_component_rows_keep_summary_order_on_ties():
    """Rows sort by energy; components of equal energy (area-only parts) keep the summary's order,
    so a page does not depend on the process's string-hash seed."""
    from archsim.report.pages import _by_component_table

    area_only = [f"part{i}" for i in (7, 3, 5, 0, 6, 1, 4, 2)]
    summary = {"energy_j": 3.0, "area_mm2": 8.0,
               "energy_j_by_component": {"small": 1.0, "big": 2.0},
               "area_mm2_by_component": {c: 1.0 for c in area_only}}
    rows = _by_component_table(summary).rows
    assert [r[0] for r in rows] == ["big", "small", *area_only]
