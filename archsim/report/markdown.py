"""Markdown rendering of report pages (see :mod:`archsim.report.document`)."""
from __future__ import annotations

from typing import Any

from archsim.report.document import (Details, Figure, Heading, InlineStyle, Items, Page, Paragraph, Table,
                                     assign_ids, inline, toc_items)


INLINE = InlineStyle(ext="md", strong=lambda text: f"**{text}**", link=lambda text, href: f"[{text}]({href})",
                     anchor=lambda id_, text: f'<a id="{id_}"></a>{text}', plain=lambda text: text)


def _text(x: Any) -> str:
    return inline(x, INLINE)


def _cell(x: Any) -> str:
    return _text(x).replace("|", "\\|").replace("\n", " ")


def _items(items: list, indent: str = "") -> list[str]:
    out = []
    for it in items:
        if isinstance(it, tuple):
            out.append(f"{indent}- {_text(it[0])}")
            out += _items(it[1], indent + "  ")
        else:
            out.append(f"{indent}- {_text(it)}")
    return out


def _blocks(blocks) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * min(6, b.level) + " " + b.text, ""]
        elif isinstance(b, Paragraph):
            out += [b.text.strip(), ""]
        elif isinstance(b, Table):
            if b.caption:
                out += [f"*{b.caption}*", ""]
            out.append("| " + " | ".join(_cell(c) for c in b.columns) + " |")
            out.append("|" + "---|" * len(b.columns))
            out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif isinstance(b, Figure):
            out += [f"![{b.caption}]({b.path})", "", f"*{b.caption}*", ""]
        elif isinstance(b, Details):
            out += [f'<a id="{b.id}"></a>**{b.summary}**' if b.id else f"**{b.summary}**", ""]
            out += _blocks(b.blocks)
        elif isinstance(b, Items):
            out += [*_items(b.items), ""]
    return out


def render_markdown(page: Page) -> str:
    assign_ids(page)
    head: list[str] = []
    if page.nav:
        head += [" · ".join(_text(x) for x in page.nav), ""]
    head += [f"# {page.title}", ""]
    toc = toc_items(page) if page.toc else []
    if toc:
        head += ["**Contents**", "", *_items(toc), ""]
    return "\n".join([*head, *_blocks(page.blocks)]).rstrip() + "\n"


def recipe_markdown(outcome: dict[str, Any]) -> str:
    """The Markdown section of one recipe's outcome (tables only, no figures)."""
    from archsim.report.pages import recipe_blocks

    return "\n".join(_blocks(recipe_blocks(outcome, figures=None))).rstrip() + "\n"
