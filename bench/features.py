"""Feature throughput (stage 2/4) and end-to-end time of stages 1–4 on the demo corpus.

    python bench/features.py [--videos 24] [--skip-e2e]

Prints, side by side in one run: videos/s for feature extraction at 112 px and at 1080×1920
(T=16), serially and with the ``processes`` executor (one worker per core), per core; then the
wall time of ``kedro run`` for augmentation → scaled_features on the demo corpus with an empty
cache (cold) and again (warm: everything cached). Targets: ≥ 20 videos/s/core at 112 px and
≥ 2 videos/s/core at 1080p.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def make_clip(path: Path, width: int, height: int, seconds: float = 3.0, fps: int = 30) -> Path:
    import cv2

    from aura.video import VideoWriter

    # Camera-like content (smooth scene, a moving object, mild sensor noise) at a realistic bit
    # rate (crf 26); pure random noise would make decoding dominate and inflate the bit rate.
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : height + 64, 0 : width + 64].astype(np.float32)
    scene = np.stack([xx / (width + 64) * 200, yy / (height + 64) * 180 + 30, (xx + yy) % 256], -1)
    scene = cv2.GaussianBlur(scene, (0, 0), 3).astype(np.uint8)
    with VideoWriter(path, width=width, height=height, fps=fps, gop=60, crf=26) as writer:
        for i in range(int(seconds * fps)):
            frame = np.ascontiguousarray(scene[i % 64 : i % 64 + height, i % 64 : i % 64 + width])
            cv2.circle(
                frame,
                ((i * 7) % width, height // 2),
                max(4, min(width, height) // 8),
                (230, 40, 40),
                -1,
            )
            noise = rng.normal(0, 2, frame.shape).astype(np.int16)
            writer.write(np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8))
    return path


def throughput(clip: Path, n: int, backend: str, cache: Path) -> float:
    from aura.executor import ExecutorConfig, Task, run_tasks
    from aura.pipelines.features.nodes import features_one

    # n distinct tasks over the same file: distinct args keep the cache from short-cutting them.
    tasks = [Task(key=f"v{i}", path=str(clip), args={"copy": i}) for i in range(n)]
    config = ExecutorConfig(backend=backend, progress=False)
    t0 = time.perf_counter()
    rows = run_tasks(
        features_one,
        tasks,
        stage="bench",
        params={"num_frames": 16},
        cache_dir=cache,
        config=config,
    )
    elapsed = time.perf_counter() - t0
    assert all(r["status"] == "ok" for r in rows), rows[0]
    return n / elapsed


def end_to_end(tmp: Path) -> tuple[float, float]:
    """Cold and warm ``kedro run`` of ingest → scaled_features in a throw-away project copy.

    The copy keeps the benchmark's versioned tables and caches out of the user's ``data/``.
    """
    project = tmp / "project"
    (project / "conf" / "local").mkdir(parents=True)
    (project / "src").mkdir()  # the package itself is installed (editable) in the venv
    shutil.copytree(REPO / "conf" / "base", project / "conf" / "base")
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(REPO / name, project / name)
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    stages = "ingest,augmentation,features,scaling,scaled_features"
    cmd = [sys.executable, "-m", "kedro", "run", "--pipelines", stages]
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=project, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=24, help="tasks per measurement")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        clips = {
            "112x112": make_clip(tmp / "s112.mp4", 112, 112),
            "1080x1920": make_clip(tmp / "s1080.mp4", 1080, 1920),
        }
        print(f"feature extraction, T=16, {args.videos} videos per cell, {cores} cores")
        print(
            f"{'clip':<11}{'serial v/s':>12}{'processes v/s':>15}{'per core':>10}{'speed-up':>10}"
        )
        for name, clip in clips.items():
            n = args.videos * 4 if name == "112x112" else args.videos // 2
            serial = throughput(clip, n, "serial", tmp / f"c-{name}-s")
            procs = throughput(clip, n, "processes", tmp / f"c-{name}-p")
            print(
                f"{name:<11}{serial:>12.1f}{procs:>15.1f}{procs / cores:>10.1f}{procs / serial:>9.2f}x"
            )
        if not args.skip_e2e:
            cold, warm = end_to_end(tmp)
            print(
                f"\nstages ingest→scaled_features on the demo corpus: cold {cold:.1f} s, warm (all cached) {warm:.1f} s"
            )


if __name__ == "__main__":
    main()
