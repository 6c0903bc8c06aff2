"""Camera traits (real) and synthesis traces (fake): how each is drawn and applied to frames.

Camera: motion blur, signal-dependent sensor noise with chroma noise (fresh every frame), in-camera
sharpening and one JPEG pass. Synthesis traces (a fake clip gets a subset of at least two):

- ``rendered``: noise-free render, smooth shading, no camera pass;
- ``blend``: every other frame is the average of its neighbours (frame interpolation);
- ``flicker``: per-frame global brightness/colour modulation;
- ``upsample``: made at 1/2-1/3 resolution, then resized up;
- ``composite``: a pasted region whose noise/sharpness does not match the rest.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from aura.corpus.demo.scene import fractal_noise

TRACES = ("rendered", "blend", "flicker", "upsample", "composite")


def draw_camera(rng: np.random.Generator) -> dict:
    """Camera traits of one device/shot."""
    return {
        "noise_read": round(float(rng.uniform(1.0, 2.2)), 3),
        "noise_mid": round(float(rng.uniform(5.0, 9.0)), 3),  # noise std at grey level 128
        "chroma_noise": round(float(rng.uniform(0.25, 0.6)), 3),
        "sharpen": round(float(rng.uniform(0.0, 0.6)), 3),
        "jpeg_quality": int(rng.integers(80, 93)),
        "shutter": round(float(rng.uniform(0.3, 0.9)), 3),
    }


def draw_traces(rng: np.random.Generator, required: str) -> dict[str, dict]:
    """A subset of at least two traces (always including ``required``) with their parameters."""
    k = int(rng.choice([2, 3, 4], p=[0.5, 0.35, 0.15]))
    others = [t for t in TRACES if t != required]
    chosen = {required, *rng.choice(others, size=k - 1, replace=False).tolist()}
    params: dict[str, dict] = {}
    for name in TRACES:  # fixed order: the drawn parameters do not depend on set order
        if name not in chosen:
            continue
        if name == "rendered":
            params[name] = {}
        elif name == "blend":
            params[name] = {"interpolated": "odd frames"}
        elif name == "flicker":
            params[name] = {
                "brightness": round(float(rng.uniform(0.025, 0.06)), 4),
                "colour": round(float(rng.uniform(0.005, 0.02)), 4),
            }
        elif name == "upsample":
            params[name] = {
                "factor": float(rng.choice([2.0, 2.5, 3.0])),
                "interpolation": str(rng.choice(["bilinear", "bicubic"])),
            }
        else:
            params[name] = {
                "shape": str(rng.choice(["ellipse", "box"])),
                "center": [
                    round(float(rng.uniform(0.3, 0.7)), 3),
                    round(float(rng.uniform(0.35, 0.7)), 3),
                ],
                "size": [
                    round(float(rng.uniform(0.25, 0.4)), 3),
                    round(float(rng.uniform(0.25, 0.4)), 3),
                ],
                "drift": [
                    round(float(rng.uniform(-0.15, 0.15)), 3),
                    round(float(rng.uniform(-0.08, 0.08)), 3),
                ],
                "feather_px": round(float(rng.uniform(0.8, 2.5)), 2),
                "noise_sigma": round(float(rng.uniform(5.0, 9.0)), 2),  # used over a clean base
                "blur_sigma": round(float(rng.uniform(0.9, 1.6)), 2),  # used over a camera base
            }
    return params


def apply_camera(img: np.ndarray, cam: dict, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise, sharpening and a JPEG round trip on a float RGB frame; returns uint8."""
    h, w = img.shape[:2]
    read, mid = cam["noise_read"], cam["noise_mid"]
    gain = max(mid * mid - read * read, 0.0) / 128.0
    sigma = np.sqrt(read * read + gain * np.maximum(img, 0.0))
    luma = rng.standard_normal((h, w), dtype=np.float32)[..., None]
    chroma = rng.standard_normal(((h + 1) // 2, (w + 1) // 2, 3), dtype=np.float32)
    # Demosaicking spreads chroma noise over neighbouring pixels: draw it at half resolution.
    chroma = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    noisy = img + sigma * (luma + cam["chroma_noise"] * chroma)
    if cam["sharpen"] > 0:
        noisy = noisy + cam["sharpen"] * (noisy - cv2.GaussianBlur(noisy, (0, 0), 1.0))
    out = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, cam["jpeg_quality"]])
    if not ok:
        raise RuntimeError("JPEG encode failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]


def upsample(frame: np.ndarray, width: int, height: int, interpolation: str) -> np.ndarray:
    """Resize a low-resolution frame up to the output size."""
    interp = cv2.INTER_CUBIC if interpolation == "bicubic" else cv2.INTER_LINEAR
    return cv2.resize(frame, (width, height), interpolation=interp)


class Compositor:
    """Pastes a moving region from another source, with mismatched noise/sharpness, onto frames."""

    def __init__(
        self, params: dict, width: int, height: int, n_frames: int, base_is_clean: bool, seed: int
    ) -> None:
        ss = np.random.SeedSequence(seed)
        rng_content, self._rng = (np.random.default_rng(s) for s in ss.spawn(2))
        pw = max(8, int(params["size"][0] * width))
        ph = max(8, int(params["size"][1] * height))
        self.pw, self.ph, self.n = pw, ph, max(n_frames - 1, 1)
        self.width, self.height = width, height
        self.params = params
        self.base_is_clean = base_is_clean
        # The pasted content: a textured object on its own, sliding slightly inside its window.
        tex = fractal_noise(rng_content, ph + 16, pw + 16, 1.0)
        colour = rng_content.uniform(60, 200, 3).astype(np.float32)
        self.source = np.clip(colour * np.exp(0.25 * tex)[..., None], 0, 255)
        mask = np.zeros((ph, pw), np.uint8)
        if params["shape"] == "ellipse":
            cv2.ellipse(
                mask,
                (pw // 2, ph // 2),
                (pw // 2 - 1, ph // 2 - 1),
                0,
                0,
                360,
                255,
                -1,
                cv2.LINE_AA,
            )
        else:
            mask[2:-2, 2:-2] = 255
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), params["feather_px"])
        self.alpha = alpha[..., None]

    def apply(self, frame: np.ndarray, t: int) -> np.ndarray:
        """Composite the region into uint8 ``frame`` (in place) at frame index ``t``."""
        p = self.params
        s = t / self.n
        off = int(round(16 * s))
        patch = self.source[off : off + self.ph, off : off + self.pw]
        if self.base_is_clean:
            noise = self._rng.standard_normal(patch.shape, dtype=np.float32)
            patch = patch + p["noise_sigma"] * noise
        else:
            patch = cv2.GaussianBlur(patch, (0, 0), p["blur_sigma"])
        cx = (p["center"][0] + p["drift"][0] * (s - 0.5)) * self.width
        cy = (p["center"][1] + p["drift"][1] * (s - 0.5)) * self.height
        x0 = int(np.clip(round(cx - self.pw / 2), 0, self.width - self.pw))
        y0 = int(np.clip(round(cy - self.ph / 2), 0, self.height - self.ph))
        region = frame[y0 : y0 + self.ph, x0 : x0 + self.pw].astype(np.float32)
        region = region * (1 - self.alpha) + patch * self.alpha
        frame[y0 : y0 + self.ph, x0 : x0 + self.pw] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
        return frame


def flicker_gains(params: dict, n_frames: int, seed: int) -> np.ndarray:
    """Per-frame RGB gains (n_frames, 3): a global brightness factor plus a small colour cast."""
    rng = np.random.default_rng(seed)
    bright = np.clip(rng.standard_normal(n_frames), -2.5, 2.5) * params["brightness"]
    colour = np.clip(rng.standard_normal((n_frames, 3)), -2.5, 2.5) * params["colour"]
    return (1.0 + bright[:, None] + colour).astype(np.float32)


def apply_gain(frame: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Multiply a uint8 RGB frame by per-channel gains."""
    return cv2.multiply(frame, (float(gain[0]), float(gain[1]), float(gain[2]), 0.0))


def blend_frames(frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Replace every odd frame by the average of its two neighbours (the last frame is kept)."""
    prev: np.ndarray | None = None
    pending: np.ndarray | None = None  # an odd frame waiting for its right neighbour
    for i, frame in enumerate(frames):
        if i % 2 == 0:
            if pending is not None and prev is not None:
                avg = (prev.astype(np.uint16) + frame.astype(np.uint16) + 1) >> 1
                yield avg.astype(np.uint8)
                pending = None
            yield frame
            prev = frame
        else:
            pending = frame
    if pending is not None:
        yield pending
