"""Real short videos whose fakes carry a visible artefact in one time segment and one region."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from aura.video import write_video
from tests.conftest import texture

#: 32 frames at 8 fps (4 s, four 1-s segments), 64 px square, a 16-px artefact patch.
N_FRAMES, FPS, SIDE, PATCH, SEGMENT_S = 32, 8, 64, 16, 1.0


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """Run these tiny nets on one thread: faster, and a busy 2-core runner cannot make the
    OpenMP workers spin (we measured 10-100x slower forwards with 2 threads under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class ArtefactVideo:
    """A written video; ``segment`` (index of the 1-s segment) and ``box`` (top, left of the
    PATCH square) say where a fake's artefact is (None for real videos)."""

    path: Path
    fake: bool
    segment: int | None
    box: tuple[int, int] | None


def _checker() -> np.ndarray:
    """A 2-px black/white checkerboard PATCH x PATCH x 3: high-frequency, survives H.264."""
    cells = np.indices((PATCH, PATCH)).sum(axis=0) // 2 % 2 * 255
    return np.repeat(cells.astype(np.uint8)[..., None], 3, axis=2)


def write_artefact_video(path: Path, rng: np.random.Generator, fake: bool) -> ArtefactVideo:
    """The moving test texture (random phase); a fake pastes the checker patch at a random
    place during one random segment."""
    phase = int(rng.integers(0, 200))
    segment = int(rng.integers(0, round(N_FRAMES / FPS / SEGMENT_S)))
    top, left = (int(v) for v in rng.integers(0, SIDE - PATCH + 1, size=2))
    per_segment = round(FPS * SEGMENT_S)
    patch = _checker()

    def frames():
        for i in range(N_FRAMES):
            img = texture(i + phase, SIDE, SIDE).copy()
            if fake and segment * per_segment <= i < (segment + 1) * per_segment:
                img[top : top + PATCH, left : left + PATCH] = patch
            yield img

    write_video(path, frames(), fps=FPS)
    if not fake:
        return ArtefactVideo(path, False, None, None)
    return ArtefactVideo(path, True, segment, (top, left))


@pytest.fixture(scope="session")
def artefact_videos(tmp_path_factory: pytest.TempPathFactory) -> list[ArtefactVideo]:
    """48 videos alternating real/fake (seeded); ~0.5 s to write."""
    root = tmp_path_factory.mktemp("artefact_videos")
    rng = np.random.default_rng(2026)
    return [write_artefact_video(root / f"v{i:02d}.mp4", rng, fake=i % 2 == 1) for i in range(48)]
