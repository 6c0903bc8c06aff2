"""Evaluation figures from pooled out-of-fold predictions (label 1 = fake is the positive class).

Every function returns one ``matplotlib.figure.Figure`` (built without pyplot, so no global
state leaks and no backend is needed), saved as one PNG through the catalog and logged to MLflow.
Per-model plots get one panel per model, labelled with the model name (see :func:`panel`).
A fold whose rows hold one class gets no ROC/PR curve; it is named in the legend instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from aura.evaluation.metrics import expected_calibration_error
from aura.evaluation.operating import operating_point

CURVE_COLUMNS = ("model", "fold", "target", "score")
POOLED_COLUMNS = ("model", "target", "score")
CLASS_NAMES = ("real", "fake")
FIGSIZE = (5.0, 5.0)


def _text(value: Any) -> str:
    """Text safe for matplotlib labels: ``$`` would otherwise switch to mathtext."""
    return str(value).replace("$", r"\$")


def panel(fig: Figure, model: str) -> Axes:
    """The axes of ``fig`` drawn for ``model``."""
    for ax in fig.axes:
        if ax.get_label() == str(model):
            return ax
    raise KeyError(f"no panel for model {model!r}")


def _panels(models: Sequence[str], size: tuple[float, float]) -> tuple[Figure, list[Axes]]:
    """A figure with one labelled panel per model, up to 3 per row."""
    cols = min(len(models), 3)
    rows = math.ceil(len(models) / cols)
    fig = Figure(figsize=(size[0] * cols, size[1] * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1, label=str(m)) for i, m in enumerate(models)]
    return fig, axes


def _check(predictions: pl.DataFrame, columns: Sequence[str], caller: str) -> pl.DataFrame:
    """Validate columns, emptiness, nulls and value ranges; return rows sorted by model (, fold)."""
    missing = [c for c in columns if c not in predictions.columns]
    if missing:
        raise ValueError(
            f"{caller}: predictions missing columns {missing}; have {predictions.columns}"
        )
    if predictions.height == 0:
        raise ValueError(f"{caller}: no predictions (empty table), need rows with {list(columns)}")
    nulls = [c for c in columns if predictions[c].null_count() > 0]
    if nulls:
        raise ValueError(f"{caller}: null values in columns {nulls}")
    target = predictions["target"].to_numpy()
    if not np.isin(target, (0, 1)).all():
        raise ValueError(f"{caller}: target must be 0/1, got {np.unique(target).tolist()}")
    score = predictions["score"].cast(pl.Float64).to_numpy()
    if not np.isfinite(score).all() or (score < 0).any() or (score > 1).any():
        raise ValueError(f"{caller}: score must be finite and lie in [0, 1]")
    keys = [c for c in ("model", "fold") if c in columns]
    return predictions.sort(keys, maintain_order=True)


def _models(df: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """``(model, rows)`` sorted by model."""
    return [(str(k[0]), g) for k, g in df.group_by("model", maintain_order=True)]


def _arrays(rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return rows["target"].to_numpy().astype(int), rows["score"].cast(pl.Float64).to_numpy()


def _blank(label: str) -> Line2D:
    """Legend-only handle (not added to the axes) for a text entry such as a skipped fold."""
    return Line2D([], [], linestyle="none", label=label)


def _summary(name: str, values: list[float], skipped: int) -> str:
    """Title suffix: mean ± std (ddof=1) of a per-fold statistic over the plotted folds."""
    if not values:
        return f"{name}: no fold has both classes"
    text = f"{name} {np.mean(values):.3f}"
    if len(values) > 1:
        text += f" ± {np.std(values, ddof=1):.3f}"
    text += f" over {len(values)} fold{'s' if len(values) > 1 else ''}"
    return text + (f", {skipped} skipped" if skipped else "")


def _fold_curves(predictions: pl.DataFrame, kind: str) -> Figure:
    """Shared body of ``roc_curves`` (kind "roc") and ``pr_curves`` (kind "pr")."""
    df = _check(predictions, CURVE_COLUMNS, f"{kind}_curves")
    models = _models(df)
    fig, axes = _panels([m for m, _ in models], FIGSIZE)
    for ax, (model, rows) in zip(axes, models, strict=True):
        handles: list[Artist] = []
        values: list[float] = []
        skipped = 0
        for (fold,), part in rows.group_by("fold", maintain_order=True):
            y, s = _arrays(part)
            if np.unique(y).size < 2:
                skipped += 1
                handles.append(_blank(f"fold {_text(fold)}: one class, skipped"))
                continue
            if kind == "roc":
                x, yy, _ = roc_curve(y, s)
                value, label, draw = float(roc_auc_score(y, s)), "AUC", "default"
            else:
                precision, recall, _ = precision_recall_curve(y, s)
                x, yy = recall, precision
                value, label, draw = float(average_precision_score(y, s)), "AP", "steps-post"
            values.append(value)
            (line,) = ax.plot(
                x, yy, drawstyle=draw, label=f"fold {_text(fold)} ({label} {value:.3f})"
            )
            handles.append(line)
        if kind == "roc":
            (ref,) = ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
            ax.set(xlabel="false positive rate", ylabel="true positive rate (fake)")
            title = f"{_text(model)}: ROC\n{_summary('AUC', values, skipped)}"
        else:
            rate = float(rows["target"].mean())
            (ref,) = ax.plot(
                [0, 1], [rate, rate], linestyle="--", color="grey", label=f"chance ({rate:.3f})"
            )
            ax.set(xlabel="recall (fake)", ylabel="precision (fake)")
            title = f"{_text(model)}: precision-recall\n{_summary('AP', values, skipped)}"
        handles.append(ref)
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), title=title, aspect="equal")
        ax.title.set_fontsize("medium")
        loc = "lower right" if kind == "roc" else "lower left"
        ax.legend(
            handles=handles, labels=[h.get_label() for h in handles], loc=loc, fontsize="small"
        )
    return fig


def roc_curves(predictions: pl.DataFrame) -> Figure:
    """One ROC panel per model, one curve per fold, titled with mean ± std AUC over folds."""
    return _fold_curves(predictions, "roc")


def pr_curves(predictions: pl.DataFrame) -> Figure:
    """One precision-recall panel per model, one curve per fold (average precision in legend)."""
    return _fold_curves(predictions, "pr")


def calibration_bins(
    y_true: np.ndarray, y_score: np.ndarray, n_bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean score, fraction fake, count)`` per non-empty bin, binned as in ECE."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.searchsorted(edges[1:-1], y_score, side="right")
    bins = np.unique(idx)
    mean_score = np.array([y_score[idx == b].mean() for b in bins])
    frac_fake = np.array([y_true[idx == b].mean() for b in bins])
    counts = np.array([(idx == b).sum() for b in bins])
    return mean_score, frac_fake, counts


def reliability_diagram(predictions: pl.DataFrame, n_bins: int = 10) -> Figure:
    """All models overlaid (folds pooled): fraction fake vs mean score per bin, ECE in legend.

    Each model's line is labelled with the model name; a score histogram sits below.
    """
    df = _check(predictions, POOLED_COLUMNS, "reliability_diagram")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    fig = Figure(figsize=(5.5, 6.5), layout="constrained")
    ax, hist = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    (ref,) = ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    handles: list[Artist] = [ref]
    labels = [ref.get_label()]
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for model, rows in _models(df):
        y, s = _arrays(rows)
        mean_score, frac_fake, _ = calibration_bins(y, s, n_bins)
        (line,) = ax.plot(mean_score, frac_fake, marker="o", label=str(model))
        handles.append(line)
        labels.append(f"{_text(model)} (ECE {expected_calibration_error(y, s, n_bins):.3f})")
        hist.hist(s, bins=edges, histtype="step", color=line.get_color())
    ax.set(xlim=(0, 1), ylim=(0, 1), ylabel="fraction fake")
    ax.set_title(f"Reliability ({n_bins} bins, folds pooled)", fontsize="medium")
    ax.legend(handles=handles, labels=labels, loc="upper left", fontsize="small")
    hist.set(xlabel="predicted probability of fake", ylabel="videos")
    return fig


def _annotate(ax: Axes, cm: np.ndarray) -> None:
    total = max(int(cm.sum()), 1)
    for (i, j), count in np.ndenumerate(cm):
        colour = "white" if count > cm.max() / 2 else "black"
        ax.text(j, i, f"{count}\n({count / total:.0%})", ha="center", va="center", color=colour)


def confusion_matrices(predictions: pl.DataFrame, threshold: float = 0.5) -> Figure:
    """Per model, folds pooled: counts of actual (rows) vs predicted ``score >= threshold``."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    df = _check(predictions, POOLED_COLUMNS, "confusion_matrices")
    models = _models(df)
    fig, axes = _panels([m for m, _ in models], (4.0, 4.0))
    for ax, (model, rows) in zip(axes, models, strict=True):
        y, s = _arrays(rows)
        cm = operating_point(y, s, threshold).matrix()
        ax.imshow(cm, cmap="Blues", vmin=0)
        _annotate(ax, cm)
        ax.set(
            xticks=[0, 1],
            yticks=[0, 1],
            xticklabels=CLASS_NAMES,
            yticklabels=CLASS_NAMES,
            xlabel="predicted",
            ylabel="actual",
        )
        ax.set_title(f"{_text(model)}\nthreshold {threshold:.2f}, n = {y.size}", fontsize="medium")
    return fig


def _interval(row: dict[str, Any], m: str, value: float) -> tuple[float, float] | None:
    """``(below, above)`` error-bar lengths from ``<m>_lo`` / ``<m>_hi`` (None if missing)."""
    lo, hi = row.get(f"{m}_lo"), row.get(f"{m}_hi")
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    return max(value - lo, 0.0), max(hi - value, 0.0)


def model_comparison(
    summary: pl.DataFrame, metrics: Sequence[str] = ("roc_auc", "pr_auc", "f1", "accuracy")
) -> Figure:
    """Grouped bars of each model's pooled out-of-fold ``<metric>`` with its bootstrap interval
    (``<metric>_lo`` / ``<metric>_hi``, where not null) as error bars."""
    if not metrics:
        raise ValueError("model_comparison: no metrics requested")
    needed = ["model", *metrics]
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise ValueError(f"model_comparison: summary missing columns {missing}")
    if summary.height == 0:
        raise ValueError("model_comparison: no predictions summarised (empty summary table)")
    rows = summary.sort("model").to_dicts()
    width = 0.8 / len(rows)
    fig = Figure(figsize=(max(5.0, 1.2 * len(metrics) * max(1, len(rows) / 2)), 4.0))
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    x = np.arange(len(metrics), dtype=float)
    handles: list[Any] = []  # BarContainers
    for i, row in enumerate(rows):
        pos = x - 0.4 + width * (i + 0.5)
        values = [row[m] for m in metrics]
        keep = [k for k, v in enumerate(values) if v is not None and np.isfinite(v)]
        bars = ax.bar(pos[keep], [values[k] for k in keep], width, label=_text(row["model"]))
        bounds = {k: _interval(row, metrics[k], values[k]) for k in keep}
        err = [k for k in keep if bounds[k] is not None]
        if err:
            ax.errorbar(
                pos[err],
                [values[k] for k in err],
                yerr=np.array([bounds[k] for k in err]).T,
                fmt="none",
                ecolor="black",
                capsize=3,
            )
        handles.append(bars)
    level = next((r["ci_level"] for r in rows if r.get("ci_level") is not None), None)
    what = f"{100 * level:g} % " if level is not None else ""
    ax.set_xticks(x, [m.replace("_", " ") for m in metrics])
    ax.set(ylim=(0, 1.15), yticks=np.linspace(0, 1, 6), ylabel="pooled out-of-fold")
    ax.set_title(
        f"Model comparison (error bars: {what}cascade-bootstrap interval)", fontsize="medium"
    )
    labels = [_text(row["model"]) for row in rows]
    ax.legend(
        handles=handles,
        labels=labels,
        fontsize="small",
        loc="upper center",
        ncols=min(len(rows), 4),
    )
    return fig
