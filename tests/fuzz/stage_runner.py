"""Child process of the fuzz test: ingest -> features -> scaling on a manifest corpus.

    python tests/fuzz/stage_runner.py MANIFEST WORK_DIR --as-headroom BYTES

Runs the real node functions (serial executor, cache under WORK_DIR) under an address-space cap
(RLIMIT_AS = this process's size after imports + headroom: torch alone maps ~4 GB of address
space at import, so an absolute cap would measure the import, not the work). Writes
WORK_DIR/rows.json (one row per file and stage) and keeps WORK_DIR/progress naming the stage and
the last corpus file opened, so the parent can name the file of a hang or a crash.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from aura.pipelines.features.nodes import extract_stage2
from aura.pipelines.ingest.nodes import build_video_index, materialise_corpus, read_annotations
from aura.pipelines.scaling.nodes import scale_videos

EXECUTOR = {"backend": "serial", "progress": False}
#: The pipeline passes these ingest parameters (pixel cap: the default) to every stage.
INGEST = {"progress": False}


def vm_kb(field: str) -> int:
    """A ``/proc/self/status`` figure in kB (VmSize, VmHWM, ...); 0 where there is no /proc."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith(f"{field}:")), 0)


class Progress:
    """Records "<stage>\\t<last corpus file opened>" in a file, via an audit hook on ``open``.

    Every stage opens a video with Python's ``open`` before FFmpeg does (``open_video`` reads
    its signature), so the file stays current while FFmpeg works on it.
    """

    def __init__(self, path: Path, corpus: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.corpus = str(corpus)
        self.stage = "start"
        self.file = ""
        sys.addaudithook(self.hook)
        self.write()

    def write(self) -> None:
        data = f"{self.stage}\t{self.file}\n".encode()
        os.pwrite(self.fd, data.ljust(4096), 0)  # no open() here: this runs inside the hook

    def set_stage(self, stage: str) -> None:
        self.stage, self.file = stage, ""
        self.write()

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], str | Path):
            name = str(args[0])
            if name.startswith(self.corpus) and name != self.file and "manifest" not in name:
                self.file = name
                self.write()


def rows_of(table: pl.DataFrame, stage: str, paths: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "stage": stage,
            "video_id": r["video_id"],
            "path": paths.get(r["video_id"]),
            "status": r["status"],
            "error": r["error"],
        }
        for r in table.select("video_id", "status", "error").iter_rows(named=True)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--as-headroom", type=int, required=True, help="bytes above the import size")
    args = ap.parse_args()
    faulthandler.enable()
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the parent asks on a hang
    size = vm_kb("VmSize") * 1024
    cap = size + args.as_headroom if size else None  # no /proc (not Linux): no cap
    if cap is not None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    progress = Progress(args.work / "progress", args.manifest.parent)
    cache, times, rows = str(args.work / "cache"), {}, []

    t0 = time.perf_counter()
    progress.set_stage("ingest")
    corpus = {"kind": "manifest", "root": str(args.manifest)}
    spec = materialise_corpus(corpus)
    index = build_video_index(read_annotations(spec, corpus), INGEST)
    paths = dict(index.select("video_id", "path").iter_rows())
    rows += rows_of(index, "ingest", paths)
    times["ingest"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    progress.set_stage("features")
    table, _, failed = extract_stage2(
        index, pl.DataFrame(), {"num_frames": 8}, EXECUTOR, cache, ingest=INGEST
    )
    ok = table.select(
        "video_id", pl.lit("ok").alias("status"), pl.lit(None, pl.String).alias("error")
    )
    rows += rows_of(pl.concat([ok, failed], how="vertical_relaxed"), "features", paths)
    times["features"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    progress.set_stage("scaling")
    scaling = {
        "method": "letterbox",
        "target_size": 32,
        "crf": 30,
        "output_dir": str(args.work / "scaled"),
    }
    scaled, _ = scale_videos(index, pl.DataFrame(), scaling, EXECUTOR, cache, ingest=INGEST)
    rows += rows_of(scaled, "scaling", paths)
    times["scaling"] = time.perf_counter() - t0

    progress.set_stage("done")
    summary = {"rows": rows, "seconds": times, "peak_rss_mb": vm_kb("VmHWM") / 1024, "as_cap": cap}
    (args.work / "rows.json").write_text(json.dumps(summary))


if __name__ == "__main__":
    main()
