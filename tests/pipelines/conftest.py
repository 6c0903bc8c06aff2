"""Shared fixtures of the pipeline tests: a tiny FVC-layout corpus with a hostile row, and a
runner for stages 1-4 through Kedro's SequentialRunner."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner

from aura.pipelines import augmentation, features, ingest, scaled_features, scaling
from aura.video import write_video

YT = "https://www.youtube.com/watch?v={}"
SHAPES = {"AAAAAAAAAAA": (160, 90), "BBBBBBBBBBB": (72, 128), "CCCCCCCCCCC": (96, 96)}


def _frames(w: int, h: int, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return [np.roll(base, 2 * i, axis=1) for i in range(n)]


@pytest.fixture(scope="session")
def corpus_ids() -> list[str]:
    """The video ids of the usable videos in ``corpus``."""
    return list(SHAPES)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for i, (vid, (w, h)) in enumerate(SHAPES.items()):
        write_video(root / "videos" / f"{vid}.mp4", _frames(w, h, 18, i), fps=Fraction(25))
    (root / "videos" / "DDDDDDDDDDD.mp4").write_text("<html>not a video</html>")
    rows = [
        ("f0", "AAAAAAAAAAA", "fake"),
        ("r0", "BBBBBBBBBBB", "real"),
        ("r1", "CCCCCCCCCCC", "real"),
        ("f1", "DDDDDDDDDDD", "fake"),
    ]
    (root / "FVC.csv").write_text(
        "cascade_id,video_url,label\n"
        + "".join(f"{c},{YT.format(v)},{lab}\n" for c, v, lab in rows)
    )
    return root


class KeptDataset(MemoryDataset):
    """A MemoryDataset the runner cannot release, so the test can read intermediate outputs."""

    def _release(self) -> None:
        pass


NAMES = [
    "video_index",
    "augmented_metadata",
    "augmented_videos",
    "features_stage2",
    "features_stage2_matrix",
    "scaled_metadata",
    "scaled_videos",
    "features_stage4",
    "features_stage4_matrix",
    "features_stage2_failures",
    "features_stage4_failures",
]


def run_all(corpus: Path, work: Path, backend: str = "serial") -> dict[str, object]:
    params = {
        "corpus": {"kind": "fvc", "root": str(corpus)},
        "ingest": {"progress": False},
        "executor": {"backend": backend, "workers": 2, "progress": False},
        "cache_dir": str(work / "cache"),
        "augmentation": {"k": 2, "seed": 0, "max_side": 128, "output_dir": str(work / "aug")},
        "features": {"num_frames": 6},
        "scaling": {
            "method": "letterbox",
            "target_size": 112,
            "crf": 18,
            "output_dir": str(work / "scaled"),
        },
        "scaled_features": {"num_frames": 6, "prefix": "s4_"},
    }
    catalog = DataCatalog(
        {
            **{f"params:{k}": MemoryDataset(v) for k, v in params.items()},
            **{n: KeptDataset() for n in NAMES},
        }
    )
    pipe = sum(
        (m.create_pipeline() for m in (ingest, augmentation, features, scaling, scaled_features)),
        Pipeline([]),
    )
    SequentialRunner().run(pipe, catalog)
    return {n: catalog.load(n) for n in NAMES}


@pytest.fixture(scope="session")
def run_stages() -> Callable[..., dict[str, object]]:
    """``run_stages(corpus, work, backend="serial")``: stages 1-4, every output by name."""
    return run_all


@pytest.fixture(scope="session")
def outputs(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Stages 1-4 of ``corpus`` on the serial backend (shared: tests must not change them)."""
    return run_all(corpus, tmp_path_factory.mktemp("work"))
