"""Release pipeline through Kedro's runner: real fold baselines and their out-of-fold
predictions → the best model's calibrated detector, saved as a versioned folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset, Version
from kedro.runner import SequentialRunner
from kedro_datasets.text import TextDataset
from sklearn.metrics import roc_auc_score

from aura.datasets import DetectorDataset
from aura.evaluation.robustness_metrics import empty_metrics
from aura.features import FEATURES
from aura.models.artifacts import SkippedCell
from aura.models.baselines import fit_baseline
from aura.models.kinds import logit
from aura.pipelines.evaluation import nodes as evaluation
from aura.pipelines.release import create_pipeline
from aura.pipelines.release.nodes import release_members
from aura.release import choose_threshold, fit_calibration, load_detector
from aura.release.build import corpus_fingerprint
from aura.training import make_folds
from aura.training.grid import Grid
from tests.pipelines.conftest import KeptDataset

FEATURE_NAMES = list(FEATURES)[:5]
MODELS = ("svm", "logistic_regression")  # the better one (by the data) second
N_FOLDS = 3


def _index(n_cascades: int = 12) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for c in range(2 * n_cascades):
        label = "fake" if c % 2 else "real"
        for i in range(int(rng.integers(1, 4))):
            vid = f"c{c:02d}v{i}"
            rows.append(
                {
                    "video_id": vid,
                    "cascade_id": f"c{c}",
                    "group_id": f"c{c}",
                    "label": label,
                    "target": int(label == "fake"),
                    "status": "ok",
                    "error": None,
                    "path": f"/v/{vid}.mp4",
                }
            )
    return pl.DataFrame(rows, schema_overrides={"error": pl.String})


def _variants(index: pl.DataFrame) -> pl.DataFrame:
    ids = index["video_id"].to_list()
    return pl.DataFrame(
        {
            "variant_id": [f"{v}~v1" for v in ids],
            "source_video_id": ids,
            "variant": [1] * len(ids),
            "status": ["ok"] * len(ids),
            "error": [None] * len(ids),
            "path": [f"/aug/{v}.mp4" for v in ids],
        },
        schema_overrides={"error": pl.String},
    )


def _table(folds: pl.DataFrame) -> pl.DataFrame:
    """A feature row per video: noise plus a class shift in two features (learnable, noisy)."""
    ids = folds.select("video_id", "target").unique("video_id").sort("video_id")
    rng = np.random.default_rng(1)
    y = ids["target"].to_numpy()
    cols = {n: rng.normal(size=ids.height) for n in FEATURE_NAMES}
    cols[FEATURE_NAMES[0]] += 1.2 * y
    cols[FEATURE_NAMES[1]] -= 0.6 * y
    return pl.DataFrame({"video_id": ids["video_id"], "target": y, **cols})


def _params(**release: Any) -> dict[str, Any]:
    return {
        "corpus": {"kind": "manifest", "root": "hand-made"},
        "augmentation": {"output_dir": "aug"},
        "scaling": {"output_dir": "scaled"},
        "training": {"n_folds": N_FOLDS, "models": list(MODELS), "seed": 0},
        "release": release,
    }


@pytest.fixture(scope="module")
def cv_run() -> dict[str, Any]:
    """What training + evaluation leave behind: folds, features, fold models, predictions."""
    index = _index()
    folds = make_folds(index, _variants(index), n_folds=N_FOLDS, seed=0)
    table = _table(folds)
    cells: dict[str, Any] = {}
    preds = []
    for model in MODELS:
        for k in range(N_FOLDS):
            train = folds.filter((pl.col("fold") == k) & (pl.col("role") == "train"))
            fitted = fit_baseline(model, table, train["video_id"].to_list(), seed=k)
            cells[f"{model}.fold_{k}.model"] = fitted
            val = folds.filter((pl.col("fold") == k) & (pl.col("role") == "val"))
            rows = val.select("video_id", "target").join(table.drop("target"), on="video_id")
            preds.append(
                rows.select(
                    pl.lit(model).alias("model"),
                    pl.lit(k, pl.Int64).alias("fold"),
                    "video_id",
                    pl.col("target").cast(pl.Int8),
                    pl.Series("score", fitted.predict_proba(rows)),
                )
            )
    predictions = pl.concat(preds).join(
        folds.filter(pl.col("role") == "val").select("fold", "video_id", "group_id"),
        on=["fold", "video_id"],
    )
    params = _params()
    return {
        "cv_folds": folds,
        "model_input_table": table,
        "cv_predictions": predictions,
        "cells": cells,
        # what the evaluation pipeline leaves for the model card (robustness off)
        "cv_summary": evaluation.cv_summary(predictions, pl.DataFrame(), {"bootstrap": 100}),
        "cv_comparisons": evaluation.cv_comparisons(predictions, {"bootstrap": 100}),
        "cv_slices": evaluation.cv_slices(predictions, index, {"bootstrap": 100}),
        "robustness_metrics": empty_metrics(),
        "run_facts": evaluation.run_facts(
            index, folds, params["corpus"], params["training"], params
        ),
    }


def _run(cv_run: dict[str, Any], tmp_path: Path, release: dict[str, Any]) -> dict[str, Any]:
    params = _params(**release)
    grid = Grid(MODELS, N_FOLDS)
    pipe = create_pipeline(grid)
    detector = DetectorDataset(filepath=str(tmp_path / "detector"), version=Version(None, None))
    card = TextDataset(filepath=str(tmp_path / "MODEL_CARD.md"))
    catalog = DataCatalog(
        {"detector": detector, "release_metrics": KeptDataset(), "model_card": card}
    )
    tables = (
        "cv_folds",
        "model_input_table",
        "cv_predictions",
        "cv_summary",
        "cv_comparisons",
        "cv_slices",
        "robustness_metrics",
        "run_facts",
    )
    values = {
        **{k: cv_run[k] for k in tables},
        **cv_run["cells"],
        "scaled_metadata": pl.DataFrame(),
        "video_index": pl.DataFrame(),  # fold_ensemble reads no clip file
        "augmented_metadata": pl.DataFrame(),
        "parameters": params,
        "params:release": params["release"],
        "params:training": params["training"],
        "params:corpus": params["corpus"],
    }
    for name, value in values.items():
        catalog[name] = MemoryDataset(value)
    SequentialRunner().run(pipe, catalog)
    return {
        "detector": detector,
        "metrics": catalog["release_metrics"].load(),
        "card": tmp_path / "MODEL_CARD.md",
    }


def _pooled_auc(preds: pl.DataFrame, model: str) -> float:
    rows = preds.filter(pl.col("model") == model)
    return float(roc_auc_score(rows["target"], rows["score"]))


def test_release_picks_the_best_model_and_writes_a_loadable_detector(
    cv_run: dict[str, Any], tmp_path: Path
) -> None:
    out = _run(cv_run, tmp_path, {})
    preds = cv_run["cv_predictions"]
    aucs = {m: _pooled_auc(preds, m) for m in MODELS}
    best = max(aucs, key=aucs.__getitem__)
    assert best != MODELS[0] and aucs[best] > min(aucs.values())  # not "the first listed"
    detector = load_detector(Path(out["detector"]._get_load_path()))
    m = detector.manifest
    assert m.models == [best]
    assert m.strategy == "fold_ensemble"
    assert [(x.model, x.fold) for x in detector.members] == [(best, k) for k in range(N_FOLDS)]
    assert m.cv_metrics[best]["roc_auc"] == pytest.approx(aucs[best])
    assert m.corpus_fingerprint == corpus_fingerprint(cv_run["cv_folds"])
    assert m.sampler["features"] is True and m.sampler["clips"] == []
    assert m.config["release"]["calibration"] == "platt"
    assert m.feature_names == FEATURE_NAMES

    # calibration and threshold: refitted here from the out-of-fold scores alone
    rows = preds.filter(pl.col("model") == best).sort("video_id")
    z, y = logit(rows["score"].to_numpy()), rows["target"].to_numpy()
    cal = fit_calibration(z, y, "platt")
    assert detector.calibration.params == pytest.approx(cal.params)
    assert m.threshold == choose_threshold(y, cal.apply(z), "youden")
    metrics = out["metrics"].row(0, named=True)
    assert metrics["models"] == best
    assert metrics["f1"] == pytest.approx(m.oof_metrics["f1"])
    assert metrics["fpr"] == pytest.approx(np.mean(cal.apply(z)[y == 0] >= m.threshold))

    # scoring a new video: the calibrated mean of the fold models' logits
    table = cv_run["model_input_table"]
    video = table.filter(pl.col("video_id") == table["video_id"][0])
    from aura.inference.inputs import VideoInputs

    inputs = VideoInputs("/x.mp4", 1.0, [], features=video, segment_features=video.head(0))
    folds = [cv_run["cells"][f"{best}.fold_{k}.model"] for k in range(N_FOLDS)]
    mean = float(np.mean([logit(f.predict_proba(video))[0] for f in folds]))
    score = detector.score(inputs)
    assert score.probability == pytest.approx(float(cal.apply(mean)))
    assert score.segment_probabilities == []

    # the model card: written by the pipeline from the saved detector and the run's tables
    card = out["card"].read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    (result,) = meta["model-index"][0]["results"]
    assert {x["type"]: x["value"] for x in result["metrics"]} == {
        k: metrics[k] for k in ("roc_auc", "pr_auc", "accuracy", "f1")
    }
    assert result["dataset"]["name"] == "User-supplied videos (manifest)"
    assert f"| version | {m.version} |" in card and f"| config hash | {m.config_hash} |" in card
    assert "Robustness was not measured" in card  # robustness_metrics empty: disabled
    summary = cv_run["cv_summary"]
    assert all(f"| {model} |" in card for model in summary["model"])


def test_an_ensemble_of_both_models_with_isotonic_and_an_fpr_bound(
    cv_run: dict[str, Any], tmp_path: Path
) -> None:
    release = {"models": list(MODELS), "calibration": "isotonic", "threshold": "fpr:0.1"}
    out = _run(cv_run, tmp_path, release)
    detector = out["detector"].load()
    m = detector.manifest
    assert m.models == list(MODELS) and len(detector.members) == 2 * N_FOLDS
    assert m.calibration["method"] == "isotonic" and m.threshold_rule == "fpr:0.1"
    assert m.oof_metrics["fpr"] <= 0.1
    assert set(m.cv_metrics) == set(MODELS)


def test_refit_trains_each_baseline_once_on_every_video(cv_run: dict[str, Any]) -> None:
    grid = Grid(MODELS, N_FOLDS)
    names = [f"{m}.fold_{k}.model" for m, k in grid.cells()]
    members = release_members(
        ["svm"],
        {"strategy": "refit"},
        _params()["training"],
        cv_run["cv_folds"],
        cv_run["model_input_table"],
        pl.DataFrame(),
        pl.DataFrame(),
        pl.DataFrame(),
        *[cv_run["cells"][n] for n in names],
        cells=grid.cells(),
    )
    assert [(m.model, m.fold, m.kind) for m in members] == [("svm", None, "features")]
    table = cv_run["model_input_table"]
    alone = fit_baseline("svm", table, table["video_id"].to_list(), seed=0)
    np.testing.assert_allclose(members[0].artifact.predict_proba(table), alone.predict_proba(table))


def test_skipped_cells_are_left_out_and_a_model_without_folds_is_refused(
    cv_run: dict[str, Any],
) -> None:
    grid = Grid(("svm",), N_FOLDS)
    cells = [cv_run["cells"][f"svm.fold_{k}.model"] for k in range(N_FOLDS)]
    cells[1] = SkippedCell("svm", 1, "fold reduced")
    frames = (pl.DataFrame(),) * 4  # model_input_table, scaled_metadata, video_index, augmented
    args = (["svm"], {}, _params()["training"], cv_run["cv_folds"], *frames)
    members = release_members(*args, *cells, cells=grid.cells())
    assert [m.fold for m in members] == [0, 2]
    skipped = [SkippedCell("svm", k, "fold reduced") for k in range(N_FOLDS)]
    with pytest.raises(ValueError, match="no trained fold model"):
        release_members(*args, *skipped, cells=grid.cells())


def test_catalog_writes_the_model_card_and_logs_it_to_mlflow() -> None:
    root = Path(__file__).resolve().parents[2]
    catalog = yaml.safe_load((root / "conf" / "base" / "catalog.yml").read_text())
    card = catalog["model_card"]
    assert card["type"] == "kedro_mlflow.io.artifacts.MlflowArtifactDataset"
    assert card["dataset"] == {
        "type": "text.TextDataset",
        "filepath": "data/08_reporting/MODEL_CARD.md",
    }
    # a release run on its own reads the run facts the evaluation stored
    assert catalog["run_facts"]["type"] == "json.JSONDataset"
