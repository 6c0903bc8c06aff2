"""Tests for aura.evaluation.plots: plotted data checked against sklearn and hand-binned numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from kedro_datasets.matplotlib import MatplotlibDataset
from matplotlib.axes import Axes
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from aura.evaluation.metrics import expected_calibration_error, metrics_table
from aura.evaluation.plots import (
    confusion_matrices,
    model_comparison,
    panel,
    pr_curves,
    reliability_diagram,
    roc_curves,
)
from aura.evaluation.summary import pooled_summary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MODELS = ("separating", "random")


def make_predictions(seed: int = 0, n_folds: int = 3, n_per_fold: int = 20) -> pl.DataFrame:
    """Two models x folds x videos; "separating" ranks fakes higher, "random" is noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for model in MODELS:
        for fold in range(n_folds):
            y = rng.permutation(np.array([0, 1] * (n_per_fold // 2)))
            if model == "separating":
                s = np.clip(0.35 * y + rng.uniform(0.0, 0.65, n_per_fold), 0.0, 1.0)
            else:
                s = rng.uniform(0.0, 1.0, n_per_fold)
            frames.append(
                pl.DataFrame(
                    {
                        "model": [model] * n_per_fold,
                        "fold": [fold] * n_per_fold,
                        "video_id": [f"v{fold}-{i}" for i in range(n_per_fold)],
                        "target": y.tolist(),
                        "score": s.tolist(),
                        "platform": rng.choice(["youtube", "tiktok", None], n_per_fold).tolist(),
                    }
                )
            )
    return pl.concat(frames)


@pytest.fixture
def preds() -> pl.DataFrame:
    return make_predictions()


def _summary(preds: pl.DataFrame, n_boot: int = 200) -> pl.DataFrame:
    """``cv_summary`` of ``preds``, each video its own cascade group."""
    with_groups = preds.with_columns(group_id=pl.col("video_id"))
    return pooled_summary(with_groups, metrics_table(preds), n_boot=n_boot)


def _fold(preds: pl.DataFrame, model: str, fold: int) -> tuple[np.ndarray, np.ndarray]:
    part = preds.filter((pl.col("model") == model) & (pl.col("fold") == fold))
    return part["target"].to_numpy(), part["score"].to_numpy()


def _legend(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def _fold_lines(ax: Axes) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        line.get_label(): (np.asarray(line.get_xdata()), np.asarray(line.get_ydata()))
        for line in ax.lines
        if line.get_label().startswith("fold ")
    }


def test_per_model_plots_have_one_labelled_panel_per_model(preds: pl.DataFrame) -> None:
    for fn in (roc_curves, pr_curves, confusion_matrices):
        fig = fn(preds)
        assert isinstance(fig, Figure)
        assert [ax.get_label() for ax in fig.axes] == sorted(MODELS)  # sorted, deterministic
        assert panel(fig, sorted(MODELS)[1]) is fig.axes[1]
    with pytest.raises(KeyError, match="no panel"):
        panel(roc_curves(preds), "nope")
    assert isinstance(reliability_diagram(preds), Figure)
    assert isinstance(model_comparison(_summary(preds)), Figure)


def test_roc_curves_match_sklearn(preds: pl.DataFrame) -> None:
    figs = roc_curves(preds)
    mean_auc: dict[str, float] = {}
    for model in MODELS:
        ax = panel(figs, model)
        lines = _fold_lines(ax)
        aucs = []
        for fold in range(3):
            y, s = _fold(preds, model, fold)
            fpr, tpr, _ = roc_curve(y, s)
            auc = roc_auc_score(y, s)
            aucs.append(auc)
            label = f"fold {fold} (AUC {auc:.3f})"
            assert label in _legend(ax)
            x, yy = lines[label]
            np.testing.assert_allclose(x, fpr)
            np.testing.assert_allclose(yy, tpr)
        title = ax.get_title()
        assert model in title
        assert f"AUC {np.mean(aucs):.3f} ± {np.std(aucs, ddof=1):.3f}" in title
        assert "chance" in _legend(ax)
        mean_auc[model] = float(np.mean(aucs))
    # The fixture is realistic: the separating model separates, the random one does not.
    assert mean_auc["separating"] > 0.85 > mean_auc["random"]


def test_pr_curves_match_sklearn(preds: pl.DataFrame) -> None:
    figs = pr_curves(preds)
    for model in MODELS:
        ax = panel(figs, model)
        lines = _fold_lines(ax)
        for fold in range(3):
            y, s = _fold(preds, model, fold)
            precision, recall, _ = precision_recall_curve(y, s)
            label = f"fold {fold} (AP {average_precision_score(y, s):.3f})"
            x, yy = lines[label]
            np.testing.assert_allclose(x, recall)
            np.testing.assert_allclose(yy, precision)
        rate = preds.filter(pl.col("model") == model)["target"].mean()
        assert f"chance ({rate:.3f})" in _legend(ax)


def _bins_by_hand(y: np.ndarray, s: np.ndarray, n_bins: int) -> tuple[list[float], list[float]]:
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    xs, ys = [], []
    for b in range(n_bins):
        last = b == n_bins - 1
        mask = (s >= edges[b]) & ((s <= edges[b + 1]) if last else (s < edges[b + 1]))
        if mask.any():
            xs.append(float(s[mask].mean()))
            ys.append(float(y[mask].mean()))
    return xs, ys


@pytest.mark.parametrize("n_bins", [10, 4])
def test_reliability_points_match_hand_binning(preds: pl.DataFrame, n_bins: int) -> None:
    # Scores on bin edges, including both ends, must land like expected_calibration_error's.
    edge = pl.DataFrame(
        {
            "model": ["random"] * 4,
            "fold": [0] * 4,
            "video_id": ["e0", "e1", "e2", "e3"],
            "target": [0, 1, 1, 0],
            "score": [0.0, 1.0, 0.5, 0.25],
            "platform": [None] * 4,
        }
    )
    data = pl.concat([preds, edge])
    fig = reliability_diagram(data, n_bins=n_bins)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    legend = _legend(fig.axes[0])
    assert "perfect calibration" in legend
    for model in MODELS:
        rows = data.filter(pl.col("model") == model)
        y, s = rows["target"].to_numpy(), rows["score"].to_numpy()
        xs, ys = _bins_by_hand(y, s, n_bins)
        np.testing.assert_allclose(lines[model].get_xdata(), xs)
        np.testing.assert_allclose(lines[model].get_ydata(), ys)
        assert f"{model} (ECE {expected_calibration_error(y, s, n_bins):.3f})" in legend
    assert len(fig.axes) == 2  # score histogram below


def test_confusion_matrices_match_sklearn(preds: pl.DataFrame) -> None:
    for threshold in (0.5, 0.3):
        figs = confusion_matrices(preds, threshold=threshold)
        for model in MODELS:
            rows = preds.filter(pl.col("model") == model)
            y, s = rows["target"].to_numpy(), rows["score"].to_numpy()
            expected = confusion_matrix(y, (s >= threshold).astype(int), labels=[0, 1])
            ax = panel(figs, model)
            np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), expected)
            counts = sorted(int(t.get_text().split("\n")[0]) for t in ax.texts)
            assert counts == sorted(expected.ravel().tolist())
            assert [t.get_text() for t in ax.get_xticklabels()] == ["real", "fake"]
            assert [t.get_text() for t in ax.get_yticklabels()] == ["real", "fake"]
            assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "actual"
    with pytest.raises(ValueError, match="threshold"):
        confusion_matrices(preds, threshold=1.5)


def test_one_class_fold_is_skipped_and_named(preds: pl.DataFrame) -> None:
    one_class = (pl.col("model") == "random") & (pl.col("fold") == 2)
    data = preds.with_columns(
        target=pl.when(one_class).then(pl.lit(1)).otherwise(pl.col("target")).cast(pl.Int64)
    )
    for fn in (roc_curves, pr_curves):
        fig = fn(data)
        ax = panel(fig, "random")
        legend = _legend(ax)
        assert "fold 2: one class, skipped" in legend
        plotted = [t for t in legend if t.startswith("fold ") and "skipped" not in t]
        assert list(_fold_lines(ax)) == plotted
        assert [label[:6] for label in plotted] == ["fold 0", "fold 1"]
        assert "over 2 folds, 1 skipped" in ax.get_title()
        for line in ax.lines:
            assert np.isfinite(np.asarray(line.get_xydata(), dtype=float)).all()
        fig.savefig(Path("/dev/null"), format="png")  # draws without error
    # A model with no two-class fold at all still gets a figure, with only the chance line.
    only_fakes = data.filter(pl.col("model") == "random").with_columns(target=pl.lit(1))
    ax = panel(roc_curves(only_fakes), "random")
    assert "no fold has both classes" in ax.get_title()
    assert [line.get_label() for line in ax.lines] == ["chance"]
    assert isinstance(confusion_matrices(only_fakes), Figure)
    assert isinstance(reliability_diagram(only_fakes), Figure)


def test_empty_and_missing_columns_raise(preds: pl.DataFrame) -> None:
    empty = preds.clear()
    for fn in (roc_curves, pr_curves, reliability_diagram, confusion_matrices):
        with pytest.raises(ValueError, match="no predictions"):
            fn(empty)
        with pytest.raises(ValueError, match="score"):
            fn(preds.drop("score"))
    with pytest.raises(ValueError, match="fold"):
        roc_curves(preds.drop("fold"))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        roc_curves(preds.with_columns(score=pl.col("score") + 1.0))
    with pytest.raises(ValueError, match="0/1"):
        pr_curves(preds.with_columns(target=pl.col("target") * 2))
    with pytest.raises(ValueError, match="no predictions"):
        model_comparison(_summary(preds).clear())
    with pytest.raises(ValueError, match="f1"):
        model_comparison(_summary(preds).drop("f1"))


def test_fold_order_is_deterministic(preds: pl.DataFrame) -> None:
    shuffled = preds.sample(fraction=1.0, shuffle=True, seed=3)
    a, b = roc_curves(preds), roc_curves(shuffled)
    for model in MODELS:
        assert _legend(panel(a, model)) == _legend(panel(b, model))
        legend = _legend(panel(a, model))[:3]
        assert [t.startswith(f"fold {i}") for i, t in enumerate(legend)] == [True] * 3


def test_model_comparison_bars_and_error_bars(preds: pl.DataFrame) -> None:
    # Bars are the pooled metrics, error bars their bootstrap intervals; "single" has its
    # intervals removed, so it gets bars but no error bars.
    single = make_predictions(seed=5, n_folds=1).filter(pl.col("model") == "separating")
    data = pl.concat([preds, single.with_columns(model=pl.lit("single"))])
    metrics = ("roc_auc", "pr_auc", "f1", "accuracy")
    summary = _summary(data).with_columns(
        pl.when(pl.col("model") != "single").then(pl.col(f"{m}_{end}")).alias(f"{m}_{end}")
        for m in metrics
        for end in ("lo", "hi")
    )
    fig = model_comparison(summary, metrics)
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 3
    rows = summary.sort("model").to_dicts()
    for container, row in zip(bars, rows, strict=True):
        heights = [p.get_height() for p in container.patches]
        np.testing.assert_allclose(heights, [row[m] for m in metrics])
    errorbars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(errorbars) == 2  # random and separating, not single
    for container, row in zip(errorbars, rows[:2], strict=True):
        segments = container.lines[2][0].get_segments()
        ends = [(float(seg[0][1]), float(seg[1][1])) for seg in segments]
        np.testing.assert_allclose(ends, [(row[f"{m}_lo"], row[f"{m}_hi"]) for m in metrics])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["roc auc", "pr auc", "f1", "accuracy"]
    assert _legend(ax) == ["random", "separating", "single"]
    assert "95 % cascade-bootstrap interval" in ax.get_title()


def test_savefig_writes_png(preds: pl.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    reliability_diagram(preds).savefig(out)
    data = out.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_kedro_matplotlib_dataset_saves_one_png(preds: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "roc_curves.png"
    MatplotlibDataset(filepath=str(path)).save(roc_curves(preds))
    assert path.is_file() and path.read_bytes().startswith(PNG_MAGIC)
