"""A report page as a list of plain blocks, rendered to Markdown (``markdown.py``) and HTML
(``html.py``) from the same content, and written next to its images atomically.

Blocks: :class:`Heading`, :class:`Paragraph`, :class:`Table`, :class:`Figure`,
:class:`Details` (a collapsible group in HTML, a subsection in Markdown), :class:`Items` (a
bulleted list). Table cells and list items are numbers, strings, ``None``, :class:`Strong`,
:class:`Link` (a plain href), :class:`PageLink` (another report page: ``.html`` from HTML,
``.md`` from Markdown) or :class:`Anchor` (text with an id, a link target inside a table).

Every heading and every Details gets an id (:func:`assign_ids`), the same in both renderings:
GitHub's heading slugs (lower case, punctuation dropped, spaces to hyphens, ``-1``, ``-2`` for
repeats), so that ``page.md#paper-vs-archsim`` works on GitHub as ``page.html#paper-vs-archsim``
does in a browser. A page with ``toc=True`` starts with a table of contents of its headings.
"""
from __future__ import annotations

import math
import os
import re
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
class PageLink:
    """A link to another report page, ``page`` without its extension relative to this page
    (``loas/index``); ``anchor``: an id on that page (or on this one when ``page`` is empty)."""
    text: str
    page: str
    anchor: str = ""

    def href(self, ext: str) -> str:
        target = f"{self.page}.{ext}" if self.page else ""
        return f"{target}#{self.anchor}" if self.anchor else target


@dataclass
class Anchor:
    """Text that is a link target (``id``), e.g. a check's row in a table."""
    text: Any
    id: str


@dataclass
class Heading:
    text: str
    level: int = 2
    id: str = ""


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
    id: str = ""


@dataclass
class Items:
    """A bulleted list; an item is a cell, or a (cell, [sub-items]) pair."""
    items: list[Any]


Block = Union[Heading, Paragraph, Table, Figure, Details, Items]


@dataclass
class Page:
    title: str
    blocks: list[Block] = field(default_factory=list)
    toc: bool = False                              # a table of contents of the headings first
    nav: list[Any] = field(default_factory=list)   # links above the title (e.g. back to the index)


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, everything but letters, digits, ``_``, ``-`` and
    spaces dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def walk(blocks):
    """Every block, depth first (the blocks inside a Details after the Details)."""
    for b in blocks:
        yield b
        if isinstance(b, Details):
            yield from walk(b.blocks)


def assign_ids(page: Page) -> Page:
    """Give every Heading and Details of ``page`` a unique id (kept where one is set)."""
    seen: dict[str, int] = {}
    for b in walk(page.blocks):
        if isinstance(b, (Heading, Details)):
            base = b.id or slug(b.text if isinstance(b, Heading) else b.summary) or "section"
            n = seen.get(base, 0)
            seen[base] = n + 1
            b.id = base if n == 0 else f"{base}-{n}"
    return page


def page_ids(page: Page) -> set[str]:
    """Every id of a page (headings, Details, anchors in tables and lists)."""
    ids = set()
    for b in walk(page.blocks):
        if isinstance(b, (Heading, Details)):
            ids.add(b.id)
        elif isinstance(b, Table):
            ids |= {c.id for row in b.rows for c in row if isinstance(c, Anchor)}
    return ids


def toc_items(page: Page, max_level: int = 3) -> list:
    """The page's headings (level 2 and 3 by default) as a nested list of links."""
    items: list = []
    for b in page.blocks:      # the headings of the page itself, not those inside a Details
        if isinstance(b, Heading) and b.level <= max_level:
            link = PageLink(b.text, "", b.id)
            if b.level <= 2 or not items:
                items.append((link, []))
            else:
                items[-1][1].append(link)
    return [link if not sub else (link, sub) for link, sub in items]


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


@dataclass(frozen=True)
class InlineStyle:
    """How one output format writes the inline values of a page (table cells, navigation, list
    items); :func:`inline` walks a value and calls these, so every format handles every kind."""

    ext: str                               # extension of the pages a PageLink points to ("md", "html")
    strong: Callable[[str], str]           # the text of a Strong
    link: Callable[[str, str], str]        # (text, href) of a Link or PageLink
    anchor: Callable[[str, str], str]      # (id, the rendered text) of an Anchor
    plain: Callable[[str], str]            # a value formatted by :func:`fmt`


def inline(x: Any, style: InlineStyle) -> str:
    """An inline value in ``style``; a list or tuple is several values in one cell, comma-separated."""
    if isinstance(x, Strong):
        return style.strong(x.text)
    if isinstance(x, Link):
        return style.link(x.text, x.href)
    if isinstance(x, PageLink):
        return style.link(x.text, x.href(style.ext))
    if isinstance(x, Anchor):
        return style.anchor(x.id, inline(x.text, style))
    if isinstance(x, (list, tuple)):     # several values in one cell (e.g. links to each miss)
        return ", ".join(inline(c, style) for c in x)
    return style.plain(fmt(x))


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
        page = assign_ids(build(FigureWriter(staging)))
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
