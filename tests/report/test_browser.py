"""The report pages in a real browser (headless Chromium, Debian's `chromium` package, which
.ci/run installs; skipped where it is missing): the main report's index, a recipe page and a
sweep page load, every image on them is decoded by the browser (none missing), every in-page
anchor has its target, and the screenshots show the plots and the text.

How: a copy of each page, beside the original (so relative paths hold), gets a script that
runs after the load event and writes what it found into the DOM; Chromium's ``--dump-dom``
prints that DOM. The cross-page links of the index are followed the same way."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archsim.cli import main
from tests.report.test_report import _recipe, check_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("ARCHSIM_REQUIRE_BROWSER") == "1":     # CI (.ci/run) installs it
    raise RuntimeError("ARCHSIM_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--allow-file-access-from-files",
         "--virtual-time-budget=10000"]

PROBE = """<script>
window.addEventListener("load", () => {
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src"));
  const links = [...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href"));
  const unresolved = links.filter(h => h.startsWith("#"))
                          .filter(h => !document.getElementById(decodeURIComponent(h.slice(1))));
  const small = [...document.images].filter(i => i.naturalWidth > 0 && i.getBoundingClientRect().width < 100)
                                    .map(i => i.getAttribute("src"));
  const out = document.createElement("pre");
  out.id = "archsim-probe";
  out.textContent = JSON.stringify({images: document.images.length, broken, unresolved, small, links,
                                    ids: [...document.querySelectorAll("[id]")].map(e => e.id),
                                    height: document.documentElement.scrollHeight});
  document.body.appendChild(out);
});
</script>"""


def probe(page: Path) -> dict:
    """Load ``page`` in Chromium and return what the probe script saw."""
    copy = page.with_name(f".probe-{page.name}")
    copy.write_text(page.read_text().replace("</body>", PROBE + "\n</body>"))
    try:
        dom = subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", copy.as_uri()], check=True, capture_output=True,
                             text=True, timeout=120).stdout
    finally:
        copy.unlink()
    found = re.search(r'<pre id="archsim-probe">(.*?)</pre>', dom, re.S)
    assert found, f"{page}: the page did not finish loading in Chromium"
    import html
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: Path, shot: Path, height: int = 1600):
    """A 1200 px wide screenshot of the top of ``page`` (kept under $ARCHSIM_SCREENSHOTS when set)."""
    keep = os.environ.get("ARCHSIM_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shot = Path(keep) / f"{page.parent.name}-{shot.name}"
    subprocess.run([CHROMIUM, *FLAGS, f"--window-size=1200,{height}", f"--screenshot={shot}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    import matplotlib.image
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (height, 1200)
    return pixels


def check_in_browser(page: Path, *, images: bool) -> dict:
    seen = probe(page)
    assert not seen["broken"], f"{page}: images the browser could not show: {seen['broken']}"
    assert not seen["unresolved"], f"{page}: anchors without a target: {seen['unresolved']}"
    assert not seen["small"], f"{page}: images shown under 100 px wide: {seen['small']}"
    assert (seen["images"] > 0) == images, seen["images"]
    others: dict[str, dict] = {}
    for href in seen["links"]:        # links to other pages: the page exists and has the id
        target, _, anchor = href.partition("#")
        if target and target.endswith(".html"):
            if target not in others:
                others[target] = probe(page.parent / target)
            assert not anchor or anchor in others[target]["ids"], f"{page}: {href}: no id '{anchor}' there"
    return seen


def test_main_report_and_recipe_page_in_chromium(repo, tmp_path):
    recipe = _recipe(tmp_path, repo, published_ratio=1.7, tolerance=0.2)
    out = tmp_path / "out"
    assert main(["reproduce", str(recipe), str(repo / "reports/examples.yaml"), "-o", str(out), "--lenient"]) == 0
    index = out / "index.html"
    check_html(index, images=False)
    seen = check_in_browser(index, images=False)
    assert "demo/index.html#check-energy" in seen["links"]     # the scoreboard links to the miss
    assert seen["height"] < 5000                               # an index, not the whole report
    assert index.stat().st_size < 1_000_000
    pixels = screenshot(index, tmp_path / "index.png", 1000)
    assert (pixels.max(axis=2) < 0.3).sum() > 2000             # text: the scoreboard and the contents
    page = out / "demo" / "index.html"
    check_in_browser(page, images=True)
    pixels = screenshot(page, tmp_path / "recipe.png")
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 0.3).sum() > 5000                     # the plot of the runs, in colour
    assert (pixels.max(axis=2) < 0.3).sum() > 2000             # and the tables' text


def test_sweep_page_in_chromium(repo, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: two-sizes\nhardware: {repo}/hw_configs/mac_array_example.yaml\n"
                    f"traces: [{repo}/examples/tiny_snn.yaml]\n"
                    "sweep:\n  grid: {params.rows: [8, 16, 32], params.cols: [8, 16]}\n")
    assert main(["sweep", str(spec), "-o", str(tmp_path / "sw"), "-j", "1", "--quiet"]) == 0
    assert main(["report", str(tmp_path / "sw")]) == 0
    page = tmp_path / "sw" / "index.html"
    check_html(page)
    check_in_browser(page, images=True)
    pixels = screenshot(page, tmp_path / "sweep.png")
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 0.3).sum() > 2000
