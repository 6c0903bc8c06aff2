"""Handcrafted features on constructed inputs: each cue must move the way its physics says."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import polars as pl
import pytest

from aura.features import (
    FEATURES,
    FLAG_SUFFIX,
    GROUPS,
    FrameSet,
    compute_features,
    extract_features,
    feature_names,
    fill_values,
    impute,
    to_matrix,
    to_table,
)
from aura.features.codec import codec_family
from aura.features.dct import block_dct
from aura.video import write_video

NAMES = feature_names()


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """RGB uint8 test picture: a smooth random field plus sharp-edged shapes."""
    rng = np.random.default_rng(seed)
    field = cv2.resize(
        rng.normal(0, 1, (h // 8 + 2, w // 8 + 2)).astype(np.float32),
        (w, h),
        interpolation=cv2.INTER_CUBIC,
    )
    img = np.stack([128 + 40 * field, 110 + 30 * field, 140 - 35 * field], axis=-1)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.integers(max(2, min(h, w) // 10), max(3, min(h, w) // 3)))
        color = tuple(float(c) for c in rng.uniform(0, 255, 3))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x0, y0), (x0 + size, y0 + size), color, -1)
        else:
            cv2.circle(img, (x0, y0), size // 2, color, -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def moving(n: int, h: int = 96, w: int = 128, step: int = 5) -> np.ndarray:
    """``n`` frames of a big texture panning by ``step`` px per frame (mean luma constant)."""
    big = texture(h, w + n * step, seed=1)
    return np.stack([big[:, t * step : t * step + w] for t in range(n)])


def feats(frames: np.ndarray) -> dict[str, float]:
    return compute_features(np.ascontiguousarray(frames))


def strictly(values: list[float], decreasing: bool = False) -> bool:
    d = np.diff(values)
    return bool(np.all(d < 0) if decreasing else np.all(d > 0))


# --- registry ----------------------------------------------------------------------------


def test_registry_names_and_docs() -> None:
    assert 45 <= len(FEATURES) <= 65
    assert NAMES == list(FEATURES) and len(set(NAMES)) == len(NAMES)
    assert all(doc.strip() and "\n" not in doc for doc in FEATURES.values())
    assert {g for g in GROUPS} == {"noise", "dct", "blur", "blocking", "temporal", "codec"}
    assert sum(len(g.features) for g in GROUPS.values()) == len(FEATURES)
    assert feature_names("s4_") == ["s4_" + k for k in NAMES]
    # A prefixed column must map back to exactly one feature name.
    assert not [a for a in NAMES for b in NAMES if a != b and a.endswith("_" + b)]


def test_block_dct_matches_opencv() -> None:
    y = np.random.default_rng(0).uniform(0, 255, (24, 40)).astype(np.float32)
    z = block_dct(y)
    for by, bx in [(0, 0), (2, 4), (1, 3)]:
        ref = cv2.dct(y[by * 8 : by * 8 + 8, bx * 8 : bx * 8 + 8])
        np.testing.assert_allclose(z[by, :, bx, :], ref, atol=1e-3)


# --- spatial cues ------------------------------------------------------------------------


def test_more_blur_lowers_sharpness() -> None:
    base = np.stack([texture(96, 128, seed=s) for s in range(3)])
    rows = [
        feats(np.stack([cv2.GaussianBlur(f, (0, 0), s) if s else f for f in base]))
        for s in (0, 1.0, 2.5)
    ]
    for name in ("blur_lap_var", "blur_tenengrad", "blur_brenner", "blur_grad_mean"):
        assert strictly([r[name] for r in rows], decreasing=True), name
    assert rows[0]["blur_edge_density"] > rows[2]["blur_edge_density"]
    assert rows[0]["dct_high_low_ratio"] > rows[2]["dct_high_low_ratio"]


def test_jpeg_blocking_grows_as_quality_drops() -> None:
    frames = np.stack([texture(128, 192, seed=s) for s in range(2)])

    def jpeg(f: np.ndarray, q: int) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, q])
        assert ok
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)

    rows = [feats(np.stack([jpeg(f, q) for f in frames])) for q in (95, 50, 10)]
    for name in ("block8", "block8_h", "block8_v", "block8_diff"):
        assert strictly([r[name] for r in rows]), name
    assert rows[2]["block8"] > 1.5
    assert rows[2]["dct_zero_frac"] > rows[0]["dct_zero_frac"]


def test_added_noise_raises_residual_energy() -> None:
    clean = np.stack([texture(96, 128, seed=s) for s in range(3)])
    rng = np.random.default_rng(7)
    rows = []
    for sigma in (0.0, 4.0, 10.0):
        noisy = clean + rng.normal(0, sigma, clean.shape) if sigma else clean
        rows.append(feats(np.clip(noisy, 0, 255).astype(np.uint8)))
    for name in ("noise_res_energy", "noise_res_flat", "noise_srm_energy", "noise_chroma_energy"):
        assert strictly([r[name] for r in rows]), name
    # The flat-block estimate tracks the added noise, not the image content.
    assert rows[0]["noise_res_flat"] < 1.0 < rows[1]["noise_res_flat"] < rows[2]["noise_res_flat"]


# --- temporal cues -----------------------------------------------------------------------


def test_flicker_raises_flicker_feature() -> None:
    frames = moving(12).astype(np.int16)
    offsets = np.where(np.arange(12) % 2 == 0, 12, -12)[:, None, None, None]
    steady = feats(frames.astype(np.uint8))
    flick = feats(np.clip(frames + offsets, 0, 255).astype(np.uint8))
    assert steady["temp_flicker"] < 1.0
    assert flick["temp_flicker"] > 8.0


def test_blended_frames_lower_odd_even_ratio() -> None:
    frames = moving(12, step=7)
    blended = frames.astype(np.float32)
    for k in range(1, 11, 2):  # every odd frame becomes the mean of its neighbours
        blended[k] = 0.5 * (blended[k - 1] + blended[k + 1])
    plain = feats(frames)["temp_oddeven_ratio"]
    mixed = feats(np.round(blended).astype(np.uint8))["temp_oddeven_ratio"]
    assert plain > 0.5
    assert mixed < 0.1 < plain


def test_duplicated_frames_count_as_static() -> None:
    frames = moving(8)
    assert feats(frames)["temp_static_share"] == 0.0
    assert feats(np.repeat(frames[:4], 2, axis=0))["temp_static_share"] == pytest.approx(4 / 7)


# --- sizes, undefined values, imputation -------------------------------------------------


def test_all_names_at_1080p_and_112px() -> None:
    big = np.stack([texture(1080, 1920, seed=s) for s in range(2)])
    small = moving(16, 112, 112)
    for frames in (big, small):
        out = feats(frames)
        assert list(out) == NAMES
        assert all(isinstance(v, float) for v in out.values())
        spatial = [k for k in NAMES if not k.startswith(("codec_", "temp_"))]
        assert all(np.isfinite(out[k]) for k in spatial)
    # The pixel budget keeps 8 of 16 frames at 1080p for spatial groups, all at 112 px.
    wide = FrameSet(np.zeros((16, 1080, 1920, 3), np.uint8))
    assert wide.spatial.tolist() == list(range(1, 16, 2))
    assert FrameSet(small).spatial.tolist() == list(range(16))
    # A one-frame budget changes the spatial features only; None means every frame.
    one = compute_features(big, max_pixels=1920 * 1080)
    both = feats(big)
    assert one["temp_diff_energy"] == both["temp_diff_energy"]
    assert one["blur_lap_var"] != both["blur_lap_var"]
    every = compute_features(big, max_pixels=None)
    assert np.array_equal(list(every.values()), list(both.values()), equal_nan=True)


def test_undefined_features_are_nan() -> None:
    flat = feats(np.full((3, 32, 32, 3), 128, np.uint8))
    for name in ("noise_res_ratio", "block8", "dct_high_kurtosis", "temp_res_corr"):
        assert np.isnan(flat[name]), name
    assert flat["blur_lap_var"] == 0.0
    one = feats(moving(1))
    assert all(np.isnan(one[k]) for k in NAMES if k.startswith(("temp_", "codec_")))
    tiny = feats(moving(2, 4, 6))  # smaller than a block: defined where it can be
    assert list(tiny) == NAMES and np.isnan(tiny["dct_ac_energy"])


def test_impute_replaces_non_finite_by_column_median_and_flags() -> None:
    rows = [dict.fromkeys(NAMES, float(i)) for i in range(4)]
    a, b = NAMES[0], NAMES[1]
    rows[0][a] = float("nan")
    rows[1][a] = float("inf")
    rows[2][b] = -float("inf")
    del rows[3][NAMES[2]]  # a missing key counts as NaN
    for r in rows:
        r[NAMES[3]] = float("nan")  # no finite value at all -> 0.0
    x, names, flags = impute(rows)
    assert names == NAMES and x.shape == flags.shape == (4, len(NAMES))
    assert np.isfinite(x).all()
    assert x[0, 0] == x[1, 0] == np.median([2.0, 3.0])
    assert x[2, 1] == np.median([0.0, 1.0, 3.0])
    assert x[3, 2] == np.median([0.0, 1.0, 2.0]) and x[:, 3].tolist() == [0.0] * 4
    expected = np.zeros_like(flags)
    expected[[0, 1], 0] = expected[2, 1] = expected[3, 2] = True
    expected[:, 3] = True
    assert np.array_equal(flags, expected)
    # Fill values of a training set can be reused on other rows.
    fill = fill_values(rows[2:])
    x2, _, _ = impute(rows[:1], fill=fill)
    assert x2[0, 0] == fill[a] == 2.5


def test_table_and_matrix_with_prefixes() -> None:
    frames = [moving(6), moving(1), np.full((3, 32, 32, 3), 90, np.uint8)]
    rows = [feats(f) for f in frames]
    ids = {"video_id": ["a", "b", "c"], "variant": [0, 0, 1]}
    s2 = to_table(rows, ids)
    assert s2.columns[:2] == ["video_id", "variant"]
    assert [s2.schema[k] for k in NAMES] == [pl.Float64] * len(NAMES)
    assert all(s2.schema[k + FLAG_SUFFIX] == pl.Boolean for k in NAMES)
    x = s2.select(NAMES).to_numpy()
    assert np.isfinite(x).all()
    assert s2["temp_diff_energy" + FLAG_SUFFIX].to_list() == [False, True, False]
    assert s2["n_imputed"].to_list() == [sum(not np.isfinite(v) for v in r.values()) for r in rows]
    s4 = to_table(rows, ids, prefix="s4_")
    both = s2.join(s4, on=["video_id", "variant"])
    m, cols = to_matrix(both)
    assert m.dtype == np.float32 and m.shape == (3, 2 * len(NAMES))
    assert cols == NAMES + ["s4_" + k for k in NAMES]
    mf, cols_f = to_matrix(s2, flags=True)
    assert mf.shape == (3, 2 * len(NAMES)) and set(np.unique(mf[:, len(NAMES) :])) <= {0.0, 1.0}
    with pytest.raises(ValueError):
        to_matrix(pl.DataFrame({NAMES[0]: [float("nan")]}))
    with pytest.raises(ValueError):
        to_table(rows, {"video_id": ["a"]})


# --- codec cues and end to end -----------------------------------------------------------


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("feature_videos")
    frames = moving(60)
    return {
        "h264": write_video(d / "h264.mp4", frames, fps=30, codec="h264", gop=10, bframes=2),
        "mpeg4": write_video(d / "mpeg4.avi", frames, fps=30, codec="mpeg4", gop=12),
        "h264_rot": write_video(
            d / "rot.mp4", frames, fps=30, codec="h264", gop=10, bframes=2, rotation=90
        ),
        "short": write_video(d / "short.mp4", moving(5), fps=30, codec="h264"),
    }


def test_codec_cues_from_packet_index(clips: dict[str, Path]) -> None:
    h = extract_features(clips["h264"])
    assert h["codec_h264"] == 1.0 and h["codec_other"] == 0.0
    assert h["codec_gop_mean"] == pytest.approx(10, abs=0.5)
    assert h["codec_key_share"] == pytest.approx(0.1, abs=0.02)
    assert h["codec_b_share"] > 0.2
    assert (h["codec_width"], h["codec_height"], h["codec_fps"]) == (128.0, 96.0, 30.0)
    assert h["codec_duration_s"] == pytest.approx(2.0, abs=0.05)
    assert 0 < h["codec_bpp"] < 24 and h["codec_bit_rate"] > 0
    m = extract_features(clips["mpeg4"])
    assert m["codec_mpeg4"] == 1.0 and m["codec_b_share"] == 0.0
    assert m["codec_gop_mean"] == pytest.approx(12, abs=0.5)
    assert [codec_family(n) for n in ("libdav1d", "hevc", "vp8", "h264")] == [
        "av1",
        "hevc",
        "other",
        "h264",
    ]


def test_extract_end_to_end_is_deterministic(clips: dict[str, Path]) -> None:
    # Repeated calls land buffers at other memory alignments; some OpenCV reductions
    # (cv2.sumElems, cv2.magnitude) would then differ in the last bits.
    frames = moving(4, 240, 320)
    a, m = extract_features(clips["h264"]), compute_features(frames)
    assert list(a) == NAMES
    assert all(np.isfinite(v) for v in a.values())
    for _ in range(8):
        for ref, new in ((a, extract_features(clips["h264"])), (m, compute_features(frames))):
            assert np.array_equal(list(ref.values()), list(new.values()), equal_nan=True)
    # Letterboxed to 64 px: the padding is cropped, codec cues still describe the file.
    s = extract_features(clips["h264"], size=64, num_frames=8)
    assert s["codec_width"] == 128.0 and np.isfinite(s["blur_lap_var"])
    assert s["blur_lap_var"] != a["blur_lap_var"]


def test_rotated_video_is_measured_in_coded_orientation(clips: dict[str, Path]) -> None:
    plain = extract_features(clips["h264"])
    rot = extract_features(clips["h264_rot"])
    assert (rot["codec_width"], rot["codec_height"]) == (96.0, 128.0)
    pixel = [k for k in NAMES if not k.startswith("codec_") or k.endswith("_share")]
    assert {k: rot[k] for k in pixel} == pytest.approx({k: plain[k] for k in pixel})


def test_short_video_drops_repeated_samples(clips: dict[str, Path]) -> None:
    f = extract_features(clips["short"], num_frames=16)  # 5 frames: samples repeat
    assert f["temp_static_share"] == 0.0
    assert f["codec_gop_mean"] == 5.0


def test_crop_removes_letterbox_bars(tmp_path: Path) -> None:
    """Stage-4 videos carry letterbox bars; ``crop`` must make features see only the picture."""
    from aura.features import extract_features

    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur(rng.integers(60, 200, (64, 96, 3), dtype=np.uint8), (0, 0), 1.5)
    frames = [np.roll(base, i, axis=1) for i in range(12)]
    boxed = []
    for f in frames:
        out = np.zeros((96, 96, 3), np.uint8)
        out[16:80] = f
        boxed.append(out)
    plain = extract_features(write_video(tmp_path / "plain.mp4", frames, crf=10), num_frames=6)
    bars = extract_features(write_video(tmp_path / "bars.mp4", boxed, crf=10), num_frames=6)
    cut = extract_features(tmp_path / "bars.mp4", num_frames=6, crop=(16, 16, 0, 0))
    assert bars["dct_dc_mean"] < 0.8 * plain["dct_dc_mean"]
    assert cut["dct_dc_mean"] == pytest.approx(plain["dct_dc_mean"], rel=0.03)
    with pytest.raises(ValueError, match="leaves no picture"):
        extract_features(tmp_path / "bars.mp4", num_frames=2, crop=(50, 50, 0, 0))
