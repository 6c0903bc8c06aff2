"""Shared test set-up: offline, no telemetry, where the real FVC annotation files live, real
video files with miscounting headers or above the pixel cap, and the one demo run of a test
session (shared by pytest-xdist workers)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

if TYPE_CHECKING:
    from aura.training.clips import ClipItem

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fvc_dir() -> Path:
    """The real FVC annotation CSVs (``$AURA_FVC_DIR`` or ``../shared/fvc`` beside the repo)."""
    path = Path(os.environ.get("AURA_FVC_DIR", REPO.parent / "shared" / "fvc"))
    if not (path / "FVC.csv").is_file():
        pytest.skip(f"real FVC annotation files not found in {path} (set AURA_FVC_DIR)")
    return path


# --- Real files with quirky headers, and files too large to decode ------------------------------
# Built once per session. FFmpeg's own writers make them; the headers are patched as bytes.


@dataclass(frozen=True)
class Quirky:
    """A video whose header frame count (``header``) differs from its real frames (``n``)."""

    path: Path
    n: int
    header: int


def texture(i: int, w: int = 160, h: int = 96) -> np.ndarray:
    """An RGB frame with a moving texture, so encoders write real P-frames."""
    x = (np.arange(w)[None, :] * 3 + i * 5) % 256
    y = (np.arange(h)[:, None] * 5 + i * 3) % 256
    f = np.empty((h, w, 3), np.uint8)
    f[..., 0], f[..., 1], f[..., 2] = x, y, (x + y) % 256
    return f


def checker(i: int, w: int, h: int) -> np.ndarray:
    """A 64-px checkerboard shifted by frame: compresses to almost nothing at any size."""
    row = (np.arange(w) // 64 + 4 * i) % 2
    col = np.arange(h) // 64 % 2
    g = ((row[None, :] ^ col[:, None]) * 120 + 60).astype(np.uint8)
    return np.repeat(g[:, :, None], 3, axis=2)


def avi_chunk_sizes(path: Path) -> list[int]:
    """Sizes of the video chunks (``00dc``/``00db``) in an AVI's ``movi`` list, in file order."""
    data = path.read_bytes()
    pos, sizes = data.index(b"movi") + 4, []
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if tag == b"idx1":
            break
        if tag in (b"00dc", b"00db"):
            sizes.append(size)
        pos += 8 + size + (size & 1)
    return sizes


def write_drop_frame_avi(path: Path, n: int = 40, gap_every: int = 5, tail: int = 3) -> Quirky:
    """An MPEG-4 AVI with drop frames, as capture software writes them.

    Every ``gap_every``-th frame is followed by two missing frames and ``tail`` more end the
    file: FFmpeg's AVI muxer writes each as a zero-length chunk (its own way of keeping a
    constant frame rate), so the header counts them and the stream holds ``n`` frames.
    """
    tb = Fraction(1, 25)
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        s.codec_context.gop_size, s.codec_context.max_b_frames = 12, 0
        t = 0
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(texture(i), format="rgb24")
            frame.pts, frame.time_base = t, tb
            for pk in s.encode(frame):
                c.mux(pk)
            t += 3 if i % gap_every == gap_every - 1 else 1
        for pk in s.encode(None):
            c.mux(pk)
        for k in range(tail):
            pk = av.Packet(b"")
            pk.pts = pk.dts = t + k
            pk.time_base, pk.stream = tb, s
            c.mux(pk)
    return Quirky(path, n, len(avi_chunk_sizes(path)))


def patch_avi_frame_count(src: Path, dst: Path, total: int) -> Path:
    """Copy ``src`` with its frame count set to ``total`` in every header that states it:
    ``avih`` dwTotalFrames, the video ``strh`` dwLength and OpenDML ``dmlh``."""
    data = bytearray(src.read_bytes())
    struct.pack_into("<I", data, data.index(b"avih") + 8 + 16, total)
    pos = 0
    while (pos := data.find(b"strh", pos + 1)) >= 0:
        if data[pos + 8 : pos + 12] == b"vids":
            struct.pack_into("<I", data, pos + 8 + 32, total)
    if (pos := data.find(b"dmlh")) >= 0:
        struct.pack_into("<I", data, pos + 8, total)
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="session")
def quirky(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Quirky]:
    """Valid videos whose headers miscount: ``drop`` (AVI drop frames), ``off_by_one`` (header
    one frame more than the stream, as after ``ffmpeg -c copy`` cuts) and ``billion``
    (header claims 10^9 frames)."""
    from aura.video.writer import write_video

    d = tmp_path_factory.mktemp("quirky")
    mpeg4 = write_video(
        d / "plain.avi", (texture(i) for i in range(30)), fps=25, codec="mpeg4", gop=10, bframes=2
    )
    return {
        "drop": write_drop_frame_avi(d / "drop.avi"),
        "off_by_one": Quirky(patch_avi_frame_count(mpeg4, d / "cut.avi", 31), 30, 31),
        "billion": Quirky(patch_avi_frame_count(mpeg4, d / "billion.avi", 10**9), 30, 10**9),
    }


def write_checker(path: Path, width: int, height: int, n: int) -> Path:
    """An H.264 clip of a moving checkerboard (tiny file whatever the size)."""
    from aura.video.writer import VideoWriter

    opts = {"x264-params": "threads=2:rc-lookahead=0"}
    with VideoWriter(
        path, width=width, height=height, fps=25, preset="ultrafast", gop=10, options=opts
    ) as w:
        for i in range(n):
            w.write(checker(i, width, height))
    return path


@pytest.fixture(scope="session")
def huge_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~270 KB 2-frame 8192x8192 H.264 clip (8x the default pixel cap; ~4 s to write)."""
    return write_checker(tmp_path_factory.mktemp("huge") / "huge.mp4", 8192, 8192, 2)


@pytest.fixture
def stage_index():
    """Build a ``video_index`` whose rows are all ``ok`` from ``{video_id: path}``.

    For calling a stage node directly, as if ingest had accepted every file.
    """
    import polars as pl

    def build(paths: dict[str, Path]) -> pl.DataFrame:
        ids = list(paths)
        return pl.DataFrame(
            {
                "video_id": ids,
                "label": ["fake" if i % 2 else "real" for i in range(len(ids))],
                "target": [i % 2 for i in range(len(ids))],
                "cascade_id": ids,
                "group_id": ids,
                "path": [str(p) for p in paths.values()],
                "status": ["ok"] * len(ids),
                "error": [None] * len(ids),
            },
            schema_overrides={"target": pl.Int8, "error": pl.String},
        )

    return build


@pytest.fixture(scope="session")
def cap_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-frame 3840x2160 H.264 clip: exactly the default pixel cap (~3 s to write)."""
    return write_checker(tmp_path_factory.mktemp("cap") / "cap.mp4", 3840, 2160, 20)


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    """A deflated zip at ``path`` holding ``members`` (name -> bytes)."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def aura_cli(*args: str | Path):
    """Invoke the ``aura`` command in-process; returns click's ``Result``."""
    from click.testing import CliRunner

    from aura.console import main

    return CliRunner().invoke(main, [str(a) for a in args])


def tiny_vae(folder: Path, blocks: tuple[int, ...] = (8, 16)) -> Path:
    """A small random diffusers VAE saved to ``folder`` (needs the ``vae`` extra)."""
    import diffusers
    import torch

    torch.manual_seed(0)
    vae = diffusers.AutoencoderKL(
        block_out_channels=blocks,
        down_block_types=("DownEncoderBlock2D",) * len(blocks),
        up_block_types=("UpDecoderBlock2D",) * len(blocks),
        latent_channels=4,
        norm_num_groups=8,
        layers_per_block=1,
    )
    vae.save_pretrained(folder)
    return folder


@pytest.fixture
def tracking(tmp_path: Path):
    """An active MLflow run whose store and artifacts live in ``tmp_path``."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = mlflow.create_experiment("t", artifact_location=(tmp_path / "art").as_uri())
    with mlflow.start_run(experiment_id=exp) as run:
        yield run
    mlflow.set_tracking_uri("")


def make_clip_items(root: Path, n: int = 12) -> list[ClipItem]:
    """``n`` 64x64 videos of 20-30 frames; every third is fake: brighter and noisy."""
    from aura.training.clips import ClipItem
    from aura.video import probe, write_video

    size = 64
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    items = []
    for i in range(n):
        fake = i % 3 == 0
        frames = []
        for t in range(20 + (i * 7) % 11):
            base = ((xx + yy + 3 * t + 11 * i) % 64 + 40).astype(np.float64)
            f = np.stack([base, base * 0.8, base * 0.6], -1)
            if fake:
                f = f + 90 + rng.normal(0, 25, f.shape)
            frames.append(np.clip(f, 0, 255).astype(np.uint8))
        path = write_video(root / f"v{i:02d}.mp4", frames)
        items.append(ClipItem(f"v{i:02d}", path, int(fake), probe(path).n_frames))
    return items


#: The demo's deep-model settings (conf/base/parameters_training.yml), small enough for CPU tests.
DEMO: dict[str, dict[str, Any]] = {
    "naive_cnn": {"width": 16},
    "r3d18_inception": {"branch_channels": 16},
    "vit_gru": {
        "vit_name": "vit_tiny_patch16_224",
        "vit_kwargs": {"depth": 2},
        "img_size": 112,
        "hidden": 64,
    },
    "vit_transformer": {
        "vit_name": "vit_tiny_patch16_224",
        "vit_kwargs": {"depth": 2},
        "img_size": 112,
    },
    "x3d": {"width_factor": 1.0, "depth_factor": 1.0, "head_dim_out": 256},
    "slowfast": {"depth": 18, "width": 32},
    "swin3d_t": {"embed_dim": 24, "depths": (1, 1, 1, 1), "num_heads": (1, 2, 3, 6)},
    "two_stream": {"width": 8},
}
#: Clip models too heavy for the per-model tests above (mvit_v2_s: every forward is 16x224x224);
#: tests/models/test_video_transformers.py covers them.
HEAVY: dict[str, dict[str, Any]] = {"mvit_v2_s": {}}


# --- The demo run: `kedro run` on a reduced grid, once per test session ---------------------------

KEDRO = [sys.executable, "-m", "kedro"]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "250",
    }


def make_project(dest: Path) -> Path:
    """A throw-away copy of the project (config, notebooks, empty data) sharing the source tree."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(REPO / name, dest / name)
    shutil.copytree(REPO / "conf" / "base", dest / "conf" / "base")
    (dest / "conf" / "local").mkdir()
    shutil.copytree(REPO / "notebooks", dest / "notebooks")
    (dest / "src").mkdir()  # the package itself is installed (editable) in the venv
    return dest


def kedro(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*KEDRO, *args],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"kedro {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result


#: The project tests prove the wiring, not the demo's size (its numbers are in the README): a
#: smaller corpus, 3 folds, two deep families for one epoch, two perturbations. Lists use ";"
#: because kedro's ``--params`` splits on every comma.
GRID = {
    "corpus.demo.n_cascades": "16",
    "training.n_folds": "3",
    "training.models": "logistic_regression;svm;metadata;naive_cnn;slowfast",
    "training.trainer.max_epochs": "1",
    "evaluation.bootstrap": "200",
    "evaluation.robustness.max_videos": "1",
    "evaluation.robustness.perturbations": "crf30;caption",
}
PARAMS = ",".join(f"{k}={v}" for k, v in GRID.items())
#: Left out of the snapshot: per-video caches and training checkpoints (nothing reads them).
SNAPSHOT_SKIP = {Path("data"): {"09_cache"}, Path("data", "06_models"): {"checkpoints"}}


@dataclass(frozen=True)
class DemoRun:
    """The finished demo project and a copy of it taken right after the run."""

    project: Path  # tests/test_project.py keeps writing new versions into it
    snapshot: Path  # for read-only users (the dashboard tests): always the run's own outputs


def _demo_run(root: Path) -> DemoRun:
    project = make_project(root / "proj" / "aura")
    # TIMEOUT_NOTE
    kedro(project, "run", "--params", PARAMS, timeout=1800)

    def skip(folder: str, names: list[str]) -> set[str]:
        return SNAPSHOT_SKIP.get(Path(folder).relative_to(project), set()) & set(names)

    snapshot = root / "snapshot" / "aura"
    shutil.copytree(project, snapshot, ignore=skip)
    return DemoRun(project, snapshot)


@pytest.fixture(scope="session")
def demo_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``kedro run`` (the ``make run`` job) on a reduced demo grid in a project copy, once per
    test session: pytest-xdist workers share it through a file lock in the session's common
    temp folder (the pytest-xdist recipe), the first one runs it, a marker tells the others."""
    if not hasattr(request.config, "workerinput"):  # no xdist workers: pytest caches it
        return _demo_run(tmp_path_factory.mktemp("demo"))
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / "demo"
    done, failed = root.with_name("demo.done.json"), root.with_name("demo.failed.txt")
    with FileLock(str(root) + ".lock"):
        if failed.is_file():
            pytest.fail(f"the session's demo run failed on another worker:\n{failed.read_text()}")
        if done.is_file():
            paths = json.loads(done.read_text())
            return DemoRun(Path(paths["project"]), Path(paths["snapshot"]))
        try:
            run = _demo_run(root)
        except BaseException as err:
            failed.write_text(f"{type(err).__name__}: {err}"[-5000:])
            raise
        done.write_text(json.dumps({"project": str(run.project), "snapshot": str(run.snapshot)}))
        return run


@pytest.fixture(scope="session")
def demo_project(demo_run: DemoRun) -> Path:
    """The finished demo project (tests may run more pipelines in it)."""
    return demo_run.project


@pytest.fixture(scope="session")
def demo_snapshot(demo_run: DemoRun) -> Path:
    """A copy of the finished demo project that no test writes to (no cache, no checkpoints)."""
    return demo_run.snapshot
