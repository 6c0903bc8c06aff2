"""Variants: draw a spec once per (seed, source, variant), then render it by streaming.

Variant 0 is the original video and is never rendered; variants are ``1..k``. A variant's
seed comes from SHA-256 over ``(config.seed, source_key, variant_index)`` (stable across
processes and machines, unlike ``hash()``). Each op draws from its own generator seeded
by ``(variant seed, op name)``, so switching one op off leaves the others' draws as they
were. Noise is drawn per frame from a generator seeded by ``(variant seed, source frame)``:
the same in any read order, and a duplicated frame stays an exact duplicate.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aura.augment.config import AugmentConfig
from aura.augment.spatial import SPATIAL_OPS, apply_spatial
from aura.augment.temporal import TEMPORAL_OPS, is_forward, plan_indices
from aura.executor.cache import atomic_path
from aura.video import VideoDecodeError, VideoWriter, iter_frames, probe, sample_frames
from aura.video.limits import MAX_PIXELS

__all__ = [
    "AugmentConfig",
    "FrameAugmenter",
    "OpSpec",
    "VariantSpec",
    "augment_clip",
    "draw_variant",
    "output_size",
    "render_variant",
    "variant_seed",
]

_FALLBACK_FPS = 25.0


def _hash_int(*parts: object, bits: int = 63) -> int:
    blob = "\x1f".join(str(p) for p in ("aura.augment", *parts)).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") >> (64 - bits)


def variant_seed(seed: int, source_key: str, variant_index: int) -> int:
    """The variant's 63-bit seed (fits an int64 column), stable across runs and machines."""
    return _hash_int(int(seed), str(source_key), int(variant_index))


@dataclass(frozen=True)
class OpSpec:
    """One drawn op: its ``name``, ``kind`` (``spatial`` or ``temporal``) and parameters."""

    name: str
    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class VariantSpec:
    """Everything needed to render one variant, independent of the video's size and length."""

    source_key: str
    variant_index: int
    seed: int
    ops: tuple[OpSpec, ...]

    @property
    def spatial(self) -> list[tuple[str, dict[str, Any]]]:
        return [(o.name, o.params) for o in self.ops if o.kind == "spatial"]

    @property
    def temporal(self) -> list[tuple[str, dict[str, Any]]]:
        return [(o.name, o.params) for o in self.ops if o.kind == "temporal"]

    def plan(self, n_frames: int) -> list[int]:
        """Source frame index of each output frame."""
        return plan_indices(n_frames, self.temporal)

    def frame_rng(self, source_index: int) -> np.random.Generator:
        """The generator for per-frame randomness (noise) of source frame ``source_index``."""
        return np.random.default_rng([self.seed, 1, int(source_index)])

    def ops_json(self) -> str:
        """The drawn ops as compact JSON (``[{"name", "kind", "params"}, ...]``)."""
        ops = [{"name": o.name, "kind": o.kind, "params": o.params} for o in self.ops]
        return json.dumps(ops, sort_keys=True, separators=(",", ":"))

    def to_json(self) -> str:
        """The whole spec as compact JSON; :meth:`from_json` reads it back to an equal spec."""
        return json.dumps(
            {
                "source_key": self.source_key,
                "variant_index": self.variant_index,
                "seed": self.seed,
                "ops": json.loads(self.ops_json()),
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> VariantSpec:
        d = json.loads(text)
        ops = tuple(OpSpec(o["name"], o["kind"], o["params"]) for o in d["ops"])
        return cls(d["source_key"], int(d["variant_index"]), int(d["seed"]), ops)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def draw_variant(source_key: str, variant_index: int, config: AugmentConfig) -> VariantSpec:
    """Draw variant ``variant_index`` (>= 1) of ``source_key``: which ops, with what parameters.

    Each enabled op is taken with its probability ``p``; when fewer than ``config.min_ops``
    are taken, more are picked at random among the enabled ones with ``p > 0``.
    """
    if isinstance(variant_index, bool) or not isinstance(variant_index, int | np.integer):
        raise TypeError(f"variant_index must be an int, got {variant_index!r}")
    if variant_index < 1:
        raise ValueError(f"variant_index must be >= 1 (0 is the original), got {variant_index}")
    seed = variant_seed(config.seed, source_key, int(variant_index))
    rngs = {name: np.random.default_rng([seed, _hash_int(name)]) for name, _ in config.ops.items()}
    taken = {
        name: bool(rngs[name].random() < s.p)
        for name, s in config.ops.items()
        if s.enabled and s.p > 0
    }
    missing = config.min_ops - sum(taken.values())
    if missing > 0:
        spare = [name for name, on in taken.items() if not on]
        pick = np.random.default_rng([seed, _hash_int("min_ops")])
        for i in pick.permutation(len(spare))[:missing]:
            taken[spare[i]] = True
    ops = []
    for name, settings in config.ops.items():  # registry order = application order
        if not taken.get(name):
            continue
        kind = "spatial" if name in SPATIAL_OPS else "temporal"
        registry = SPATIAL_OPS if kind == "spatial" else TEMPORAL_OPS
        params = _jsonable(registry[name].draw(rngs[name], settings))
        ops.append(OpSpec(name, kind, params))
    return VariantSpec(str(source_key), int(variant_index), seed, tuple(ops))


def _even(x: float) -> int:
    return max(2, 2 * math.floor(x / 2 + 0.5))


def output_size(width: int, height: int, max_side: int | None = None) -> tuple[int, int]:
    """Output ``(width, height)``: longer side capped by ``max_side``, both even, aspect kept.

    The longer side is rounded down to even; the shorter one is the nearest even number to
    the exact aspect, so it is within 1 px of it.
    """
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be >= 1, got {width}x{height}")
    long_side, short_side = max(width, height), min(width, height)
    cap = long_side if max_side is None else min(long_side, max_side)
    long_out = max(2, cap - cap % 2)
    short_out = min(long_out, _even(short_side * long_out / long_side))
    return (long_out, short_out) if width >= height else (short_out, long_out)


class FrameAugmenter:
    """Resize a frame to the output size, then apply a spec's spatial ops to it."""

    def __init__(self, spec: VariantSpec, max_side: int | None = None) -> None:
        self.spec = spec
        self.max_side = max_side
        self.ops = spec.spatial
        self.needs_rng = any(name == "noise" for name, _ in self.ops)
        self.size: tuple[int, int] | None = None  # (width, height), fixed by the first frame

    def __call__(self, frame: np.ndarray, source_index: int) -> np.ndarray:
        h, w = frame.shape[:2]
        if self.size is None:
            self.size = output_size(w, h, self.max_side)
        if (w, h) != self.size:
            import cv2

            ow, oh = self.size
            interp = cv2.INTER_AREA if ow <= w and oh <= h else cv2.INTER_LINEAR
            frame = cv2.resize(frame, (ow, oh), interpolation=interp)
        rng = self.spec.frame_rng(source_index) if self.needs_rng else None
        return apply_spatial(frame, self.ops, rng)


def augment_clip(
    frames: np.ndarray, spec: VariantSpec, *, max_side: int | None = None
) -> tuple[np.ndarray, list[int]]:
    """In-memory variant of ``frames`` ``(T, H, W, 3)``: returns the frames and the plan."""
    plan = spec.plan(len(frames))
    aug = FrameAugmenter(spec, max_side)
    done: dict[int, np.ndarray] = {}
    for i in dict.fromkeys(plan):
        done[i] = aug(frames[i], i)
    return np.stack([done[i] for i in plan]), plan


def _planned_frames(
    src: Path, plan: list[int], chunk: int, max_pixels: int | None
) -> Iterator[tuple[int, np.ndarray]]:
    """``(source index, frame)`` for each output position, holding at most ``chunk`` frames."""
    if is_forward(plan):
        frames = iter_frames(src, max_pixels=max_pixels)
        pos = 0
        try:
            for i, frame in enumerate(frames):
                while pos < len(plan) and plan[pos] == i:
                    yield i, frame
                    pos += 1
                if pos == len(plan):
                    break
        finally:
            frames.close()
        return
    for start in range(0, len(plan), chunk):
        want = plan[start : start + chunk]
        # Distinct sorted indices: the sampler then returns its buffer as is, no reordered copy.
        uniq = sorted(set(want))
        frames = sample_frames(src, indices=uniq, max_pixels=max_pixels).frames
        slot = {i: k for k, i in enumerate(uniq)}
        for i in want:
            yield i, frames[slot[i]]
        del frames  # before the next chunk is decoded (the caller drops its view too)


def _encode(
    src: Path,
    tmp: Path,
    plan: list[int],
    chunk: int,
    aug: FrameAugmenter,
    fps: float,
    codec: str,
    crf: int | None,
    max_pixels: int | None,
) -> tuple[int, int, int]:
    """Augment and encode the planned frames into ``tmp``; ``(frames, width, height)``."""
    writer: VideoWriter | None = None
    last: tuple[int, np.ndarray] | None = None
    try:
        for i, frame in _planned_frames(src, plan, chunk, max_pixels):
            if last is None or last[0] != i:  # a duplicated frame is augmented once
                last = (i, aug(frame, i))
            if writer is None:
                h, w = last[1].shape[:2]
                writer = VideoWriter(tmp, width=w, height=h, fps=fps, codec=codec, crf=crf)
            writer.write(last[1])
            del frame  # a view into the sampler's chunk: let it go before the next is read
        if writer is None:
            raise VideoDecodeError(src, "corrupt", "no frames decoded")
        writer.close()
    except BaseException:
        if writer is not None:  # close quietly: the original error is the one that matters
            with contextlib.suppress(Exception):
                writer.close()
        raise
    return writer.frames_written, writer.width, writer.height


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` torch intra-op threads, restoring the previous count afterwards."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def render_variant(
    src_path: str | Path,
    out_path: str | Path,
    spec: VariantSpec,
    *,
    max_side: int | None,
    codec: str = "h264",
    crf: int | None = 18,
    chunk_mb: int = 128,
    chunk: int | None = None,
    threads: int | None = 1,
    max_pixels: int | None = MAX_PIXELS,
) -> dict[str, Any]:
    """Render ``spec`` of ``src_path`` to ``out_path`` by streaming, atomically; return metadata.

    Frames are read in source order with :func:`iter_frames` or, when the plan goes
    backwards, in chunks of ``chunk`` frames (default: as many as fit ``chunk_mb``) with
    :func:`sample_frames`. ``threads`` sets torch's intra-op threads meanwhile (per-frame
    ops gain nothing from more, and lose badly when processes share the cores; ``None``
    leaves it). Output keeps the source frame rate and the upright aspect, with
    the longer side capped by ``max_side`` and even dimensions. The file is written under a
    temporary name in the same folder and moved into place only when complete. Raises
    :class:`VideoDecodeError` for unusable input (``too_large`` above ``max_pixels``,
    before anything is decoded). The plan covers the frames really in the stream
    (counted from its packets), never the header's claim.
    """
    t0 = time.perf_counter()
    src, out = Path(src_path), Path(out_path)
    info = probe(src, max_pixels=max_pixels)
    plan = spec.plan(info.n_frames)
    if chunk is None:
        upright = max(info.width, 1) * max(info.height, 1) * 3
        chunk = max(4, chunk_mb * 2**20 // upright)
    fps = info.fps if info.fps and math.isfinite(info.fps) and info.fps > 0 else _FALLBACK_FPS
    aug = FrameAugmenter(spec, max_side)
    # atomic_path's temp name is the one the executor removes after stopping a worker mid-task.
    with atomic_path(out) as tmp, _torch_threads(threads):
        n_out, width, height = _encode(src, tmp, plan, chunk, aug, fps, codec, crf, max_pixels)
    return {
        "path": str(out),
        "source_key": spec.source_key,
        "variant_index": spec.variant_index,
        "seed": spec.seed,
        "ops": spec.ops_json(),
        "n_frames_src": info.n_frames,
        "n_frames_planned": len(plan),
        "n_frames_out": n_out,
        "width": width,
        "height": height,
        "fps": fps,
        "codec": codec,
        "crf": crf,
        "size_bytes": out.stat().st_size,
        "render_s": time.perf_counter() - t0,
    }
