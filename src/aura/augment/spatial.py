"""Spatial augmentations: per-frame ops whose parameters are drawn once per variant.

Each op is a ``(draw, apply)`` pair. ``draw(rng, cfg)`` turns the op's validated settings
into concrete parameters (JSON-native values). Parameters are resolution independent
(translations and cutout boxes as fractions of the frame, elastic displacement as a
coarse grid), so a spec is drawn before the video is opened and stays valid under the
``max_side`` cap. ``apply(frame, params, frame_rng)`` transforms one ``(C, H, W)`` uint8
tensor; only noise uses ``frame_rng``. The registry's order is the order ops are applied:
geometry, then photometry, then cutout (so the erased box is exactly where it was drawn).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Annotated, Any, NamedTuple

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from pydantic import Field
from torchvision.transforms import InterpolationMode

from aura.augment.settings import OpSettings, Prob, Range, bounded

Params = dict[str, Any]
DrawFn = Callable[[np.random.Generator, Any], Params]  # (rng, the op's OpSettings)
ApplyFn = Callable[[torch.Tensor, Mapping[str, Any], np.random.Generator | None], torch.Tensor]

_BILINEAR = InterpolationMode.BILINEAR


class SpatialOp(NamedTuple):
    """A spatial op: ``draw(rng, cfg) -> params`` and ``apply(frame, params, frame_rng)``."""

    draw: DrawFn
    apply: ApplyFn


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(low + (high - low) * rng.random())


def _sym(rng: np.random.Generator, bound: float) -> float:
    return _uniform(rng, -bound, bound)


# --- horizontal flip --------------------------------------------------------------------------


def _draw_hflip(rng: np.random.Generator, cfg: HFlipSettings) -> Params:
    return {}


def _apply_hflip(img: torch.Tensor, p: Mapping[str, Any], _: np.random.Generator | None):
    return F.horizontal_flip(img)


# --- rotation ---------------------------------------------------------------------------------


def _draw_rotation(rng: np.random.Generator, cfg: RotationSettings) -> Params:
    return {"degrees": _sym(rng, cfg.max_degrees)}


def _apply_rotation(img: torch.Tensor, p: Mapping[str, Any], _: np.random.Generator | None):
    # Counter-clockwise about the image centre; corners outside the source become black.
    return F.rotate(img, float(p["degrees"]), interpolation=_BILINEAR, fill=[0.0])


# --- affine -----------------------------------------------------------------------------------


def _draw_affine(rng: np.random.Generator, cfg: AffineSettings) -> Params:
    t, sh = cfg.max_translate, cfg.max_shear
    return {
        "translate": [_sym(rng, t), _sym(rng, t)],  # fractions of width, height
        "scale": _uniform(rng, *cfg.scale),
        "shear": [_sym(rng, sh), _sym(rng, sh)],  # degrees along x, y
    }


def _apply_affine(img: torch.Tensor, p: Mapping[str, Any], _: np.random.Generator | None):
    h, w = img.shape[-2:]
    tx, ty = p["translate"]
    return F.affine(
        img,
        angle=0.0,
        translate=[float(tx) * w, float(ty) * h],
        scale=float(p["scale"]),
        shear=[float(s) for s in p["shear"]],
        interpolation=_BILINEAR,
        fill=[0.0],
    )


# --- elastic ----------------------------------------------------------------------------------


def _draw_elastic(rng: np.random.Generator, cfg: ElasticSettings) -> Params:
    alpha = _uniform(rng, *cfg.alpha)
    g = int(cfg.grid)
    grid = (rng.random((g, g, 2)) * 2.0 - 1.0) * alpha
    return {"alpha": alpha, "grid": grid.tolist()}


@lru_cache(maxsize=8)
def _displacement(grid: tuple[float, ...], g: int, h: int, w: int) -> torch.Tensor:
    """Upsample a ``(g, g, 2)`` control grid (fractions of the frame) to F.elastic's field."""
    coarse = torch.tensor(grid, dtype=torch.float32).reshape(1, g, g, 2).permute(0, 3, 1, 2)
    # Bicubic between control points gives a smooth field; grid_sample coordinates span 2
    # per frame side, so a displacement of ``d`` frame-fractions is ``2 d`` there.
    fine = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
    return (2.0 * fine).permute(0, 2, 3, 1).contiguous()


def _apply_elastic(img: torch.Tensor, p: Mapping[str, Any], _: np.random.Generator | None):
    h, w = img.shape[-2:]
    arr = np.asarray(p["grid"], dtype=np.float64)
    field = _displacement(tuple(arr.ravel().tolist()), arr.shape[0], h, w)
    return F.elastic(img, field, interpolation=_BILINEAR, fill=[0.0])


# --- colour jitter ----------------------------------------------------------------------------


def _draw_color_jitter(rng: np.random.Generator, cfg: ColorJitterSettings) -> Params:
    def factor(amount: float) -> float:
        return _uniform(rng, max(0.0, 1.0 - amount), 1.0 + amount)

    return {
        "brightness": factor(cfg.brightness),
        "contrast": factor(cfg.contrast),
        "saturation": factor(cfg.saturation),
        "hue": _sym(rng, cfg.hue),
    }


def _apply_color_jitter(img: torch.Tensor, p: Mapping[str, Any], _: np.random.Generator | None):
    if p["brightness"] != 1.0:
        img = F.adjust_brightness(img, float(p["brightness"]))
    if p["contrast"] != 1.0:
        img = F.adjust_contrast(img, float(p["contrast"]))
    if p["saturation"] != 1.0:
        img = F.adjust_saturation(img, float(p["saturation"]))
    if p["hue"] != 0.0:
        img = F.adjust_hue(img, float(p["hue"]))
    return img


# --- blur -------------------------------------------------------------------------------------


def _draw_blur(rng: np.random.Generator, cfg: BlurSettings) -> Params:
    return {"sigma": _uniform(rng, *cfg.sigma)}  # pixels of the rendered frame


def _apply_blur(img: torch.Tensor, p: Mapping[str, Any], _: np.random.Generator | None):
    sigma = float(p["sigma"])
    if sigma <= 0:
        return img
    k = 2 * math.ceil(3.0 * sigma) + 1
    side = min(img.shape[-2:])
    k = max(3, min(k, side if side % 2 else side - 1))  # reflect padding needs k <= side
    return F.gaussian_blur(img, [k, k], [sigma, sigma])


# --- Gaussian noise ---------------------------------------------------------------------------


def _draw_noise(rng: np.random.Generator, cfg: NoiseSettings) -> Params:
    return {"sigma": _uniform(rng, *cfg.sigma)}  # in 0..255 intensity units


def _apply_noise(img: torch.Tensor, p: Mapping[str, Any], frame_rng: np.random.Generator | None):
    if frame_rng is None:
        raise ValueError("noise needs a per-frame generator (frame_rng)")
    noise = frame_rng.standard_normal(tuple(img.shape), dtype=np.float32)
    out = img.to(torch.float32) + torch.from_numpy(noise) * float(p["sigma"])
    return out.round_().clamp_(0, 255).to(torch.uint8)


# --- cutout -----------------------------------------------------------------------------------


def _draw_cutout(rng: np.random.Generator, cfg: CutoutSettings) -> Params:
    count = int(rng.integers(1, cfg.max_count + 1))
    boxes = []
    a_lo, a_hi = cfg.aspect
    for _ in range(count):
        area = _uniform(rng, *cfg.area)
        # Aspect is relative to the frame's own shape (1 = same shape as the frame).
        aspect = math.exp(_uniform(rng, math.log(a_lo), math.log(a_hi)))
        bh, bw = min(1.0, math.sqrt(area * aspect)), min(1.0, math.sqrt(area / aspect))
        boxes.append([_uniform(rng, 0.0, 1.0 - bh), _uniform(rng, 0.0, 1.0 - bw), bh, bw])
    return {"boxes": boxes, "fill": int(cfg.fill)}


def cutout_box_pixels(box: Iterable[float], height: int, width: int) -> tuple[int, int, int, int]:
    """A cutout box ``[top, left, h, w]`` (fractions) -> pixels ``(i, j, h, w)`` on a frame."""
    top, left, bh, bw = (float(v) for v in box)
    i, j = round(top * height), round(left * width)
    return (
        i,
        j,
        max(1, min(height - i, round(bh * height))),
        max(1, min(width - j, round(bw * width))),
    )


def _apply_cutout(img: torch.Tensor, p: Mapping[str, Any], _: np.random.Generator | None):
    h, w = img.shape[-2:]
    fill = torch.tensor(int(p["fill"]), dtype=img.dtype)
    for box in p["boxes"]:
        i, j, bh, bw = cutout_box_pixels(box, h, w)
        img = F.erase(img, i, j, bh, bw, fill)
    return img


# --- registry ---------------------------------------------------------------------------------

#: Spatial ops in the order they are applied.
SPATIAL_OPS: dict[str, SpatialOp] = {
    "hflip": SpatialOp(_draw_hflip, _apply_hflip),
    "rotation": SpatialOp(_draw_rotation, _apply_rotation),
    "affine": SpatialOp(_draw_affine, _apply_affine),
    "elastic": SpatialOp(_draw_elastic, _apply_elastic),
    "color_jitter": SpatialOp(_draw_color_jitter, _apply_color_jitter),
    "blur": SpatialOp(_draw_blur, _apply_blur),
    "noise": SpatialOp(_draw_noise, _apply_noise),
    "cutout": SpatialOp(_draw_cutout, _apply_cutout),
}


class HFlipSettings(OpSettings):
    p: Prob = 0.5


class RotationSettings(OpSettings):
    p: Prob = 0.3
    max_degrees: float = Field(10.0, ge=0, le=180)


class AffineSettings(OpSettings):
    p: Prob = 0.3
    max_translate: float = Field(0.08, ge=0, le=0.5)  # fraction of width / height
    scale: Annotated[Range, bounded(0.1, 10.0)] = (0.9, 1.1)
    max_shear: float = Field(8.0, ge=0, le=45)  # degrees


class ElasticSettings(OpSettings):
    p: Prob = 0.15
    alpha: Annotated[Range, bounded(0.0, 0.25)] = (0.005, 0.02)  # displacement / frame size
    grid: int = Field(4, ge=2, le=32)


class ColorJitterSettings(OpSettings):
    p: Prob = 0.6
    brightness: float = Field(0.25, ge=0, le=1)
    contrast: float = Field(0.25, ge=0, le=1)
    saturation: float = Field(0.25, ge=0, le=1)
    hue: float = Field(0.03, ge=0, le=0.5)


class BlurSettings(OpSettings):
    sigma: Annotated[Range, bounded(0.0, 20.0)] = (0.3, 1.5)  # pixels


class NoiseSettings(OpSettings):
    sigma: Annotated[Range, bounded(0.0, 64.0)] = (2.0, 8.0)  # 0..255 intensity units


class CutoutSettings(OpSettings):
    area: Annotated[Range, bounded(0.0, 1.0)] = (0.02, 0.12)  # fraction of the frame
    aspect: Annotated[Range, bounded(0.05, 20.0)] = (0.5, 2.0)
    max_count: int = Field(1, ge=1, le=16)
    fill: int = Field(0, ge=0, le=255)


#: Settings of each spatial op (``enabled`` and ``p``, the chance a variant gets the op).
SPATIAL_SETTINGS: dict[str, type[OpSettings]] = {
    "hflip": HFlipSettings,
    "rotation": RotationSettings,
    "affine": AffineSettings,
    "elastic": ElasticSettings,
    "color_jitter": ColorJitterSettings,
    "blur": BlurSettings,
    "noise": NoiseSettings,
    "cutout": CutoutSettings,
}


def to_tensor(frame: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 array -> ``(3, H, W)`` uint8 tensor (a view, no copy)."""
    return torch.from_numpy(frame).permute(2, 0, 1)


def to_numpy(img: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` uint8 tensor -> contiguous ``(H, W, 3)`` uint8 array."""
    return np.ascontiguousarray(img.permute(1, 2, 0).numpy())


def apply_spatial(
    frame: np.ndarray,
    ops: Iterable[tuple[str, Mapping[str, Any]]],
    frame_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Apply ``(name, params)`` spatial ops in the given order to one ``(H, W, 3)`` uint8 frame."""
    img = to_tensor(np.ascontiguousarray(frame))
    for name, params in ops:
        if name not in SPATIAL_OPS:
            raise ValueError(f"unknown spatial op {name!r} (known: {', '.join(SPATIAL_OPS)})")
        img = SPATIAL_OPS[name].apply(img, params, frame_rng)
    return to_numpy(img)
