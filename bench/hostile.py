"""Peak memory per stage on the hostile inputs of issue 9, next to the stated bound.

    python bench/hostile.py [--bound-mb MB] [--uncapped] [--inputs NAME,...]

Generates (once, cached under data/bench/hostile/) the worst small inputs of the issue:

  8192x8192_2f      a 2-frame 8192x8192 H.264 MP4 (a few hundred KB): above the pixel cap
  avi_1e9_frames    an MPEG-4 AVI whose avih/strh frame counts are patched to 10^9
  avi_drop_frames   an MPEG-4 AVI with zero-length (dropped-frame) chunks: 48 in the header, 30 real
  3840x2160_20f     a 20-frame 4K UHD H.264 clip: exactly at the default cap
  truncated_mp4     a 640x360 faststart MP4 cut at 60 % (the index lists frames that are gone)
  baseline_640x360  the same clip, whole: what a normal video costs

then runs each stage on each input in a fresh subprocess (one process per cell, so its peak
RSS belongs to that stage alone): ingest (the ingest node: probe), augmentation, features
(stage 2, T=16) and scaling (letterbox 112), each through its node function with the serial
executor and an empty cache. The stages get the input even when ingest refused it (its status
is forced to ``ok``), so each stage's own guard is measured too. Peak RSS is the worker's
VmHWM (ru_maxrss of a process started by vfork+exec also counts the parent's peak), imports
included; the bound applies to what the video adds over the worker's memory after imports
(every stage module, torch included, is imported first). The bound is
``aura.video.limits.VIDEO_RSS_BOUND_MB`` when the package states one, else 2 GiB;
``--bound-mb`` overrides it. ``--uncapped`` adds a column per stage with
``ingest.max_pixels: null``, measured side by side (needs several GB for the 8192x8192 file).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from _memory import peak_rss_mb  # bench/ is the script's folder, so on sys.path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("ingest", "augmentation", "features", "scaling")
EXECUTOR = {"backend": "serial", "progress": False}
DEFAULT_BOUND_MB = 2048


# --------------------------------------------------------------------------- inputs


def _yuv_frames(width: int, height: int, n: int) -> Iterator[np.ndarray]:
    """Smooth moving gradients as yuv420p planes (no RGB copy of a 8192x8192 frame)."""
    x = (np.arange(width) // max(1, width // 256)).astype(np.uint8)
    y = (np.arange(height) // max(1, height // 256)).astype(np.uint8)
    for i in range(n):
        frame = np.empty((height * 3 // 2, width), np.uint8)
        frame[:height] = x[None, :] + y[:, None] + np.uint8(i * 4 % 256)  # wraps mod 256
        frame[height:] = 128
        yield frame


def _encode(
    path: Path,
    encoder: str,
    width: int,
    height: int,
    n: int,
    *,
    pts_step: Callable[[int], int] | None = None,
    muxer: dict[str, str] | None = None,
) -> Path:
    """Encode ``n`` frames; ``pts_step(i)`` gives frame i's timestamp (gaps: dropped frames)."""
    import av

    tmp = path.with_name(f".tmp_{path.name}")
    with av.open(str(tmp), "w", options=muxer or {}) as container:
        opts = {"preset": "ultrafast"} if encoder == "libx264" else {}
        stream = container.add_stream(encoder, rate=25, options=opts)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 25)
        for i, planes in enumerate(_yuv_frames(width, height, n)):
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts = pts_step(i) if pts_step else i
            frame.time_base = Fraction(1, 25)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    tmp.replace(path)
    return path


def _patch_avi_frames(src: Path, dst: Path, frames: int) -> Path:
    """Copy ``src`` with avih.dwTotalFrames and every strh.dwLength set to ``frames``."""
    data = bytearray(src.read_bytes())
    avih = data.find(b"avih")
    struct.pack_into("<I", data, avih + 8 + 16, frames)
    at = data.find(b"strh")
    while at != -1:
        struct.pack_into("<I", data, at + 8 + 32, frames)
        at = data.find(b"strh", at + 4)
    dst.write_bytes(bytes(data))
    return dst


def make_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    specs = {
        "8192x8192_2f": ("big.mp4", lambda p: _encode(p, "libx264", 8192, 8192, 2)),
        "3840x2160_20f": ("uhd.mp4", lambda p: _encode(p, "libx264", 3840, 2160, 20)),
        "baseline_640x360": (
            "base.mp4",
            lambda p: _encode(p, "libx264", 640, 360, 60, muxer={"movflags": "+faststart"}),
        ),
        "avi_drop_frames": (
            "drop.avi",  # frames 0..9 three ticks apart: 18 zero-length chunks in between
            lambda p: _encode(
                p, "mpeg4", 320, 240, 30, pts_step=lambda i: 3 * i if i < 10 else i + 18
            ),
        ),
        "avi_1e9_frames": ("plain.avi", lambda p: _encode(p, "mpeg4", 320, 240, 30)),
    }
    paths = {}
    for name, (file, make) in specs.items():
        path = folder / file
        if not path.is_file():
            t0 = time.perf_counter()
            make(path)
            print(f"generated {path.name} in {time.perf_counter() - t0:.1f}s", flush=True)
        paths[name] = path
    paths["avi_1e9_frames"] = _patch_avi_frames(paths["avi_1e9_frames"], folder / "1e9.avi", 10**9)
    base = paths["baseline_640x360"].read_bytes()
    (folder / "truncated.mp4").write_bytes(base[: int(len(base) * 0.6)])
    paths["truncated_mp4"] = folder / "truncated.mp4"
    return paths


# --------------------------------------------------------------------------- workers


def _row(table: Any) -> tuple[str, str | None]:
    row = table.row(0, named=True)
    return row["status"], row.get("error")


def _run_stage(stage: str, wd: Path, ingest: dict[str, Any]) -> tuple[str, str | None]:
    """One stage's node on the one-row corpus in ``wd``; (status, error) of its row."""
    import polars as pl

    from aura.pipelines.augmentation.nodes import augment_videos
    from aura.pipelines.features.nodes import extract_stage2
    from aura.pipelines.ingest.nodes import build_video_index, materialise_corpus, read_annotations
    from aura.pipelines.scaling.nodes import scale_videos

    cache = str(wd / f"cache_{stage}")
    if stage == "ingest":
        corpus = {"kind": "manifest", "root": str(wd / "manifest.csv")}
        index = build_video_index(read_annotations(materialise_corpus(corpus), corpus), ingest)
        index.write_parquet(wd / "index.parquet")
        return _row(index)
    # Forced ok: the stage sees the file even when ingest refused it, so its own guard counts.
    index = pl.read_parquet(wd / "index.parquet").with_columns(
        pl.lit("ok").alias("status"), pl.lit(None, pl.String).alias("error")
    )
    if stage == "augmentation":
        params = {"k": 1, "seed": 0, "output_dir": str(wd / "aug")}
        return _row(augment_videos(index, params, EXECUTOR, cache, ingest=ingest)[0])
    if stage == "features":
        table, _, failed = extract_stage2(
            index, pl.DataFrame(), {"num_frames": 16}, EXECUTOR, cache, ingest=ingest
        )
        return ("ok", None) if table.height else _row(failed)
    params = {"method": "letterbox", "target_size": 112, "crf": 18, "output_dir": str(wd / "sc")}
    return _row(scale_videos(index, pl.DataFrame(), params, EXECUTOR, cache, ingest=ingest)[0])


def worker(stage: str, path: str, work: str, uncapped: bool) -> None:
    """Run one stage on one file; print a JSON line: status, error, peak and base RSS, seconds.

    An exception out of the node (a bug: failures should be rows) is reported as status
    ``raised`` with the peak RSS reached so far.
    """
    import aura.pipelines.augmentation.nodes  # noqa: F401  (imports are not the stage's cost)
    import aura.pipelines.features.nodes  # noqa: F401
    import aura.pipelines.ingest.nodes  # noqa: F401
    import aura.pipelines.scaling.nodes  # noqa: F401

    ingest: dict[str, Any] = {"progress": False, **({"max_pixels": None} if uncapped else {})}
    base, t0 = peak_rss_mb(), time.perf_counter()
    try:
        status, error = _run_stage(stage, Path(work), ingest)
    except Exception as exc:
        status, error = "raised", f"{type(exc).__name__}: {exc}"
    out = {"status": status, "error": error, "rss": peak_rss_mb(), "base": base}
    print(json.dumps({**out, "s": time.perf_counter() - t0}))


def run_cell(stage: str, path: Path, work: Path, uncapped: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", stage, str(path), str(work)]
    cmd += ["--uncapped"] if uncapped else []
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["?"])[-1]
        how = f"signal {-res.returncode}" if res.returncode < 0 else f"exit {res.returncode}"
        return {"status": f"CRASH ({how})", "error": last[:200], "rss": None}
    return json.loads(res.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- main


def stated_bound() -> tuple[int, str]:
    try:
        from aura.video.limits import VIDEO_RSS_BOUND_MB
    except ImportError:
        return DEFAULT_BOUND_MB, "default of bench/hostile.py (no bound stated in aura)"
    return int(VIDEO_RSS_BOUND_MB), "aura.video.limits.VIDEO_RSS_BOUND_MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--bound-mb", type=int, default=None, help="bound on what one video adds to peak RSS (MiB)"
    )
    ap.add_argument("--uncapped", action="store_true", help="also run with max_pixels: null")
    ap.add_argument("--inputs", default=None, help="comma-separated subset of input names")
    ap.add_argument("--videos", type=Path, default=ROOT / "data" / "bench" / "hostile")
    ap.add_argument("--worker", nargs=3, metavar=("STAGE", "PATH", "WORK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker, uncapped=args.uncapped)
        return

    bound, source = (args.bound_mb, "--bound-mb") if args.bound_mb else stated_bound()
    inputs = make_inputs(args.videos)
    if args.inputs:
        inputs = {k: v for k, v in inputs.items() if k in args.inputs.split(",")}
    modes = [False, True] if args.uncapped else [False]
    print(f"bound {bound} MiB per stage ({source}); one fresh subprocess per cell")
    results: dict[tuple[str, str, bool], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in inputs.items():
            for uncapped in modes:
                work = Path(tmp) / f"{name}{'_uncapped' if uncapped else ''}"
                work.mkdir()
                # The manifest sits beside a copy of the video (a symlink would resolve to
                # outside the manifest's folder, which ingest refuses).
                video = work / f"video{path.suffix}"
                shutil.copyfile(path, video)
                (work / "manifest.csv").write_text(f"path,label\n{video.name},real\n")
                for stage in STAGES:
                    cell = run_cell(stage, video, work, uncapped)
                    results[(name, stage, uncapped)] = cell
                    rss = f"{cell['rss']:.0f} MB" if cell.get("rss") else "-"
                    tag = " (uncapped)" if uncapped else ""
                    print(f"  {name}{tag} {stage}: {cell['status']} {rss}", flush=True)
    print_table(inputs, results, modes, bound)


def print_table(inputs: dict[str, Path], results: dict, modes: list[bool], bound: int) -> None:
    def cell(r: dict[str, Any]) -> str:
        rss = f"{r['rss']:.0f}" if r.get("rss") else "-"
        return f"{rss} {r['status'][:10]}"

    cols = [(s, u) for s in STAGES for u in modes]
    heads = [f"{s}{'/nocap' if u else ''}" for s, u in cols]
    head = (
        f"{'input':<18}{'size KB':>9}"
        + "".join(f"{h:>22}" for h in heads)
        + f"{'max MB':>9}{'+video':>9}  verdict"
    )
    print()
    print(
        f"peak RSS per stage in MiB (VmHWM of a fresh worker, imports included) and status; "
        f"+video = peak minus the worker's RSS after imports, bound {bound} MiB"
    )
    print(head)
    print("-" * len(head))
    over: list[str] = []
    raised: list[str] = []
    for name, path in inputs.items():
        rows = [results[(name, s, u)] for s, u in cols]
        capped = [results[(name, s, False)] for s in STAGES]
        peak = max((r["rss"] for r in capped if r.get("rss")), default=0.0)
        added = max((r["rss"] - r["base"] for r in capped if r.get("rss")), default=0.0)
        broken = [r["status"] for r in capped if r["status"].startswith(("CRASH", "raised"))]
        verdict = "within bound" if added <= bound else "OVER BOUND"
        verdict += f", node {broken[0].split()[0]}" if broken else ""
        over += [name] if added > bound else []
        raised += [f"{name} ({broken[0]})"] if broken else []
        size = path.stat().st_size / 1024
        print(
            f"{name:<18}{size:>9.0f}"
            + "".join(f"{cell(r):>22}" for r in rows)
            + f"{peak:>9.0f}{added:>9.0f}  {verdict}"
        )
    print("-" * len(head))
    bases = sorted(r["base"] for r in results.values() if r.get("base"))
    if bases:
        print(
            f"a worker after imports (interpreter, torch, PyAV): {bases[len(bases) // 2]:.0f} MiB"
        )
    print("errors:")
    for (name, stage, uncapped), r in results.items():
        if r.get("error"):
            print(
                f"  {name} {stage}{' (uncapped)' if uncapped else ''}: {r['status']}: {str(r['error'])[:160]}"
            )
    target = "met on all inputs" if not over else "MISSED on " + ", ".join(over)
    print(f"target: one video adds <= {bound} MiB in every stage with the default cap: {target}")
    rows_ok = "yes" if not raised else "NO, a node raised or crashed on " + ", ".join(raised)
    print(f"every failure a row (no stage node raised or crashed): {rows_ok}")


if __name__ == "__main__":
    main()
