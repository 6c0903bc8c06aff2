"""Benchmark exact T-frame sampling: aura.video.sample_frames against the usual alternatives.

    python bench/sampler.py [--videos DIR] [--repeat N] [--quick] [-T 16]

Generates (once, cached under data/bench/) 30 fps H.264 clips (x264 veryfast, B-frames,
one slice per frame) of three shapes, each with a long (250) and a short (60) GOP, then times, per clip and method, one call in a fresh
subprocess so that peak RSS (ru_maxrss) belongs to that method alone:

  ours      aura.video.sample_frames(path, T)                full resolution RGB
  ours@112  aura.video.sample_frames(path, T, size=112)      what the pipeline uses
  full      decode every frame to an RGB ndarray in a list, then pick T (the naive way)
  seek      PyAV seek-per-frame: seek backward to the keyframe before each target, decode to it
  tc        torchcodec VideoDecoder(path, seek_mode="exact").get_frames_at(indices), if installed

Times are the median of N runs of the sampling call alone (imports and interpreter start
excluded); RSS is the median peak of the whole worker process, imports included.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _memory import peak_rss_mb  # bench/ is the script's folder, so on sys.path

ROOT = Path(__file__).resolve().parents[1]
FPS = 30
#: (name, width, height, seconds, bit_rate) of the full-size clips; --quick shrinks them.
SHAPES = [
    ("640x360_10s", 640, 360, 10.0, 1_000_000),
    ("1080x1920_15s", 1080, 1920, 15.0, 5_000_000),
    ("1280x720_60s", 1280, 720, 60.0, 2_500_000),
]
QUICK_SHAPES = [
    ("320x180_2s", 320, 180, 2.0, 400_000),
    ("270x480_2s", 270, 480, 2.0, 600_000),
    ("320x180_6s", 320, 180, 6.0, 400_000),
]
GOPS = (250, 60)
METHODS = ("ours", "ours@112", "full", "seek", "tc")


# --------------------------------------------------------------------------- clips


def _content(width: int, height: int, n: int, seed: int = 0):
    """Panning textured background with moving discs: real motion, compressible but not trivial."""
    import cv2

    rng = np.random.default_rng(seed)
    bw, bh = width * 2, height * 2
    coarse = rng.integers(0, 255, (max(2, bh // 32), max(2, bw // 32), 3), dtype=np.uint8)
    base = cv2.resize(coarse, (bw, bh), interpolation=cv2.INTER_CUBIC)
    grain = rng.integers(0, 40, (bh, bw, 1), dtype=np.uint8)
    bg = cv2.add(base, np.repeat(grain, 3, axis=2))
    discs = [
        (
            rng.uniform(0, width),
            rng.uniform(0, height),
            rng.uniform(-6, 6),
            rng.uniform(-6, 6),
            int(rng.integers(8, max(10, min(width, height) // 6))),
            tuple(int(c) for c in rng.integers(0, 255, 3)),
        )
        for _ in range(6)
    ]
    for i in range(n):
        t = i / max(n, 1)
        x0 = int((bw - width) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t)))
        y0 = int((bh - height) * (0.5 + 0.5 * np.cos(2 * np.pi * 0.7 * t)))
        frame = bg[y0 : y0 + height, x0 : x0 + width].copy()
        for x, y, vx, vy, r, color in discs:
            cv2.circle(frame, (int((x + vx * i) % width), int((y + vy * i) % height)), r, color, -1)
        yield frame


def make_clips(folder: Path, quick: bool) -> list[Path]:
    from aura.video.writer import write_video

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, w, h, secs, bit_rate in QUICK_SHAPES if quick else SHAPES:
        for gop in GOPS:
            path = folder / f"{name}_gop{gop}_1slice.mp4"
            if not path.exists() or path.stat().st_size == 0:
                t0 = time.perf_counter()
                tmp = path.with_name(f".tmp_{path.name}")
                frames = _content(w, h, int(secs * FPS))
                # One slice per frame, as x264/ffmpeg write by default (PyAV's default slice
                # threading would make the slice count depend on this machine's cores).
                opts = {"x264-params": "sliced-threads=0"}
                write_video(
                    tmp,
                    frames,
                    fps=FPS,
                    gop=gop,
                    bit_rate=bit_rate,
                    preset="veryfast",
                    options=opts,
                )
                tmp.replace(path)
                print(f"generated {path} in {time.perf_counter() - t0:.1f}s", flush=True)
            paths.append(path)
    return paths


# --------------------------------------------------------------------------- workers


def _full_decode(path: str, t: int) -> np.ndarray:
    import av

    from aura.video.sampler import sample_indices

    with av.open(path) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return np.stack([frames[i] for i in sample_indices(len(frames), t)])


def _seek_per_frame(path: str, t: int) -> np.ndarray:
    import av

    from aura.video.sampler import sample_indices

    out = []
    with av.open(path) as container:
        stream = container.streams.video[0]
        indices = sample_indices(stream.frames, t)  # header count: the bench clips are MP4
        step = 1 / (float(stream.average_rate) * float(stream.time_base))
        start = stream.start_time or 0
        for i in indices:
            target = start + round(int(i) * step)
            container.seek(target, stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is not None and frame.pts >= target:
                    out.append(frame.to_ndarray(format="rgb24"))
                    break
    return np.stack(out)


def _torchcodec(path: str, t: int) -> np.ndarray:
    from torchcodec.decoders import VideoDecoder

    from aura.video.sampler import sample_indices

    decoder = VideoDecoder(path, seek_mode="exact")
    indices = sample_indices(decoder.metadata.num_frames, t)
    batch = decoder.get_frames_at(indices.tolist())
    return batch.data.permute(0, 2, 3, 1).numpy()


def worker(method: str, path: str, t: int, dump: str) -> None:
    """Run one method once; print a JSON line with its time, RSS and a fingerprint of the frames."""
    rss = peak_rss_mb
    from aura.video.sampler import sample_frames

    if method == "tc":
        import torchcodec.decoders  # noqa: F401  (import cost is not part of the timing)
    elif method in ("full", "seek"):
        import av  # noqa: F401
    base = rss()
    t0 = time.perf_counter()
    if method.startswith("ours"):
        size = 112 if "@112" in method else None
        threads = int(method.split("-t")[1]) if "-t" in method else 0
        frames = sample_frames(path, t, size=size, threads=threads).frames
    else:
        fn = {"full": _full_decode, "seek": _seek_per_frame, "tc": _torchcodec}[method]
        frames = fn(path, t)
    ms = (time.perf_counter() - t0) * 1e3
    peak = rss()  # before fingerprinting, which copies the frames
    digest = hashlib.sha1(np.ascontiguousarray(frames).tobytes()).hexdigest()[:12]
    np.save(dump, np.ascontiguousarray(frames[:, ::4, ::4]))
    print(json.dumps({"ms": ms, "rss": peak, "base": base, "sha": digest, "shape": frames.shape}))


def _run(method: str, path: Path, t: int, dump: Path) -> dict | None:
    cmd = [sys.executable, __file__, "--worker", method, str(path), str(t), str(dump)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        print(
            f"  {method} on {path.name} failed: {res.stderr.strip().splitlines()[-1:]}", flush=True
        )
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def torchcodec_status() -> str | None:
    """None when torchcodec imports and decodes; otherwise why it is skipped."""
    code = "import torchcodec.decoders as d; print(d.VideoDecoder.__name__)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if res.returncode == 0:
        return None
    last = (res.stderr.strip().splitlines() or ["unknown error"])[-1]
    return f"torchcodec skipped: {last[:160]}"


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--videos", type=Path, default=None, help="folder of clips (default data/bench)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per method and clip (median)")
    ap.add_argument("--quick", action="store_true", help="tiny clips, one run: a smoke test")
    ap.add_argument("-T", type=int, default=16, help="frames to sample")
    ap.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma-separated subset; 'ours-tN' / 'ours@112-tN' pin N decoder threads",
    )
    ap.add_argument(
        "--worker", nargs=4, metavar=("METHOD", "PATH", "T", "DUMP"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.worker:
        method, path, t, dump = args.worker
        worker(method, path, int(t), dump)
        return

    folder = args.videos or ROOT / "data" / "bench" / ("quick" if args.quick else "")
    repeat = 1 if args.quick else max(1, args.repeat)
    clips = make_clips(folder, args.quick) if args.videos is None else sorted(folder.glob("*.mp4"))
    why_no_tc = torchcodec_status()
    methods = [m for m in args.methods.split(",") if m != "tc" or why_no_tc is None]
    print(f"T={args.T}, median of {repeat} run(s), {os.cpu_count()} CPU(s); one subprocess per run")
    if why_no_tc:
        print(why_no_tc)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            res: dict[str, dict] = {}
            for method in methods:
                runs = [
                    _run(method, clip, args.T, Path(tmp) / f"{method}.npy") for _ in range(repeat)
                ]
                runs = [r for r in runs if r]
                if runs:
                    res[method] = {
                        "ms": statistics.median(r["ms"] for r in runs),
                        "rss": statistics.median(r["rss"] for r in runs),
                        "sha": runs[-1]["sha"],
                    }
            exact = "ours" in res and all(
                res[m]["sha"] == res["ours"]["sha"] for m in ("full", "seek") if m in res
            )
            tc_diff = None
            if "tc" in res and "ours" in res:
                a = np.load(Path(tmp) / "ours.npy").astype(np.int16)
                b = np.load(Path(tmp) / "tc.npy").astype(np.int16)
                tc_diff = float(np.abs(a - b).mean()) if a.shape == b.shape else float("nan")
            rows.append((clip.stem, res, exact, tc_diff))
            summary = "  ".join(f"{m} {r['ms']:.0f}ms/{r['rss']:.0f}MB" for m, r in res.items())
            print(f"  {clip.name}: {summary}", flush=True)
    _print_table(rows)


def _print_table(rows: list) -> None:
    def ms(res: dict, m: str) -> str:
        return f"{res[m]['ms']:.0f}" if m in res else "-"

    def rss(res: dict, m: str) -> str:
        return f"{res[m]['rss']:.0f}" if m in res else "-"

    def ratio(res: dict, a: str, b: str) -> str:
        return f"{res[a]['ms'] / res[b]['ms']:.2f}" if a in res and b in res else "-"

    head = (
        f"{'clip':<28}{'ours':>7}{'@112':>7}{'full':>8}{'seek':>7}{'tc':>7}"
        f"{'full/ours':>10}{'ours/tc':>9}{'exact':>7}{'|tc-ours|':>10}"
        f"   RSS MB: {'ours':>5}{'@112':>6}{'full':>7}{'seek':>6}{'tc':>6}"
    )
    print()
    print("time in ms per video (median); full/ours = speed-up; ours/tc = time ratio")
    print(head)
    print("-" * len(head))
    for name, res, exact, tc_diff in rows:
        diff = f"{tc_diff:.2f}" if tc_diff is not None else "-"
        print(
            f"{name:<28}{ms(res, 'ours'):>7}{ms(res, 'ours@112'):>7}{ms(res, 'full'):>8}"
            f"{ms(res, 'seek'):>7}{ms(res, 'tc'):>7}{ratio(res, 'full', 'ours'):>10}"
            f"{ratio(res, 'ours', 'tc'):>9}{'yes' if exact else 'NO':>7}{diff:>10}"
            f"           {rss(res, 'ours'):>5}{rss(res, 'ours@112'):>6}{rss(res, 'full'):>7}"
            f"{rss(res, 'seek'):>6}{rss(res, 'tc'):>6}"
        )
    print("-" * len(head))
    _print_targets(rows)


def _print_targets(rows: list) -> None:
    """One line per target of the brief: met or missed, clip by clip."""

    def check(label: str, test, rows) -> None:
        got = [(name, test(res)) for name, res, _, _ in rows]
        got = [(n, v) for n, v in got if v is not None]
        if not got:
            print(f"{label}: not measured")
            return
        missed = [f"{n} ({v[1]})" for n, v in got if not v[0]]
        verdict = "met on all clips" if not missed else "MISSED on " + ", ".join(missed)
        print(f"{label}: {verdict}")

    def vs_tc(res):
        if "ours" in res and "tc" in res:
            r = res["ours"]["ms"] / res["tc"]["ms"]
            return r <= 1.1, f"{r:.2f}x"
        return None

    def vs_full(res):
        if "ours" in res and "full" in res:
            r = res["full"]["ms"] / res["ours"]["ms"]
            return r >= 5, f"{r:.1f}x"
        return None

    def rss(method):
        def test(res):
            if method in res:
                return res[method]["rss"] <= 150, f"{res[method]['rss']:.0f} MB"
            return None

        return test

    check("target ours <= 1.1x torchcodec-exact time", vs_tc, rows)
    check("target ours >= 5x faster than full decode", vs_full, rows)
    big = [r for r in rows if r[0].startswith("1080x1920")]
    check("target peak RSS <= 150 MB on 1080x1920 (full-res output)", rss("ours"), big)
    check("target peak RSS <= 150 MB on 1080x1920 (size=112)", rss("ours@112"), big)


if __name__ == "__main__":
    main()
