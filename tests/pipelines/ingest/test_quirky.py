"""Ingest on real files whose headers miscount, a FIFO, and frames above ``ingest.max_pixels``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from aura.pipelines.ingest.nodes import build_video_index, materialise_corpus, read_annotations

from ...conftest import Quirky

YT = "https://www.youtube.com/watch?v={}"
IDS = {"drop": "dropframes1", "off_by_one": "offbyone001", "billion": "billion0001"}


def _corpus(root: Path, files: dict[str, Path | None]) -> Path:
    """An FVC-layout folder: ``videos/<id><suffix>`` (copied; None = a FIFO) and FVC.csv."""
    videos = root / "videos"
    videos.mkdir(parents=True)
    for vid, src in files.items():
        if src is None:
            os.mkfifo(videos / f"{vid}.mp4")
        else:
            shutil.copy(src, videos / f"{vid}{src.suffix}")
    rows = "".join(f"c{i},{YT.format(vid)},fake\n" for i, vid in enumerate(files))
    (root / "FVC.csv").write_text("cascade_id,video_url,label\n" + rows)
    return root


def _ingest(root: Path, **ingest: object) -> pl.DataFrame:
    corpus = {"kind": "fvc", "root": str(root), "annotation_files": ["FVC.csv"]}
    annotations = read_annotations(materialise_corpus(corpus), corpus)
    return build_video_index(annotations, {"progress": False, **ingest})


def test_miscounting_headers_are_ok_with_the_real_count(
    quirky: dict[str, Quirky], tmp_path: Path
) -> None:
    root = _corpus(tmp_path / "fvc", {IDS[k]: quirky[k].path for k in IDS})
    index = _ingest(root)
    rows = {r["video_id"]: r for r in index.iter_rows(named=True)}
    for name, vid in IDS.items():
        q, row = quirky[name], rows[vid]
        assert (row["status"], row["error"]) == ("ok", None), row["error"]
        assert (row["n_frames"], row["n_frames_header"]) == (q.n, q.header)
        assert row["n_frames_source"] == "demux"
        assert row["duration_s"] < 10  # from the frames there, not 10^9 / 25 s
    assert index.schema["n_frames_header"] == pl.Int64


def test_cap_gives_too_large_before_decoding(quirky: dict[str, Quirky], tmp_path: Path) -> None:
    root = _corpus(tmp_path / "fvc", {IDS["drop"]: quirky["drop"].path})
    row = _ingest(root, max_pixels=160 * 96 - 1).row(0, named=True)
    assert row["status"] == "too_large" and row["n_frames"] is None
    assert "160x96" in row["error"] and "ingest.max_pixels" in row["error"]
    assert _ingest(root, max_pixels=160 * 96)["status"].to_list() == ["ok"]


@pytest.mark.slow
def test_8192_square_clip_is_too_large(huge_clip: Path, tmp_path: Path) -> None:
    root = _corpus(tmp_path / "fvc", {"huge0000001": huge_clip})
    row = _ingest(root).row(0, named=True)
    assert row["status"] == "too_large" and "8192x8192" in row["error"]


_INGEST = """
import json, sys
from aura.pipelines.ingest.nodes import build_video_index, materialise_corpus, read_annotations
corpus = {"kind": "fvc", "root": sys.argv[1], "annotation_files": ["FVC.csv"]}
index = build_video_index(read_annotations(materialise_corpus(corpus), corpus), {"progress": False})
print(json.dumps(index.select("video_id", "status", "error").to_dicts()))
"""


def test_fifo_named_like_a_video_is_not_video(quirky: dict[str, Quirky], tmp_path: Path) -> None:
    """In a subprocess with a timeout (~3 s measured): a regression blocks in open(), then fails."""
    root = _corpus(tmp_path / "fvc", {"fifo0000001": None, IDS["drop"]: quirky["drop"].path})
    run = subprocess.run(
        [sys.executable, "-c", _INGEST, str(root)], capture_output=True, text=True, timeout=90
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = {r["video_id"]: r for r in json.loads(run.stdout.splitlines()[-1])}
    fifo = rows["fifo0000001"]
    assert fifo["status"] == "not_video" and "not a regular file (a FIFO" in fifo["error"]
    assert rows[IDS["drop"]]["status"] == "ok"
