"""The ``metadata`` shortcut audit: it learns from the ``meta_*`` columns alone, the forensic
baselines never read them, and the release never picks it by default."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from aura.features import FEATURES
from aura.features.metadata import META_COLUMNS, metadata_table
from aura.models import fit_baseline, model_entry
from aura.pipelines.release.nodes import choose_models
from aura.release.oof import best_model

FORENSIC = list(FEATURES)[:8]
N, N_TRAIN = 1000, 600


def _facts(rng: np.random.Generator, fake: bool, leak: bool) -> dict[str, Any]:
    """Probe facts of one video; with ``leak`` fakes carry audio and twice the bit rate."""
    w, h = [(480, 270), (270, 480), (360, 360)][int(rng.integers(3))]
    rate = float(rng.lognormal(13.5, 0.3))
    return {
        "width": w,
        "height": h,
        "rotation": 0,
        "fps": float(rng.choice([24.0, 25.0, 30.0])),
        "duration_s": float(rng.uniform(2, 4)),
        "codec": str(rng.choice(["h264", "vp9", "mpeg4"])),
        "bit_rate": int(rate * (2 if leak and fake else 1)),
        "has_audio": bool(fake) if leak else bool(rng.integers(2)),
    }


def _table(*, leak: bool, seed: int = 0) -> pl.DataFrame:
    """Forensic columns of pure noise, metadata that gives the label away iff ``leak``."""
    rng = np.random.default_rng(seed)
    ids = [f"v{i}" for i in range(N)]
    y = rng.integers(0, 2, N)
    meta = metadata_table(ids, [_facts(rng, bool(t), leak) for t in y], target_size=112)
    noise = {n: rng.normal(size=N) for n in FORENSIC}
    base = pl.DataFrame({"video_id": ids, "target": y, **noise})
    return base.join(meta, on="video_id")


def _held_out_auc(name: str, table: pl.DataFrame) -> tuple[float, list[str]]:
    fitted = fit_baseline(name, table, table["video_id"][:N_TRAIN].to_list(), seed=0)
    test = table[N_TRAIN:]
    return float(roc_auc_score(test["target"], fitted.predict_proba(test))), fitted.feature_names


def test_metadata_learns_a_metadata_shortcut_and_reads_only_meta_columns() -> None:
    auc, names = _held_out_auc("metadata", _table(leak=True))
    assert names == list(META_COLUMNS)
    assert auc > 0.95


def test_metadata_stays_near_chance_when_labels_are_independent_of_it() -> None:
    auc, _ = _held_out_auc("metadata", _table(leak=False))
    assert abs(auc - 0.5) < 0.1


@pytest.mark.parametrize("name", ["logistic_regression", "svm"])
def test_forensic_baselines_never_read_meta_columns(name: str) -> None:
    """The metadata give the label away; a forensic baseline cannot see them."""
    auc, names = _held_out_auc(name, _table(leak=True))
    assert names == FORENSIC
    assert abs(auc - 0.5) < 0.1


def test_an_unseen_codec_scores() -> None:
    table = _table(leak=True)
    fitted = fit_baseline("metadata", table, table["video_id"][:N_TRAIN].to_list())
    facts = {"width": 640, "height": 480, "fps": 50.0, "duration_s": 3.0, "codec": "prores"}
    row = pl.DataFrame({"video_id": ["new"]}).join(
        metadata_table(["new"], [facts], target_size=112), on="video_id"
    )
    assert row["meta_codec_other"][0] == 1.0
    p = fitted.predict_proba(row)
    assert p.shape == (1,) and 0.0 <= p[0] <= 1.0


def test_metadata_refuses_a_table_without_meta_columns() -> None:
    table = _table(leak=True).drop(META_COLUMNS)
    with pytest.raises(ValueError, match="metadata: the input table has none of its columns"):
        fit_baseline("metadata", table, table["video_id"][:N_TRAIN].to_list())


def _oof(scores: dict[str, float]) -> pl.DataFrame:
    """cv_predictions of models whose fakes score ``scores[model]`` higher on average."""
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 40)
    frames = []
    for model, shift in scores.items():
        frames.append(
            pl.DataFrame(
                {
                    "model": model,
                    "fold": np.arange(y.size) % 4,
                    "video_id": [f"v{i}" for i in range(y.size)],
                    "target": y.astype(np.int8),
                    "score": 1 / (1 + np.exp(-(shift * y + rng.normal(size=y.size)))),
                }
            )
        )
    return pl.concat(frames)


def test_release_default_skips_the_audit_model() -> None:
    assert model_entry("metadata").releasable is False
    assert model_entry("svm").releasable and model_entry("logistic_regression").releasable
    preds = _oof({"logistic_regression": 1.0, "metadata": 6.0, "svm": 2.0})
    models = ["logistic_regression", "metadata", "svm"]
    assert best_model(preds, models) == "metadata"  # the best, were it a candidate
    assert choose_models(preds, {}, {"models": models}) == ["svm"]
    # listed by hand it is released like any model
    assert choose_models(preds, {"models": ["metadata"]}, {"models": models}) == ["metadata"]
    with pytest.raises(ValueError, match="none of training.models"):
        choose_models(preds, {}, {"models": ["metadata"]})
