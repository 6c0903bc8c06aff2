"""The evaluation report as a document: sections of sentences, tables and image groups, built
from the metric tables; :mod:`aura.evaluation.report` renders it as HTML and Markdown."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from aura.evaluation.metrics import METRICS

MISSING = "—"
#: The metadata-only shortcut baseline, printed like any model and named under the pooled table.
METADATA_MODEL = "metadata"
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
    "n_videos": "videos",
    "n_groups": "groups",
    "n": "n",
    "n_real": "real",
    "n_fake": "fake",
}
#: Pooled columns of the headline table (an interval follows where ``<m>_lo`` exists).
POOLED_SHOWN = ("roc_auc", "pr_auc", "eer", "ece", "accuracy", "f1")
SLICE_SHOWN = ("roc_auc", "pr_auc", "accuracy", "f1")

Cell = tuple[str, bool]  # (text, bold)


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]]
    css: str = ""
    left: int = 1  # the first ``left`` columns hold text (left-aligned); the rest are numbers


@dataclass
class Images:
    title: str
    paths: list[str]


@dataclass
class Section:
    title: str
    blocks: list[str | Table | Images] = field(default_factory=list)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def text(value: Any) -> str:
    """Any value as plain text: floats to 3 decimals, nulls as a dash, dicts as ``k: v, k: v``."""
    if _missing(value):
        return MISSING
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(text(v) for v in items)
    return str(value)


def mean_std(mean: Any, std: Any) -> str:
    if _missing(mean):
        return MISSING
    return f"{text(float(mean))} ± {text(None if std is None else float(std))}"


def with_interval(value: Any, lo: Any, hi: Any, digits: int = 2) -> str:
    """``0.912 [0.85, 0.96]``; the point alone when the interval is missing."""
    if _missing(value):
        return MISSING
    if _missing(lo) or _missing(hi):
        return text(float(value))
    return f"{float(value):.3f} [{float(lo):.{digits}f}, {float(hi):.{digits}f}]"


def generic_table(df: pl.DataFrame) -> Table:
    """Every column of ``df``, floats to 3 decimals; metric columns get readable headers."""
    header = [LABELS.get(c, c) for c in df.columns]
    left = next((i for i, d in enumerate(df.dtypes) if d.is_numeric()), len(df.columns))
    rows = [[(text(v), False) for v in row] for row in df.iter_rows()]
    return Table(header, rows, left=left)


def _level(df: pl.DataFrame) -> str:
    level = df["ci_level"].drop_nulls() if "ci_level" in df.columns else pl.Series([])
    return f"{100 * float(level[0]):g} %" if level.len() else "95 %"


def pooled_section(summary: pl.DataFrame) -> Section:
    """Headline: pooled out-of-fold metrics per model with their cascade-bootstrap intervals."""
    section = Section("Pooled out-of-fold metrics")
    if summary.height == 0 or "model" not in summary.columns or "roc_auc" not in summary.columns:
        section.blocks.append("No models were evaluated.")
        return section
    rows = summary.sort("model").to_dicts()
    aucs = [r["roc_auc"] for r in rows if not _missing(r["roc_auc"])]
    best = max(aucs) if aucs else None
    shown = [m for m in POOLED_SHOWN if m in summary.columns]
    counts = [c for c in ("n_videos", "n_groups", "n_folds") if c in summary.columns]
    table = Table(["model", *(LABELS[c] for c in counts), *(LABELS[m] for m in shown)], [])
    for r in rows:
        top = best is not None and r["roc_auc"] == best
        cells: list[Cell] = [(text(r["model"]), top)]
        cells += [(text(r[c]), False) for c in counts]
        for m in shown:
            cell = with_interval(r[m], r.get(f"{m}_lo"), r.get(f"{m}_hi"))
            cells.append((cell, top and m == "roc_auc"))
        table.rows.append(cells)
    if best is not None:
        winners = ", ".join(text(r["model"]) for r in rows if r["roc_auc"] == best)
        section.blocks.append(f"Best pooled ROC-AUC: {winners} ({text(float(best))}).")
    section.blocks.append(table)
    n_boot = int(rows[0].get("n_boot") or 0)
    if n_boot:
        section.blocks.append(
            "Each model's out-of-fold predictions are pooled over the folds (every original "
            f"scored once). Brackets: {_level(summary)} percentile intervals over {n_boot} "
            "bootstrap resamples of cascades: whole cascade groups (cascades merged when they "
            "share a video) are drawn with replacement, never single videos, so near-copies of "
            "one video do not narrow the intervals."
        )
    else:
        section.blocks.append("No bootstrap intervals: evaluation.bootstrap is 0.")
    if any(r["model"] == METADATA_MODEL for r in rows):
        section.blocks.append(
            f"The model {METADATA_MODEL} is the metadata-only reference line: a shortcut baseline "
            "that never sees the pixels, so a detector shows what it learns from the picture only "
            "where it beats that line."
        )
    return section


def comparisons_section(comparisons: pl.DataFrame | None) -> Section:
    """Paired ROC-AUC differences and which of them are significant."""
    section = Section("Paired model comparisons (ROC-AUC)")
    if comparisons is None or comparisons.height == 0:
        section.blocks.append("No comparisons: fewer than two models were evaluated.")
        return section
    level = _level(comparisons)
    rows = comparisons.to_dicts()
    found = []
    for r in rows:
        if r["significant"]:
            better, worse = (
                (r["model_a"], r["model_b"])
                if r["roc_auc_diff"] > 0
                else (r["model_b"], r["model_a"])
            )
            diff = with_interval(
                abs(r["roc_auc_diff"]),
                *sorted((abs(r["roc_auc_diff_lo"]), abs(r["roc_auc_diff_hi"]))),
                digits=3,
            )
            found.append(f"{text(better)} beats {text(worse)} by {diff}")
    if found:
        section.blocks.append(
            f"Significant at {level} (interval excludes 0): " + "; ".join(found) + "."
        )
    elif any(r["significant"] is not None for r in rows):
        section.blocks.append(
            f"No difference is significant at {level}: every interval contains 0."
        )
    else:
        section.blocks.append(
            "No intervals: evaluation.bootstrap is 0 or a model scores one class."
        )
    section.blocks.append(
        "Each pair is compared on the videos both models scored; the interval of the difference "
        "(A − B) comes from the same cascade resamples for both models."
    )
    table = Table(
        [
            "model A",
            "model B",
            "videos",
            "groups",
            "ROC-AUC A",
            "ROC-AUC B",
            "A − B",
            "significant",
        ],
        [],
        left=2,
    )
    for r in rows:
        sig = MISSING if r["significant"] is None else ("yes" if r["significant"] else "no")
        diff = with_interval(r["roc_auc_diff"], r["roc_auc_diff_lo"], r["roc_auc_diff_hi"], 3)
        table.rows.append(
            [
                (text(r["model_a"]), False),
                (text(r["model_b"]), False),
                (text(r["n_videos"]), False),
                (text(r["n_groups"]), False),
                (text(r["roc_auc_a"]), False),
                (text(r["roc_auc_b"]), False),
                (diff, bool(r["significant"])),
                (sig, bool(r["significant"])),
            ]
        )
    section.blocks.append(table)
    return section


def folds_section(summary: pl.DataFrame) -> Section:
    """Secondary view: mean ± std of each metric over the folds."""
    section = Section("Per-fold metrics (mean ± std over folds)")
    metrics = [m for m in METRICS if f"{m}_mean" in summary.columns]
    if summary.height == 0 or "model" not in summary.columns or not metrics:
        section.blocks.append("No models were evaluated.")
        return section
    rows = summary.sort("model").to_dicts()
    aucs = [r["roc_auc_mean"] for r in rows if not _missing(r.get("roc_auc_mean"))]
    best = max(aucs) if aucs else None
    table = Table(["model", *(LABELS[m] for m in metrics)], [])
    if "n_folds" in summary.columns:
        table.header.append(LABELS["n_folds"])
    for r in rows:
        top = best is not None and r.get("roc_auc_mean") == best
        cells: list[Cell] = [(text(r["model"]), top)]
        for m in metrics:
            cells.append((mean_std(r[f"{m}_mean"], r.get(f"{m}_std")), top and m == "roc_auc"))
        if "n_folds" in summary.columns:
            cells.append((text(r["n_folds"]), False))
        table.rows.append(cells)
    if best is not None:
        winners = ", ".join(text(r["model"]) for r in rows if r.get("roc_auc_mean") == best)
        section.blocks.append(f"Best mean ROC-AUC over folds: {winners} ({text(float(best))}).")
    section.blocks.append(table)
    return section


def slices_section(slices: pl.DataFrame | None) -> Section:
    """Scored slices with ROC-AUC intervals, then the slices listed but not scored."""
    section = Section("Slices (platform, resolution, duration, codec)")
    if slices is None or slices.height == 0:
        section.blocks.append("No slices were computed.")
        return section
    keys = ["model", "slice", "value", "n", "n_real", "n_fake", "n_groups"]
    scored = slices.filter(pl.col("note").is_null())
    listed = slices.filter(pl.col("note").is_not_null())
    section.blocks.append(
        "Resolution buckets by the shorter side in pixels; duration in seconds. A slice with too "
        "few videos or one class only is listed below with the reason, not scored."
    )
    if scored.height:
        table = Table(
            [LABELS.get(k, k) for k in keys] + [LABELS[m] for m in SLICE_SHOWN], [], left=3
        )
        for r in scored.iter_rows(named=True):
            cells: list[Cell] = [(text(r[k]), False) for k in keys]
            for m in SLICE_SHOWN:
                cells.append((with_interval(r[m], r.get(f"{m}_lo"), r.get(f"{m}_hi")), False))
            table.rows.append(cells)
        section.blocks.append(table)
    else:
        section.blocks.append("No slice could be scored.")
    if listed.height:
        section.blocks.append("Listed, not scored:")
        cols = [*keys[:3], "note", *keys[3:]]
        table = Table([LABELS.get(k, k) for k in cols], [], left=4)
        for r in listed.iter_rows(named=True):
            table.rows.append([(text(r[k]), False) for k in cols])
        section.blocks.append(table)
    return section


def robustness_section(robustness: pl.DataFrame | None) -> Section:
    """ROC-AUC with interval per (model, perturbation), ``none`` first, and the paired delta."""
    section = Section("Robustness (validation originals re-scored after perturbations)")
    if robustness is None or robustness.height == 0:
        section.blocks.append("Robustness was not evaluated (evaluation.robustness.enabled).")
        return section
    section.blocks.append(
        "Each fold model re-scores its validation originals after each perturbation, through the "
        "inference path; delta is the perturbed ROC-AUC minus the unperturbed one on the same "
        "videos. Unchanged: the perturbation did not apply (scored as is)."
    )
    header = ["model", "perturbation", "n", "unchanged", "failed", LABELS["roc_auc"], "delta"]
    table = Table(header, [], left=2)
    for r in robustness.iter_rows(named=True):
        delta = r.get("delta")
        table.rows.append(
            [
                (text(r["model"]), False),
                (text(r["perturbation"]), False),
                (text(r.get("n")), False),
                (text(r.get("n_unchanged")), False),
                (text(r.get("n_failed")), False),
                (with_interval(r["roc_auc"], r.get("roc_auc_lo"), r.get("roc_auc_hi")), False),
                ("" if _missing(delta) else f"{float(delta):+.3f}", False),
            ]
        )
    section.blocks.append(table)
    return section


def sections(
    summary: pl.DataFrame,
    metrics: pl.DataFrame,
    facts: Mapping[str, Any],
    plots: Mapping[str, Sequence[str]],
    *,
    comparisons: pl.DataFrame | None = None,
    slices: pl.DataFrame | None = None,
    robustness: pl.DataFrame | None = None,
) -> list[Section]:
    """The report, in reading order: pooled table, comparisons, folds, slices, plots, run."""
    folds = Section("Per-fold metrics (each fold)")
    folds.blocks.append(generic_table(metrics) if metrics.height else "No per-fold metrics.")
    figures = Section("Plots")
    figures.blocks.extend(Images(str(t), [str(p) for p in ps]) for t, ps in plots.items())
    if not plots:
        figures.blocks.append("No plots were produced.")
    run = Section("Run")
    if facts:
        rows = [[(text(k), False), (text(v), False)] for k, v in facts.items()]
        run.blocks.append(Table(["fact", "value"], rows, css="facts", left=2))
    else:
        run.blocks.append("No run facts were recorded.")
    return [
        pooled_section(summary),
        comparisons_section(comparisons),
        folds_section(summary),
        slices_section(slices),
        robustness_section(robustness),
        folds,
        figures,
        run,
    ]
