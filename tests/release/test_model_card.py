"""The model card: rendered from a real detector (assembled by the release node from real fold
models) and tables built by the evaluation and robustness functions on synthetic scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml
from huggingface_hub import ModelCard

from aura.evaluation import paired_comparisons, pooled_summary, slice_table
from aura.evaluation.robustness_metrics import empty_metrics, robustness_metrics
from aura.pipelines.config import CorpusConfig
from aura.pipelines.evaluation.nodes import run_facts
from aura.pipelines.release.nodes import assemble_detector
from aura.release import Detector
from aura.release.model_card import INDEX_METRICS, SECTIONS, render_model_card
from aura.release.model_card_parts import FVC_CITATION
from aura.training import make_folds

MODELS = ("logistic_regression", "metadata", "naive_cnn", "svm")
#: how strongly each model's synthetic score follows the label (metadata: not at all)
SIGNAL = {"logistic_regression": 2.5, "metadata": 0.0, "naive_cnn": 1.0, "svm": 1.5}
N_FOLDS = 3
N_BOOT = 200
FVC = CorpusConfig(kind="fvc", root="/data/fvc")


def _index(n_cascades: int = 40) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for c in range(n_cascades):
        label = "fake" if c % 2 else "real"
        for i in range(2):
            rows.append(
                {
                    "video_id": f"c{c:02d}v{i}",
                    "cascade_id": f"c{c}",
                    "group_id": f"c{c}",
                    "label": label,
                    "target": int(label == "fake"),
                    "status": "ok",
                    "error": None,
                    "path": f"/v/c{c:02d}v{i}.mp4",
                    "platform": ("youtube", "twitter")[c % 4 // 2],
                    "width": int(rng.choice([640, 1280])),
                    "height": 360,
                    "duration_s": float(rng.uniform(2, 30)),
                    "codec": "vp9" if c < 3 else "h264",  # vp9: 6 videos, listed not scored
                }
            )
    return pl.DataFrame(rows, schema_overrides={"error": pl.String})


def _predictions(folds: pl.DataFrame) -> pl.DataFrame:
    val = folds.filter(pl.col("role") == "val").sort("video_id")
    rng = np.random.default_rng(1)
    y = val["target"].to_numpy()
    frames = []
    for model in MODELS:
        z = SIGNAL[model] * (y - 0.5) + rng.normal(size=y.size)
        frames.append(
            val.select(
                pl.lit(model).alias("model"),
                pl.col("fold").cast(pl.Int64),
                "video_id",
                pl.col("group_id"),
                pl.col("target").cast(pl.Int8),
                pl.Series("score", 1 / (1 + np.exp(-z))),
            )
        )
    return pl.concat(frames)


def _perturbed(preds: pl.DataFrame) -> pl.DataFrame:
    """Each fold model's scores after two perturbations: crf38 adds noise, crop_9x16 leaves
    every other video unchanged."""
    rng = np.random.default_rng(2)
    out = []
    for name, noise in (("crf38", 1.5), ("crop_9x16", 0.2)):
        z = np.log(preds["score"] / (1 - preds["score"])).to_numpy()
        z = z + noise * rng.normal(size=z.size)
        status = ["unchanged" if i % 2 and name == "crop_9x16" else "ok" for i in range(z.size)]
        out.append(
            preds.with_columns(
                pl.lit(name).alias("perturbation"),
                pl.Series("score", 1 / (1 + np.exp(-z))),
                pl.Series("status", status),
            )
        )
    return pl.concat(out)


@pytest.fixture(scope="module")
def run(both_kinds: Detector) -> dict[str, Any]:
    """What a release run reads: a detector (logistic_regression + naive_cnn fold members)
    and the evaluation / robustness tables of the same out-of-fold predictions."""
    index = _index()
    folds = make_folds(index, None, n_folds=N_FOLDS, seed=0)
    preds = _predictions(folds)
    params = {
        "corpus": FVC.to_params(),
        "augmentation": {"output_dir": "aug"},
        "scaling": {"output_dir": "scaled"},
        "training": {"n_folds": N_FOLDS, "models": list(MODELS), "seed": 0},
        "release": {"models": ["logistic_regression", "naive_cnn"]},
    }
    detector, release_metrics = assemble_detector(
        both_kinds.members, preds, folds, params["release"], params
    )
    return {
        "detector": detector,
        "release_metrics": release_metrics,
        "cv_summary": pooled_summary(preds, n_boot=N_BOOT, seed=0),
        "cv_comparisons": paired_comparisons(preds, n_boot=N_BOOT, seed=0),
        "cv_slices": slice_table(preds, index, min_videos=10, n_boot=N_BOOT, seed=0),
        "robustness_metrics": robustness_metrics(
            _perturbed(preds), preds, ["crf38", "crop_9x16"], n_boot=N_BOOT, seed=0
        ),
        "run_facts": run_facts(index, folds, FVC, params["training"], params),
    }


ORDER = (
    "detector",
    "release_metrics",
    "cv_summary",
    "cv_comparisons",
    "cv_slices",
    "robustness_metrics",
    "run_facts",
)


def _render(run: dict[str, Any], corpus: CorpusConfig = FVC, **over: Any) -> str:
    values = {**run, **over}
    return render_model_card(*(values[k] for k in ORDER), corpus)


def _front(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    meta, _ = card[4:].split("\n---\n", 1)
    return yaml.safe_load(meta)


def _section(card: str, title: str) -> str:
    body = card.split(f"\n## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def test_front_matter_is_a_hugging_face_model_index_of_the_release_metrics(
    run: dict[str, Any],
) -> None:
    card = _render(run)
    meta = _front(card)
    assert meta["license"] == "cc-by-nc-sa-4.0"
    assert {"video-classification", "logistic_regression", "naive_cnn", "pytorch"} <= set(
        meta["tags"]
    )
    (entry,) = meta["model-index"]
    (result,) = entry["results"]
    assert result["task"]["type"] == "video-classification"
    assert result["dataset"]["name"] == "Fake Video Corpus (FVC)"
    got = {m["type"]: m["value"] for m in result["metrics"]}
    row = run["release_metrics"].row(0, named=True)
    assert got == {m: row[m] for m in INDEX_METRICS}
    f1 = next(m for m in result["metrics"] if m["type"] == "f1")
    assert f1["args"] == {"threshold": run["detector"].manifest.threshold}
    # huggingface_hub reads the same values back as evaluation results
    results = ModelCard(card).data.eval_results
    assert {(r.task_type, r.dataset_type, r.metric_type) for r in results} == {
        ("video-classification", "fvc", m) for m in INDEX_METRICS
    }
    assert {r.metric_type: r.metric_value for r in results} == got


def test_every_section_in_order_with_the_run_s_identity(run: dict[str, Any]) -> None:
    card = _render(run)
    positions = [card.index(f"\n## {title}\n") for title in SECTIONS]
    assert positions == sorted(positions)
    m = run["detector"].manifest
    details = _section(card, "Model details")
    for value in (m.version, m.config_hash, m.strategy, f"{m.threshold:.4f}", m.threshold_rule):
        assert value in details, value
    assert "| clips | 4 frames, scaled 32 px |" in details  # the naive_cnn members' ClipSpec
    data = _section(card, "Training data")
    assert FVC_CITATION in data and "CC BY-NC-SA 4.0" in data and "@article{" in data
    assert f"| Cascade groups | {run['run_facts']['Cascade groups']} |" in data


def _interval(row: dict[str, Any], metric: str = "roc_auc") -> str:
    lo, hi = row[f"{metric}_lo"], row[f"{metric}_hi"]
    return f"{row[metric]:.3f} [{lo:.3f}, {hi:.3f}]"


def test_evaluation_states_every_model_with_its_interval(run: dict[str, Any]) -> None:
    card = _render(run)
    evaluation = _section(card, "Evaluation")
    for row in run["cv_summary"].iter_rows(named=True):
        line = next(x for x in evaluation.splitlines() if x.startswith(f"| {row['model']} |"))
        assert _interval(row) in line and _interval(row, "pr_auc") in line
    assert "| logistic_regression | released |" in evaluation
    assert "| metadata | metadata reference |" in evaluation
    meta = run["cv_summary"].filter(pl.col("model") == "metadata").row(0, named=True)
    assert f"reaches ROC-AUC {_interval(meta)}" in evaluation
    significant = run["cv_comparisons"].filter(pl.col("significant"))
    assert significant.height  # the synthetic signals differ enough
    listed = [x for x in evaluation.splitlines() if " beats " in x]
    assert len(listed) == significant.height
    release = run["release_metrics"].row(0, named=True)
    assert f"on {release['n']} videos at threshold" in evaluation


def test_slices_and_robustness_tables(run: dict[str, Any]) -> None:
    card = _render(run)
    slices = _section(card, "Slices")
    mine = run["cv_slices"].filter(pl.col("model").is_in(["logistic_regression", "naive_cnn"]))
    notes = mine.filter(pl.col("note").is_not_null())
    assert notes.height and all(n in slices for n in notes["note"])
    assert "| svm |" not in slices  # only the released models
    robustness = _section(card, "Robustness")
    for row in run["robustness_metrics"].iter_rows(named=True):
        line = f"| {row['model']} | {row['perturbation']} | {row['n']} |"
        released = row["model"] in ("logistic_regression", "naive_cnn")
        assert (line in robustness) == released, line
        if released:
            assert f"{_interval(row)} | {row['delta']:+.3f} |" in robustness
    limits = _section(card, "Limitations")
    assert "naive_cnn was trained from scratch" in limits and "off" in limits
    assert "Metadata alone stays near chance" in limits
    assert "Largest robustness drop" in limits


def test_disabled_robustness_and_missing_tables_give_sentences(run: dict[str, Any]) -> None:
    card = _render(run, robustness_metrics=empty_metrics())
    assert "Robustness was not measured" in _section(card, "Robustness")
    assert "was not measured" in _section(card, "Limitations")
    bare = _render(
        run,
        cv_summary=pl.DataFrame(),
        cv_comparisons=None,
        cv_slices=None,
        robustness_metrics=None,
        run_facts={},
    )
    for title in SECTIONS:
        assert f"\n## {title}\n" in bare
    assert "No cross-validation summary was recorded" in bare
    assert "No slice metrics were recorded" in bare
    assert "No run facts were recorded" in bare
    assert _front(bare)["model-index"][0]["results"][0]["metrics"]  # release metrics remain


def test_demo_corpus_states_its_own_licence(run: dict[str, Any]) -> None:
    demo = CorpusConfig(kind="demo", root="data/01_raw/demo")
    card = _render(run, corpus=demo)
    meta = _front(card)
    assert meta["license"] == "other" and meta["license_name"] == "aura-demo-corpus"
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"]["name"] == "AURA demo corpus (synthetic)"
    assert "no third-party footage" in _section(card, "Training data")
    assert FVC_CITATION not in card
    assert "synthetic demo clips" in _section(card, "Limitations")


def test_tables_read_back_from_csv_give_the_same_card(run: dict[str, Any], tmp_path: Path) -> None:
    """The catalog stores the tables as CSV (an empty one loses its column types)."""
    tables = {k: run[k] for k in ORDER[1:6]} | {"robustness_metrics": empty_metrics()}
    read = {}
    for name, df in tables.items():
        df.write_csv(tmp_path / f"{name}.csv")
        read[name] = pl.read_csv(tmp_path / f"{name}.csv")
    assert _render(run, **read) == _render(run, **tables)
