"""Draw the parameters of one demo clip and render it to a file (a pure function of its spec).

A spec is the JSON-ready dict stored in the manifest; rendering it again gives the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from aura.corpus.demo.scene import (
    SCENE_MARGIN,
    Caption,
    camera_path,
    make_scene,
    motion_blur,
    render_view,
)
from aura.corpus.demo.traces import (
    Compositor,
    apply_camera,
    apply_gain,
    blend_frames,
    flicker_gains,
    upsample,
)
from aura.video.writer import VideoWriter

#: (width, height): landscape 16:9, vertical 9:16 and square, longest side 288-480.
RESOLUTIONS = [
    (480, 270),
    (426, 240),
    (384, 216),
    (270, 480),
    (240, 426),
    (216, 384),
    (360, 360),
    (320, 320),
    (288, 288),
]
RESOLUTION_P = [0.15, 0.15, 0.15, 0.12, 0.12, 0.11, 0.07, 0.07, 0.06]
FPS = [24.0, 25.0, 30.0, 30000 / 1001]
FPS_P = [0.2, 0.3, 0.3, 0.2]
CODECS = ["h264", "vp9", "mpeg4"]
CODEC_P = [0.5, 0.25, 0.25]
#: Bits per pixel per frame are drawn the same way for every codec; MPEG-4 Part 2 needs more.
CODEC_RATE = {"h264": 1.0, "vp9": 1.0, "mpeg4": 1.6}
CAPTIONS = [
    "BREAKING NEWS",
    "You won't believe this",
    "WATCH TILL THE END",
    "LIVE",
    "caught on camera",
    "insane footage!!",
    "share before it gets deleted",
    "wait for it...",
    "#viral #wow",
    "Storm footage today",
    "is this real?",
    "unbelievable moment",
]
#: Single-threaded encoders: x264 output depends on its thread count. With macroblock-tree rate
#: control (veryfast and slower presets) x264's output also varied run to run for widths that are
#: not a multiple of 64 (seen with PyAV 18.1's x264; an uninitialised read), so mbtree is off and
#: the lookahead synchronous.
ENCODE_OPTIONS = {
    "h264": {"threads": "1", "x264-params": "sync-lookahead=0:mbtree=0"},
    "vp9": {"threads": "1"},
    "mpeg4": {"threads": "1"},
}


def _container(rng: np.random.Generator, codec: str) -> str:
    if codec == "vp9":
        return ".webm"
    if codec == "mpeg4":
        return str(rng.choice([".avi", ".mp4"]))
    return ".mp4"


def _caption(rng: np.random.Generator, p: float) -> dict | None:
    if rng.random() >= p:
        return None
    return {
        "text": str(rng.choice(CAPTIONS)),
        "position": str(rng.choice(["top", "bottom"])),
        "style": str(rng.choice(["dark", "light"])),
    }


def _encoding(
    rng: np.random.Generator, width: int, height: int, fps: float, codec: str | None = None
) -> dict:
    codec = codec or str(rng.choice(CODECS, p=CODEC_P))
    # Drawn independently of the label; high enough that sensor noise survives the encode.
    bpp = float(rng.uniform(0.4, 1.0))
    return {
        "codec": codec,
        "container": _container(rng, codec),
        "bit_rate": int(round(bpp * CODEC_RATE[codec] * width * height * fps, -3)),
        "gop": [None, int(round(fps)), int(round(2 * fps))][int(rng.integers(3))],
        "preset": str(rng.choice(["ultrafast", "superfast", "veryfast"]))
        if codec == "h264"
        else None,
    }


def draw_motion(rng: np.random.Generator) -> dict:
    """Camera motion of one clip: pan, zoom, handheld jitter and roll (same for both classes)."""
    kind = str(rng.choice(["handheld", "pan", "zoom", "pan_zoom"], p=[0.2, 0.4, 0.15, 0.25]))
    pan = [0.0, 0.0]
    if "pan" in kind:
        pan = [
            float(rng.choice([-1, 1]) * rng.uniform(0.15, 0.55)),
            float(rng.uniform(-0.15, 0.15)),
        ]
    z = float(rng.uniform(1.0, 1.05))
    zoom = [z, z]
    if "zoom" in kind:
        zoom = [1.0, float(rng.uniform(1.08, 1.25))]
        if rng.random() < 0.5:
            zoom.reverse()
    return {
        "kind": kind,
        "pan": [round(v, 4) for v in pan],
        "zoom": [round(v, 4) for v in zoom],
        "jitter": round(float(rng.uniform(0.002, 0.01)), 5),
        "jitter_hz": round(float(rng.uniform(0.8, 3.0)), 3),
        "roll": round(float(rng.uniform(0.1, 0.6)), 3),
        "ease": bool(rng.random() < 0.5),
    }


def draw_original(
    rng: np.random.Generator,
    min_s: float,
    max_s: float,
    palette_seed: int,
    codec: str | None = None,
) -> dict:
    """Resolution, frame rate, encoding, duration, caption, motion and content seed of an original."""
    width, height = RESOLUTIONS[int(rng.choice(len(RESOLUTIONS), p=RESOLUTION_P))]
    fps = float(FPS[int(rng.choice(len(FPS), p=FPS_P))])
    duration = round(float(rng.uniform(min_s, max_s)), 3)
    return {
        "width": width,
        "height": height,
        "fps": fps,
        **_encoding(rng, width, height, fps, codec),
        "duration_s": duration,
        "n_frames": max(2, int(round(duration * fps))),
        "caption": _caption(rng, 0.4),
        "motion": draw_motion(rng),
        "content_seed": int(rng.integers(2**31 - 1)),
        "palette_seed": palette_seed,
    }


def draw_repost(rng: np.random.Generator, parent: dict) -> dict:
    """A near-duplicate: re-encoded (different codec or size), maybe cropped to 9:16, downscaled."""
    w, h = parent["width"], parent["height"]
    crop = None
    if w >= h and rng.random() < 0.35:
        crop = "9:16"
        w = int(round(h * 9 / 16 / 2)) * 2
    scale = float(rng.choice([1.0, 0.75, 0.6, 0.5], p=[0.3, 0.3, 0.2, 0.2]))
    scale = round(max(scale, min(1.0, 160 / max(w, h))), 3)  # keep the longest side >= 160
    enc = _encoding(rng, w, h, parent["fps"])
    if enc["codec"] == parent["codec"] and crop is None and scale == 1.0:
        scale = 0.75  # a repost always differs from its parent in codec or size
    out_w, out_h = (max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2))
    enc["bit_rate"] = int(round(enc["bit_rate"] * scale * scale, -3))
    return {
        "width": out_w,
        "height": out_h,
        "fps": parent["fps"],
        **enc,
        "duration_s": parent["duration_s"],
        "n_frames": parent["n_frames"],
        "caption": _caption(rng, 0.25),
        "crop": crop,
        "scale": scale,
    }


def original_frames(spec: dict) -> Iterator[np.ndarray]:
    """The RGB uint8 frames of an original clip (real camera pipeline or fake with its traces)."""
    p = spec["params"]
    width, height, n = p["width"], p["height"], p["n_frames"]
    traces = spec.get("traces") or {}
    cam = spec.get("camera")
    s_scene, s_path, s_noise, s_comp, s_flicker = np.random.SeedSequence(p["content_seed"]).spawn(5)
    up = traces.get("upsample")
    rw, rh = (
        (width, height)
        if up is None
        else (int(round(width / up["factor"])), int(round(height / up["factor"])))
    )
    sw, sh = int(rw * SCENE_MARGIN), int(rh * SCENE_MARGIN)
    style = "rendered" if "rendered" in traces else "photo"
    scene = make_scene(np.random.default_rng(s_scene), sh, sw, style, p["palette_seed"])
    path = camera_path(p["motion"], n, p["fps"], rw, rh, sw, sh, int(s_path.generate_state(1)[0]))
    noise_rng = np.random.default_rng(s_noise)
    comp = None
    if "composite" in traces:
        seed = int(s_comp.generate_state(1)[0])
        comp = Compositor(traces["composite"], width, height, n, cam is None, seed)
    gains = (
        flicker_gains(traces["flicker"], n, int(s_flicker.generate_state(1)[0]))
        if "flicker" in traces
        else None
    )

    def base() -> Iterator[np.ndarray]:
        for t, (affine, vel) in enumerate(path):
            view = render_view(scene, affine, rw, rh)
            if cam is not None:
                frame = apply_camera(motion_blur(view, *vel, cam["shutter"]), cam, noise_rng)
            else:
                frame = np.clip(view + 0.5, 0, 255).astype(np.uint8)
            if up is not None:
                frame = upsample(frame, width, height, up["interpolation"])
            if comp is not None:
                frame = comp.apply(frame, t)
            if gains is not None:
                frame = apply_gain(frame, gains[t])
            yield frame

    frames = blend_frames(base()) if "blend" in traces else base()
    return _captioned(frames, p)


def _captioned(frames: Iterator[np.ndarray], p: dict) -> Iterator[np.ndarray]:
    if not p.get("caption"):
        return frames
    c = p["caption"]
    cap = Caption(c["text"], c["position"], c["style"], p["width"], p["height"])
    return (cap.apply(f) for f in frames)


def repost_frames(spec: dict, parent_path: Path) -> Iterator[np.ndarray]:
    """Decode the parent file and yield its frames cropped/downscaled for the repost."""
    p = spec["params"]

    def frames() -> Iterator[np.ndarray]:
        with av.open(str(parent_path)) as container:
            for frame in container.decode(video=0):
                img = frame.to_ndarray(format="rgb24")
                if p["crop"] == "9:16":
                    h, w = img.shape[:2]
                    cw = int(round(h * 9 / 16 / 2)) * 2
                    x0 = (w - cw) // 2
                    img = img[:, x0 : x0 + cw]
                if img.shape[1] != p["width"] or img.shape[0] != p["height"]:
                    img = cv2.resize(img, (p["width"], p["height"]), interpolation=cv2.INTER_AREA)
                yield np.ascontiguousarray(img)

    return _captioned(frames(), p)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def temp_path(final: Path) -> Path:
    """Hidden in-progress name with the same suffix (the container is chosen from it)."""
    return final.with_name(f".{final.stem}.partial{final.suffix}")


def _fix_matroska_uids(path: Path, video_id: str) -> None:
    # FFmpeg's Matroska muxer writes a random TrackUID (and the Tags' copy of it) unless the
    # container is opened bitexact, which VideoWriter does not expose: pin it to a value of the id.
    data = path.read_bytes()
    i = data.find(b"\x73\xc5\x88")
    if i < 0:
        return
    old = data[i + 3 : i + 11]
    new = hashlib.sha256(video_id.encode()).digest()[:8]
    for element in (b"\x73\xc5\x88", b"\x63\xc5\x88"):
        data = data.replace(element + old, element + new)
    path.write_bytes(data)


def encode(final: Path, frames: Iterator[np.ndarray], p: dict, video_id: str) -> int:
    """Encode ``frames`` to a hidden temp file, then rename it to ``final``; returns frames written."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(final)
    with VideoWriter(
        tmp,
        width=p["width"],
        height=p["height"],
        fps=p["fps"],
        codec=p["codec"],
        bit_rate=p["bit_rate"],
        gop=p["gop"],
        preset=p["preset"] or "veryfast",
        options=ENCODE_OPTIONS[p["codec"]],
    ) as writer:
        for frame in frames:
            writer.write(frame)
    if final.suffix in {".webm", ".mkv"}:
        _fix_matroska_uids(tmp, video_id)
    os.replace(tmp, final)
    return writer.frames_written


HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Video unavailable</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><div id="error-screen"><h1>Video unavailable</h1>
<p>This video is no longer available because the account associated with it has been terminated.</p>
<p><a href="/">Go to the home page</a></p></div></body></html>
"""


def write_atomic(final: Path, data: bytes) -> None:
    """Write bytes to a hidden temp file, then rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(final)
    tmp.write_bytes(data)
    os.replace(tmp, final)


def render(spec: dict, root: str) -> dict:
    """Render one manifest entry under ``root``; returns its sha256, size and frame count."""
    final = Path(root) / spec["path"]
    n_frames: int | None = None
    extra: dict = {}
    if spec["kind"] == "original":
        n_frames = encode(final, original_frames(spec), spec["params"], spec["video_id"])
    elif spec["kind"] == "repost":
        parent = Path(root) / spec["parent_path"]
        n_frames = encode(final, repost_frames(spec, parent), spec["params"], spec["video_id"])
    elif spec["hostile"] == "empty":
        write_atomic(final, b"")
    elif spec["hostile"] == "not_video":
        write_atomic(final, HTML_PAGE.encode())
    elif spec["hostile"] == "truncated":
        full = final.with_name(f".{final.stem}.full{final.suffix}")
        encode(full, original_frames(spec), spec["params"], spec["video_id"])
        data = full.read_bytes()
        full.unlink()
        extra["full_size"] = len(data)
        write_atomic(final, data[: int(len(data) * spec["keep_fraction"])])
    else:
        raise ValueError(f"unknown demo clip kind {spec['kind']!r}/{spec.get('hostile')!r}")
    return {
        "sha256": sha256_file(final),
        "size": final.stat().st_size,
        "n_frames": n_frames,
        **extra,
    }
