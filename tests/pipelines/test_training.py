"""Stage 5 + evaluation through Kedro's runner on a hand-made index with learnable features."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from aura.evaluation import METRICS
from aura.evaluation.robustness_metrics import empty_metrics
from aura.features import FEATURES
from aura.models import (
    SkippedCell,
    TrainedClipModel,
    kinds,
    list_models,
    model_defaults,
    register_model,
)
from aura.models.baselines import LogisticRegressionSettings, logistic_regression
from aura.models.naive_cnn import naive_cnn
from aura.models.registry import _REGISTRY
from aura.pipelines import evaluation, training
from aura.pipelines.training.pipeline import create_cell
from aura.tracking import config_hash
from aura.training.grid import Grid, default_grid, grid_from_params
from tests.pipelines.conftest import KeptDataset

PLATFORMS = ("youtube", "facebook", "twitter")
FEATURE_NAMES = list(FEATURES)[:6]


def _index(n_cascades: int, seed: int = 0) -> pl.DataFrame:
    """``n_cascades`` per class with 2–4 videos each, plus a corrupt row."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for c in range(2 * n_cascades):
        label = "fake" if c % 2 else "real"
        for i in range(int(rng.integers(2, 5))):
            rows.append(
                {
                    "video_id": f"c{c}_v{i}",
                    "cascade_id": f"c{c}",
                    "group_id": f"c{c}",
                    "platform": PLATFORMS[(c + i) % 3],
                    "label": label,
                    "target": int(label == "fake"),
                    "status": "ok",
                    "error": None,
                    "path": f"/v/c{c}_v{i}.mp4",
                }
            )
    rows.append({**rows[0], "video_id": "broken", "status": "corrupt", "error": "moov missing"})
    return pl.DataFrame(rows, schema_overrides={"error": pl.String})


def _variants(index: pl.DataFrame) -> pl.DataFrame:
    ok = index.filter(pl.col("status") == "ok")["video_id"]
    return pl.DataFrame(
        {
            "variant_id": [f"{v}__v1" for v in ok],
            "source_video_id": list(ok),
            "variant": [1] * len(ok),
            "status": ["ok"] * len(ok),
            "error": [None] * len(ok),
            "path": [f"/aug/{v}__v1.mp4" for v in ok],
        },
        schema_overrides={"error": pl.String},
    )


def _features(index: pl.DataFrame, variants: pl.DataFrame, prefix: str, seed: int) -> pl.DataFrame:
    """Noise plus a class shift in the first feature (strong enough to learn, not separable)."""
    rng = np.random.default_rng(seed)
    ok = index.filter(pl.col("status") == "ok")
    ids = ok["video_id"].to_list() + variants["variant_id"].to_list()
    target = np.concatenate([ok["target"].to_numpy()] * 2)
    cols = {f"{prefix}{n}": rng.normal(size=len(ids)) for n in FEATURE_NAMES}
    cols[f"{prefix}{FEATURE_NAMES[0]}"] += 1.5 * target
    return pl.DataFrame({"video_id": ids, "target": target, **cols})


def _params(n_folds: int, models: tuple[str, ...], **training: Any) -> dict[str, Any]:
    return {
        "corpus": {"kind": "manifest", "root": "hand-made"},
        "training": {
            "n_folds": n_folds,
            "seed": 0,
            "auto_reduce_folds": False,
            "models": list(models),
            "model_params": {m: {} for m in models},
            **training,
        },
        "evaluation": {"threshold": 0.5, "calibration_bins": 10},
        # the video_metadata node: variants' files are probed (here they do not exist: NaN rows)
        "scaling": {"target_size": 112},
        "executor": {"backend": "serial", "progress": False},
        "cache_dir": str(Path(tempfile.gettempdir()) / "aura-test-training-cache"),
        "ingest": {},
    }


def _run(grid: Grid, index: pl.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
    variants = _variants(index)
    inputs = {
        "video_index": index,
        "augmented_metadata": variants,
        "features_stage2": _features(index, variants, "", 1),
        "features_stage4": _features(index, variants, "s4_", 2),
        "robustness_metrics": empty_metrics(),  # the report's input when robustness is off
    }
    pipe = training.create_pipeline(grid) + evaluation.create_pipeline(grid)
    names = pipe.datasets() - {p for p in pipe.datasets() if p.startswith("params:")}
    catalog = DataCatalog({n: KeptDataset() for n in names})
    for name, value in inputs.items():
        catalog[name].save(value)
    catalog["parameters"].save(params)

    def flat(prefix: str, value: Any) -> None:
        catalog[f"params:{prefix}"] = KeptDataset(value)
        if isinstance(value, dict):
            for k, v in value.items():
                flat(f"{prefix}.{k}", v)

    for key, value in params.items():
        flat(key, value)
    SequentialRunner().run(pipe, catalog)
    return {n: catalog[n].load() for n in names}


@pytest.fixture(scope="module")
def grid_run() -> dict[str, Any]:
    grid = Grid(("logistic_regression", "svm"), 3)
    return _run(grid, _index(6), _params(3, grid.models))


def test_every_original_scored_once_per_model_by_its_own_fold(grid_run: dict[str, Any]) -> None:
    folds, pred = grid_run["cv_folds"], grid_run["cv_predictions"]
    val = folds.filter(pl.col("role") == "val").select("video_id", "fold")
    assert "broken" not in set(folds["video_id"])
    for model in ("logistic_regression", "svm"):
        rows = pred.filter(pl.col("model") == model)
        assert sorted(rows["video_id"]) == sorted(val["video_id"])  # originals only, once each
        joined = rows.join(val, on="video_id", suffix="_home")
        assert (joined["fold"] == joined["fold_home"]).all()
        assert not rows["video_id"].str.contains("__v").any()
        assert rows["score"].is_between(0, 1).all() and rows["platform"].null_count() == 0


def test_no_cell_trains_on_its_validation_cascades(grid_run: dict[str, Any]) -> None:
    folds = grid_run["cv_folds"]
    for k in range(3):
        model = grid_run[f"svm.fold_{k}.model"]
        fold = folds.filter(pl.col("fold") == k)
        train_groups = set(fold.filter(pl.col("role") == "train")["group_id"])
        val_groups = set(fold.filter(pl.col("role") == "val")["group_id"])
        assert train_groups.isdisjoint(val_groups)
        # the fitted model kept its feature names: stage 2 then stage 4
        assert model.feature_names == FEATURE_NAMES + [f"s4_{n}" for n in FEATURE_NAMES]


def test_metrics_are_per_cell_and_match_sklearn(grid_run: dict[str, Any]) -> None:
    metrics, pred = grid_run["cv_metrics"], grid_run["cv_predictions"]
    assert metrics.columns[:2] == ["model", "fold"] and set(METRICS) <= set(metrics.columns)
    assert metrics.height == 6
    for row in metrics.iter_rows(named=True):
        cell = pred.filter((pl.col("model") == row["model"]) & (pl.col("fold") == row["fold"]))
        assert row["roc_auc"] == pytest.approx(roc_auc_score(cell["target"], cell["score"]))
        assert row["n_val"] == cell.height
    summary = grid_run["cv_summary"]
    assert sorted(summary["model"]) == ["logistic_regression", "svm"]
    lr = metrics.filter(pl.col("model") == "logistic_regression")["roc_auc"]
    got = summary.filter(pl.col("model") == "logistic_regression")
    assert got["roc_auc_mean"][0] == pytest.approx(lr.mean())
    assert got["roc_auc_std"][0] == pytest.approx(lr.std())
    assert (summary["roc_auc_mean"] > 0.75).all(), summary  # the shift in one feature is learnt


def test_tracked_metrics_plots_and_report(grid_run: dict[str, Any]) -> None:
    tracked = grid_run["cv_tracked_metrics"]
    assert [p["step"] for p in tracked["svm.roc_auc"]] == [0, 1, 2]
    assert tracked["svm.roc_auc_mean"]["value"] == pytest.approx(
        grid_run["cv_metrics"].filter(pl.col("model") == "svm")["roc_auc"].mean()
    )
    for name in (
        "model_comparison",
        "roc_curves",
        "pr_curves",
        "reliability",
        "confusion_matrices",
    ):
        assert isinstance(grid_run[f"{name}_plot"], Figure), name
    html, md = grid_run["report_html"], grid_run["report_md"]
    facts = grid_run["run_facts"]
    assert facts["Config hash"] == config_hash(_params(3, ("logistic_regression", "svm")))
    assert facts["Index rows by status"] == {
        "corrupt": 1,
        "ok": grid_run["cv_folds"].filter(pl.col("variant") == 0)["video_id"].n_unique(),
    }
    for text in (html, md):
        assert facts["Config hash"] in text and "roc_curves.png" in text and "svm" in text


def test_auto_reduced_folds_skip_the_missing_cells() -> None:
    """3 cascades per class cannot fill 4 folds: with auto_reduce the 4th cell is skipped."""
    grid = Grid(("logistic_regression",), 4)
    params = _params(4, grid.models, auto_reduce_folds=True, inner_val_fraction=0)  # 6 groups
    out = _run(grid, _index(3, seed=3), params)
    assert out["cv_folds"]["fold"].n_unique() < 4
    assert isinstance(out["logistic_regression.fold_3.model"], SkippedCell)
    assert out["logistic_regression.fold_3.predictions"].is_empty()
    assert sorted(out["cv_metrics"]["fold"]) == list(range(out["cv_folds"]["fold"].n_unique()))


def test_grid_comes_from_validated_params() -> None:
    params = _params(3, ("svm",))["training"]
    assert grid_from_params(params) == Grid(("svm",), 3)
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['resnet9000'\]"):
        grid_from_params({**params, "models": ["resnet9000"]})
    with pytest.raises(ValueError, match="training.n_folds must be >= 2, got 1"):
        grid_from_params({**params, "n_folds": 1})
    with pytest.raises(ValueError, match="training.n_fodls: unknown key; did you mean"):
        grid_from_params({**params, "n_fodls": 3})
    # a model without a settings block gets its defaults
    both = grid_from_params({**params, "models": ["svm", "logistic_regression"]})
    assert both == Grid(("svm", "logistic_regression"), 3)
    with pytest.raises(ValueError, match="lists a model twice"):
        grid_from_params({**params, "models": ["svm", "svm"]})


def test_pipeline_has_one_namespace_per_cell() -> None:
    pipe = training.create_pipeline(Grid(("svm", "logistic_regression"), 2))
    spaces = {n.namespace for n in pipe.nodes if n.namespace}
    assert spaces == {
        "svm.fold_0",
        "svm.fold_1",
        "logistic_regression.fold_0",
        "logistic_regression.fold_1",
    }
    cell = pipe.only_nodes_with_namespaces(["svm.fold_1"])
    assert [n.name for n in cell.nodes] == [
        "svm.fold_1.train",
        "svm.fold_1.predict",
        "svm.fold_1.score",
    ]
    assert cell.outputs() == {"svm.fold_1.metrics"}
    assert cell.inputs() == {
        "cv_folds",
        "model_input_table",
        "video_index",
        "params:training.model_params.svm",
        "params:training.seed",
        "params:evaluation.threshold",
    }


def test_default_grid_matches_base_config() -> None:
    from kedro.config import OmegaConfigLoader

    from tests.conftest import REPO

    loader = OmegaConfigLoader(str(REPO / "conf"), base_env="base", default_run_env="base")
    params = loader["parameters"]["training"]
    grid = grid_from_params(params)
    # conf/base lists the models whose demo cell fits `make run`; --env demo_more adds the rest
    from aura.settings import CONFIG_LOADER_ARGS

    more = OmegaConfigLoader(
        str(REPO / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": "demo_more"}
    )
    every = grid_from_params(more["parameters"]["training"])
    assert every.models == default_grid().models and sorted(every.models) == list_models()
    assert grid.models == tuple(m for m in every.models if m != "mvit_v2_s")
    assert grid.n_folds == params["n_folds"] == 3  # the demo's choice (schema default: 5)


@pytest.fixture
def new_models() -> Any:
    """Two models registered for the test only (one per kind), removed afterwards."""
    register_model(name="tiny_cnn")(naive_cnn)
    register_model(name="ridge", kind=kinds.FEATURES, settings=LogisticRegressionSettings)(
        logistic_regression
    )
    yield ("tiny_cnn", "ridge")
    for name in ("tiny_cnn", "ridge"):
        _REGISTRY.pop(name, None)


def test_a_newly_registered_model_gets_the_cell_of_its_kind(new_models: Any) -> None:
    """Nothing but the registration: the cell reads what the model's kind says."""
    for name, kind in zip(new_models, (kinds.CLIPS, kinds.FEATURES), strict=True):
        cell = create_cell(name, 1)
        data = {i for i in cell.inputs() if not i.startswith("params:")}
        assert data == set(kind.cell_inputs), name
        params = {i for i in cell.inputs() if i.startswith("params:")}
        assert f"params:training.model_params.{name}" in params
        assert ("params:training.trainer" in params) == (kind == kinds.CLIPS)
        assert cell.outputs() == {f"{name}.fold_1.metrics"}
        assert grid_from_params(_params(2, (name,))["training"]).models == (name,)


def _clip_corpus(root: Path, n: int = 8) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` one-video cascades (half real, half fake: brighter) as an index + scaled metadata."""
    from fractions import Fraction

    from aura.video import write_video

    rng = np.random.default_rng(0)
    index, scaled = [], []
    for c in range(n):
        label = "fake" if c % 2 else "real"
        path = root / f"v{c}.mp4"
        base = 150 if label == "fake" else 60
        frames = [
            np.clip(base + rng.normal(0, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
            for _ in range(12)
        ]
        write_video(path, frames, fps=Fraction(25))
        row = {
            "video_id": f"v{c}",
            "cascade_id": f"c{c}",
            "group_id": f"c{c}",
            "label": label,
            "target": int(label == "fake"),
            "status": "ok",
            "error": None,
            "path": str(path),
            "platform": "youtube",
        }
        index.append(row)
        scaled.append({"video_id": f"v{c}", "path": str(path), "n_frames": 12, "status": "ok"})
    return (
        pl.DataFrame(index, schema_overrides={"error": pl.String}),
        pl.DataFrame(scaled),
    )


def test_deep_cell_trains_predicts_and_resumes(tmp_path: Path) -> None:
    from aura.datasets import ModelArtifactDataset
    from aura.training import make_folds

    index, scaled = _clip_corpus(tmp_path, 12)
    # 6 training groups per fold, 2 of them held out for selection
    folds = make_folds(index, None, n_folds=2, seed=0, inner_val_fraction=0.3)
    params = {
        "training.model_params.naive_cnn": {"width": 8, "pretrained": False},
        "training.trainer": {
            "num_frames": 4,
            "batch_size": 4,
            "max_epochs": 2,
            "precision": "32-true",
            "lr": 1e-2,
        },
        "training.seed": 0,
        "training.checkpoint_dir": str(tmp_path / "ckpt"),
        "evaluation.threshold": 0.5,
    }

    def run() -> dict[str, Any]:
        pipe = create_cell("naive_cnn", 0)
        catalog = DataCatalog({n: KeptDataset() for n in pipe.datasets()})
        for name, value in {
            "video_index": index,
            "cv_folds": folds,
            "scaled_metadata": scaled,
            "augmented_metadata": pl.DataFrame(),  # scaled clips: not read
        }.items():
            catalog[name].save(value)
        for key, value in params.items():
            catalog[f"params:{key}"].save(value)
        SequentialRunner().run(pipe, catalog)
        return {
            n: catalog[n].load()
            for n in pipe.outputs() | {"naive_cnn.fold_0.model", "naive_cnn.fold_0.predictions"}
        }

    out = run()
    trained, pred = out["naive_cnn.fold_0.model"], out["naive_cnn.fold_0.predictions"]
    assert isinstance(trained, TrainedClipModel) and trained.fit is not None
    assert trained.fit.epochs_run == 2 and trained.fit.pretrained_status == "off"
    assert trained.fit.best_epoch in (0, 1)
    # the saved config is explicit: every architecture setting, defaults included
    assert (trained.config.model, trained.config.fold) == ("naive_cnn", 0)
    assert trained.config.net == {"input_filter": "rgb", **model_defaults("naive_cnn"), "width": 8}
    assert (trained.config.num_frames, trained.config.clip_size) == (4, None)
    val = folds.filter((pl.col("fold") == 0) & (pl.col("role") == "val"))
    assert sorted(pred["video_id"]) == sorted(val["video_id"])
    assert pred["score"].is_between(0, 1).all()
    assert out["naive_cnn.fold_0.metrics"]["n_val"][0] == val.height
    train = folds.filter((pl.col("fold") == 0) & (pl.col("role") == "train"))
    assert trained.fit.n_val_clips == (train["inner_role"] == "select").sum() == 2
    assert trained.fit.n_train_clips == (train["inner_role"] == "fit").sum() == 4
    # the catalog's dataset round-trips it as safetensors, and it scores the same
    ds = ModelArtifactDataset(model="naive_cnn", filepath=str(tmp_path / "m"))
    ds.save(trained)
    back = ds.load()
    assert back.config == trained.config and back.fit == trained.fit
    clip = torch.rand(2, 3, 4, 64, 64)
    with torch.no_grad():
        assert torch.equal(back.network()(clip), trained.network()(clip))
    # same config and clips: the finished checkpoint is reused, nothing is retrained
    again = run()["naive_cnn.fold_0.model"]
    assert again.fit.resumed_from and again.fit.epochs_run == 2
    for key, tensor in trained.state_dict.items():
        assert torch.equal(tensor, again.state_dict[key]), key
