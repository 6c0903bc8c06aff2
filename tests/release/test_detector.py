"""Detector scoring, save/load round trip, and refusal of tampered or pickled parts."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from aura.models.kinds import logit
from aura.release import Calibration, Detector, DetectorError, Member, load_detector, save_detector
from tests.release.conftest import CLIP, N_SEGMENTS, manifest_for, tiny_clip_model, video_inputs


def test_score_is_the_calibrated_mean_of_model_means(both_kinds: Detector) -> None:
    video = video_inputs(7)
    got = both_kinds.score(video)
    # by hand: each member's logit on the same inputs, mean over folds, then over models
    feats = [logit(m.artifact.predict_proba(video.features))[0] for m in both_kinds.members[:2]]
    clips = []
    for m in both_kinds.members[2:]:
        with torch.inference_mode():
            clips.append(float(m.artifact.build()(video.clips[CLIP]).reshape(-1)[0]))
    expected = (np.mean(feats) + np.mean(clips)) / 2
    cal = both_kinds.calibration
    assert got.logit == pytest.approx(expected, abs=1e-9)
    assert got.probability == pytest.approx(float(cal.apply(expected)), abs=1e-12)
    assert got.label == ("fake" if got.probability >= got.threshold else "real")
    member_probs = [float(cal.apply(x)) for x in [*feats, *clips]]
    assert got.fold_spread == pytest.approx(float(np.std(member_probs)), abs=1e-9)
    assert len(got.segment_probabilities) == N_SEGMENTS
    assert all(0.0 <= p <= 1.0 for p in got.segment_probabilities)


def test_one_member_has_no_fold_spread(baselines) -> None:
    members = [Member("logistic_regression", None, "features", baselines[0])]
    cal = Calibration("none")
    detector = Detector(manifest_for(members, cal, strategy="refit"), members, cal)
    assert detector.score(video_inputs(1)).fold_spread is None


def test_input_spec_states_what_the_members_need(both_kinds: Detector) -> None:
    spec = both_kinds.input_spec(segment_s=1.5, max_segments=4)
    assert spec.features is True
    assert spec.clips == (CLIP,)
    assert (spec.segment_s, spec.max_segments) == (1.5, 4)
    assert spec.stage4 == {"prefix": "s4_"}


def test_round_trip_scores_identically(both_kinds: Detector, tmp_path: Path) -> None:
    folder = save_detector(both_kinds, tmp_path / "det")
    assert sorted(p.name for p in (folder / "parts").iterdir()) == [
        "logistic_regression.fold_0.skops",
        "logistic_regression.fold_1.skops",
        "naive_cnn.fold_0.safetensors",
        "naive_cnn.fold_1.safetensors",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    for record in manifest["members"]:
        digest = hashlib.sha256((folder / "parts" / record["file"]).read_bytes()).hexdigest()
        assert record["sha256"] == digest
    loaded = load_detector(folder)
    assert loaded.manifest == load_detector(folder).manifest
    assert [(m.model, m.fold, m.kind) for m in loaded.members] == [
        (m.model, m.fold, m.kind) for m in both_kinds.members
    ]
    for seed in (0, 1, 2):
        assert loaded.score(video_inputs(seed)) == both_kinds.score(video_inputs(seed))
    with pytest.raises(FileExistsError):
        save_detector(both_kinds, folder)


class Payload:
    """A crafted pickle: unpickling it creates ``marker`` (it runs ``open(marker, "w")``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[override]
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize(
    "part", ["logistic_regression.fold_1.skops", "naive_cnn.fold_0.safetensors"]
)
def test_a_part_swapped_for_a_pickle_is_refused_and_never_runs(
    both_kinds: Detector, tmp_path: Path, part: str
) -> None:
    folder = save_detector(both_kinds, tmp_path / "det")
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Payload(marker))
    (folder / "parts" / part).write_bytes(payload)
    with pytest.raises(DetectorError, match=part.replace(".", r"\.")) as err:
        load_detector(folder)
    assert "SHA-256" in str(err.value)
    assert not marker.exists()
    # the attacker also rewrites the manifest's digest: the format check still refuses it
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for record in manifest["members"]:
        if record["file"] == part:
            record["sha256"] = hashlib.sha256(payload).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(DetectorError, match=part.replace(".", r"\.")) as err:
        load_detector(folder)
    assert "refused" in str(err.value)
    assert not marker.exists()
    # control: the payload is live, so the checks above could have failed
    pickle.loads(payload).close()
    assert marker.exists()


def test_manifest_cannot_point_outside_parts(both_kinds: Detector, tmp_path: Path) -> None:
    folder = save_detector(both_kinds, tmp_path / "det")
    outside = tmp_path / "elsewhere.skops"
    shutil.copy(folder / "parts" / "logistic_regression.fold_0.skops", outside)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["members"][0]["file"] = "../../elsewhere.skops"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(DetectorError, match="not a plain name"):
        load_detector(folder)


def test_missing_part_and_missing_manifest_name_the_file(
    both_kinds: Detector, tmp_path: Path
) -> None:
    folder = save_detector(both_kinds, tmp_path / "det")
    (folder / "parts" / "naive_cnn.fold_1.safetensors").unlink()
    with pytest.raises(DetectorError, match=r"naive_cnn\.fold_1\.safetensors: member file"):
        load_detector(folder)
    with pytest.raises(DetectorError, match="no manifest.json"):
        load_detector(tmp_path / "nothing")


def test_clip_members_with_other_weights_score_differently(tmp_path: Path) -> None:
    """The loaded weights are the saved ones, not a fresh initialisation."""
    a = [Member("naive_cnn", 0, "clips", tiny_clip_model(0, seed=11))]
    b = [Member("naive_cnn", 0, "clips", tiny_clip_model(0, seed=12))]
    cal = Calibration("none")
    da = load_detector(save_detector(Detector(manifest_for(a, cal), a, cal), tmp_path / "a"))
    db = load_detector(save_detector(Detector(manifest_for(b, cal), b, cal), tmp_path / "b"))
    video = video_inputs(3)
    assert da.score(video).logit != db.score(video).logit
