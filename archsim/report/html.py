"""HTML rendering of report pages (see :mod:`archsim.report.document`): one self-standing file
with a small stylesheet; images beside it (``img/``), or embedded as data URIs with ``embed``."""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from archsim.report.document import (Details, Figure, Heading, InlineStyle, Items, Page, Paragraph, Table,
                                     assign_ids, inline, toc_items)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f3f3f3; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: 0.25rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-style: italic; color: #555; }
details { margin: 0.5rem 0 1rem; }
summary { cursor: pointer; font-weight: 600; }
nav.toc { border: 1px solid #ddd; background: #fafafa; padding: 0.5rem 1rem; margin: 1rem 0; }
nav.top { font-size: 0.9rem; }
.fail { color: #b00020; font-weight: 700; }
:target { background: #fff3c4; }
"""


INLINE = InlineStyle(
    ext="html", strong=lambda text: f'<span class="fail">{escape(text)}</span>',
    link=lambda text, href: f'<a href="{escape(href, quote=True)}">{escape(text)}</a>',
    anchor=lambda id_, text: f'<span id="{escape(id_, quote=True)}">{text}</span>', plain=escape)


def _cell(x: Any) -> str:
    return inline(x, INLINE)


def _td(x: Any) -> str:
    numeric = isinstance(x, (int, float)) and not isinstance(x, bool) or hasattr(x, "dtype")
    return f'<td class="n">{_cell(x)}</td>' if numeric else f"<td>{_cell(x)}</td>"


def _img_src(fig: Figure, base: Path | None, embed: bool) -> str:
    if embed and base is not None:
        data = base64.b64encode((base / fig.path).read_bytes()).decode("ascii")
        return f"data:image/png;base64,{data}"
    return escape(fig.path, quote=True)


def _items(items: list) -> list[str]:
    out = ["<ul>"]
    for it in items:
        if isinstance(it, tuple):
            out.append(f"<li>{_cell(it[0])}")
            out += _items(it[1])
            out.append("</li>")
        else:
            out.append(f"<li>{_cell(it)}</li>")
    out.append("</ul>")
    return out


def _id(x) -> str:
    return f' id="{escape(x.id, quote=True)}"' if x.id else ""


def _blocks(blocks, base: Path | None, embed: bool) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            n = min(6, b.level)
            out.append(f"<h{n}{_id(b)}>{escape(b.text)}</h{n}>")
        elif isinstance(b, Paragraph):
            out.append(f"<p>{escape(b.text.strip())}</p>")
        elif isinstance(b, Table):
            out.append("<table>")
            if b.caption:
                out.append(f"<caption>{escape(b.caption)}</caption>")
            out.append("<thead><tr>" + "".join(f"<th>{_cell(c)}</th>" for c in b.columns) + "</tr></thead>")
            out.append("<tbody>")
            out += ["<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in b.rows]
            out.append("</tbody></table>")
        elif isinstance(b, Figure):
            out.append(f'<figure><img src="{_img_src(b, base, embed)}" alt="{escape(b.caption, quote=True)}">'
                       f"<figcaption>{escape(b.caption)}</figcaption></figure>")
        elif isinstance(b, Details):
            out.append(f"<details{_id(b)}><summary>{escape(b.summary)}</summary>")
            out += _blocks(b.blocks, base, embed)
            out.append("</details>")
        elif isinstance(b, Items):
            out += _items(b.items)
    return out


def render_html(page: Page, base: Path | None = None, embed: bool = False) -> str:
    """``base``: the folder the figure paths are relative to (needed to embed them)."""
    assign_ids(page)
    head = []
    if page.nav:
        head.append('<nav class="top">' + " · ".join(_cell(x) for x in page.nav) + "</nav>")
    head.append(f"<h1>{escape(page.title)}</h1>")
    toc = toc_items(page) if page.toc else []
    if toc:
        head.append('<nav class="toc"><strong>Contents</strong>')
        head += _items(toc)
        head.append("</nav>")
    body = "\n".join(head + _blocks(page.blocks, base, embed))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(page.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")
