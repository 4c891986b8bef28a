"""A report page as a list of plain blocks, rendered to Markdown (``markdown.py``) and HTML
(``html.py``) from the same content, and written next to its images atomically.

Blocks: :class:`Heading`, :class:`Paragraph`, :class:`Table`, :class:`Figure`,
:class:`Details` (a collapsible group in HTML, a subsection in Markdown). Table cells are
numbers, strings, ``None``, :class:`Strong` or :class:`Link`.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

IMG_DIR = "img"


@dataclass
class Strong:
    text: str


@dataclass
class Link:
    text: str
    href: str


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class Figure:
    path: str          # relative to the page, e.g. img/energy.png
    caption: str


@dataclass
class Details:
    summary: str
    blocks: list["Block"] = field(default_factory=list)


Block = Union[Heading, Paragraph, Table, Figure, Details]


@dataclass
class Page:
    title: str
    blocks: list[Block] = field(default_factory=list)


def fmt(x: Any) -> str:
    """Four significant digits for floats, integers as they are, blanks for missing values."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return ""
        if x.is_integer() and abs(x) < 1e15:
            return str(int(x))
        return f"{x:.4g}"
    try:                       # numpy scalars
        return fmt(x.item())
    except AttributeError:
        return str(x)


class FigureWriter:
    """Collects the figures of a page: ``add(name, draw, caption)`` calls ``draw(path)`` to
    write ``img/<name>.png`` into the staging folder and returns the Figure block."""

    def __init__(self, staging: Path):
        self.staging = staging
        (staging / IMG_DIR).mkdir(parents=True, exist_ok=True)
        self.names: set[str] = set()

    def add(self, name: str, draw: Callable[[Path], Any], caption: str) -> Figure:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        base, n = safe, 1
        while safe in self.names:
            n += 1
            safe = f"{base}-{n}"
        self.names.add(safe)
        rel = f"{IMG_DIR}/{safe}.png"
        draw(self.staging / rel)
        return Figure(path=rel, caption=caption)


def write_report(out_dir: str | Path, build: Callable[[FigureWriter], Page], *, embed: bool = False,
                 stem: str = "index") -> tuple[Path, Path]:
    """Build a page (``build`` draws its figures through the FigureWriter) in a staging folder,
    render ``<stem>.md`` and ``<stem>.html``, then move the images and pages into ``out_dir``
    (each file replaced atomically). An error while building leaves ``out_dir`` untouched."""
    from archsim.report.html import render_html
    from archsim.report.markdown import render_markdown

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".report.", dir=out))
    try:
        page = build(FigureWriter(staging))
        md, html = staging / f"{stem}.md", staging / f"{stem}.html"
        md.write_text(render_markdown(page))
        html.write_text(render_html(page, base=staging, embed=embed))
        img_src, img_dst = staging / IMG_DIR, out / IMG_DIR
        new = sorted(f.name for f in img_src.iterdir())
        listing = img_dst / f".{stem}-images"     # what the previous page of this name wrote there
        old = set(listing.read_text().split()) if listing.exists() else set()
        if new or old:
            img_dst.mkdir(exist_ok=True)
            for name in new:
                os.replace(img_src / name, img_dst / name)
            for name in old - set(new):         # images the new page dropped; nothing else is touched
                (img_dst / name).unlink(missing_ok=True)
            listing.write_text("\n".join(new) + "\n")
        os.replace(md, out / md.name)
        os.replace(html, out / html.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / f"{stem}.md", out / f"{stem}.html"
