"""One-page evaluation report (HTML or Markdown) from the metric tables, run facts and plot paths.

Standard library only: the document is built once as a list of sections (paragraphs, tables,
image groups; :mod:`aura.evaluation.report_sections`) and rendered twice, so the HTML and
Markdown versions always say the same thing.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from aura.evaluation.report_sections import Images as _Images
from aura.evaluation.report_sections import Table as _Table
from aura.evaluation.report_sections import sections

TITLE = "AURA evaluation report"
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:70rem;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;margin-top:2rem}
h3{font-size:1rem}table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}
.l{text-align:left}thead th{background:#f0f0f0}.plots{display:flex;flex-wrap:wrap;gap:.75rem}
figure{margin:0}figure img{width:22rem;max-width:100%;border:1px solid #ddd}
figcaption{font-size:.75rem;color:#666}
""".strip()


def _html_table(table: _Table) -> str:
    esc = html.escape
    css = f' class="{esc(table.css)}"' if table.css else ""
    cls = [' class="l"' if i < table.left else "" for i in range(len(table.header))]
    head = "".join(f"<th{c}>{esc(h)}</th>" for c, h in zip(cls, table.header, strict=True))
    body = "\n".join(
        "<tr>"
        + "".join(
            f"<td{c}><b>{esc(t)}</b></td>" if b else f"<td{c}>{esc(t)}</td>"
            for c, (t, b) in zip(cls, row, strict=True)
        )
        + "</tr>"
        for row in table.rows
    )
    return f"<table{css}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _html_images(images: _Images) -> str:
    esc = html.escape
    figures = "\n".join(
        f'<figure><a href="{esc(p)}"><img src="{esc(p)}" alt="{esc(images.title)}: {esc(p)}"'
        f' loading="lazy"></a><figcaption>{esc(p)}</figcaption></figure>'
        for p in images.paths
    )
    return f'<h3>{esc(images.title)}</h3>\n<div class="plots">\n{figures}\n</div>'


def render_report(
    summary: pl.DataFrame,
    metrics: pl.DataFrame,
    facts: Mapping[str, Any],
    plots: Mapping[str, Sequence[str]],
    *,
    comparisons: pl.DataFrame | None = None,
    slices: pl.DataFrame | None = None,
    robustness: pl.DataFrame | None = None,
    title: str = TITLE,
) -> str:
    """Self-contained one-page HTML report; plot paths are used as given (relative links).

    ``summary`` is ``cv_summary`` (pooled columns, then ``<m>_mean`` / ``<m>_std``), ``metrics``
    ``cv_metrics``, ``comparisons`` ``cv_comparisons`` and ``slices`` ``cv_slices``.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>\n{STYLE}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections(
        summary,
        metrics,
        facts,
        plots,
        comparisons=comparisons,
        slices=slices,
        robustness=robustness,
    ):
        parts.append(f"<section>\n<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, _Table):
                parts.append(_html_table(block))
            elif isinstance(block, _Images):
                parts.append(_html_images(block))
            else:
                parts.append(f"<p>{html.escape(block)}</p>")
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _md(text: str) -> str:
    """Markdown-safe inline text: HTML-escaped, pipes escaped, on one line."""
    return html.escape(text, quote=False).replace("|", r"\|").replace("\n", " ")


def _md_table(table: _Table) -> str:
    lines = [
        "| " + " | ".join(_md(h) for h in table.header) + " |",
        "|"
        + "|".join(" --- " if i < table.left else " ---: " for i in range(len(table.header)))
        + "|",
    ]
    for row in table.rows:
        lines.append("| " + " | ".join(f"**{_md(t)}**" if b else _md(t) for t, b in row) + " |")
    return "\n".join(lines)


def _md_images(images: _Images) -> str:
    alt = images.title.replace("[", "(").replace("]", ")")
    links = []
    for p in images.paths:
        target = f"<{p}>" if any(c in p for c in " ()<>") else p
        links.append(f"![{_md(alt)}]({target})")
    return f"### {_md(images.title)}\n\n" + "\n".join(links)


def render_markdown(
    summary: pl.DataFrame,
    metrics: pl.DataFrame,
    facts: Mapping[str, Any],
    plots: Mapping[str, Sequence[str]],
    *,
    comparisons: pl.DataFrame | None = None,
    slices: pl.DataFrame | None = None,
    robustness: pl.DataFrame | None = None,
    title: str = TITLE,
) -> str:
    """The same report as GitHub Markdown: pipe tables and ``![title](path)`` images."""
    parts = [f"# {_md(title)}"]
    for section in sections(
        summary,
        metrics,
        facts,
        plots,
        comparisons=comparisons,
        slices=slices,
        robustness=robustness,
    ):
        parts.append(f"## {_md(section.title)}")
        for block in section.blocks:
            if isinstance(block, _Table):
                parts.append(_md_table(block))
            elif isinstance(block, _Images):
                parts.append(_md_images(block))
            else:
                parts.append(_md(block))
    return "\n\n".join(parts) + "\n"
