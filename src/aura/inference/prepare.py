"""One video file → the inputs of a detector's models, through the training-time code.

Every step calls the function the training stages call, with the training run's parameters:
probe as ingest (:func:`aura.video.probe`, verified, ``ingest.max_pixels``), stage-2 features
(:func:`aura.features.video_features`, as ``features_one``), stage 3
(:func:`aura.video.scale.rescale_video`, as ``scale_one``), stage-4 features on the scaled
video with its letterbox bars cropped off, the joined table (:func:`aura.features.to_table`,
:func:`aura.models.join_features`) with the probe's ``meta_*`` columns
(:func:`aura.features.metadata.metadata_row`, as the training ``video_metadata`` node) and
validation clips
(:class:`aura.training.clips.ClipDataset` with ``train=False``) of the scaled video, or, for
models trained on native crops (``clip_source: native_crop``), centred native-resolution crops
of the input file itself (no scaling is done when nothing needs the scaled video).

Feature cells that are undefined for the video (NaN, ±inf) stay NaN in the rows: training
fills them with corpus medians, which one video does not have, so the detector's own imputer
(fitted on the training rows) fills them. The ``__imputed`` flags and ``n_imputed`` are as
training computes them.

Segments: the duration is cut into equal windows of at least ``segment_s`` seconds, at most
``max_segments`` of them (one when the video is shorter than a window). A window maps to the
frames ``[i * n // S, (i + 1) * n // S)`` of a video of ``n`` frames (exact at constant frame
rate; the scaled video keeps every source frame), and each segment input samples its frames
inside its window with the same uniform rule, decoder, letterbox (or crop) and normalisation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from aura.corpus.videos import ID_COLUMNS
from aura.executor import atomic_path
from aura.features import FEATURES, to_table, video_features
from aura.features.metadata import metadata_row, probe_facts
from aura.inference.inputs import ClipSpec, InputSpec, Segment, VideoInputs
from aura.models.baselines import join_features
from aura.parameters import AuraConfig
from aura.pipelines.config import FeaturesConfig, ScaledFeaturesConfig, ScalingConfig
from aura.training.clips import ClipDataset, ClipItem, to_tensor
from aura.video import Crop, VideoInfo, probe, run_indices, sample_frames, sample_indices
from aura.video.scale import letterbox_crop, rescale_video

#: dtypes of the id columns of ``model_input_table`` (``to_table`` rebuilds them from values).
ID_SCHEMA: dict[str, Any] = {
    "video_id": pl.String,
    "source_video_id": pl.String,
    "variant": pl.Int64,
    "label": pl.String,
    "target": pl.Int64,
    "cascade_id": pl.String,
    "group_id": pl.String,
    "path": pl.String,
}
#: ``to_table`` fill values that leave undefined cells NaN (flags still set).
_KEEP_NAN = dict.fromkeys(FEATURES, math.nan)
#: The probe facts reported in :attr:`VideoInputs.info`.
INFO_KEYS = ("width", "height", "rotation", "fps", "n_frames", "duration_s", "codec")


def input_spec_from_config(
    config: AuraConfig,
    clips: Sequence[ClipSpec],
    features: bool,
    segment_s: float = 2.0,
    max_segments: int = 32,
) -> InputSpec:
    """The :class:`InputSpec` of a training run's resolved config (blocks as plain dicts)."""
    return InputSpec(
        features=bool(features),
        clips=tuple(clips),
        stage2=config.features.to_params(),
        stage4=config.scaled_features.to_params(),
        scaling=config.scaling.to_params(),
        max_pixels=config.ingest.max_pixels,
        segment_s=float(segment_s),
        max_segments=int(max_segments),
    )


def segment_windows(duration_s: float, segment_s: float, max_segments: int) -> list[Segment]:
    """Equal windows tiling ``[0, duration_s]``, each as close to ``segment_s`` seconds as an
    equal split allows (a 3.9-s video: two of 1.95 s), at most ``max_segments`` of them (then
    wider); one for a video up to 1.5 windows long; none when either setting is <= 0."""
    if segment_s <= 0 or max_segments <= 0:
        return []
    duration = max(float(duration_s), 0.0)
    count = min(max(math.floor(duration / segment_s + 0.5), 1), int(max_segments))
    width = duration / count
    return [
        Segment(i * width, duration if i == count - 1 else (i + 1) * width) for i in range(count)
    ]


def frame_windows(n_frames: int, count: int) -> list[tuple[int, int]]:
    """Frame ranges ``[lo, hi)`` of ``count`` equal windows over ``n_frames`` frames (never empty)."""
    out = []
    for i in range(count):
        lo = min(i * n_frames // count, n_frames - 1)
        out.append((lo, max((i + 1) * n_frames // count, lo + 1)))
    return out


def window_indices(lo: int, hi: int, num_frames: int) -> np.ndarray:
    """``num_frames`` uniform frame indices inside ``[lo, hi)`` (the validation-clip rule)."""
    return lo + sample_indices(hi - lo, num_frames)


def feature_window_indices(lo: int, hi: int, num_frames: int) -> np.ndarray:
    """The feature stages' frames inside ``[lo, hi)``: runs of neighbouring frames, as
    :func:`aura.features.extract.extract_features` samples a whole video."""
    return lo + run_indices(hi - lo, num_frames)


def prepare_video(path: str | Path, spec: InputSpec, workdir: Path) -> VideoInputs:
    """Probe, features, scaled video and clips of one video file, as training computes them.

    The scaled video is written once into ``workdir`` (``<stem>.scaled.mp4``) when features or
    scaled clips need it. Raises
    :class:`aura.video.VideoDecodeError` for an unusable file and ``ValueError`` naming the
    file for anything else the training code refuses; the caller turns either into a row.
    ``spec.segment_s`` or ``spec.max_segments`` <= 0 skips the per-segment inputs.
    """
    p = Path(path)
    try:
        return _prepare(p, spec, Path(workdir))
    except ValueError as e:
        if str(p) in str(e):
            raise
        raise ValueError(f"{p}: {e}") from e


class _Clock:
    """Seconds spent per named step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - t0


def _prepare(p: Path, spec: InputSpec, workdir: Path) -> VideoInputs:
    clock = _Clock()
    cap = spec.max_pixels
    with clock("probe"):
        info = probe(p, verify=True, max_pixels=cap)  # as ingest: a truncated file fails here
    duration = _duration(info)
    segments = segment_windows(duration, spec.segment_s, spec.max_segments)
    out = VideoInputs(
        path=str(p),
        duration_s=duration,
        segments=segments,
        info={k: getattr(info, k) for k in INFO_KEYS},
    )
    if not spec.features and not spec.clips:
        out.timings = clock.seconds
        return out
    stage2 = FeaturesConfig.from_params(spec.stage2)
    stage4 = ScaledFeaturesConfig.from_params(spec.stage4)
    scaling = ScalingConfig.from_params(spec.scaling)
    if spec.features:
        with clock("stage2"):
            row2 = video_features(p, num_frames=stage2.num_frames, max_pixels=cap)
    scaled, n_scaled, crop = None, 0, None
    if spec.features or any(c.source == "scaled" for c in spec.clips):
        scaled, n_scaled, crop = _scale(p, scaling, cap, workdir, clock, out)
    ids = _ids(p)
    if spec.features:
        with clock("stage4"):
            row4 = video_features(scaled, num_frames=stage4.num_frames, max_pixels=cap, crop=crop)
        with clock("table"):
            # the meta_* columns, as the training node computes them from ingest's probe
            meta = metadata_row(probe_facts(info), target_size=scaling.target_size)
            out.features = _joined([row2], [row4], [ids], stage2.prefix, stage4.prefix, meta)
    for clip in spec.clips:
        with clock("clips"):
            source, n = _clip_file(clip, p, info.n_frames, scaled, n_scaled)
            item = ClipItem(ids["video_id"], source, 0, n)
            dataset = ClipDataset(
                [item], clip.num_frames, train=False, size=clip.size, crop=clip.crop_size
            )
            out.clips[clip] = dataset[0][0].unsqueeze(0)
    if not segments:
        _no_segments(out, spec, stage2.prefix, stage4.prefix, scaling.target_size)
        out.timings = clock.seconds
        return out
    orig_windows = frame_windows(info.n_frames, len(segments))
    scaled_windows = frame_windows(n_scaled, len(segments))
    for clip in spec.clips:
        with clock("segment_clips"):
            source, n = _clip_file(clip, p, info.n_frames, scaled, n_scaled)
            out.segment_clips[clip] = _segment_clips(source, frame_windows(n, len(segments)), clip)
    if spec.features:
        with clock("segment_stage2"):
            fast = probe(p, verify=False, max_pixels=cap)  # what extract_features probes itself
            rows2 = [
                video_features(
                    p,
                    num_frames=stage2.num_frames,
                    max_pixels=cap,
                    info=fast,
                    indices=feature_window_indices(lo, hi, stage2.num_frames),
                )
                for lo, hi in orig_windows
            ]
        with clock("segment_stage4"):
            fast4 = probe(scaled, verify=False, max_pixels=cap)
            rows4 = [
                video_features(
                    scaled,
                    num_frames=stage4.num_frames,
                    max_pixels=cap,
                    crop=crop,
                    info=fast4,
                    indices=feature_window_indices(lo, hi, stage4.num_frames),
                )
                for lo, hi in scaled_windows
            ]
        with clock("table"):
            keyed = [{**ids, "video_id": f"{ids['video_id']}#{k}"} for k in range(len(segments))]
            table = _joined(rows2, rows4, keyed, stage2.prefix, stage4.prefix, meta)
            out.segment_features = table.with_columns(pl.lit(ids["video_id"]).alias("video_id"))
    out.timings = clock.seconds
    return out


def _scale(
    p: Path, scaling: ScalingConfig, cap: int | None, workdir: Path, clock: _Clock, out: VideoInputs
) -> tuple[Path, int, tuple[int, int, int, int]]:
    """Stage 3 of ``p`` into ``workdir``: (scaled video, its frame count, its letterbox bars)."""
    workdir.mkdir(parents=True, exist_ok=True)
    scaled = workdir / f"{p.stem}.scaled.mp4"
    with clock("scale"), atomic_path(scaled) as tmp:
        geometry = rescale_video(
            p,
            tmp,
            method=scaling.method,
            size=scaling.target_size,
            crf=scaling.crf,
            max_pixels=cap,
            weights_path=scaling.autoencoder.weights_path,
        )
    out.scaled_path = str(scaled)
    out.scaled_n_frames = int(geometry["n_frames"])
    return scaled, out.scaled_n_frames, letterbox_crop(geometry)


def _clip_file(
    clip: ClipSpec, path: Path, n_frames: int, scaled: Path | None, n_scaled: int
) -> tuple[Path, int]:
    """The file ``clip`` is sampled from and its frame count: the input file itself for native
    crops (as training reads the stage-1 file), else the scaled video."""
    if clip.source == "native_crop":
        return path, n_frames
    assert scaled is not None, "scaled clips need the scaled video"
    return scaled, n_scaled


def _duration(info: VideoInfo) -> float:
    if info.duration_s and info.duration_s > 0:
        return float(info.duration_s)
    return info.n_frames / info.fps if info.fps and info.fps > 0 else 0.0


def _ids(p: Path) -> dict[str, Any]:
    """The id columns of an unlabelled original (variant 0, its own source)."""
    return {
        **dict.fromkeys(ID_COLUMNS),
        "video_id": p.stem,
        "source_video_id": p.stem,
        "variant": 0,
        "path": str(p),
    }


def _joined(
    rows2: list[dict[str, float]],
    rows4: list[dict[str, float]],
    ids: list[dict[str, Any]],
    prefix2: str,
    prefix4: str,
    meta: Mapping[str, float],
) -> pl.DataFrame:
    """Stage-2 and stage-4 rows as ``model_input_table`` holds them (NaN kept, flags set),
    then the file's ``meta_*`` columns (the same on every row: segments share the file's)."""
    cols = {c: [row[c] for row in ids] for c in ID_COLUMNS}

    def table(rows: list[dict[str, float]], prefix: str) -> pl.DataFrame:
        t = to_table(rows, cols, prefix=prefix, fill=_KEEP_NAN)
        return t.cast(ID_SCHEMA)  # type: ignore[arg-type]

    joined = join_features(table(rows2, prefix2), table(rows4, prefix4))
    return joined.with_columns(pl.lit(v, pl.Float64).alias(k) for k, v in meta.items())


def _no_segments(
    out: VideoInputs, spec: InputSpec, prefix2: str, prefix4: str, target_size: int
) -> None:
    """Empty segment inputs (segments skipped) with the shapes and columns of real ones."""
    if out.features is not None:
        out.segment_features = out.features.clear()
    for clip in spec.clips:
        side = clip.side or target_size
        out.segment_clips[clip] = torch.empty((0, 3, clip.num_frames, side, side))


def _segment_clips(source: Path, windows: list[tuple[int, int]], clip: ClipSpec) -> torch.Tensor:
    """(S, 3, T, H, W): one validation-style clip per window (centred crops for native-crop
    clips), decoded in one pass."""
    t = clip.num_frames
    idx = np.concatenate([window_indices(lo, hi, t) for lo, hi in windows])
    crop = None if clip.crop_size is None else Crop(clip.crop_size)
    frames = sample_frames(source, t, size=clip.size, indices=idx, crop=crop).frames
    frames = frames.reshape(len(windows), t, *frames.shape[1:])
    return torch.stack([to_tensor(f) for f in frames])
