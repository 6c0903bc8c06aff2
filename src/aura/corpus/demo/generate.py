"""Plan, render and record the demo corpus in the FVC layout (annotation CSVs + videos/FVC1..3)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import Field, model_validator

from aura.config import FieldProblem, Section
from aura.corpus.demo.clips import draw_original, draw_repost, render, sha256_file, write_atomic
from aura.corpus.demo.ids import draw_platform, draw_video_id, video_url
from aura.corpus.demo.lock import exclusive
from aura.corpus.demo.traces import TRACES, draw_camera, draw_traces

log = logging.getLogger("aura.corpus.demo")

#: Bump when the rendering changes, so existing demo corpora are regenerated.
GENERATOR_VERSION = "2.0"
MANIFEST_NAME = "demo_manifest.json"
_MARKER = ".demo_generating"
LOCK_NAME = ".demo.lock"
#: How long a run waits for another one generating the same corpus before it gives up.
LOCK_TIMEOUT_S = 900.0
_FOLDERS = ("FVC1", "FVC2", "FVC3")
_CSV_HEADER = ("cascade_id", "video_url", "label")


class DemoConfig(Section):
    """What the demo corpus holds (``corpus.demo``); the same config always gives
    byte-identical files."""

    PREFIX: ClassVar[str] = "corpus.demo"

    seed: int = Field(0, ge=0)
    n_cascades: int = Field(60, ge=2)  # half fake (f0, f1, ...), half real (r0, r1, ...)
    reposts_per_cascade: int = Field(1, ge=0)
    min_duration_s: float = Field(2.0, ge=0.5, le=60)
    max_duration_s: float = Field(3.0, ge=0.5, le=60)
    hostile: bool = True  # add an empty, a truncated and a not-a-video .mp4, each with a row

    @model_validator(mode="after")
    def _durations(self) -> DemoConfig:
        if self.min_duration_s > self.max_duration_s:
            raise FieldProblem(
                "min_duration_s",
                f"must be <= max_duration_s {self.max_duration_s}",
                self.min_duration_s,
            )
        return self

    def fingerprint(self) -> str:
        """Short stable hash of the config (``config_hash`` in the manifest)."""
        blob = json.dumps(self.model_dump(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class _Streams:
    """Independent random streams of one video, seeded from (seed, video index)."""

    def __init__(self, seed: int, index: int) -> None:
        ids, params, camera, traces, place = np.random.SeedSequence([seed, index]).spawn(5)
        self.ids = np.random.default_rng(ids)
        self.params = np.random.default_rng(params)
        self.camera = np.random.default_rng(camera)
        self.traces = np.random.default_rng(traces)
        self.place = np.random.default_rng(place)


def plan(config: DemoConfig) -> tuple[list[dict], list[dict]]:
    """All videos (manifest entries without file hashes) and the annotation rows lacking a file."""
    n_fake = (config.n_cascades + 1) // 2
    cascades = [(f"f{k}", "fake", k) for k in range(n_fake)]
    cascades += [(f"r{k}", "real", k) for k in range(config.n_cascades - n_fake)]
    used: set[str] = set()

    def entry(
        index: int, cascade_id: str, label: str, truth: str, kind: str, ext: str | None
    ) -> tuple[dict, _Streams]:
        s = _Streams(config.seed, index)
        platform = draw_platform(s.ids)
        vid = draw_video_id(s.ids, platform)
        while vid in used:
            vid = draw_video_id(s.ids, platform)
        used.add(vid)
        folder = _FOLDERS[int(s.place.integers(len(_FOLDERS)))]
        if s.place.random() < 0.25:
            folder += f"/batch{int(s.place.integers(1, 4))}"
        e = {
            "video_id": vid,
            "url": video_url(s.ids, platform, vid),
            "platform": platform,
            "cascade_id": cascade_id,
            "label": label,
            "truth": truth,
            "kind": kind,
            "index": index,
            "parent_video_id": None,
            "hostile": None,
            "path": f"videos/{folder}/{vid}{ext}" if ext is not None else None,
            "params": None,
            "camera": None,
            "traces": None,
        }
        return e, s

    def content(
        e: dict, s: _Streams, truth: str, required: str, pair: int, codec: str | None = None
    ) -> None:
        # Cascades f<k> and r<k> share a colour palette: no class difference in colour statistics.
        palette = int(np.random.SeedSequence([config.seed, pair, 1]).generate_state(1)[0])
        e["params"] = draw_original(
            s.params, config.min_duration_s, config.max_duration_s, palette, codec
        )
        e["path"] = e["path"] + e["params"]["container"]
        camera = draw_camera(s.camera)  # drawn for every clip so both classes share all other draws
        traces = draw_traces(s.traces, required) if truth == "fake" else None
        e["camera"] = None if traces and "rendered" in traces else camera
        e["traces"] = traces

    index = 0
    originals: list[dict] = []
    for cid, label, k in cascades:
        e, s = entry(index, cid, label, label, "original", "")
        # Each fake cascade is guaranteed one trace in turn, so every trace occurs in the corpus.
        content(e, s, label, TRACES[k % len(TRACES)], k)
        originals.append(e)
        index += 1

    def repost(parent: dict, label: str) -> dict:
        nonlocal index
        e, s = entry(index, parent["cascade_id"], label, parent["truth"], "repost", "")
        e["params"] = draw_repost(s.params, parent["params"])
        e["path"] += e["params"]["container"]
        e.update(parent_video_id=parent["video_id"], parent_path=parent["path"])
        e["camera"], e["traces"] = parent["camera"], parent["traces"]
        index += 1
        return e

    reposts = [repost(o, o["label"]) for o in originals for _ in range(config.reposts_per_cascade)]
    reposts.append(repost(originals[0], "uncertain"))
    videos = originals + reposts

    def pick(label: str, i: int) -> dict:
        same = [o for o in originals if o["label"] == label]
        return same[i % len(same)]

    if config.hostile:
        for kind, host in (
            ("empty", pick("fake", -1)),
            ("truncated", pick("real", 0)),
            ("not_video", pick("real", -1)),
        ):
            e, s = entry(
                index,
                host["cascade_id"],
                host["label"],
                host["truth"],
                "hostile",
                ".mp4" if kind != "truncated" else "",
            )
            e["hostile"] = kind
            if kind == "truncated":
                content(e, s, host["truth"], TRACES[0], index, codec="h264")
                e["keep_fraction"] = 0.4
            videos.append(e)
            index += 1
    host = pick("fake", 1)
    e, _ = entry(index, host["cascade_id"], host["label"], host["truth"], "missing", None)
    return videos, [e]


def _csv_text(rows: list[tuple[str, str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_CSV_HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode()


def _annotation_files(videos: list[dict], missing: list[dict]) -> dict[str, bytes]:
    originals = [v for v in videos if v["kind"] == "original"]
    order = {v["cascade_id"]: i for i, v in enumerate(originals)}
    dup = sorted(
        (v for v in videos + missing if v["kind"] != "original"),
        key=lambda v: (order[v["cascade_id"]], v["index"]),
    )
    return {
        "FVC.csv": _csv_text([(v["cascade_id"], v["url"], v["label"]) for v in originals]),
        "FVC_dup.csv": _csv_text([(v["cascade_id"], v["url"], v["label"]) for v in dup]),
    }


def _up_to_date(root: Path, config: DemoConfig) -> dict | None:
    try:
        manifest = json.loads((root / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    if (
        manifest.get("config_hash") != config.fingerprint()
        or manifest.get("generator_version") != GENERATOR_VERSION
    ):
        return None
    try:
        files = [(name, info["sha256"]) for name, info in manifest["annotation_files"].items()]
        files += [(v["path"], v["sha256"]) for v in manifest["videos"]]
    except (KeyError, TypeError, AttributeError):
        return None
    for rel, digest in files:
        path = root / rel
        if not path.is_file() or sha256_file(path) != digest:
            return None
    return manifest


def _clear(root: Path) -> None:
    """Remove a previous demo corpus' files (only those its manifest lists) and stale temp files.

    Called under the corpus lock only, so no temp file of a live run is ever removed.
    """
    try:
        old = json.loads((root / MANIFEST_NAME).read_text())
        rels = [v["path"] for v in old.get("videos", []) if v.get("path")]
        rels += list(old.get("annotation_files", {}))
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        rels = []
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    resolved = root.resolve()
    for rel in rels:
        path = (root / rel).resolve()
        if path.is_relative_to(resolved) and path.is_file():
            path.unlink()
    stale = list(root.glob(".*.partial.*"))
    if (root / "videos").is_dir():
        for pattern in (".*.partial.*", ".*.full.*"):
            stale += (root / "videos").rglob(pattern)
    for path in stale:
        path.unlink()


def _default_workers() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0))))


def _render_all(videos: list[dict], root: Path, workers: int) -> None:
    """Render every video (parents before their reposts), recording sha256, size and frames."""
    by_id = {v["video_id"]: v for v in videos}
    children: dict[str, list[dict]] = {}
    first = []
    for v in videos:
        if v["kind"] == "repost":
            children.setdefault(v["parent_video_id"], []).append(v)
        else:
            first.append(v)
    done = 0

    def record(v: dict, result: dict) -> None:
        nonlocal done
        v.update(result)
        done += 1
        p = v.get("params") or {}
        desc = f"{p['width']}x{p['height']} {p['codec']}" if p else v.get("hostile", "")
        log.info("[%d/%d] %s %s %s (%s)", done, len(videos), v["kind"], v["label"], v["path"], desc)

    if workers <= 1:
        queue = list(first)
        while queue:
            v = queue.pop(0)
            record(v, render(v, str(root)))
            queue.extend(children.get(v["video_id"], []))
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aura-demo") as pool:
        pending: dict[Future, str] = {
            pool.submit(render, v, str(root)): v["video_id"] for v in first
        }
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    vid = pending.pop(fut)
                    record(by_id[vid], fut.result())
                    for child in children.get(vid, []):
                        pending[pool.submit(render, child, str(root))] = child["video_id"]
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def generate_demo_corpus(
    root: str | Path,
    config: DemoConfig | None = None,
    *,
    force: bool = False,
    workers: int | None = None,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> dict:
    """Write (or reuse) the demo corpus under ``root`` and return its manifest.

    The corpus is reused when ``demo_manifest.json`` matches the config and every listed file
    matches its sha256; ``force=True`` regenerates. Refuses a folder that holds FVC annotations
    but no demo manifest (it may be a real corpus). ``workers`` threads render in parallel
    (default: up to 4 CPUs; NumPy, OpenCV and the encoders release the GIL); the output does
    not depend on it. Files are written under hidden temporary names and renamed when complete.

    Concurrent calls on one ``root`` (two first runs at once) are safe: generation holds the
    lock file ``root/.demo.lock``, which names its holder; another call waits for it (at most
    ``lock_timeout_s``, then ``TimeoutError``) and then finds the corpus up to date.
    """
    config = config or DemoConfig()
    root = Path(root)
    if not force and (current := _reuse(root, config)) is not None:
        return current
    ours = (root / MANIFEST_NAME).exists() or (root / _MARKER).exists()
    if not ours and any((root / name).exists() for name in ("FVC.csv", "FVC_dup.csv")):
        raise FileExistsError(
            f"{root} holds FVC annotations but no {MANIFEST_NAME}: not overwriting a corpus"
        )
    root.mkdir(parents=True, exist_ok=True)
    with exclusive(root / LOCK_NAME, lock_timeout_s, f"generating the demo corpus in {root}"):
        if not force and (current := _reuse(root, config)) is not None:
            return current  # another run made it while this one waited
        return _generate(root, config, workers)


def _reuse(root: Path, config: DemoConfig) -> dict | None:
    current = _up_to_date(root, config)
    if current is not None:
        log.info("demo corpus up to date: %s (%d videos)", root, len(current["videos"]))
    return current


def _generate(root: Path, config: DemoConfig, workers: int | None) -> dict:
    t0 = time.perf_counter()
    (root / _MARKER).touch()
    _clear(root)
    for folder in _FOLDERS:
        (root / "videos" / folder).mkdir(parents=True, exist_ok=True)
    videos, missing = plan(config)
    workers = _default_workers() if workers is None else workers
    log.info(
        "generating demo corpus: %d files in %s (seed %d, %d workers)",
        len(videos),
        root,
        config.seed,
        workers,
    )
    _render_all(videos, root, workers)

    annotations = {}
    for name, data in _annotation_files(videos, missing).items():
        write_atomic(root / name, data)
        annotations[name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "rows": data.count(b"\n") - 1,
        }
    for v in videos + missing:
        v.pop("index")
    manifest = {
        "generator": "aura.corpus.demo",
        "generator_version": GENERATOR_VERSION,
        "config": config.model_dump(),
        "config_hash": config.fingerprint(),
        "counts": {
            "videos": len(videos),
            **{k: sum(v["kind"] == k for v in videos) for k in ("original", "repost", "hostile")},
            **{
                k: sum(v["truth"] == k for v in videos if v["kind"] != "hostile")
                for k in ("fake", "real")
            },
        },
        "annotation_files": annotations,
        "videos": videos,
        "missing": missing,
    }
    write_atomic(root / MANIFEST_NAME, json.dumps(manifest, indent=1).encode() + b"\n")
    (root / _MARKER).unlink(missing_ok=True)
    size = sum(v["size"] for v in videos)
    log.info(
        "demo corpus ready: %d files, %.1f MB in %.1f s",
        len(videos),
        size / 1e6,
        time.perf_counter() - t0,
    )
    return manifest
