"""prepare_video gives exactly what training feeds the models: the real stage nodes on a
one-row index are the reference (features bit for bit, clips tensor-equal)."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import polars as pl
import pytest
import torch

from aura.features import FEATURES, FLAG_SUFFIX
from aura.features.metadata import META_COLUMNS
from aura.features.table import feature_columns
from aura.inference.inputs import ClipSpec, InputSpec
from aura.inference.prepare import (
    frame_windows,
    input_spec_from_config,
    prepare_video,
    segment_windows,
)
from aura.parameters import AuraConfig, resolve
from aura.pipelines.features.nodes import extract_stage2, extract_stage4
from aura.pipelines.ingest.nodes import PROBE_SCHEMA, PROBE_STATUS
from aura.pipelines.scaling.nodes import scale_videos
from aura.pipelines.training.metadata import video_metadata
from aura.pipelines.training.nodes import model_input
from aura.training.clips import ClipDataset, ClipItem, to_tensor
from aura.video import Crop, VideoDecodeError, crop_box, iter_frames, probe, write_video
from tests.conftest import texture

EXECUTOR = {"backend": "serial", "progress": False}
CLIPS = (ClipSpec(8, None), ClipSpec(4, 48))


def _frames(w: int, h: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(w * h)
    noise = rng.integers(0, 24, (h, w, 3), dtype=np.uint8)
    return [texture(i, w, h) // 2 + np.roll(noise, i, axis=1) for i in range(n)]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A wide H.264 clip (letterboxed top/bottom), a rotated one, an odd-sized MPEG-4 AVI."""
    d = tmp_path_factory.mktemp("prepare")
    wide = write_video(d / "wide.mp4", _frames(192, 108, 75), fps=30, gop=12, bframes=2)
    rotated = write_video(d / "rot.mp4", _frames(160, 96, 40), fps=25, gop=10, rotation=90)
    odd = d / "odd.avi"
    with av.open(str(odd), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 167, 95, "yuv420p"
        for f in _frames(167, 95, 30):
            for pk in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(pk)
        for pk in s.encode(None):
            c.mux(pk)
    return {"wide": wide, "rotated": rotated, "odd": odd}


def _config(tmp: Path, **scaling: object) -> AuraConfig:
    return resolve(
        {
            "corpus": {"kind": "demo", "root": str(tmp / "corpus")},
            "augmentation": {"output_dir": str(tmp / "aug")},
            "scaling": {"output_dir": str(tmp / "scaled"), "target_size": 64, **scaling},
            "features": {"num_frames": 8},
            "scaled_features": {"num_frames": 6},
        }
    )


def _training(path: Path, config: AuraConfig, tmp: Path, stage_index) -> dict[str, object]:
    """What the pipelines compute for ``path``: model_input_table row, scaled_metadata row."""
    info = probe(path, verify=True, max_pixels=config.ingest.max_pixels)  # as ingest fills it
    facts = pl.DataFrame([{k: getattr(info, k) for k in PROBE_SCHEMA}], schema=PROBE_SCHEMA)
    index = pl.concat([stage_index({"v": path}), facts], how="horizontal")
    cache = str(tmp / "cache")
    s2, _, _ = extract_stage2(index, None, config.features, EXECUTOR, cache, config.ingest)
    scaled, _ = scale_videos(index, None, config.scaling, EXECUTOR, cache, config.ingest)
    s4, _, _ = extract_stage4(scaled, config.scaled_features, EXECUTOR, cache, config.ingest)
    meta = video_metadata(index, None, config.scaling, EXECUTOR, cache, config.ingest)
    table = model_input(s2, s4, index.select("video_id"), meta)  # the training node
    assert table.height == 1, (s2, s4)
    return {"table": table, "stage2": s2, "stage4": s4, "scaled": scaled.row(0, named=True)}


def _val_clip(scaled: dict[str, object], clip: ClipSpec) -> torch.Tensor:
    """The validation clip training feeds a model for this video."""
    item = ClipItem("v", str(scaled["path"]), 0, int(scaled["n_frames"]))
    return ClipDataset([item], clip.num_frames, train=False, size=clip.size)[0][0]


def _assert_same_features(ours: pl.DataFrame, train: dict[str, pl.DataFrame]) -> None:
    """Same columns, order and dtypes as ``model_input_table``; every feature value equal bit
    for bit wherever training computed one, and NaN exactly where training imputed."""
    table = train["table"]
    assert ours.columns == table.columns
    assert ours.schema == table.schema
    flags = [c for c in table.columns if c.endswith(FLAG_SUFFIX)]
    assert ours.select(flags, "n_imputed").equals(table.select(flags, "n_imputed"))
    # The joined table keeps stage-4 values, not their flags: those come from features_stage4.
    imputed = {
        c: stage[c + FLAG_SUFFIX].to_numpy()
        for stage in (train["stage2"], train["stage4"])
        for c in feature_columns(stage)
    }
    cols = feature_columns(table)
    assert len(cols) == 2 * len(FEATURES)
    # the metadata columns: the same values (NaN where unknown) from the same probe facts
    meta = [c for c in table.columns if c.startswith("meta_")]
    assert meta == list(META_COLUMNS)
    assert np.array_equal(
        ours.select(meta).to_numpy(), table.select(meta).to_numpy(), equal_nan=True
    )
    for col in cols:
        mine, theirs, bad = ours[col].to_numpy(), table[col].to_numpy(), imputed[col]
        assert np.array_equal(np.isnan(mine), bad), col
        assert np.array_equal(mine[~bad], theirs[~bad]), col  # bit-identical


@pytest.mark.parametrize("name", ["wide", "rotated", "odd"])
def test_inputs_are_what_training_feeds(
    name: str, videos: dict[str, Path], tmp_path: Path, stage_index
) -> None:
    config = _config(tmp_path)
    train = _training(videos[name], config, tmp_path, stage_index)
    spec = input_spec_from_config(config, CLIPS, features=True, segment_s=0.5, max_segments=4)
    out = prepare_video(videos[name], spec, tmp_path / "work")

    _assert_same_features(out.features, train)
    assert out.features["path"].to_list() == [str(videos[name])]
    scaled = train["scaled"]
    assert Path(out.scaled_path).read_bytes() == Path(scaled["path"]).read_bytes()
    for clip in CLIPS:
        assert out.clips[clip].shape == (1, 3, clip.num_frames, clip.size or 64, clip.size or 64)
        assert torch.equal(out.clips[clip][0], _val_clip(scaled, clip))
    assert out.info["n_frames"] == scaled["source_n_frames"]
    assert {"width", "height", "fps", "n_frames", "duration_s", "codec"} <= set(out.info)

    # Segments: at most max_segments, tiling the duration; one input per segment.
    s = len(out.segments)
    assert 1 <= s <= 4
    assert out.segments[0].start_s == 0.0 and out.segments[-1].end_s == out.duration_s
    assert all(a.end_s == b.start_s for a, b in zip(out.segments, out.segments[1:], strict=False))
    assert out.segment_features.height == s
    assert out.segment_features.schema == out.features.schema
    for clip in CLIPS:
        assert out.segment_clips[clip].shape == (s, *out.clips[clip].shape[1:])


def test_stage4_cuts_the_letterbox_bars(videos: dict[str, Path], tmp_path: Path) -> None:
    """Stage 4 (training and inference alike) sees only the picture, not the black bars."""
    from aura.features import video_features

    config = _config(tmp_path)
    spec = input_spec_from_config(config, (), features=True, segment_s=0)
    out = prepare_video(videos["wide"], spec, tmp_path / "work")
    bars = video_features(out.scaled_path, num_frames=6)
    assert out.features["s4_dct_dc_mean"][0] != bars["dct_dc_mean"]
    assert out.features["s4_codec_width"][0] == bars["codec_width"] == 64.0


def test_segment_inputs_sample_inside_their_window(videos: dict[str, Path], tmp_path: Path) -> None:
    """Segment clips are the frames at uniform positions of each window, decoded and
    normalised as training does (checked against a plain sequential decode)."""
    spec = input_spec_from_config(_config(tmp_path), CLIPS, features=False, segment_s=0.5)
    out = prepare_video(videos["wide"], spec, tmp_path / "work")
    assert len(out.segments) == 5  # 2.5 s in 0.5 s windows
    for clip in CLIPS:
        every = np.stack(list(iter_frames(out.scaled_path, size=clip.size)))
        n, t = len(every), clip.num_frames
        for k in range(5):
            lo, hi = k * n // 5, (k + 1) * n // 5
            want = [lo + math.floor((i + 0.5) * (hi - lo) / t) for i in range(t)]
            assert torch.equal(out.segment_clips[clip][k], to_tensor(every[want])), (clip, k)
    assert out.features is None and out.segment_features is None


def test_a_video_shorter_than_a_window_is_one_segment_equal_to_the_whole(
    videos: dict[str, Path], tmp_path: Path
) -> None:
    spec = input_spec_from_config(_config(tmp_path), CLIPS, features=True, segment_s=60.0)
    out = prepare_video(videos["rotated"], spec, tmp_path / "work")
    assert len(out.segments) == 1
    assert (out.segments[0].start_s, out.segments[0].end_s) == (0.0, out.duration_s)
    whole, seg = out.features.to_numpy(), out.segment_features.to_numpy()
    assert np.array_equal(whole, seg) or all(
        a == b or (a != a and b != b) for a, b in zip(whole[0], seg[0], strict=False)
    )
    for clip in CLIPS:
        assert torch.equal(out.segment_clips[clip], out.clips[clip])


def test_segments_can_be_skipped(videos: dict[str, Path], tmp_path: Path) -> None:
    for kwargs in ({"segment_s": 0}, {"max_segments": 0}):
        spec = input_spec_from_config(_config(tmp_path), CLIPS, features=True, **kwargs)
        out = prepare_video(videos["odd"], spec, tmp_path / "work")
        assert out.segments == []
        assert out.segment_features.height == 0
        assert out.segment_features.columns == out.features.columns
        for clip in CLIPS:
            assert out.segment_clips[clip].shape == (0, *out.clips[clip].shape[1:])
        assert {"probe", "stage2", "scale", "stage4", "clips"} <= set(out.timings)


@pytest.mark.parametrize(
    ("duration", "segment_s", "max_segments", "count"),
    [
        (10.0, 2.0, 32, 5),
        (11.0, 2.0, 32, 6),  # the nearest equal split: 6 × 1.83 s (5 × 2.2 s is further off)
        (3.9, 2.0, 32, 2),  # a demo clip: 2 × 1.95 s
        (2.9, 2.0, 32, 1),  # up to 1.5 windows long: one segment
        (100.0, 2.0, 32, 32),  # widened to 3.125 s
        (1.5, 2.0, 32, 1),
        (0.0, 2.0, 32, 1),
        (10.0, 0.0, 32, 0),
        (10.0, 2.0, 0, 0),
    ],
)
def test_segment_windows(duration: float, segment_s: float, max_segments: int, count: int) -> None:
    windows = segment_windows(duration, segment_s, max_segments)
    assert len(windows) == count
    if count:
        assert windows[0].start_s == 0.0 and windows[-1].end_s == duration
        assert all(a.end_s == b.start_s for a, b in zip(windows, windows[1:], strict=False))
        widths = [w.end_s - w.start_s for w in windows]
        # equal windows, as close to segment_s as an equal split of the duration can be
        assert max(widths) - min(widths) < 1e-9
        if count < max_segments and duration >= segment_s:
            assert abs(widths[0] - segment_s) <= segment_s / (2 * count) + 1e-9


@pytest.mark.parametrize(("n", "count"), [(75, 4), (30, 30), (3, 5), (1, 1)])
def test_frame_windows_are_never_empty(n: int, count: int) -> None:
    windows = frame_windows(n, count)
    assert len(windows) == count
    assert all(0 <= lo < hi <= n for lo, hi in windows)
    assert windows[0][0] == 0 and windows[-1][1] == n
    if n >= count:  # a partition of the frames
        assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))


def test_bad_files_raise_the_probe_error_naming_the_file(
    videos: dict[str, Path], tmp_path: Path
) -> None:
    truncated = tmp_path / "cut.mp4"
    data = videos["wide"].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    spec = input_spec_from_config(_config(tmp_path), CLIPS, features=True)
    cases = {
        truncated: "corrupt",
        garbage: "not_video",
        empty: "empty",
        tmp_path / "no.mp4": "missing",
    }
    for path, reason in cases.items():
        with pytest.raises(VideoDecodeError) as err:
            prepare_video(path, spec, tmp_path / "work")
        assert err.value.reason == reason and str(path) in str(err.value)
        assert err.value.reason in PROBE_STATUS  # the caller's status vocabulary
    assert not (tmp_path / "work").exists()  # nothing is scaled for a bad file


def test_too_large_is_refused_before_decoding(videos: dict[str, Path], tmp_path: Path) -> None:
    spec = input_spec_from_config(_config(tmp_path), CLIPS, features=True)
    small = InputSpec(**{**spec.__dict__, "max_pixels": 100 * 100})
    with pytest.raises(VideoDecodeError, match="too_large") as err:
        prepare_video(videos["wide"], small, tmp_path / "work")
    assert str(videos["wide"]) in str(err.value)


def test_spec_carries_the_training_parameters(tmp_path: Path) -> None:
    config = _config(tmp_path, crf=23)
    spec = input_spec_from_config(config, CLIPS, features=False, segment_s=1.5, max_segments=7)
    assert spec.stage2 == {"num_frames": 8, "prefix": ""}
    assert spec.stage4 == {"num_frames": 6, "prefix": "s4_"}
    assert spec.scaling["target_size"] == 64 and spec.scaling["crf"] == 23
    assert spec.scaling["method"] == "letterbox"
    assert spec.max_pixels == config.ingest.max_pixels
    assert (spec.features, spec.clips, spec.segment_s, spec.max_segments) == (
        False,
        CLIPS,
        1.5,
        7,
    )
    assert len(FEATURES) > 40


def test_autoencoder_scaling_matches_the_scaling_node(
    videos: dict[str, Path], tmp_path: Path, stage_index
) -> None:
    pytest.importorskip("diffusers")
    from tests.conftest import tiny_vae

    vae = tiny_vae(tmp_path / "vae")
    config = _config(
        tmp_path, method="autoencoder", target_size=32, autoencoder={"weights_path": str(vae)}
    )
    index = stage_index({"v": videos["odd"]})
    scaled, _ = scale_videos(index, None, config.scaling, EXECUTOR, str(tmp_path / "c"))
    row = scaled.row(0, named=True)
    spec = input_spec_from_config(config, (ClipSpec(4, None),), features=False, segment_s=0)
    out = prepare_video(videos["odd"], spec, tmp_path / "work")
    assert torch.equal(out.clips[ClipSpec(4, None)][0], _val_clip(row, ClipSpec(4, None)))


NATIVE = (ClipSpec(4, None, "native_crop", 48), ClipSpec(6, None, "native_crop", 112))


def _ingested(path: Path, tmp: Path) -> pl.DataFrame:
    """``video_index`` of ``path`` as the ingest nodes build it (an FVC-layout corpus of one)."""
    from aura.pipelines.ingest.nodes import (
        build_video_index,
        materialise_corpus,
        read_annotations,
    )

    vid = "AAAAAAAAAAA"
    videos = tmp / "corpus" / "videos"
    videos.mkdir(parents=True)
    (videos / f"{vid}{path.suffix}").write_bytes(path.read_bytes())
    (tmp / "corpus" / "FVC.csv").write_text(
        f"cascade_id,video_url,label\nc0,https://www.youtube.com/watch?v={vid},fake\n"
    )
    corpus = {"kind": "fvc", "root": str(tmp / "corpus"), "annotation_files": ["FVC.csv"]}
    index = build_video_index(read_annotations(materialise_corpus(corpus), corpus), {})
    assert index["status"].to_list() == ["ok"], index
    return index


@pytest.mark.parametrize("name", ["wide", "rotated", "odd"])
def test_native_crops_are_what_training_feeds(
    name: str, videos: dict[str, Path], tmp_path: Path
) -> None:
    """A native_crop model gets, at inference, exactly the validation clip training scores:
    the centred crop of the stage-1 file through the training cell's own items; nothing is
    scaled for it. (112 px is past every short side: zero-padded, centred.)"""
    from aura.pipelines.training.deep import _items
    from aura.training.sources import clip_files

    index = _ingested(videos[name], tmp_path)
    path = Path(index["path"][0])
    items, missing = _items(index, clip_files("native_crop", pl.DataFrame(), index))
    assert not missing and [str(i.path) for i in items] == [str(path)]
    spec = input_spec_from_config(
        _config(tmp_path), NATIVE, features=False, segment_s=0.5, max_segments=4
    )
    out = prepare_video(path, spec, tmp_path / "work")
    assert out.scaled_path is None and "scale" not in out.timings
    every = np.stack(list(iter_frames(path)))  # upright, native size
    h, w = every.shape[1:3]
    for clip in NATIVE:
        s, t = clip.crop_size, clip.num_frames
        val = ClipDataset(items, t, train=False, crop=s)[0][0]  # what predict_clips feeds
        assert out.clips[clip].shape == (1, 3, t, s, s)
        assert torch.equal(out.clips[clip][0], val), clip
        # per segment: the centred crop at each window's uniform frames of the native file
        n = len(every)
        assert out.info["n_frames"] == n == items[0].n_frames
        box = crop_box(w, h, Crop(s))
        k = len(out.segments)
        for j, (lo, hi) in enumerate(frame_windows(n, k)):
            want = np.zeros((t, s, s, 3), np.uint8)
            pick = every[[lo + math.floor((i + 0.5) * (hi - lo) / t) for i in range(t)]]
            want[
                :, box.pad_top : box.pad_top + box.height, box.pad_left : box.pad_left + box.width
            ] = pick[:, box.top : box.top + box.height, box.left : box.left + box.width]
            assert torch.equal(out.segment_clips[clip][j], to_tensor(want)), (clip, j)


def test_native_and_scaled_clips_side_by_side(videos: dict[str, Path], tmp_path: Path) -> None:
    """A detector mixing both: scaled clips as before, native crops of the input file."""
    spec = input_spec_from_config(_config(tmp_path), CLIPS + NATIVE[:1], features=True, segment_s=0)
    out = prepare_video(videos["wide"], spec, tmp_path / "work")
    alone = prepare_video(
        videos["wide"],
        input_spec_from_config(_config(tmp_path), NATIVE[:1], features=False, segment_s=0),
        tmp_path / "alone",
    )
    assert out.scaled_path is not None and out.features is not None
    assert torch.equal(out.clips[NATIVE[0]], alone.clips[NATIVE[0]])
    assert out.segment_clips[NATIVE[0]].shape == (0, 3, 4, 48, 48)
    assert out.clips[CLIPS[1]].shape == (1, 3, 4, 48, 48)
