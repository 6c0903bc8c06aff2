"""Tests for aura.evaluation.report: content computed from real metric tables, parsed as HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import numpy as np
import polars as pl
import pytest

from aura.evaluation.metrics import METRICS, metrics_table
from aura.evaluation.report import render_markdown, render_report
from aura.evaluation.slices import slice_table
from aura.evaluation.summary import paired_comparisons, pooled_summary

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
    """The first model separates the classes, the others are noise; cascades of two videos."""
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
                        "group_id": f"{fold}-{i // 2}",
                        "target": int(y[i]),
                        "score": float(s[i]),
                        "platform": str(platforms[i]),
                    }
                )
    return pl.DataFrame(rows)


def video_index(preds: pl.DataFrame) -> pl.DataFrame:
    """Attributes of the videos: one rare codec (3 videos) so that slice is listed, not scored."""
    ids = sorted(set(preds["video_id"]))
    n = len(ids)
    return pl.DataFrame(
        {
            "video_id": ids,
            "width": [640 if i % 2 else 1280 for i in range(n)],
            "height": [360 if i % 2 else 720 for i in range(n)],
            "duration_s": [3.0 + 10.0 * (i % 3) for i in range(n)],
            "codec": ["vp9" if i < 3 else "h264" for i in range(n)],
        }
    )


Tables = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]


def make_tables(preds: pl.DataFrame) -> Tables:
    """``cv_summary``, ``cv_metrics``, ``cv_comparisons``, ``cv_slices`` of ``preds``."""
    metrics = metrics_table(preds)
    return (
        pooled_summary(preds, metrics, n_boot=300),
        metrics,
        paired_comparisons(preds, n_boot=300),
        slice_table(preds, video_index(preds), n_boot=300),
    )


def html(tables: Tables, facts: dict[str, Any] = FACTS, plots: Any = PLOTS) -> str:
    summary, metrics, comparisons, slices = tables
    return render_report(summary, metrics, facts, plots, comparisons=comparisons, slices=slices)


def markdown(tables: Tables, facts: dict[str, Any] = FACTS, plots: Any = PLOTS) -> str:
    summary, metrics, comparisons, slices = tables
    return render_markdown(summary, metrics, facts, plots, comparisons=comparisons, slices=slices)


@pytest.fixture(scope="module")
def tables() -> Tables:
    return make_tables(make_predictions())


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


def test_html_is_well_formed_with_images_as_given(tables: Tables) -> None:
    doc = html(tables)
    assert doc.startswith("<!DOCTYPE html>")
    parsed = _parse(doc)
    assert parsed.errors == [] and parsed.stack == []
    paths = [p for ps in PLOTS.values() for p in ps]
    assert parsed.imgs == paths
    assert parsed.hrefs == paths  # each image links to its file
    assert "<link" not in doc and "<script" not in doc and "http" not in doc  # self-contained


def test_report_leads_with_the_pooled_table_and_its_intervals(tables: Tables) -> None:
    summary = tables[0]
    doc = html(tables)
    titles = re.findall(r"<h2>(.*?)</h2>", doc)
    assert titles[:4] == [
        "Pooled out-of-fold metrics",
        "Paired model comparisons (ROC-AUC)",
        "Per-fold metrics (mean ± std over folds)",
        "Slices (platform, resolution, duration, codec)",
    ]
    pooled = doc.split("<h2>")[1]
    for row in summary.iter_rows(named=True):
        cell = f"{row['roc_auc']:.3f} [{row['roc_auc_lo']:.2f}, {row['roc_auc_hi']:.2f}]"
        assert cell in pooled
        assert f"{row['pr_auc']:.3f} [{row['pr_auc_lo']:.2f}, {row['pr_auc_hi']:.2f}]" in pooled
    assert "300 bootstrap resamples of cascades" in pooled and "95 %" in pooled
    best = summary.sort("roc_auc", descending=True).row(0, named=True)
    assert best["model"] == "logistic_regression"
    assert f"<b>{best['roc_auc']:.3f} [" in pooled
    assert "metadata-only reference line" not in doc


def test_html_shows_fold_summary_values_and_facts(tables: Tables) -> None:
    summary, metrics, _, _ = tables
    doc = html(tables)
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
    for title in PLOTS:
        assert title in text
    best = summary.sort("roc_auc_mean", descending=True).row(0, named=True)
    assert f"<b>{best['roc_auc_mean']:.3f} ± {best['roc_auc_std']:.3f}</b>" in doc
    worst = summary.sort("roc_auc_mean").row(0, named=True)
    assert f"<b>{worst['roc_auc_mean']:.3f}" not in doc


def test_comparisons_say_which_differences_are_significant(tables: Tables) -> None:
    comparisons = tables[2]
    row = comparisons.row(0, named=True)
    assert (row["model_a"], row["model_b"]) == ("logistic_regression", "svm")
    assert row["significant"]  # a separating model against noise, 60 videos
    lo, hi = row["roc_auc_diff_lo"], row["roc_auc_diff_hi"]
    text = "".join(_parse(html(tables)).text)
    assert (
        f"Significant at 95 % (interval excludes 0): logistic_regression beats svm by "
        f"{row['roc_auc_diff']:.3f} [{lo:.3f}, {hi:.3f}]" in text
    )
    # two noise models: no significant difference
    noise = make_tables(
        make_predictions(models=("svm", "lr_noise", "rf_noise")).filter(pl.col("model") != "svm")
    )
    assert noise[2]["significant"].to_list() == [False]
    assert "No difference is significant at 95 %" in "".join(_parse(html(noise)).text)


def test_slices_scored_and_listed_not_scored(tables: Tables) -> None:
    slices = tables[3]
    doc = html(tables)
    scored, listed = doc.split("Listed, not scored:")
    for row in slices.filter(pl.col("note").is_null()).iter_rows(named=True):
        assert f"{row['roc_auc']:.3f} [{row['roc_auc_lo']:.2f}, {row['roc_auc_hi']:.2f}]" in scored
    vp9 = slices.filter(pl.col("value") == "vp9")
    assert vp9["note"].to_list() == ["not scored: 3 videos, fewer than 10"] * 2
    assert "not scored: 3 videos, fewer than 10" in listed


def test_metadata_model_is_printed_like_any_model_and_named() -> None:
    tables = make_tables(make_predictions(models=("logistic_regression", "metadata")))
    for doc in (html(tables), markdown(tables)):
        assert "metadata-only reference line" in doc
        pooled = doc.split("Paired model comparisons")[0]
        assert "metadata" in pooled.split("reference line")[0]  # a row of the table


def test_one_fold_std_is_a_dash() -> None:
    preds = make_predictions().filter(pl.col("fold") == 0)
    tables = make_tables(preds)
    summary = tables[0]
    assert summary["roc_auc_std"].null_count() == summary.height
    doc = html(tables)
    for row in summary.iter_rows(named=True):
        assert f"{row['roc_auc_mean']:.3f} ± —" in doc
    assert "nan" not in doc.lower()


def test_no_bootstrap_prints_points_and_says_so() -> None:
    preds = make_predictions()
    metrics = metrics_table(preds)
    summary = pooled_summary(preds, metrics, n_boot=0)
    doc = render_report(
        summary, metrics, FACTS, PLOTS, comparisons=paired_comparisons(preds, n_boot=0)
    )
    assert "No bootstrap intervals: evaluation.bootstrap is 0." in doc
    for row in summary.iter_rows(named=True):
        assert f"{row['roc_auc']:.3f}</" in doc
    assert "nan" not in doc.lower()


def test_hostile_text_is_escaped() -> None:
    tables = make_tables(make_predictions(models=(HOSTILE, "svm")))
    facts = {HOSTILE: HOSTILE, "nested": {HOSTILE: "x"}}
    plots = {HOSTILE: ['roc/a"b.png']}
    doc = html(tables, facts, plots)
    assert "<script" not in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    parsed = _parse(doc)
    assert parsed.errors == []
    assert parsed.imgs == ['roc/a"b.png']
    assert HOSTILE in "".join(parsed.text)
    assert "<script" not in markdown(tables, facts, plots)


def test_markdown_tables_and_images(tables: Tables) -> None:
    summary = tables[0]
    md = markdown(tables)
    lines = md.splitlines()
    assert "## Pooled out-of-fold metrics" == lines[2]
    assert (
        "| model | videos | groups | folds | ROC-AUC | PR-AUC | EER | ECE | accuracy | F1 |"
        in lines
    )
    assert (
        "| model | ROC-AUC | PR-AUC | EER | ECE | accuracy | precision | recall | F1 | folds |"
        in lines
    )
    header = lines.index("| fact | value |")
    assert lines[header + 1] == "| --- | --- |"
    assert "| videos by status | ok: 118, failed: 2 |" in lines
    assert "| git commit | — |" in lines
    for row in summary.iter_rows(named=True):
        assert f"{row['f1_mean']:.3f} ± {row['f1_std']:.3f}" in md
        assert f"{row['f1']:.3f} [{row['f1_lo']:.2f}, {row['f1_hi']:.2f}]" in md
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
    md = markdown(make_tables(make_predictions(models=("a|b", "svm"))))
    assert "a\\|b" in md
    _assert_rectangular(md)


def test_empty_inputs_render_sentences() -> None:
    empty = pl.DataFrame()
    doc = render_report(empty, empty, {}, {})
    assert _parse(doc).errors == []
    for sentence in (
        "No run facts",
        "No models",
        "No comparisons",
        "No slices",
        "No per-fold metrics",
        "No plots",
    ):
        assert sentence in doc
