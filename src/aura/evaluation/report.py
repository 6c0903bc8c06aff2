"""One-page evaluation report (HTML or Markdown) from the metric tables, run facts and plot paths.

Standard library only: the document is built as a list of sections (paragraphs, tables, image
groups) and rendered twice, so the HTML and Markdown versions always say the same thing.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from aura.evaluation.metrics import METRICS

TITLE = "AURA evaluation report"
MISSING = "—"
LABELS = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "eer": "EER",
    "ece": "ECE",
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "n_val": "n",
    "n_folds": "folds",
}
NO_PLATFORM = "No per-platform metrics: no platform has both classes (real and fake) for any model."
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:70rem;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;margin-top:2rem}
h3{font-size:1rem}table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}
.l{text-align:left}thead th{background:#f0f0f0}.plots{display:flex;flex-wrap:wrap;gap:.75rem}
figure{margin:0}figure img{width:22rem;max-width:100%;border:1px solid #ddd}
figcaption{font-size:.75rem;color:#666}
""".strip()

Cell = tuple[str, bool]  # (text, bold)


@dataclass
class _Table:
    header: list[str]
    rows: list[list[Cell]]
    css: str = ""
    left: int = 1  # the first ``left`` columns hold text (left-aligned); the rest are numbers


@dataclass
class _Images:
    title: str
    paths: list[str]


@dataclass
class _Section:
    title: str
    blocks: list[str | _Table | _Images] = field(default_factory=list)


def _text(value: Any) -> str:
    """Any value as plain text: floats to 3 decimals, nulls as a dash, dicts as ``k: v, k: v``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(_text(v) for v in items)
    return str(value)


def _mean_std(mean: Any, std: Any) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return MISSING
    return f"{_text(float(mean))} ± {_text(None if std is None else float(std))}"


def _generic_table(df: pl.DataFrame) -> _Table:
    """Every column of ``df``, floats to 3 decimals; metric columns get readable headers."""
    header = [LABELS.get(c, c) for c in df.columns]
    left = next((i for i, d in enumerate(df.dtypes) if d.is_numeric()), len(df.columns))
    rows = [[(_text(v), False) for v in row] for row in df.iter_rows()]
    return _Table(header, rows, left=left)


def _summary_section(summary: pl.DataFrame) -> _Section:
    section = _Section("Summary (mean ± std over folds)")
    if summary.height == 0 or "model" not in summary.columns:
        section.blocks.append("No models were evaluated.")
        return section
    metrics = [m for m in METRICS if f"{m}_mean" in summary.columns]
    rows = summary.sort("model").to_dicts()
    aucs = [r["roc_auc_mean"] for r in rows if r.get("roc_auc_mean") is not None]
    best = max(aucs) if aucs else None
    table = _Table(["model", *(LABELS[m] for m in metrics)], [])
    if "n_folds" in summary.columns:
        table.header.append(LABELS["n_folds"])
    for r in rows:
        top = best is not None and r.get("roc_auc_mean") == best
        cells: list[Cell] = [(_text(r["model"]), top)]
        for m in metrics:
            text = _mean_std(r[f"{m}_mean"], r.get(f"{m}_std"))
            cells.append((text, top and m == "roc_auc"))
        if "n_folds" in summary.columns:
            cells.append((_text(r["n_folds"]), False))
        table.rows.append(cells)
    if best is not None:
        winners = ", ".join(_text(r["model"]) for r in rows if r.get("roc_auc_mean") == best)
        section.blocks.append(f"Best mean ROC-AUC: {winners} ({_text(float(best))}).")
    section.blocks.append(table)
    return section


def _sections(
    summary: pl.DataFrame,
    metrics: pl.DataFrame,
    platform: pl.DataFrame,
    facts: Mapping[str, Any],
    plots: Mapping[str, Sequence[str]],
) -> list[_Section]:
    run = _Section("Run")
    if facts:
        rows = [[(_text(k), False), (_text(v), False)] for k, v in facts.items()]
        run.blocks.append(_Table(["fact", "value"], rows, css="facts", left=2))
    else:
        run.blocks.append("No run facts were recorded.")
    folds = _Section("Per-fold metrics")
    folds.blocks.append(_generic_table(metrics) if metrics.height else "No per-fold metrics.")
    per_platform = _Section("Per-platform metrics (folds pooled)")
    per_platform.blocks.append(_generic_table(platform) if platform.height else NO_PLATFORM)
    figures = _Section("Plots")
    figures.blocks.extend(_Images(str(t), [str(p) for p in ps]) for t, ps in plots.items())
    if not plots:
        figures.blocks.append("No plots were produced.")
    return [run, _summary_section(summary), folds, per_platform, figures]


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
    platform: pl.DataFrame,
    facts: Mapping[str, Any],
    plots: Mapping[str, Sequence[str]],
    *,
    title: str = TITLE,
) -> str:
    """Self-contained one-page HTML report; plot paths are used as given (relative links)."""
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
    for section in _sections(summary, metrics, platform, facts, plots):
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
    platform: pl.DataFrame,
    facts: Mapping[str, Any],
    plots: Mapping[str, Sequence[str]],
    *,
    title: str = TITLE,
) -> str:
    """The same report as GitHub Markdown: pipe tables and ``![title](path)`` images."""
    parts = [f"# {_md(title)}"]
    for section in _sections(summary, metrics, platform, facts, plots):
        parts.append(f"## {_md(section.title)}")
        for block in section.blocks:
            if isinstance(block, _Table):
                parts.append(_md_table(block))
            elif isinstance(block, _Images):
                parts.append(_md_images(block))
            else:
                parts.append(_md(block))
    return "\n\n".join(parts) + "\n"
