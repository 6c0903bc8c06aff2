"""Stage-1 augmentation on real, small generated videos: ops, plans, specs and rendering."""

from __future__ import annotations

import json
import math
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from aura.augment import (
    AugmentConfig,
    FrameAugmenter,
    VariantSpec,
    apply_spatial,
    augment_clip,
    cutout_box_pixels,
    draw_variant,
    output_size,
    plan_indices,
    render_variant,
    variant_seed,
)
from aura.augment.config import OP_SCHEMA
from aura.augment.spatial import _displacement
from aura.video import VideoDecodeError, iter_frames, probe, write_video

from ..video.conftest import write_growing_mkv

W, H, N = 96, 64, 30
BITS, BAND = 8, W // 8


def coded_frame(i: int) -> np.ndarray:
    """Upper half: an asymmetric scene; lower half: ``i`` as 8 black/white bands."""
    f = np.zeros((H, W, 3), np.uint8)
    yy, xx = np.mgrid[0 : H // 2, 0:W]
    f[: H // 2] = np.stack([60 + xx, 50 + yy * 2, 80 + (xx + yy) % 16 * 4], -1).astype(np.uint8)
    f[4:14, 6:24] = (240, 220, 30)  # marker near the top-left corner only
    for b in range(BITS):
        if (i >> b) & 1:
            f[H // 2 :, b * BAND : (b + 1) * BAND] = 255
    return f


def read_index(frame: np.ndarray) -> int:
    lower = frame[H // 2 + 4 : H - 4].mean(axis=(0, 2))
    return sum(1 << b for b in range(BITS) if lower[b * BAND + 3 : (b + 1) * BAND - 3].mean() > 127)


def decode(path: Path) -> np.ndarray:
    return np.stack(list(iter_frames(path)))


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("aug") / "src.mp4"
    return write_video(path, (coded_frame(i) for i in range(N)), fps=30, gop=8, crf=12)


def only(seed: int = 7, **ops: dict) -> AugmentConfig:
    """A config with just ``ops`` enabled, each always taken (p = 1)."""
    given: dict[str, dict] = {name: {"enabled": False} for name in OP_SCHEMA}
    for name, settings in ops.items():
        given[name] = {"p": 1.0, **settings}
    return AugmentConfig.from_params({"seed": seed, "max_side": None, "ops": given})


def find(cfg: AugmentConfig, pred, key: str = "clip") -> VariantSpec:
    """The first variant of ``key`` whose spec satisfies ``pred``."""
    for v in range(1, 300):
        spec = draw_variant(key, v, cfg)
        if pred(spec):
            return spec
    raise AssertionError("no variant satisfies the predicate")


def params(spec: VariantSpec, name: str) -> dict:
    return next(o.params for o in spec.ops if o.name == name)


def marker_frame(y: int = 16, x: int = 70) -> np.ndarray:
    f = np.zeros((H, W, 3), np.uint8)
    f[y - 2 : y + 3, x - 2 : x + 3] = 255
    return f


def centroid(frame: np.ndarray) -> tuple[float, float]:
    g = frame.mean(axis=2)
    g = np.where(g > 40, g, 0)
    yy, xx = np.mgrid[0 : g.shape[0], 0 : g.shape[1]]
    return float((yy * g).sum() / g.sum()), float((xx * g).sum() / g.sum())


def texture(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 215, (H // 4, W // 4, 3), dtype=np.uint8)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)


# --- seeds and specs ---------------------------------------------------------------------------


def test_variant_seed_is_stable_across_processes_and_distinct() -> None:
    # Hard-coded: a change here silently re-draws every variant of every corpus.
    assert variant_seed(0, "clip", 1) == 1373185306399505153
    seeds = {variant_seed(s, k, v) for s in (0, 1) for k in ("a", "b") for v in (1, 2)}
    assert len(seeds) == 8 and all(0 <= s < 2**63 for s in seeds)


def test_same_inputs_give_the_same_spec_and_other_variants_differ() -> None:
    cfg = AugmentConfig.from_params({"seed": 3})
    a, b = draw_variant("vid", 1, cfg), draw_variant("vid", 1, cfg)
    assert a == b and a.to_json() == b.to_json()
    assert VariantSpec.from_json(a.to_json()) == a
    assert draw_variant("vid", 2, cfg).to_json() != a.to_json()
    assert draw_variant("other", 1, cfg).to_json() != a.to_json()
    assert draw_variant("vid", 1, AugmentConfig.from_params({"seed": 4})).seed != a.seed
    with pytest.raises(ValueError, match="0 is the original"):
        draw_variant("vid", 0, cfg)


def test_k10_gives_10_distinct_specs_each_with_an_op() -> None:
    cfg = AugmentConfig.from_params({"k": 10})
    specs = [draw_variant("vid", v, cfg) for v in range(1, cfg.k + 1)]
    assert len({s.ops_json() for s in specs}) == 10
    assert all(len(s.ops) >= cfg.min_ops == 1 for s in specs)


def test_switching_one_op_off_leaves_the_others_draws() -> None:
    both = draw_variant("vid", 1, only(rotation={}, hflip={}))
    rot = draw_variant("vid", 1, only(rotation={}))
    assert [o.name for o in both.ops] == ["hflip", "rotation"]
    assert params(both, "rotation") == params(rot, "rotation")


# --- spatial ops --------------------------------------------------------------------------------


def test_hflip_mirrors() -> None:
    spec = draw_variant("vid", 1, only(hflip={}))
    frame = coded_frame(5)
    np.testing.assert_array_equal(FrameAugmenter(spec)(frame, 0), np.fliplr(frame))


def test_rotation_moves_a_marker_by_the_drawn_angle() -> None:
    spec = find(
        only(rotation={"max_degrees": 40}), lambda s: abs(params(s, "rotation")["degrees"]) > 15
    )
    theta = math.radians(params(spec, "rotation")["degrees"])
    out = FrameAugmenter(spec)(marker_frame(), 0)
    cy, cx = (H - 1) / 2, (W - 1) / 2
    dy, dx = 16 - cy, 70 - cx
    # Counter-clockwise on screen (y points down).
    want = (
        cy - dx * math.sin(theta) + dy * math.cos(theta),
        cx + dx * math.cos(theta) + dy * math.sin(theta),
    )
    assert np.allclose(centroid(out), want, atol=1.0)


def test_affine_translate_shifts_content() -> None:
    cfg = only(affine={"max_translate": 0.2, "scale": [1.0, 1.0], "max_shear": 0.0})
    spec = find(cfg, lambda s: min(map(abs, params(s, "affine")["translate"])) > 0.05)
    tx, ty = params(spec, "affine")["translate"]
    y0, x0 = centroid(marker_frame(32, 48))
    y1, x1 = centroid(FrameAugmenter(spec)(marker_frame(32, 48), 0))
    assert abs((x1 - x0) - tx * W) < 1.0 and abs((y1 - y0) - ty * H) < 1.0


@pytest.mark.parametrize("brighter", [True, False])
def test_brightness_changes_the_mean_in_the_drawn_direction(brighter: bool) -> None:
    cfg = only(color_jitter={"brightness": 0.5, "contrast": 0, "saturation": 0, "hue": 0})
    spec = find(
        cfg, lambda s: (params(s, "color_jitter")["brightness"] - 1) * (1 if brighter else -1) > 0.1
    )
    f = params(spec, "color_jitter")["brightness"]
    frame = texture()
    out = FrameAugmenter(spec)(frame, 0)
    expect = np.clip(frame.astype(float) * f, 0, 255).mean()
    assert (out.mean() > frame.mean()) == brighter
    assert abs(out.mean() - expect) < 1.0


def test_noise_adds_the_drawn_energy_fresh_per_frame_but_reproducibly() -> None:
    spec = draw_variant("vid", 1, only(noise={"sigma": [6.0, 12.0]}))
    sigma = params(spec, "noise")["sigma"]
    frame, aug = texture(), FrameAugmenter(spec)
    a, b = aug(frame, 0).astype(float), aug(frame, 1).astype(float)
    assert abs((a - frame).std() - sigma) < 0.1 * sigma
    assert not np.array_equal(a, b)  # fresh noise on another frame
    np.testing.assert_array_equal(a, FrameAugmenter(spec)(frame, 0))  # same frame, same noise


def test_blur_lowers_laplacian_variance() -> None:
    spec = draw_variant("vid", 1, only(blur={"sigma": [1.0, 2.0]}))
    frame = texture()
    out = FrameAugmenter(spec)(frame, 0)

    def sharpness(img: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())

    assert out.shape == frame.shape and sharpness(out) < 0.5 * sharpness(frame)


def test_cutout_fills_the_drawn_box_on_every_frame() -> None:
    spec = draw_variant("vid", 1, only(cutout={"area": [0.05, 0.1], "fill": 0}))
    ((top, left, bh, bw),) = params(spec, "cutout")["boxes"]
    clip = np.stack([coded_frame(i) | 1 for i in range(N)])  # no pixel is 0 before the cutout
    out, _ = augment_clip(clip, spec)
    zero = (out == 0).all(axis=3)
    ys, xs = np.nonzero(zero.any(axis=0))
    # The erased box is where the fractions put it (within the 1 px of rounding).
    assert np.allclose([ys.min(), xs.min()], [top * H, left * W], atol=1)
    assert np.allclose([ys.max() + 1, xs.max() + 1], [(top + bh) * H, (left + bw) * W], atol=1)
    assert (zero == zero[0]).all() and zero[0].sum() >= 0.05 * H * W * 0.8
    np.testing.assert_array_equal(zero[0], (out[0] == 0).any(axis=2))  # fill is 0 in all channels
    assert cutout_box_pixels([top, left, bh, bw], H, W) == (
        ys.min(),
        xs.min(),
        ys.max() + 1 - ys.min(),
        xs.max() + 1 - xs.min(),
    )


def test_elastic_moves_pixels_keeps_size_and_uses_one_field() -> None:
    spec = draw_variant("vid", 1, only(elastic={"alpha": [0.03, 0.05]}))
    frame, aug = texture(), FrameAugmenter(spec)
    a = aug(frame, 0)
    assert a.shape == frame.shape
    assert np.abs(a.astype(int) - frame).mean() > 3
    np.testing.assert_array_equal(a, aug(frame, 17))  # the displacement field is fixed
    _displacement.cache_clear()  # and rebuilt from the spec alone, as in a fresh process
    np.testing.assert_array_equal(
        a, FrameAugmenter(VariantSpec.from_json(spec.to_json()))(frame, 3)
    )


def test_geometry_and_cutout_are_identical_across_frames() -> None:
    cfg = only(hflip={}, rotation={"max_degrees": 20}, cutout={}, elastic={})
    spec = draw_variant("vid", 2, cfg)
    assert [o.name for o in spec.ops] == ["hflip", "rotation", "elastic", "cutout"]
    frame, aug = texture(1), FrameAugmenter(spec)
    first = aug(frame, 0)
    for i in (1, 9, 29):
        np.testing.assert_array_equal(aug(frame, i), first)
    np.testing.assert_array_equal(apply_spatial(frame, spec.spatial), first)


# --- temporal plans ------------------------------------------------------------------------------


def test_frame_drop_removes_at_most_a_quarter_and_keeps_order() -> None:
    cfg = only(frame_drop={})
    for v in range(1, 20):
        plan = draw_variant("vid", v, cfg).plan(N)
        assert 0.75 * N <= len(plan) < N
        assert plan == sorted(set(plan))


def test_frame_dup_repeats_frames_in_order() -> None:
    plan = draw_variant("vid", 1, only(frame_dup={"fraction": [0.1, 0.2], "max_repeats": 3})).plan(
        N
    )
    assert len(plan) > N and sorted(set(plan)) == list(range(N)) and plan == sorted(plan)


def test_plan_indices_composes_and_rejects_unknown_ops() -> None:
    assert plan_indices(5, [("reverse", {})]) == [4, 3, 2, 1, 0]
    assert plan_indices(4, {"frame_dup": {"fraction": 1.0, "max_repeats": 1, "seed": 1}}) == [
        0, 0, 1, 1, 2, 2, 3, 3,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown temporal op 'shuffle'"):
        plan_indices(5, [("shuffle", {})])


# --- rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "chunk"), [("frame_drop", None), ("frame_dup", None), ("reverse", 7)]
)
def test_rendered_frame_numbers_follow_the_plan(src: Path, tmp_path: Path, op: str, chunk) -> None:
    spec = draw_variant("vid", 1, only(**{op: {}}))
    meta = render_variant(src, tmp_path / "v.mp4", spec, max_side=None, chunk=chunk)
    got = [read_index(f) for f in iter_frames(tmp_path / "v.mp4")]
    assert got == spec.plan(N) and meta["n_frames_out"] == len(got)
    if op == "reverse":
        assert got == list(range(N))[::-1]
    elif op == "frame_drop":
        assert 0.75 * N <= len(got) < N and got == sorted(got)
    else:
        assert len(got) > N and len(set(got)) == N


def test_render_flips_every_frame_of_the_file(src: Path, tmp_path: Path) -> None:
    spec = draw_variant("vid", 1, only(hflip={}))
    render_variant(src, tmp_path / "f.mp4", spec, max_side=None)
    orig, out = decode(src).astype(int), decode(tmp_path / "f.mp4").astype(int)
    assert out.shape == orig.shape
    for a, b in zip(orig, out, strict=True):
        assert np.abs(b - a[:, ::-1]).mean() < 3 < np.abs(b - a).mean()


def test_render_is_bit_identical_and_variants_differ(src: Path, tmp_path: Path) -> None:
    every_op = {name: {"p": 1.0} for name in OP_SCHEMA}  # noise, elastic, reversal too
    cfg = AugmentConfig.from_params({"seed": 11, "max_side": None, "ops": every_op})
    spec = draw_variant("vid", 1, cfg)
    assert len(spec.ops) == len(OP_SCHEMA)
    m1 = render_variant(src, tmp_path / "a.mp4", draw_variant("vid", 1, cfg), max_side=None)
    m2 = render_variant(src, tmp_path / "b.mp4", spec, **cfg.render_kwargs())
    render_variant(src, tmp_path / "c.mp4", draw_variant("vid", 2, cfg), max_side=None)
    a, b, c = (decode(tmp_path / f"{n}.mp4") for n in "abc")
    np.testing.assert_array_equal(a, b)
    assert m1["ops"] == m2["ops"] == spec.ops_json() and m1["seed"] == spec.seed
    assert json.loads(m1["ops"]) and (a.shape != c.shape or not np.array_equal(a, c))


@pytest.mark.parametrize(
    ("size", "cap", "want"),
    [((96, 64), None, (96, 64)), ((96, 64), 50, (50, 34)), ((1080, 1920), 640, (360, 640)),
     ((97, 65), None, (96, 64)), ((1920, 1080), 641, (640, 360)), ((640, 2), 64, (64, 2))],
)  # fmt: skip
def test_output_size_caps_the_long_side_keeps_aspect_and_is_even(size, cap, want) -> None:
    w, h = size
    ow, oh = output_size(w, h, cap)
    assert (ow, oh) == want and ow % 2 == 0 and oh % 2 == 0
    assert max(ow, oh) <= (cap or max(w, h))
    short, exact = (oh, ow * h / w) if w >= h else (ow, oh * w / h)
    assert abs(short - exact) <= 1 or short == 2  # 2 px is the floor


def test_render_caps_max_side(src: Path, tmp_path: Path) -> None:
    spec = draw_variant("vid", 1, only(cutout={}))
    meta = render_variant(src, tmp_path / "s.mp4", spec, max_side=50)
    info = probe(tmp_path / "s.mp4")
    assert (info.width, info.height) == (meta["width"], meta["height"]) == (50, 34)
    assert info.n_frames == N


def test_unreadable_input_raises_and_leaves_no_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    out = tmp_path / "out" / "v.mp4"
    with pytest.raises(VideoDecodeError):
        render_variant(bad, out, draw_variant("vid", 1, only(hflip={})), max_side=None)
    assert not out.exists() and not any(out.parent.glob("*"))


def _damage(src: Path, dst: Path, packets: range) -> Path:
    """Copy ``src`` with the payload of some packets replaced by noise."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for k, pk in enumerate(inp.demux(s_in)):
            if pk.dts is None:
                continue
            if k in packets:
                junk = np.random.default_rng(k).integers(0, 256, pk.size, dtype=np.uint8)
                new = av.Packet(b"\0\0\0\1" + junk.tobytes())
                new.pts, new.dts, new.time_base = pk.pts, pk.dts, pk.time_base
                pk = new
            pk.stream = s_out
            out.mux(pk)
    return dst


def test_failure_mid_render_keeps_the_old_output_and_no_temp(tmp_path: Path) -> None:
    # The header and first frames are within the cap; the second half decodes larger.
    bad = write_growing_mkv(tmp_path / "grow.mkv", (64, 48), (128, 96))
    probe(bad, verify=False, max_pixels=64 * 48)
    out = tmp_path / "out" / "v.mp4"
    out.parent.mkdir()
    out.write_bytes(b"previous render")
    with pytest.raises(VideoDecodeError, match="too_large"):
        spec = draw_variant("vid", 1, only(hflip={}))
        render_variant(bad, out, spec, max_side=None, max_pixels=64 * 48)
    assert out.read_bytes() == b"previous render"
    assert [p.name for p in out.parent.iterdir()] == ["v.mp4"]


def test_damaged_packets_cost_frames_not_the_render(src: Path, tmp_path: Path) -> None:
    """Packets the decoder rejects are skipped, as the sampler and FFmpeg's CLI do."""
    bad = _damage(src, tmp_path / "damaged.mp4", range(12, 14))
    probe(bad)  # the damage is in the middle: the file opens and probes fine
    n = probe(src).n_frames
    meta = render_variant(
        bad, tmp_path / "v.mp4", draw_variant("vid", 1, only(hflip={})), max_side=None
    )
    assert 0 < meta["n_frames_out"] < n
    assert probe(tmp_path / "v.mp4").n_frames == meta["n_frames_out"]


# --- configuration ------------------------------------------------------------------------------


def test_config_defaults_round_trip_and_accept_the_wrapped_section() -> None:
    cfg = AugmentConfig.from_params(None)
    assert cfg == AugmentConfig() and cfg.k == 1 and cfg.ops.rotation.max_degrees == 10.0
    again = AugmentConfig.from_params(cfg.to_params())
    assert again == cfg and again.fingerprint() == cfg.fingerprint()
    wrapped = AugmentConfig.from_params({"augmentation": {"k": 10, "max_side": None}})
    assert wrapped.k == 10 and wrapped.max_side is None
    assert wrapped.fingerprint() != cfg.fingerprint()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ops": {"rotation": {"max_degrees": -5}}}, "augmentation.ops.rotation.max_degrees must be >= 0"),
        ({"ops": {"frame_drop": {"fraction": [0.3, 0.1]}}}, "augmentation.ops.frame_drop.fraction must be [low, high]"),
        ({"ops": {"noise": {"p": 1.5}}}, "augmentation.ops.noise.p must be <= 1"),
        ({"ops": {"hflip": {"enabled": "maybe"}}}, "augmentation.ops.hflip.enabled must be true or false"),
        ({"ops": {"cutout": {"max_count": 1.5}}}, "augmentation.ops.cutout.max_count must be an integer"),
        ({"ops": {"rotation": {"max_degree": 5}}}, "augmentation.ops.rotation.max_degree: unknown key; did you mean augmentation.ops.rotation.max_degrees?"),
        ({"ops": {"shuffle": {}}}, "augmentation.ops.shuffle: unknown key; valid keys: "),
        ({"ops": {"hflp": {}}}, "augmentation.ops.hflp: unknown key; did you mean augmentation.ops.hflip?"),
        ({"kk": 2}, "augmentation.kk: unknown key; did you mean augmentation.k?"),
        ({"k": -1}, "augmentation.k must be >= 0"),
        ({"max_side": 8}, "augmentation.max_side must be >= 16"),
        ({"codec": "h265"}, "augmentation.codec must be one of"),
        ({"ops": {n: {"enabled": False} for n in OP_SCHEMA}}, "augmentation.min_ops"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        AugmentConfig.from_params(params)
