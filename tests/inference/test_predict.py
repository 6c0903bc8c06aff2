"""Scoring new videos: the ``inference`` pipeline, ``aura predict`` and the library agree, bad
files become status rows, uploads are capped, explanations are written."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import polars as pl
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from aura.inference.config import InferenceConfig
from aura.inference.predict import VideoRequest, predict_videos, read_requests
from aura.pipelines.inference import create_pipeline
from aura.release import load_detector
from tests.conftest import aura_cli

HOSTILE = {
    "truncated.mp4": "corrupt",
    "notes.txt": "not_video",
    "empty.mp4": "empty_file",
    "garbage.mp4": "not_video",
}


def _run_pipeline(paths: list[str], detector_dir: Path, **inference: object) -> list[dict]:
    detector = load_detector(detector_dir)
    config = InferenceConfig.from_params({**detector.inference_config().to_params(), **inference})
    catalog = DataCatalog(
        {
            "inference_videos": MemoryDataset(pl.DataFrame({"path": paths})),
            "detector": MemoryDataset(detector, copy_mode="assign"),
            "params:inference": MemoryDataset(config, copy_mode="assign"),
        }
    )
    out = SequentialRunner().run(create_pipeline(), catalog)
    result = out["inference_predictions"]
    return result.load() if hasattr(result, "load") else result


def _by_path(rows: list[dict]) -> dict[str, dict]:
    return {r["path"]: r for r in rows}


def test_cli_pipeline_and_library_agree(
    scoring_videos: dict[str, Path], detector_dir: Path, tmp_path: Path
) -> None:
    folder = scoring_videos["real_0.mp4"].parent
    out = tmp_path / "p.json"
    result = aura_cli("predict", folder, "--detector", detector_dir, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    cli = _by_path(json.loads(out.read_text()))
    # every file of the folder, nested ones included, has exactly one row
    assert set(cli) == {str(p) for p in scoring_videos.values()}
    pipe = _by_path(_run_pipeline(sorted(cli), detector_dir))
    detector = load_detector(detector_dir)
    lib = predict_videos(
        [VideoRequest(p, path=p) for p in sorted(cli)], detector, detector.inference_config()
    ).to_dicts()
    for path, row in cli.items():
        for other in (pipe[path], _by_path(lib)[path]):
            assert other["status"] == row["status"], path
            assert other["probability"] == row["probability"], path
            assert other["segments"] == row["segments"], path
            assert other["fold_spread"] == row["fold_spread"], path


def test_rows_carry_scores_segments_and_statuses(
    scoring_videos: dict[str, Path], detector_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "p.json"
    folder = scoring_videos["real_0.mp4"].parent
    result = aura_cli("predict", folder, "--detector", detector_dir, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    rows = _by_path(json.loads(out.read_text()))
    manifest = json.loads((detector_dir / "manifest.json").read_text())
    for name, path in scoring_videos.items():
        row = rows[str(path)]
        assert row["detector_version"] == manifest["version"]
        assert row["config_hash"] == manifest["config_hash"]
        assert row["model"] == "logistic_regression+naive_cnn"
        if name in HOSTILE:
            assert row["status"] == HOSTILE[name], row
            assert str(path) in row["error"] and row["probability"] is None
            continue
        assert row["status"] == "ok" and row["error"] is None
        assert 0.0 <= row["probability"] <= 1.0
        assert row["label"] == ("fake" if row["probability"] >= row["threshold"] else "real")
        assert row["fold_spread"] is not None and row["fold_spread"] >= 0
        segs = row["segments"]
        assert 1 <= len(segs) <= 4  # inference.max_segments of the detector's config
        assert segs[0]["start_s"] == 0 and segs[-1]["end_s"] == pytest.approx(row["duration_s"])
        assert all(
            a["end_s"] == pytest.approx(b["start_s"]) for a, b in zip(segs, segs[1:], strict=False)
        )
    # the readable table names every file
    assert all(Path(p).name in result.output for p in map(str, scoring_videos.values()))


def test_strict_exit_code_and_path_sources(
    scoring_videos: dict[str, Path], detector_dir: Path, tmp_path: Path
) -> None:
    good, bad = scoring_videos["fake_1.mp4"], scoring_videos["truncated.mp4"]
    assert (
        aura_cli("predict", good, bad, "--detector", detector_dir, "--no-progress").exit_code == 0
    )
    strict = aura_cli("predict", good, bad, "--detector", detector_dir, "--strict", "--no-progress")
    assert strict.exit_code == 1
    ok = aura_cli("predict", good, "--detector", detector_dir, "--strict", "--no-progress")
    assert ok.exit_code == 0, ok.output
    # a manifest CSV (relative paths are relative to it) and paths on stdin
    manifest = good.parent / "list.csv"
    manifest.write_text(f"path,label\n{good.name},fake\nmissing.mp4,real\n")
    out = tmp_path / "m.csv"
    res = aura_cli("predict", manifest, "--detector", detector_dir, "--out", out, "--no-progress")
    manifest.unlink()
    assert res.exit_code == 0, res.output
    table = pl.read_csv(out)
    assert table["status"].to_list() == ["ok", "missing_file"]
    assert json.loads(table["segments"][0])[0]["start_s"] == 0
    from click.testing import CliRunner

    from aura.console import main

    piped = CliRunner().invoke(
        main,
        ["predict", "-", "--detector", str(detector_dir), "--out", str(tmp_path / "s.parquet")],
        input=f"{good}\n\n{bad}\n",
    )
    assert piped.exit_code == 0, piped.output
    assert pl.read_parquet(tmp_path / "s.parquet")["status"].to_list() == ["ok", "corrupt"]
    wrong = aura_cli("predict", good, "--detector", detector_dir, "--out", tmp_path / "x.xlsx")
    assert wrong.exit_code != 0 and ".json, .csv or .parquet" in wrong.output
    nowhere = aura_cli("predict", good, "--detector", tmp_path / "none")
    assert nowhere.exit_code != 0 and "no such folder" in nowhere.output


def test_uploads_score_like_paths_and_are_capped(
    scoring_videos: dict[str, Path], detector_dir: Path
) -> None:
    detector = load_detector(detector_dir)
    config = detector.inference_config()
    path = scoring_videos["fake_3.mp4"]
    b64 = base64.b64encode(path.read_bytes()).decode()
    capped = InferenceConfig.from_params({**config.to_params(), "max_upload_mb": 0.001})
    table = pl.DataFrame({"path": [str(path), None, None], "video_b64": [None, b64, "@@"]})
    rows = predict_videos(read_requests(table, config.max_upload_mb), detector, config).to_dicts()
    assert rows[0]["status"] == rows[1]["status"] == "ok"
    assert rows[1]["probability"] == rows[0]["probability"]
    assert rows[2]["status"] == "bad_request" and "not base64" in rows[2]["error"]
    over = predict_videos(read_requests(table[1:2], capped.max_upload_mb), detector, capped)
    assert over["status"][0] == "bad_request"
    assert "inference.max_upload_mb=0.001" in over["error"][0]


def test_explanations_are_written(
    scoring_videos: dict[str, Path], detector_dir: Path, tmp_path: Path
) -> None:
    good = scoring_videos["fake_1.mp4"]
    out = tmp_path / "explain"
    res = aura_cli(
        "predict",
        good,
        scoring_videos["empty.mp4"],
        "--detector",
        detector_dir,
        "--explain",
        out,
        "--no-progress",
    )
    assert res.exit_code == 0, res.output
    (png,) = sorted(out.glob("*.png"))
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stem.endswith("fake_1.mp4")
    doc = json.loads(png.with_suffix(".json").read_text())
    assert doc["meta"]["path"] == str(good)
    assert doc["gradcam"] is not None  # naive_cnn names its cam layer
    assert len(doc["segments"]) >= 1 and "logit_drop" in doc["segments"][0]
    assert 1 <= len(doc["contributions"]) <= 10
    assert all(c["description"] for c in doc["contributions"])
    # the pipeline writes the same explanations when inference.explain is on
    rows = _run_pipeline([str(good)], detector_dir, explain=True)
    assert rows[0]["explanation"] and rows[0]["explanation"].endswith("fake_1.mp4")
