"""The evaluation pipeline end to end through Kedro's runner on an in-memory catalog: hand-made
out-of-fold predictions of a 2-model x 3-fold grid in, pooled tables, comparisons, slices,
tracked metrics, plots and the report out."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from aura.evaluation import auc_with_ci, metrics_table
from aura.pipelines import evaluation
from aura.pipelines.evaluation.nodes import PLOTS
from aura.pipelines.training.nodes import PREDICTION_COLUMNS
from aura.training.grid import Grid
from tests.pipelines.conftest import KeptDataset

MODELS = ("logistic_regression", "svm")
N_FOLDS = 3
ROOT = Path(__file__).resolve().parents[2]


def _corpus(n_groups: int = 90, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``video_index`` and ``cv_folds`` (originals only): 1-3 videos per cascade group."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 4, n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    y = (np.arange(n_groups) % 2)[groups]
    n = groups.size
    ids = [f"c{g}_v{i}" for i, g in enumerate(groups)]
    index = pl.DataFrame(
        {
            "video_id": ids,
            "cascade_id": [f"c{g}" for g in groups],
            "platform": rng.choice(["youtube", "facebook", "twitter"], n),
            "label": np.where(y == 1, "fake", "real"),
            "status": "ok",
            "width": rng.choice([426, 640, 1280], n),
            "height": rng.choice([240, 360, 720], n),
            "duration_s": rng.uniform(1, 90, n),
            "codec": rng.choice(["h264", "vp9"], n, p=[0.9, 0.1]),
        }
    )
    folds = pl.DataFrame(
        {
            "video_id": ids,
            "source_video_id": ids,
            "variant": 0,
            "cascade_id": [f"c{g}" for g in groups],
            "group_id": [f"c{g}" for g in groups],
            "label": index["label"],
            "target": y,
            "fold": (groups % N_FOLDS).astype(int),
            "role": "val",
        }
    )
    return index, folds


def _cells(index: pl.DataFrame, folds: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Each cell's predictions and metrics: logistic_regression separates, svm is noise."""
    rng = np.random.default_rng(1)
    base = folds.join(index.select("video_id", "platform"), on="video_id")
    out: dict[str, pl.DataFrame] = {}
    for model, strength in zip(MODELS, (2.0, 0.0), strict=True):
        z = strength * base["target"].to_numpy() + rng.normal(size=base.height)
        scored = base.with_columns(model=pl.lit(model), score=1 / (1 + np.exp(-z)))
        for k in range(N_FOLDS):
            rows = scored.filter(pl.col("fold") == k).select(PREDICTION_COLUMNS)
            out[f"{model}.fold_{k}.predictions"] = rows
            out[f"{model}.fold_{k}.metrics"] = metrics_table(rows)
    return out


PARAMS: dict[str, Any] = {
    "corpus": {"kind": "manifest", "root": "hand-made"},
    "training": {"n_folds": N_FOLDS, "models": list(MODELS)},
    "evaluation": {"threshold": 0.5, "bootstrap": 300, "seed": 3, "slices": {"min_videos": 12}},
}


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    index, folds = _corpus()
    pipe = evaluation.create_pipeline(Grid(MODELS, N_FOLDS))
    names = {d for d in pipe.datasets() if not d.startswith("params:")}
    catalog = DataCatalog({n: KeptDataset() for n in names})
    robustness = pl.DataFrame(  # the robustness pipeline's table (its own tests check it)
        {
            "model": ["svm", "svm"],
            "perturbation": ["none", "crf38"],
            "n": [40, 40],
            "n_unchanged": [0, 0],
            "n_failed": [0, 1],
            "roc_auc": [0.9, 0.8],
            "roc_auc_lo": [0.8, 0.7],
            "roc_auc_hi": [0.97, 0.9],
            "delta": [0.0, -0.1],
        }
    )
    inputs = {"video_index": index, "cv_folds": folds, "robustness_metrics": robustness}
    for name, value in {**inputs, **_cells(index, folds)}.items():
        catalog[name].save(value)
    catalog["parameters"].save(PARAMS)
    for key, value in PARAMS.items():
        catalog[f"params:{key}"] = KeptDataset(value)
    SequentialRunner().run(pipe, catalog)
    return {n: catalog[n].load() for n in names}


def test_summary_leads_with_pooled_metrics_and_their_intervals(run: dict[str, Any]) -> None:
    summary, preds = run["cv_summary"], run["cv_predictions"]
    assert summary.columns[:6] == ["model", "n_videos", "n_real", "n_fake", "n_groups", "n_folds"]
    assert {"roc_auc_mean", "roc_auc_std"} <= set(summary.columns)
    assert summary["n_boot"].to_list() == [300, 300]
    for row in summary.iter_rows(named=True):
        rows = preds.filter(pl.col("model") == row["model"])
        ci = auc_with_ci(rows["target"], rows["score"], rows["group_id"], n_boot=300, seed=3)
        assert (row["roc_auc"], row["roc_auc_lo"], row["roc_auc_hi"]) == pytest.approx(ci)
        assert row["n_groups"] == 90


def test_comparisons_slices_and_tracked_metrics(run: dict[str, Any]) -> None:
    pair = run["cv_comparisons"].row(0, named=True)
    assert (pair["model_a"], pair["model_b"], pair["significant"]) == (*MODELS, True)
    slices = run["cv_slices"]
    assert set(slices["slice"]) == {"platform", "resolution", "duration", "codec"}
    small = slices.filter(pl.col("n") < 12)
    assert small.height and small["note"].str.contains("fewer than 12").all()
    assert small["roc_auc"].null_count() == small.height
    tracked = run["cv_tracked_metrics"]
    lr = run["cv_summary"].filter(pl.col("model") == "logistic_regression").row(0, named=True)
    for suffix in ("", "_lo", "_hi"):
        name = f"logistic_regression.pooled.roc_auc{suffix}"
        assert tracked[name] == {"value": pytest.approx(lr[f"roc_auc{suffix}"]), "step": 0}
    diff = tracked["compare.logistic_regression_vs_svm.roc_auc_diff_lo"]["value"]
    assert diff == pytest.approx(pair["roc_auc_diff_lo"]) and diff > 0
    assert [p["step"] for p in tracked["svm.roc_auc"]] == [0, 1, 2]
    assert "svm.roc_auc_mean" in tracked
    singles = [v["value"] for v in tracked.values() if isinstance(v, dict)]
    assert all(isinstance(v, float) and math.isfinite(v) for v in singles)  # nulls left out


def test_plots_and_report_with_the_pooled_table(run: dict[str, Any]) -> None:
    for name in PLOTS:
        assert isinstance(run[f"{name}_plot"], Figure), name
    html, md = run["report_html"], run["report_md"]
    lr = run["cv_summary"].filter(pl.col("model") == "logistic_regression").row(0, named=True)
    cell = f"{lr['roc_auc']:.3f} [{lr['roc_auc_lo']:.2f}, {lr['roc_auc_hi']:.2f}]"
    for doc in (html, md):
        assert doc.index("Pooled out-of-fold metrics") < doc.index("Paired model comparisons")
        assert cell in doc
        assert "resamples of cascades" in doc
        assert "logistic_regression beats svm by" in doc
        assert "Listed, not scored" in doc
        robust = doc[doc.index("Robustness (validation originals") :]
        assert "crf38" in robust and "0.800 [0.70, 0.90]" in robust and "-0.100" in robust
    assert 'src="robustness.png"' in html


def test_catalog_declares_the_new_tables_and_not_the_old_one() -> None:
    catalog = yaml.safe_load((ROOT / "conf" / "base" / "catalog.yml").read_text())
    for name in ("cv_summary", "cv_comparisons", "cv_slices"):
        entry = catalog[name]
        assert entry["versioned"] is True and entry["artifact_path"] == "tables"
        assert entry["dataset"]["filepath"] == f"data/08_reporting/{name}.csv"
    assert "cv_platform_metrics" not in catalog
