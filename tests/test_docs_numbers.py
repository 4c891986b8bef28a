"""README.md and docs/**/*.md state no measured number: accuracies, perplexities, cycles, ratios,
timings, energies come from the report (`archsim reproduce`, reports/out/), which the docs link to.
Methods, equations and reasons stay in the docs.

The detector reads prose and tables outside code (fenced blocks and `inline code` are skipped:
config keys, commands and equations live there) and flags:

* a decimal percentage (``89.15 %``) or a decimal ratio (``2.72x``, ``1.94×``);
* a number with a unit of time, energy, memory or throughput (``49 min``, ``15.9 uJ``, ``13.5 GB``,
  ``12.4 TOPS/W``);
* a decimal with three or more significant digits (``1.005``, ``62.83``);
* a number in a table column whose header says it is ours or measured (archsim, ours, measured,
  accuracy, perplexity, time, speedup, ratio).

Published values belong in the recipes (``published:`` with ``source:``), where the report shows
them beside archsim's. ``ALLOWED`` holds the few exceptions, each an exact text of one file with
the reason it is not a measured number. ``PENDING`` holds the pages still to be rewritten; the test
fails when one of them is clean (so the list only shrinks) and on any hit in every other page.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FENCE = re.compile(r"^\s*(```|~~~)")
SKIPPED = [re.compile(p) for p in (
    r"`[^`]*`",                                   # inline code: keys, commands, equations
    r"\]\([^)]*\)",                               # link targets
    r"<!--.*?-->",
    r"https?://\S+",
    r"arXiv[: ]\s*\d{4}\.\d{4,5}(v\d)?", r"\b\d{4}\.\d{5}\b",   # arXiv identifiers
    r"\bv?\d+\.\d+\.\d+\b",                       # versions
    r"(§|[Ss]ections?|notes?|\.md)\s*\d+(\.\d+)*",  # section numbers
)]
UNIT = (r"(?:ms|s|sec|seconds?|min|minutes?|h|hours?|µJ|uJ|mJ|J|kB|KB|MB|GB|MiB|GiB|"
        r"TOPS/W|TOPS/mm²|TOPS/mm2|TOPS|GMAC|GOP|ppl)")
RULES = {
    "decimal percentage": re.compile(r"\d+\.\d+\s?%"),
    "decimal ratio": re.compile(r"\d+\.\d+\s?(?:x|×)(?!\w)"),
    "number with a unit": re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?\s?" + UNIT + r"(?![\w/])"),
    "precise decimal": re.compile(r"(?<![\w.])(?:[1-9]\d*\.\d{2,}|[1-9]\d+\.\d+|0\.0*[1-9]\d{2,})(?![\w.%])"),
}
MEASURED_COLUMN = re.compile(r"archsim|\bours\b|measured|accuracy|perplexity|\btime\b|wall|speed-?up|ratio", re.I)

# (file, exact text) -> why it is not a measured number
ALLOWED: dict[tuple[str, str], str] = {
    ("README.md", "3.11"): "the Python version setup.sh requires",
    ("docs/models/systolic.md", "4 MiB"): "published: TPU v1's accumulator size",
    ("docs/models/systolic.md", "64 KB"): "config constant: the SCALE-Sim golden runs' buffer size",
    ("docs/models/systolic.md", "8 KB"): "published: the Horowitz (ISSCC 2014) SRAM sizes the table is fitted to",
    ("docs/models/systolic.md", "32 KB"): "published: the Horowitz (ISSCC 2014) SRAM sizes the table is fitted to",
    ("docs/models/systolic.md", "1 MB"): "published: the Horowitz (ISSCC 2014) SRAM sizes the table is fitted to",
    ("docs/models/systolic.md", "0.346"): "config constant: SRAM cell area per bit in hw_configs/energy/systolic_45nm.yaml",
    ("docs/workloads/trex_clipformer.md", "87.1"): "hand count of the MACs a DeiT-S reuse encoder removes (from the shapes)",
    ("docs/workloads/trex_clipformer.md", "14.9"): "hand count of the MACs a DeiT-S reuse encoder removes (from the shapes)",
    ("docs/workloads/trex_clipformer.md", "0.6 x"): "config constant: the search's default latency budget",
    ("docs/workloads/ttsnn.md", "14.16"): "hand count of the three shortcut convs' MACs per timestep (from the shapes)",
    ("docs/workloads.md", "8.51x"): "published: LoAS's headline 'up to 8.51x', cited as the paper's",
    ("docs/models/loas.md", "10 s"): "a goal (the issue's time limit for simulate()), not a measurement",
    ("docs/models/hetero.md", "137.6"): "hand derivation that tests/test_hetero.py::test_fork_join_by_hand asserts",
    ("docs/models/hetero.md", "161.6"): "hand derivation that tests/test_hetero.py::test_fork_join_by_hand asserts",
    ("docs/models/systolic.md", "1 KB"): "config constant: the smallest SRAM the SCALE-Sim harness generator draws",
    ("docs/models/systolic.md", "4 MB"): "config constant: the largest SRAM the SCALE-Sim harness generator draws",
    ("docs/models/ptb.md", "162 KB"): "published: PTB's global buffer size in the LoAS authors' energy script",
    ("docs/models/ptb.md", "0.0681"): "published: the LoAS authors' SRAM price per byte (their energy script)",
}

# Pages whose measured numbers still have to move to the report (issue 14, item 4). Each must
# still have hits: clean it, then take it off this list.
PENDING: dict[str, str] = {
}


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def measured_numbers(text: str) -> list[tuple[int, str, str]]:
    """(line, rule, text) of every number in ``text`` (Markdown) that looks measured."""
    hits, in_code, header = [], False, None
    for n, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            continue
        for rx in SKIPPED:
            line = rx.sub(" ", line)
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not all(re.fullmatch(r":?-+:?", c) for c in cells if c):
                for h, c in zip(header, cells):
                    if MEASURED_COLUMN.search(h) and re.search(r"\d+\.\d+|\d{2,}", c):
                        hits.append((n, f"measured column '{h}'", c))
            continue
        header = None
        for rule, rx in RULES.items():
            hits += [(n, rule, m.group(0).strip()) for m in rx.finditer(line)]
    return hits


def _hits(path: Path) -> list[tuple[int, str, str]]:
    rel = str(path.relative_to(REPO))
    return [h for h in measured_numbers(path.read_text()) if (rel, h[2]) not in ALLOWED]


@pytest.mark.parametrize("path", pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_measured_number_in_docs(path):
    rel = str(path.relative_to(REPO))
    hits = _hits(path)
    if rel in PENDING:
        assert hits, f"{rel} is clean: take it off PENDING in {Path(__file__).name}"
        pytest.xfail(f"{rel}: {len(hits)} measured-looking numbers still to move to the report ({PENDING[rel]})")
    assert not hits, (f"{rel} states measured numbers (point to the report instead, or allow a published/"
                      "config constant in ALLOWED with its reason):\n"
                      + "\n".join(f"  line {n}: {rule}: {t}" for n, rule, t in hits))


def test_allowlist_entries_are_used():
    texts = {rel: (REPO / rel).read_text() for rel, _ in ALLOWED}
    for (rel, text), reason in ALLOWED.items():
        assert reason and text in texts[rel], f"ALLOWED entry ({rel!r}, {text!r}) matches nothing"


@pytest.mark.parametrize("text, rule", [
    ("W2A4 progressive reached 84.65 % on 2,000 images", "decimal percentage"),
    ("TReX-D-6 gains 2.72x EDAP here", "decimal ratio"),
    ("the whole setup took about 49 min", "number with a unit"),
    ("DeiT-S gives 12.4 TOPS/W on the preset", "number with a unit"),
    ("LoAS-FT over normal LoAS: 1.079 / 1.222 / 1.193", "precise decimal"),
    ("| model | paper | archsim |\n|---|---|---|\n| DeiT-S | 2.3 | 27 |", "measured column 'archsim'"),
])
def test_detector_flags(text, rule):
    assert rule in {r for _, r, _ in measured_numbers(text)}


@pytest.mark.parametrize("text", [
    "64x64 crossbars, 8 PEs per tile, 250 MHz, T = 4, 2-bit cells, sigma 0.2",
    "the energy is `(1.1294 b + 8.8998) uW x (b + 1) ns` (NeuroSim's SAR model)",
    "```\narchsim reproduce -o reports/out   # 49 min\n```",
    "see arXiv 2408.12742 and loas.md section 9.2; SCALE-Sim 3.0.0",
    "| key | default |\n|---|---|\n| rows | 16 |",
])
def test_detector_leaves_constants_and_code(text):
    assert measured_numbers(text) == []
