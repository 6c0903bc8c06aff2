"""A detector a user built from the ``metadata`` audit model scores real files: prepare_video
gives it the ``meta_*`` columns, and the saved detector loads and scores through them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aura.features.metadata import META_COLUMNS, metadata_row, probe_facts
from aura.inference.prepare import input_spec_from_config, prepare_video
from aura.models import fit_baseline
from aura.models.kinds import logit
from aura.release import Calibration, Detector, Member, load_detector, save_detector
from aura.release.detector import sampler_settings
from aura.video import probe
from tests.inference.conftest import scoring_config
from tests.release.conftest import manifest_for


def test_a_metadata_detector_scores_a_video(
    scoring_videos: dict[str, Path], tmp_path: Path
) -> None:
    config = scoring_config(tmp_path)
    spec = input_spec_from_config(config, (), True, segment_s=1.0, max_segments=2)
    good = [p for n, p in scoring_videos.items() if n.startswith(("real", "fake"))]
    prepared = {p: prepare_video(p, spec, tmp_path / "work") for p in good}
    rows = [
        prepared[p].features.with_columns(
            pl.lit(f"v{i}").alias("video_id"), target=int(p.name.startswith("fake"))
        )
        for i, p in enumerate(good)
    ]
    table = pl.concat(rows, how="vertical_relaxed")
    fitted = fit_baseline("metadata", table, table["video_id"].to_list())
    assert fitted.feature_names == list(META_COLUMNS)

    members = [Member("metadata", 0, "features", fitted)]
    cal = Calibration("platt", {"a": 1.0, "b": 0.0})
    blocks = config.to_params()
    sampler = sampler_settings(
        members, blocks["features"], blocks["scaled_features"], blocks["scaling"], None
    )
    manifest = manifest_for(members, cal, feature_names=fitted.feature_names, sampler=sampler)
    detector = load_detector(save_detector(Detector(manifest, members, cal), tmp_path / "det"))

    video = good[0]
    inputs = prepare_video(video, detector.input_spec(1.0, 2), tmp_path / "again")
    want = metadata_row(
        probe_facts(probe(video)), target_size=int(blocks["scaling"]["target_size"])
    )
    assert inputs.features.select(META_COLUMNS).row(0) == pytest.approx(
        tuple(want[c] for c in META_COLUMNS), nan_ok=True
    )
    score = detector.score(inputs)
    expected = float(logit(fitted.predict_proba(inputs.features))[0])
    assert score.logit == pytest.approx(expected)
    assert 0.0 <= score.probability <= 1.0
    # segments carry the file's metadata, so each scores like the whole video
    assert len(score.segment_probabilities) == inputs.segment_features.height >= 1
    assert np.allclose(score.segment_probabilities, score.probability)
