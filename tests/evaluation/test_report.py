"""Tests for aura.evaluation.report: content computed from real metric tables, parsed as HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import numpy as np
import polars as pl
import pytest

from aura.evaluation.metrics import METRICS, metrics_table, per_platform, summary_table
from aura.evaluation.report import render_markdown, render_report

HOSTILE = "<script>alert(1)</script>"
FACTS: dict[str, Any] = {
    "corpus kind": "local",
    "corpus root": "data/01_raw/corpus",
    "videos by status": {"ok": 118, "failed": 2},
    "n originals": 60,
    "real / fake": "60 / 60",
    "folds": 3,
    "models": ["logistic_regression", "svm"],
    "config hash": "3f2a9c",
    "git commit": None,
}
PLOTS = {
    "ROC curves": ["roc/logistic_regression.png", "roc/svm.png"],
    "Reliability": ["reliability.png"],
}
VOID = {"meta", "img", "br", "hr", "link", "input"}


def make_predictions(models: tuple[str, ...] = ("logistic_regression", "svm")) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for k, model in enumerate(models):
        for fold in range(3):
            y = rng.permutation([0, 1] * 10)
            s = np.clip(0.4 * y * (k == 0) + rng.uniform(0.0, 0.6, 20), 0.0, 1.0)
            platforms = rng.choice(["youtube", "tiktok"], 20)
            for i in range(20):
                rows.append(
                    {
                        "model": model,
                        "fold": fold,
                        "video_id": f"{fold}-{i}",
                        "target": int(y[i]),
                        "score": float(s[i]),
                        "platform": str(platforms[i]),
                    }
                )
    return pl.DataFrame(rows)


@pytest.fixture
def tables() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    preds = make_predictions()
    metrics = metrics_table(preds)
    return summary_table(metrics), metrics, per_platform(preds)


class _Collector(HTMLParser):
    """Records img/a attributes and checks that non-void tags open and close in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.imgs: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a["src"] or "")
        elif tag == "a":
            self.hrefs.append(a["href"] or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(doc: str) -> _Collector:
    parser = _Collector()
    parser.feed(doc)
    parser.close()
    return parser


def test_html_is_well_formed_with_images_as_given(tables: tuple[pl.DataFrame, ...]) -> None:
    summary, metrics, platform = tables
    doc = render_report(summary, metrics, platform, FACTS, PLOTS)
    assert doc.startswith("<!DOCTYPE html>")
    parsed = _parse(doc)
    assert parsed.errors == [] and parsed.stack == []
    paths = [p for ps in PLOTS.values() for p in ps]
    assert parsed.imgs == paths
    assert parsed.hrefs == paths  # each image links to its file
    assert "<link" not in doc and "<script" not in doc and "http" not in doc  # self-contained


def test_html_shows_models_summary_values_and_facts(tables: tuple[pl.DataFrame, ...]) -> None:
    summary, metrics, platform = tables
    doc = render_report(summary, metrics, platform, FACTS, PLOTS)
    text = "".join(_parse(doc).text)
    for row in summary.iter_rows(named=True):
        assert row["model"] in text
        for m in METRICS:
            assert f"{row[f'{m}_mean']:.3f} ± {row[f'{m}_std']:.3f}" in text
    for row in metrics.iter_rows(named=True):
        assert f"{row['roc_auc']:.3f}" in text
    for label in FACTS:
        assert label in text
    assert "ok: 118, failed: 2" in text
    assert "logistic_regression, svm" in text
    assert "3f2a9c" in text
    assert "youtube" in text and "tiktok" in text
    for title in PLOTS:
        assert title in text
    # Best mean ROC-AUC is bold.
    best = summary.sort("roc_auc_mean", descending=True).row(0, named=True)
    assert best["model"] == "logistic_regression"
    assert f"<b>{best['roc_auc_mean']:.3f} ± {best['roc_auc_std']:.3f}</b>" in doc
    worst = summary.sort("roc_auc_mean").row(0, named=True)
    assert f"<b>{worst['roc_auc_mean']:.3f}" not in doc


def test_one_fold_std_is_a_dash() -> None:
    preds = make_predictions().filter(pl.col("fold") == 0)
    metrics = metrics_table(preds)
    summary = summary_table(metrics)
    assert summary["roc_auc_std"].null_count() == summary.height
    doc = render_report(summary, metrics, per_platform(preds), FACTS, PLOTS)
    for row in summary.iter_rows(named=True):
        assert f"{row['roc_auc_mean']:.3f} ± —" in doc
    assert "nan" not in doc.lower()


def test_hostile_text_is_escaped(tables: tuple[pl.DataFrame, ...]) -> None:
    preds = make_predictions(models=(HOSTILE, "svm"))
    metrics = metrics_table(preds)
    facts = {HOSTILE: HOSTILE, "nested": {HOSTILE: "x"}}
    plots = {HOSTILE: ['roc/a"b.png']}
    doc = render_report(summary_table(metrics), metrics, per_platform(preds), facts, plots)
    assert "<script" not in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    parsed = _parse(doc)
    assert parsed.errors == []
    assert parsed.imgs == ['roc/a"b.png']
    assert HOSTILE in "".join(parsed.text)
    md = render_markdown(summary_table(metrics), metrics, per_platform(preds), facts, plots)
    assert "<script" not in md


def test_empty_platform_table_says_so(tables: tuple[pl.DataFrame, ...]) -> None:
    summary, metrics, platform = tables
    doc = render_report(summary, metrics, platform.clear(), FACTS, PLOTS)
    assert "no platform has both classes" in doc
    md = render_markdown(summary, metrics, platform.clear(), FACTS, PLOTS)
    assert "no platform has both classes" in md
    assert "no platform has both classes" not in render_report(
        summary, metrics, platform, FACTS, PLOTS
    )


def test_markdown_tables_and_images(tables: tuple[pl.DataFrame, ...]) -> None:
    summary, metrics, platform = tables
    md = render_markdown(summary, metrics, platform, FACTS, PLOTS)
    lines = md.splitlines()
    assert (
        "| model | ROC-AUC | PR-AUC | EER | ECE | accuracy | precision | recall | F1 | folds |"
        in (lines)
    )
    header = lines.index("| fact | value |")
    assert lines[header + 1] == "| --- | --- |"
    assert "| videos by status | ok: 118, failed: 2 |" in lines
    assert "| git commit | — |" in lines
    for row in summary.iter_rows(named=True):
        assert f"{row['f1_mean']:.3f} ± {row['f1_std']:.3f}" in md
    assert "![ROC curves](roc/svm.png)" in lines
    assert "![Reliability](reliability.png)" in lines
    _assert_rectangular(md)


def _assert_rectangular(md: str) -> None:
    """Every pipe-table row has as many (unescaped-pipe) cells as its header."""
    widths: list[int] = []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            widths.append(len(re.split(r"(?<!\\)\|", line)))
        elif widths:
            assert len(set(widths)) == 1, widths
            widths = []


def test_markdown_escapes_pipes() -> None:
    preds = make_predictions(models=("a|b", "svm"))
    metrics = metrics_table(preds)
    md = render_markdown(summary_table(metrics), metrics, per_platform(preds), FACTS, PLOTS)
    assert "a\\|b" in md
    _assert_rectangular(md)


def test_empty_inputs_render_sentences() -> None:
    empty = pl.DataFrame()
    doc = render_report(empty, empty, empty, {}, {})
    assert _parse(doc).errors == []
    for sentence in ("No run facts", "No models", "No per-fold metrics", "No plots"):
        assert sentence in doc
