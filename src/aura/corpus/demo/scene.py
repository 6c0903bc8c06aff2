"""Scene content for the demo corpus: a large procedural scene, a moving camera over it, captions.

Both classes draw their scene from the same distributions. ``style="photo"`` gives natural-image
texture (1/f amplitude spectrum down to the pixel scale); ``style="rendered"`` keeps the very same
layout, colours and lighting but only the lowest spatial frequencies, and shades objects flat/soft
like a renderer. Values are float32 in 0..255.
"""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

#: The scene is this much larger than the view so the camera can pan and zoom inside it.
SCENE_MARGIN = 1.7
#: Rendered style keeps texture below this spatial frequency (cycles per pixel).
RENDERED_CUTOFF = 0.012


def fractal_noise(
    rng: np.random.Generator, h: int, w: int, beta: float = 1.0, cutoff: float | None = None
) -> np.ndarray:
    """Zero-mean, unit-std field with a 1/f**beta amplitude spectrum, optionally low-passed."""
    white = rng.standard_normal((h, w), dtype=np.float32)
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amp = f ** np.float32(-beta)
    amp[0, 0] = 0.0
    field = np.fft.irfft2(np.fft.rfft2(white) * amp, s=(h, w))
    std = float(field.std()) + 1e-8
    if cutoff is not None:
        # Normalise before the low-pass so both styles keep the same large-scale contrast.
        field = np.fft.irfft2(np.fft.rfft2(field) * np.exp(-((f / cutoff) ** 2)), s=(h, w))
    return ((field - field.mean()) / std).astype(np.float32)


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), dtype=np.float32) * 255.0


def _palette(rng: np.random.Generator) -> dict:
    if rng.random() < 0.6:
        sky_h, sky_s = rng.uniform(0.53, 0.63), rng.uniform(0.2, 0.55)
    else:  # overcast or dusk
        sky_h, sky_s = rng.uniform(0.0, 1.0), rng.uniform(0.03, 0.2)
    sky_v = rng.uniform(0.6, 0.92)
    ground_h = rng.uniform(0.05, 0.38)
    return {
        "sky_top": _hsv(sky_h, sky_s, sky_v * rng.uniform(0.8, 0.95)),
        "sky_low": _hsv(sky_h + rng.uniform(-0.03, 0.03), sky_s * 0.6, min(1.0, sky_v * 1.08)),
        "ground": _hsv(ground_h, rng.uniform(0.2, 0.6), rng.uniform(0.3, 0.65)),
        "objects": [
            _hsv(rng.uniform(), rng.uniform(0.15, 0.75), rng.uniform(0.25, 0.9)) for _ in range(8)
        ],
    }


def _object_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """An antialiased ellipse, rotated box or convex polygon in a size x size alpha map."""
    mask = np.zeros((size, size), np.uint8)
    c = size // 2
    kind = int(rng.integers(3))
    if kind == 0:
        axes = (int(c * rng.uniform(0.5, 0.95)), int(c * rng.uniform(0.3, 0.95)))
        cv2.ellipse(mask, (c, c), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1, cv2.LINE_AA)
    else:
        n = 4 if kind == 1 else int(rng.integers(5, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n)) if kind == 2 else np.arange(4) * np.pi / 2
        ang = ang + rng.uniform(0, np.pi)
        rad = c * (rng.uniform(0.55, 0.95, n) if kind == 2 else np.full(n, 0.9))
        pts = np.stack([c + rad * np.cos(ang), c + rad * np.sin(ang)], 1)
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


def make_scene(
    rng: np.random.Generator, h: int, w: int, style: str = "photo", palette_seed: int | None = None
) -> np.ndarray:
    """A landscape-like RGB scene (sky, textured ground, objects, lighting), float32 0..255.

    Colours come from ``palette_seed`` when given (the generator gives each real/fake cascade
    pair the same palette, so class colour statistics match), else from ``rng``.
    """
    if style not in {"photo", "rendered"}:
        raise ValueError(f"unknown scene style {style!r}")
    cut = RENDERED_CUTOFF if style == "rendered" else None
    pal = _palette(rng if palette_seed is None else np.random.default_rng(palette_seed))
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]

    horizon = rng.uniform(0.2, 0.6) if rng.random() < 0.8 else -0.1
    tilt = rng.uniform(-0.08, 0.08)
    hline = horizon + tilt * (xx - 0.5) + 0.04 * fractal_noise(rng, 1, w, 1.6)[0][None, :]
    ground_mask = np.clip((yy - hline) * h / 1.5 + 0.5, 0.0, 1.0)[..., None]

    t = np.clip(yy / max(horizon, 0.05), 0.0, 1.0)[..., None]
    clouds = fractal_noise(rng, h, w, 1.6, cutoff=0.02)[..., None]
    sky = pal["sky_top"] * (1 - t) + pal["sky_low"] * t
    sky = sky * (1.0 + 0.05 * clouds)

    tex = fractal_noise(rng, h, w, 1.0, cut)
    detail = fractal_noise(rng, h, w, 0.8, cut)
    tint = fractal_noise(rng, h, w, 1.5, 0.03)
    ground = pal["ground"] * np.exp(0.22 * tex + 0.12 * detail)[..., None]
    ground = ground * (1.0 + 0.08 * np.stack([tint, -0.5 * tint, -tint], -1))
    # Perspective-like darkening toward the bottom.
    ground = ground * (1.0 - 0.25 * np.clip(yy - horizon, 0, 1))[..., None]
    img = sky * (1 - ground_mask) + ground * ground_mask

    obj_tex = fractal_noise(rng, h, w, 0.9, cut)
    for i in range(int(rng.integers(3, 8))):
        size = int(min(h, w) * rng.uniform(0.08, 0.35)) | 1
        y0 = int(rng.uniform(max(horizon, 0.0) * h - size * 0.7, h - size * 0.6))
        x0 = int(rng.uniform(-size * 0.3, w - size * 0.7))
        ys, xs = slice(max(y0, 0), min(y0 + size, h)), slice(max(x0, 0), min(x0 + size, w))
        if ys.stop - ys.start < 4 or xs.stop - xs.start < 4:
            continue
        alpha = _object_mask(rng, size)[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        colour = pal["objects"][i]
        gy, gx = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]].astype(np.float32) / size
        ang = rng.uniform(0, 2 * np.pi)
        shade = 1.0 + rng.uniform(0.15, 0.45) * (np.cos(ang) * gx + np.sin(ang) * gy - 0.5)
        patch = colour * (shade * np.exp(0.25 * obj_tex[ys, xs]))[..., None]
        # Soft contact shadow under the object.
        sh_y = slice(min(ys.start + 2, h), min(ys.stop + 2, h))
        n_sh = sh_y.stop - sh_y.start
        if n_sh > 0:
            shadow = cv2.GaussianBlur(alpha[:n_sh], (0, 0), 2.0)[..., None]
            img[sh_y, xs] *= 1.0 - 0.3 * shadow
        a = alpha[..., None]
        img[ys, xs] = img[ys, xs] * (1 - a) + patch * a

    ang = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.1, 0.35) * (np.cos(ang) * (xx - 0.5) + np.sin(ang) * (yy - 0.5))
    light = light * (1.0 + 0.08 * fractal_noise(rng, h, w, 2.0, 0.01))
    return np.clip(img * light[..., None], 0.0, 255.0).astype(np.float32)


def camera_path(
    motion: dict,
    n_frames: int,
    fps: float,
    view_w: int,
    view_h: int,
    scene_w: int,
    scene_h: int,
    seed: int,
) -> list[tuple[np.ndarray, tuple[float, float]]]:
    """Per frame: the 2x3 view→scene affine map and the image-space velocity (px/frame).

    ``motion`` holds pan (fraction of view width/height over the clip), zoom start/end,
    handheld jitter amplitude (fraction of view width) and frequency, and roll jitter (degrees).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames, dtype=np.float64) / max(n_frames - 1, 1)
    sec = np.arange(n_frames, dtype=np.float64) / fps
    ease = t * t * (3 - 2 * t) if motion["ease"] else t
    dx, dy = motion["pan"]
    cx = scene_w / 2 + (ease - 0.5) * dx * view_w
    cy = scene_h / 2 + (ease - 0.5) * dy * view_h
    z0, z1 = motion["zoom"]
    zoom = z0 + (z1 - z0) * ease
    jit = np.zeros((3, n_frames))
    for axis in range(3):
        for k in range(3):
            f = motion["jitter_hz"] * rng.uniform(0.5, 1.8)
            jit[axis] += np.sin(2 * np.pi * f * sec + rng.uniform(0, 2 * np.pi)) / (k + 1)
    cx = cx + motion["jitter"] * view_w * jit[0] / 1.8
    cy = cy + motion["jitter"] * view_w * jit[1] / 1.8
    roll = np.deg2rad(motion["roll"]) * jit[2] / 1.8
    out = []
    for i in range(n_frames):
        c, s = math.cos(roll[i]) / zoom[i], math.sin(roll[i]) / zoom[i]
        a = np.array([[c, -s], [s, c]])
        b = np.array([cx[i], cy[i]]) - a @ np.array([view_w / 2, view_h / 2])
        j = max(i, 1)
        vel = (
            ((cx[j] - cx[j - 1]) * zoom[i], (cy[j] - cy[j - 1]) * zoom[i])
            if n_frames > 1
            else (0, 0)
        )
        out.append((np.hstack([a, b[:, None]]).astype(np.float64), (float(vel[0]), float(vel[1]))))
    return out


def render_view(scene: np.ndarray, affine: np.ndarray, w: int, h: int) -> np.ndarray:
    """Sample the camera view (w x h) from the scene through a view→scene affine map."""
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(scene, affine, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT101)


def motion_blur(img: np.ndarray, vx: float, vy: float, shutter: float) -> np.ndarray:
    """Blur along the image-space motion (vx, vy) px/frame for an exposure of ``shutter`` frames."""
    lx, ly = vx * shutter, vy * shutter
    length = math.hypot(lx, ly)
    if length < 0.75:
        return img
    r = int(math.ceil(length / 2))
    n = 2 * r + 1
    kernel = np.zeros((n, n), np.float32)
    for s in np.linspace(-0.5, 0.5, max(3, int(length * 3))):
        x, y = r + s * lx, r + s * ly
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for yy, xx, wgt in (
            (y0, x0, (1 - fx) * (1 - fy)),
            (y0, x0 + 1, fx * (1 - fy)),
            (y0 + 1, x0, (1 - fx) * fy),
            (y0 + 1, x0 + 1, fx * fy),
        ):
            if 0 <= yy < n and 0 <= xx < n:
                kernel[yy, xx] += wgt
    kernel /= kernel.sum()
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT101)


class Caption:
    """A static caption bar (semi-transparent band with text) composited onto uint8 frames."""

    def __init__(self, text: str, position: str, style: str, width: int, height: int) -> None:
        bar_h = max(18, int(round(height * (0.11 if width >= height else 0.07))))
        y0 = 0 if position == "top" else height - bar_h - int(height * 0.04)
        self.rows = slice(y0, y0 + bar_h)
        dark = style == "dark"
        canvas = np.zeros((bar_h, width, 3), np.uint8)
        canvas[:] = (0, 0, 0) if dark else (245, 245, 245)
        font = cv2.FONT_HERSHEY_SIMPLEX
        scale, thick = 1.0, 1
        for _ in range(40):
            (tw, th), _base = cv2.getTextSize(text, font, scale, thick)
            if tw <= width * 0.92 and th <= bar_h * 0.6:
                break
            scale *= 0.9
        thick = 2 if scale > 0.7 else 1
        (tw, th), _base = cv2.getTextSize(text, font, scale, thick)
        alpha = np.full((bar_h, width), 0.55, np.float32)
        text_mask = np.zeros((bar_h, width), np.uint8)
        org = ((width - tw) // 2, (bar_h + th) // 2)
        cv2.putText(text_mask, text, org, font, scale, 255, thick, cv2.LINE_AA)
        tm = text_mask.astype(np.float32) / 255.0
        colour = np.array((255, 255, 255) if dark else (20, 20, 20), np.float32)
        self.overlay = canvas.astype(np.float32) * (1 - tm[..., None]) + colour * tm[..., None]
        self.alpha = np.maximum(alpha, tm)[..., None]

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """A copy of uint8 ``frame`` with the caption drawn (upstream stages may keep ``frame``)."""
        out = frame.copy()
        band = frame[self.rows].astype(np.float32)
        band = band * (1 - self.alpha) + self.overlay * self.alpha
        out[self.rows] = np.clip(band + 0.5, 0, 255).astype(np.uint8)
        return out
