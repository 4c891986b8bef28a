"""HTML rendering of report pages (see :mod:`archsim.report.document`): one self-standing file
with a small stylesheet; images beside it (``img/``) or embedded as data URIs."""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from archsim.report.document import Details, Figure, Heading, Link, Page, Paragraph, Strong, Table, fmt

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
.fail { color: #b00020; font-weight: 700; }
"""


def _cell(x: Any) -> str:
    if isinstance(x, Strong):
        return f'<span class="fail">{escape(x.text)}</span>'
    if isinstance(x, Link):
        return f'<a href="{escape(x.href, quote=True)}">{escape(x.text)}</a>'
    return escape(fmt(x))


def _td(x: Any) -> str:
    numeric = isinstance(x, (int, float)) and not isinstance(x, bool) or hasattr(x, "dtype")
    return f'<td class="n">{_cell(x)}</td>' if numeric else f"<td>{_cell(x)}</td>"


def _img_src(fig: Figure, base: Path | None, embed: bool) -> str:
    if embed and base is not None:
        data = base64.b64encode((base / fig.path).read_bytes()).decode("ascii")
        return f"data:image/png;base64,{data}"
    return escape(fig.path, quote=True)


def _blocks(blocks, base: Path | None, embed: bool, level_shift: int = 0) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            n = min(6, b.level + level_shift)
            out.append(f"<h{n}>{escape(b.text)}</h{n}>")
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
            out.append(f"<details><summary>{escape(b.summary)}</summary>")
            out += _blocks(b.blocks, base, embed, level_shift)
            out.append("</details>")
    return out


def render_html(page: Page, base: Path | None = None, embed: bool = False) -> str:
    """``base``: the folder the figure paths are relative to (needed to embed them)."""
    body = "\n".join(_blocks(page.blocks, base, embed))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(page.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{escape(page.title)}</h1>\n{body}\n</body>\n</html>\n")
