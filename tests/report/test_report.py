"""Report pages: a result, a sweep and a reproduce output, in HTML and Markdown with plots.

Every page is checked for well-formed HTML and for images that exist and are real PNGs; one
test renders a page in headless Chromium (skipped where Debian's chromium is not installed)."""
import json
import shutil
import subprocess
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
    and the src of every image."""

    def __init__(self):
        super().__init__()
        self.stack, self.problems, self.images, self.doctype = [], [], [], False

    def handle_decl(self, decl):
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def check_html(path: Path) -> list[str]:
    """Assert ``path`` is well-formed HTML whose images exist and are non-empty PNGs; return
    the image paths."""
    parser = StrictHTML()
    parser.feed(path.read_text())
    parser.close()
    assert parser.doctype, "missing <!DOCTYPE html>"
    assert not parser.problems and not parser.stack, (parser.problems, parser.stack)
    assert parser.images, "no images"
    for src in parser.images:
        img = path.parent / src
        assert img.is_file() and img.stat().st_size > 1000, src
        assert img.read_bytes()[:8] == PNG_MAGIC, src
    return parser.images


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
    for comp, e in s["energy_j_by_component"].items():
        share = 100 * e / s["energy_j"]
        assert f"| {comp} | {e * 1e6:.4g} | {share:.4g} |" in text
    assert f"| latency | {s['latency_s'] * 1e3:.4g} | ms |" in text
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
    listed = [line.split(" | ")[:2] for line in section.splitlines() if line.startswith("| tiny")]
    assert listed == [[f"| {t}", str(p)] for t, p in zip(front["trace"], front["point"])]
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
    md, html = out / "index.md", out / "index.html"
    images = check_html(html)
    assert sorted(images) == sorted(md_images(md))
    assert {"img/demo-runs.png", "img/demo-small-layers.png", "img/demo-big-components.png"} <= set(images)
    small = json.loads((out / "demo/small/summary.json").read_text())
    big = json.loads((out / "demo/big/summary.json").read_text())
    ratio = small["latency_s"] / big["latency_s"]
    text = md.read_text()
    assert "### Paper vs archsim" in text
    assert (f"| speed-up | published | latency_s | small / big | 1.7 | {ratio:.4g} | {ratio / 1.7:.4g} | "
            f"{'yes' if abs(ratio / 1.7 - 1) <= 0.2 else '**no (tolerance 20%)**'} | made up for the test |") in text
    assert f"| energy | derived | energy_j | small | 1 | {small['energy_j']:.4g} |" in text and "**no (tolerance 10%)**" in text
    assert "<span class=\"fail\">no (tolerance 10%)</span>" in html.read_text()
    # `archsim report` rebuilds the same page from the files alone
    before = md.read_text(), html.read_text()
    assert main(["report", str(out)]) == 0
    assert (md.read_text(), html.read_text()) == before
    assert main(["reproduce", str(recipe), "-o", str(out)]) == 1   # strict by default: a check misses


def test_html_renders_in_headless_chromium(repo, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    recipe = _recipe(tmp_path, repo, published_ratio=1.7, tolerance=0.2)
    out = tmp_path / "out"
    assert main(["reproduce", str(recipe), "-o", str(out), "--lenient"]) == 0
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1200,1600", f"--screenshot={shot}", (out / "index.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    import matplotlib.image
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1200)
    # the plots were drawn: many saturated (coloured) pixels, which text and tables do not have
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 0.3).sum() > 5000
    # and the page is not blank: dark text pixels from the tables
    assert (pixels.max(axis=2) < 0.3).sum() > 2000


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
