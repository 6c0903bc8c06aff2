"""The demo corpus generator on real files: FVC layout, determinism, reuse, and measurable traces."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from aura.corpus.demo import MANIFEST_NAME, DemoConfig, generate_demo_corpus
from aura.corpus.demo.generate import LOCK_NAME
from aura.corpus.demo.lock import exclusive

# 3 fake + 3 real cascades: every fake cascade is guaranteed one trace in turn (rendered, blend,
# flicker), so each physical check below has material.
CONFIG = DemoConfig(n_cascades=6, reposts_per_cascade=1, max_duration_s=2.2)
HEADER = b"cascade_id,video_url,label\n"
ID_PATTERNS = {
    "youtube": re.compile(r"^https://www\.youtube\.com/watch\?v=([A-Za-z0-9_-]{11})$"),
    "facebook": re.compile(r"^https://www\.facebook\.com/[A-Za-z0-9.]+/videos/([1-9]\d{14,16})/$"),
    "twitter": re.compile(r"^https://twitter\.com/\w+/status/([1-9]\d{17})$"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("demo")
    return root, generate_demo_corpus(root, CONFIG)


@pytest.fixture(scope="module")
def luma(corpus: tuple[Path, dict]) -> dict[str, list[np.ndarray]]:
    """Decoded luma frames (float32) of every non-hostile video, by video id."""
    root, manifest = corpus
    out = {}
    for v in manifest["videos"]:
        if v["kind"] != "hostile":
            with av.open(str(root / v["path"])) as c:
                out[v["video_id"]] = [
                    f.to_ndarray(format="gray").astype(np.float32) for f in c.decode(video=0)
                ]
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _video_id(url: str) -> tuple[str, str]:
    for platform, pattern in ID_PATTERNS.items():
        m = pattern.match(url)
        if m:
            return platform, m.group(1)
    raise AssertionError(f"URL not in FVC's shape: {url}")


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _decodes(path: Path) -> bool:
    try:
        with av.open(str(path)) as c:
            return sum(1 for _ in c.decode(video=0)) > 0
    except (av.error.FFmpegError, ValueError, IndexError):
        return False


def test_annotation_csvs_have_fvc_format(corpus: tuple[Path, dict]) -> None:
    root, _ = corpus
    for name in ("FVC.csv", "FVC_dup.csv"):
        data = (root / name).read_bytes()
        assert (
            data.startswith(HEADER)
            and data.endswith(b"\n")
            and b"\r" not in data
            and b'"' not in data
        )
        assert all(line.count(b",") == 2 for line in data.splitlines())
    originals = _rows(root / "FVC.csv")
    assert [r["cascade_id"] for r in originals] == ["f0", "f1", "f2", "r0", "r1", "r2"]
    assert [r["label"] for r in originals] == ["fake"] * 3 + ["real"] * 3
    dup = _rows(root / "FVC_dup.csv")
    assert {r["cascade_id"] for r in dup} <= {r["cascade_id"] for r in originals}
    assert {r["label"] for r in dup} == {"fake", "real", "uncertain"}
    assert sum(r["label"] == "uncertain" for r in dup) == 1
    # Reposts are grouped by cascade in FVC.csv's order, like FVC_dup.csv.
    order = [r["cascade_id"] for r in originals]
    assert [order.index(r["cascade_id"]) for r in dup] == sorted(
        order.index(r["cascade_id"]) for r in dup
    )


def test_urls_yield_the_ids_that_name_the_files(corpus: tuple[Path, dict]) -> None:
    root, manifest = corpus
    on_disk = {p.stem: p for p in (root / "videos").rglob("*") if p.is_file()}
    assert {p.relative_to(root / "videos").parts[0] for p in on_disk.values()} <= {
        "FVC1",
        "FVC2",
        "FVC3",
    }
    rows = _rows(root / "FVC.csv") + _rows(root / "FVC_dup.csv")
    ids = [_video_id(r["video_url"])[1] for r in rows]
    assert len(ids) == len(set(ids))
    missing = {m["video_id"] for m in manifest["missing"]}
    assert len(missing) == 1
    assert set(ids) - set(on_disk) == missing
    assert set(on_disk) == set(ids) - missing
    for v in manifest["videos"]:
        assert _video_id(v["url"]) == (v["platform"], v["video_id"])
        assert Path(v["path"]).name == f"{v['video_id']}{Path(v['path']).suffix}"
        assert on_disk[v["video_id"]] == root / v["path"]


def test_labels_are_balanced_and_manifest_matches_files(corpus: tuple[Path, dict]) -> None:
    root, manifest = corpus
    assert manifest["config"] == CONFIG.model_dump()
    assert manifest["config_hash"] == CONFIG.fingerprint()
    originals = [v for v in manifest["videos"] if v["kind"] == "original"]
    assert (
        sum(v["label"] == "fake" for v in originals)
        == sum(v["label"] == "real" for v in originals)
        == 3
    )
    assert len([v for v in manifest["videos"] if v["kind"] == "repost"]) == 6 + 1
    for v in manifest["videos"]:
        assert hashlib.sha256((root / v["path"]).read_bytes()).hexdigest() == v["sha256"]
        if v["params"] is None:  # hostile files without content
            continue
        if v["truth"] == "fake":
            assert len(v["traces"]) >= 2 and ("rendered" in v["traces"]) == (v["camera"] is None)
        else:
            assert v["traces"] is None and v["camera"]["jpeg_quality"] >= 80
    for name, info in manifest["annotation_files"].items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == info["sha256"]
    assert json.loads((root / MANIFEST_NAME).read_text()) == manifest


def test_videos_decode_and_hostile_files_do_not(corpus: tuple[Path, dict], luma: dict) -> None:
    root, manifest = corpus
    hostile = {}
    for v in manifest["videos"]:
        path = root / v["path"]
        if v["kind"] == "hostile":
            hostile[v["hostile"]] = (path, v)
            assert not _decodes(path)
            continue
        frames = luma[v["video_id"]]
        assert len(frames) == v["n_frames"] == v["params"]["n_frames"]
        assert frames[0].shape == (v["params"]["height"], v["params"]["width"])
    assert set(hostile) == {"empty", "truncated", "not_video"}
    assert hostile["empty"][0].stat().st_size == 0
    path, v = hostile["truncated"]
    assert path.suffix == ".mp4" and path.stat().st_size == int(v["full_size"] * 0.4)
    assert path.read_bytes()[4:8] == b"ftyp"  # the head of a real MP4, cut short
    assert hostile["not_video"][0].read_text().startswith("<!DOCTYPE html>")
    dup_urls = {r["video_url"] for r in _rows(root / "FVC_dup.csv")}
    assert {v["url"] for _, v in hostile.values()} <= dup_urls


def test_reposts_keep_label_and_cascade_but_differ(corpus: tuple[Path, dict]) -> None:
    _, manifest = corpus
    by_id = {v["video_id"]: v for v in manifest["videos"]}
    reposts = [v for v in manifest["videos"] if v["kind"] == "repost"]
    for v in reposts:
        parent = by_id[v["parent_video_id"]]
        assert parent["kind"] == "original" and v["cascade_id"] == parent["cascade_id"]
        assert v["truth"] == parent["truth"] and v["traces"] == parent["traces"]
        assert v["label"] in (parent["label"], "uncertain")
        p, q = v["params"], parent["params"]
        assert p["codec"] != q["codec"] or (p["width"], p["height"]) != (q["width"], q["height"])
        assert p["n_frames"] == q["n_frames"] and p["fps"] == q["fps"]


def test_same_config_gives_identical_bytes(corpus: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = corpus
    generate_demo_corpus(tmp_path, CONFIG, workers=1)  # also independent of the worker count
    assert _files(tmp_path) == _files(root)


def test_second_call_reuses_and_force_rewrites(
    corpus: tuple[Path, dict], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(corpus[0], root)
    mtimes = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    with caplog.at_level(logging.INFO, logger="aura.corpus.demo"):
        again = generate_demo_corpus(root, CONFIG)
    assert "demo corpus up to date" in caplog.text
    assert again == corpus[1]
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == mtimes

    forced = generate_demo_corpus(root, CONFIG, force=True)
    assert forced == corpus[1]
    video = root / forced["videos"][0]["path"]
    assert video.stat().st_mtime_ns != mtimes[video]


def test_damaged_corpus_is_regenerated_and_foreign_folders_refused(
    corpus: tuple[Path, dict], tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(corpus[0], root)
    victim = root / corpus[1]["videos"][1]["path"]
    victim.write_bytes(victim.read_bytes()[:1000])  # as if a copy was interrupted
    stale = victim.with_name(".abc.partial.mp4")
    stale.write_bytes(b"x")
    generate_demo_corpus(root, CONFIG)
    assert _files(root) == _files(corpus[0])

    foreign = tmp_path / "fvc"
    foreign.mkdir()
    (foreign / "FVC.csv").write_bytes(HEADER)
    with pytest.raises(FileExistsError):
        generate_demo_corpus(foreign, CONFIG, force=True)
    with pytest.raises(ValueError):
        DemoConfig(n_cascades=1)


# --- concurrent runs -----------------------------------------------------------------------

SMALL = DemoConfig(n_cascades=2, reposts_per_cascade=1, min_duration_s=0.5, max_duration_s=0.6)
#: A run that waits for the test's go signal, so both start generating at the same moment.
_CHILD = """
import json, sys, time
from pathlib import Path
from aura.corpus.demo import DemoConfig, generate_demo_corpus
root, ready, go = map(Path, sys.argv[1:4])
ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.005)
config = DemoConfig(**json.loads(sys.argv[4]))
print(generate_demo_corpus(root, config, workers=1)["config_hash"])
"""
#: One small generation takes ~2.5 s here (imports included); every wait allows 3x two of them.
TIMEOUT_S = 60


@pytest.mark.slow
def test_two_first_runs_at_once_both_succeed(tmp_path: Path) -> None:
    root, go = tmp_path / "demo", tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(2)]
    config = json.dumps(SMALL.model_dump())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(root), str(r), str(go), config],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in ready
    ]
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not all(r.exists() for r in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        results = [p.communicate(timeout=TIMEOUT_S) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert out.strip() == SMALL.fingerprint()
    reference = tmp_path / "reference"
    generate_demo_corpus(reference, SMALL, workers=1)
    assert _files(root) == _files(reference)  # byte-identical, and no lock or temp file left


def test_a_held_lock_names_its_holder_and_the_wait_is_bounded(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    with exclusive(root / LOCK_NAME, 1, "test"):
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=rf"pid {os.getpid()} on .* has held this lock"):
            generate_demo_corpus(root, SMALL, lock_timeout_s=0.5)
        assert time.monotonic() - start < 5
    assert not (root / LOCK_NAME).exists() and not (root / MANIFEST_NAME).exists()


# --- the physical traces, measured on decoded frames and compared as class means ---------------


def _noise_floor(frames: list[np.ndarray]) -> float:
    """High-pass residual energy of the flattest 8x8 blocks (20th percentile): sensor noise."""
    vals = []
    for y in frames[:: max(1, len(frames) // 12)]:
        r = y - cv2.GaussianBlur(y, (0, 0), 1.0)
        vals.append(np.percentile(cv2.blur(r * r, (8, 8))[4::8, 4::8], 20))
    return float(np.mean(vals))


def _blend_parity(frames: list[np.ndarray]) -> float:
    """How far each frame is from the mean of its neighbours, odd vs even frames (min/max ratio)."""
    y = [cv2.GaussianBlur(f, (0, 0), 1.0) for f in frames]
    res = np.array([np.abs(y[t] - (y[t - 1] + y[t + 1]) / 2).mean() for t in range(1, len(y) - 1)])
    a, b = res[0::2].mean(), res[1::2].mean()
    return float(min(a, b) / max(a, b))


def _flicker(frames: list[np.ndarray]) -> float:
    """RMS of the frame-mean brightness after removing its local linear trend."""
    m = np.array([f.mean() for f in frames])
    h = m[1:-1] - (m[:-2] + m[2:]) / 2
    return float(np.sqrt((h * h).mean()))


def _mean(manifest: dict, luma: dict, metric, select) -> float:
    vals = [
        metric(luma[v["video_id"]])
        for v in manifest["videos"]
        if v["kind"] != "hostile" and select(v)
    ]
    assert len(vals) >= 2, "test corpus lacks material for this check"
    return float(np.mean(vals))


def _has(trace: str):
    return lambda v: trace in (v["traces"] or {})


def test_real_clips_carry_sensor_noise_rendered_fakes_do_not(
    corpus: tuple[Path, dict], luma: dict
) -> None:
    _, m = corpus
    real = _mean(m, luma, _noise_floor, lambda v: v["truth"] == "real" and v["kind"] == "original")
    rendered = _mean(
        m, luma, _noise_floor, lambda v: _has("rendered")(v) and v["kind"] == "original"
    )
    assert real > 1.0 and real > 10 * rendered


def test_blended_frames_sit_between_their_neighbours(corpus: tuple[Path, dict], luma: dict) -> None:
    _, m = corpus
    real = _mean(m, luma, _blend_parity, lambda v: v["truth"] == "real")
    blended = _mean(m, luma, _blend_parity, _has("blend"))
    other_fakes = _mean(
        m, luma, _blend_parity, lambda v: v["truth"] == "fake" and not _has("blend")(v)
    )
    # Blending only shows where frames change (motion, noise, flicker); over seeds 0-7 of this
    # config the class means are 0.25-0.81 (blend) vs 0.91-0.99 (real), 0.83-0.98 (other fakes).
    assert blended < real - 0.1 and blended < other_fakes - 0.05


def test_flicker_modulates_frame_brightness(corpus: tuple[Path, dict], luma: dict) -> None:
    _, m = corpus
    real = _mean(m, luma, _flicker, lambda v: v["truth"] == "real")
    flicker = _mean(m, luma, _flicker, _has("flicker"))
    assert flicker > 1.0 and flicker > 5 * real
