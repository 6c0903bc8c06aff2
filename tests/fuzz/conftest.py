"""The fuzz corpus: small valid MP4 / WebM / AVI files written with PyAV, and seeded mutants."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from tests.fuzz.mutations import mutate

#: name, container, encoder, width, height, frames, muxer options
ORIGINALS = [
    ("mp4_h264_160x120", "mp4", "libx264", 160, 120, 24, {}),
    ("mp4_h264_64x48_faststart", "mp4", "libx264", 64, 48, 12, {"movflags": "+faststart"}),
    ("webm_vp9_128x96", "webm", "libvpx-vp9", 128, 96, 20, {}),
    ("webm_vp8_64x48", "webm", "libvpx", 64, 48, 16, {}),
    ("avi_mpeg4_160x120", "avi", "mpeg4", 160, 120, 20, {}),
    ("avi_mjpeg_96x64", "avi", "mjpeg", 96, 64, 12, {}),
]
#: Encoder options: fast, single-threaded (so the bytes do not depend on the machine's cores).
ENCODER_OPTIONS = {
    "libx264": {"preset": "veryfast", "x264-params": "sync-lookahead=0:mbtree=0:threads=1"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "threads": "1"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8", "threads": "1"},
    "mpeg4": {"bf": "2", "g": "8"},
    "mjpeg": {},
}
#: Mutants per run; ``AURA_FUZZ_MUTANTS=3000`` searches deeper locally (seeds 0..N-1).
N_MUTANTS = int(os.environ.get("AURA_FUZZ_MUTANTS", "300"))


@dataclass(frozen=True)
class FuzzCorpus:
    """A manifest corpus: ``manifest`` lists every file of ``root``; ``cases`` describes each."""

    root: Path
    manifest: Path
    originals: list[Path]
    cases: dict[str, str]  # file name -> "original" or "seed N of SOURCE: mutation"


def frames(width: int, height: int, n: int) -> list[np.ndarray]:
    """Moving gradients plus seeded noise, so encoders write real inter frames."""
    rng = np.random.default_rng(width * height + n)
    yy, xx = np.mgrid[0:height, 0:width]
    out = []
    for i in range(n):
        f = np.stack([(xx * 3 + i * 5) % 256, (yy * 4 + i * 3) % 256, ((xx + yy + i * 7) % 64) * 4])
        noise = rng.integers(-8, 8, f.shape)
        out.append(np.clip(f + noise, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy())
    return out


def write_original(
    path: Path, encoder: str, width: int, height: int, n: int, muxer: dict[str, str]
) -> Path:
    opts = {"fflags": "+bitexact", **muxer}
    with av.open(str(path), "w", options=opts) as container:
        stream = container.add_stream(encoder, rate=25, options=ENCODER_OPTIONS[encoder])
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if encoder == "mjpeg" else "yuv420p"
        stream.codec_context.thread_count = 1
        for frame in frames(width, height, n):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture(scope="session")
def fuzz_corpus(tmp_path_factory: pytest.TempPathFactory) -> FuzzCorpus:
    """``N_MUTANTS`` seeded mutants of the originals plus the originals, in one manifest.

    Mutant ``i`` is ``mutate(original[i % 6], seed=i)``; its file name starts ``m<i>_`` and
    ``cases`` records the edit, so any failure is reproduced from the seed.
    """
    root = tmp_path_factory.mktemp("fuzz")
    sources: list[tuple[str, str, bytes]] = []
    originals, cases = [], {}
    for name, kind, encoder, w, h, n, muxer in ORIGINALS:
        path = write_original(root / f"{name}.{kind}", encoder, w, h, n, muxer)
        originals.append(path)
        cases[path.name] = "original"
        sources.append((name, kind, path.read_bytes()))
    for seed in range(N_MUTANTS):
        name, kind, data = sources[seed % len(sources)]
        out, what = mutate(data, kind, seed)
        target = root / f"m{seed:03d}_{name}.{kind}"
        target.write_bytes(out)
        cases[target.name] = f"seed {seed} of {name}.{kind}: {what}"
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label"])
        for i, file in enumerate(sorted(cases)):
            writer.writerow([file, ("real", "fake")[i % 2]])
    (root / "cases.json").write_text(json.dumps(cases, indent=1))
    return FuzzCorpus(root, manifest, originals, cases)
