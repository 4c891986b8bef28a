"""Markdown rendering of report pages (see :mod:`archsim.report.document`)."""
from __future__ import annotations

from typing import Any

from archsim.report.document import Details, Figure, Heading, Link, Page, Paragraph, Strong, Table, fmt


def _cell(x: Any) -> str:
    if isinstance(x, Strong):
        text = f"**{x.text}**"
    elif isinstance(x, Link):
        text = f"[{x.text}]({x.href})"
    else:
        text = fmt(x)
    return text.replace("|", "\\|").replace("\n", " ")


def _blocks(blocks, level_shift: int = 0) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * min(6, b.level + level_shift) + " " + b.text, ""]
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
            out += [f"**{b.summary}**", ""]
            out += _blocks(b.blocks, level_shift)
    return out


def render_markdown(page: Page) -> str:
    return "\n".join([f"# {page.title}", "", *_blocks(page.blocks)]).rstrip() + "\n"


def recipe_markdown(outcome: dict[str, Any]) -> str:
    """The Markdown section of one recipe's outcome (tables only, no figures)."""
    from archsim.report.pages import recipe_blocks

    return "\n".join(_blocks(recipe_blocks(outcome, figures=None))).rstrip() + "\n"
