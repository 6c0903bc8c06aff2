"""Clip-level data for video models: items, a frame-sampling dataset and class-balanced batches.

Training clips get fresh TSN-style temporal jitter every epoch (one random frame per equal
segment), seeded by ``(seed, epoch, item index)`` so a run reproduces; validation clips use the
fixed centre-of-segment indices of :func:`aura.video.sample_indices`. Native-resolution crops
(``crop``) are placed the same way: a random place per ``(seed, epoch, item index)`` in
training, the same in every frame of the clip; centred otherwise.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from aura.video import Crop, VideoDecodeError, sample_frames, sample_indices

#: Kinetics-style normalisation: ``(x / 255 - MEAN) / STD`` on every channel.
MEAN = 0.45
STD = 0.225
CLASS_NAMES = {0: "real", 1: "fake"}


@dataclass(frozen=True)
class ClipItem:
    """One video to sample clips from; ``target`` is 0 (real) or 1 (fake)."""

    video_id: str
    path: str | Path
    target: int
    n_frames: int


def jitter_indices(n_frames: int, num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """TSN sampling: one random index per equal segment, ``floor((i + u_i) * n / T)``.

    Sorted; with fewer frames than segments (``n < T``) indices repeat.
    """
    if n_frames < 1 or num_frames < 1:
        raise ValueError(f"need n_frames >= 1 and num_frames >= 1, got {n_frames}, {num_frames}")
    u = rng.random(num_frames)
    idx = np.floor((np.arange(num_frames) + u) * n_frames / num_frames).astype(np.int64)
    return np.minimum(idx, n_frames - 1)


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 RGB -> normalised float32 (3, T, H, W)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float()
    return ((x / 255.0 - MEAN) / STD).contiguous()


class ClipDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Items -> ``(clip (3, T, H, W) float32, target float32 scalar)``.

    ``train`` draws jittered indices per epoch (see :meth:`set_epoch`); otherwise indices are
    the fixed uniform ones. ``size`` letterboxes frames to ``size`` x ``size``; ``crop``
    instead takes a ``crop`` x ``crop`` window of each frame at native resolution (see
    :meth:`crop_of`; the two exclude each other). ``cache_dir``: decoded clips are kept there
    as ``.npy`` files keyed by the file (path, size, mtime), the frame indices and the window,
    so the cells of one fold (every model draws the same clips from the same seed) and a
    re-run decode each clip once; it grows by items x epochs x T x H x W x 3 bytes.
    """

    def __init__(
        self,
        items: Sequence[ClipItem],
        num_frames: int,
        train: bool,
        seed: int = 0,
        size: int | None = None,
        crop: int | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        if size is not None and crop is not None:
            raise ValueError("ClipDataset takes a letterbox size or a crop, not both")
        self.items = list(items)
        self.num_frames = num_frames
        self.train = train
        self.seed = seed
        self.size = size
        self.crop = crop
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose jitter training clips use."""
        self.epoch = int(epoch)

    @property
    def targets(self) -> list[int]:
        return [int(it.target) for it in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def frame_indices(self, index: int) -> np.ndarray:
        """Frame indices item ``index`` is sampled at in the current epoch."""
        n = self.items[index].n_frames
        if not self.train:
            return sample_indices(n, self.num_frames)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return jitter_indices(n, self.num_frames, rng)

    def crop_of(self, index: int) -> Crop | None:
        """The crop item ``index`` is sampled with in the current epoch (None: no crop).

        Training: a uniformly random place, drawn from ``(seed, epoch, index)`` on a stream of
        its own (the temporal jitter is unchanged by it); otherwise centred.
        """
        if self.crop is None:
            return None
        if not self.train:
            return Crop(self.crop)
        rng = np.random.default_rng([self.seed, self.epoch, index, 1])
        fy, fx = rng.random(2)
        return Crop(self.crop, (float(fy), float(fx)))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        item = self.items[index]
        idx = self.frame_indices(index)
        crop = self.crop_of(index)
        cached = self._cache_file(item, idx, crop)
        frames = _load(cached)
        if frames is None:
            frames = self._decode(item, idx, crop)
            if cached is not None:
                _save_atomic(cached, frames)
        return to_tensor(frames), torch.tensor(float(item.target), dtype=torch.float32)

    def _decode(self, item: ClipItem, idx: np.ndarray, crop: Crop | None) -> np.ndarray:
        try:
            clip = sample_frames(item.path, self.num_frames, size=self.size, indices=idx, crop=crop)
        except VideoDecodeError as e:
            raise VideoDecodeError(item.path, e.reason, f"video {item.video_id}: {e.detail}") from e
        except ValueError as e:  # e.g. a stale n_frames: indices past the end of the file
            raise VideoDecodeError(item.path, "frames", f"video {item.video_id}: {e}") from e
        return clip.frames

    def _cache_file(self, item: ClipItem, idx: np.ndarray, crop: Crop | None) -> Path | None:
        """Where the clip of ``item`` at ``idx`` / ``crop`` is kept (None: no cache or no file)."""
        if self.cache_dir is None:
            return None
        try:
            st = os.stat(item.path)
        except OSError:
            return None  # decoding names the missing file
        key = json.dumps(
            [
                str(Path(item.path).resolve()),
                st.st_size,
                st.st_mtime_ns,
                idx.tolist(),
                self.size,
                None if crop is None else [crop.size, crop.at],
            ]
        )
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.npy"


def _load(path: Path | None) -> np.ndarray | None:
    """The cached clip at ``path``; None when there is none or it cannot be read (decode again)."""
    if path is None or not path.is_file():
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None


def _save_atomic(path: Path, frames: np.ndarray) -> None:
    """Write ``frames`` to ``path`` so a concurrent reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, frames)
    os.replace(tmp, path)


class BalancedBatchSampler(Sampler[list[int]]):
    """Batches of ``batch_size // 2`` real and ``batch_size // 2`` fake indices.

    Each epoch (see :meth:`set_epoch`) both classes are reshuffled; the minority class is
    oversampled (whole reshuffled passes, cycled) to match the majority, so an epoch has
    ``ceil(2 * max_class_count / (batch_size * num_replicas))`` batches and sees every item at
    least once.

    Distributed (``num_replicas`` > 1): every rank draws the same global batches of
    ``batch_size * num_replicas`` from ``(seed, epoch)`` and keeps its own balanced slice of
    ``batch_size``, so the ranks' batches of one step are disjoint places in the class streams
    and together are the batch a single process with ``batch_size * num_replicas`` would draw.
    """

    def __init__(
        self,
        targets: Sequence[int],
        batch_size: int,
        seed: int = 0,
        *,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if isinstance(batch_size, bool) or batch_size < 2 or batch_size % 2:
            raise ValueError(f"batch_size must be an even integer >= 2, got {batch_size!r}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"need 0 <= rank < num_replicas, got rank {rank} of {num_replicas}")
        t = np.asarray([int(x) for x in targets], dtype=np.int64)
        if bad := sorted(set(t.tolist()) - {0, 1}):
            raise ValueError(f"targets must be 0 (real) or 1 (fake), got {bad}")
        self.by_class = [np.flatnonzero(t == c) for c in (0, 1)]
        if missing := [CLASS_NAMES[c] for c in (0, 1) if len(self.by_class[c]) == 0]:
            raise ValueError(f"balanced batches need both classes; no {missing[0]} item in targets")
        self.batch_size = batch_size
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        biggest = max(len(c) for c in self.by_class)
        return math.ceil(2 * biggest / (self.batch_size * self.num_replicas))

    def _stream(self, members: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
        passes = math.ceil(count / len(members))
        return np.concatenate([rng.permutation(members) for _ in range(passes)])[:count]

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        half = self.batch_size // 2
        step = half * self.num_replicas  # per class, per global batch
        real, fake = (self._stream(m, len(self) * step, rng) for m in self.by_class)
        for b in range(len(self)):
            # every rank draws every rank's permutation: the generator stays in step
            for r in range(self.num_replicas):
                lo = b * step + r * half
                batch = rng.permutation(
                    np.concatenate([real[lo : lo + half], fake[lo : lo + half]])
                )
                if r == self.rank:
                    yield batch.tolist()


def class_pos_weight(targets: Sequence[int]) -> float:
    """``n_real / n_fake``: the BCE ``pos_weight`` that weighs classes by inverse frequency."""
    t = [int(x) for x in targets]
    n_fake, n_real = t.count(1), t.count(0)
    if n_fake == 0 or n_real == 0:
        missing = "fake" if n_fake == 0 else "real"
        raise ValueError(f"class_pos_weight needs both classes; no {missing} item in targets")
    return n_real / n_fake
