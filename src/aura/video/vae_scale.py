"""``scaling.method: autoencoder``: learned re-synthesis of every frame at the target size.

Each frame is letterboxed to ``size`` x ``size`` exactly as the letterbox method does (same
geometry, same padding; see :func:`aura.video.scale.scale_video`), then passed through a
diffusers ``AutoencoderKL``: RGB in [-1, 1] -> encode -> latent *mean* (no sampling, so the
output is deterministic) -> decode -> clamp to [-1, 1] -> uint8. The padding bands are then
restored from the letterboxed frame (they stay exactly black), so only the picture is
re-synthesised. The result is written as the scaled video, with the same return dict as
``scale_video``. Re-synthesis normalises away codec/platform artefacts while keeping the
112-px RGB video contract that stage 4 and training consume.

``size`` must be divisible by the VAE's downsampling factor
``2 ** (len(vae.config.block_out_channels) - 1)`` (8 for the SD VAEs); otherwise a
``ValueError`` naming ``scaling.target_size`` is raised.

Weights are only ever read from a local diffusers-format folder (``config.json`` +
``diffusion_pytorch_model.safetensors``); nothing is downloaded. Frames stream in batches
under ``torch.inference_mode`` in float32 on CPU; the VAE is loaded once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from aura.video.limits import MAX_PIXELS
from aura.video.scale import scale_video

if TYPE_CHECKING:
    from diffusers import AutoencoderKL

WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")


def check_weights(folder: Path) -> None:
    """Raise ``FileNotFoundError`` unless ``folder`` holds a config and a weights file."""
    has_config = (folder / "config.json").is_file()
    if not (has_config and any((folder / w).is_file() for w in WEIGHT_FILES)):
        raise FileNotFoundError(
            f"no diffusers-format VAE in {folder}: put config.json + "
            "diffusion_pytorch_model.safetensors there (e.g. from stabilityai/sd-vae-ft-mse, "
            "downloaded on a machine with network access), or set "
            "scaling.autoencoder.weights_path to another folder"
        )


@functools.lru_cache(maxsize=2)
def _load(folder: str) -> AutoencoderKL:
    try:
        from diffusers import AutoencoderKL
    except ImportError as e:
        raise ImportError(
            'scaling.method=autoencoder needs diffusers: pip install -e ".[vae]"'
        ) from e
    vae = AutoencoderKL.from_pretrained(folder, local_files_only=True, low_cpu_mem_usage=False)
    return vae.to("cpu", dtype=torch.float32).eval()


def load_vae(weights_path: str | Path) -> AutoencoderKL:
    """Load (once per process) the ``AutoencoderKL`` in the local folder ``weights_path``.

    Raises ``FileNotFoundError`` naming the folder when it lacks the weights (no network, no
    retries) and ``ImportError`` when diffusers is not installed.
    """
    folder = Path(weights_path).expanduser().resolve()
    check_weights(folder)
    return _load(str(folder))


def downsampling_factor(vae: AutoencoderKL) -> int:
    """Pixels per latent cell along each side."""
    return 2 ** (len(vae.config.block_out_channels) - 1)


def _resynthesize(
    frames: Iterator[np.ndarray], geometry: dict[str, int], *, vae: AutoencoderKL, batch: int
) -> Iterator[np.ndarray]:
    """Letterboxed uint8 frames -> VAE reconstructions with the padding bands kept."""
    top, left = geometry["pad_top"], geometry["pad_left"]
    rows = slice(top, top + geometry["content_height"])
    cols = slice(left, left + geometry["content_width"])
    while chunk := [f for _, f in zip(range(batch), frames, strict=False)]:
        x = torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        with torch.inference_mode():
            y = vae.decode(vae.encode(x).latent_dist.mean).sample
        y = ((y.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
        for src, out in zip(chunk, y.permute(0, 2, 3, 1).numpy(), strict=True):
            frame = src.copy()
            frame[rows, cols] = out[rows, cols]
            yield frame


def scale_video_vae(
    src: str | Path,
    dst: str | Path,
    *,
    size: int,
    weights_path: str | Path,
    crf: int = 18,
    batch: int = 8,
    max_pixels: int | None = MAX_PIXELS,
) -> dict[str, Any]:
    """Letterbox ``src`` to ``size`` x ``size``, re-synthesise it with the VAE, write ``dst``.

    Returns the same geometry dict as :func:`aura.video.scale.scale_video`.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    vae = load_vae(weights_path)
    factor = downsampling_factor(vae)
    if size % factor:
        raise ValueError(
            f"scaling.target_size={size}: must be divisible by the VAE's downsampling "
            f"factor {factor} (VAE in {weights_path})"
        )
    transform = functools.partial(_resynthesize, vae=vae, batch=batch)
    return scale_video(src, dst, size=size, crf=crf, transform=transform, max_pixels=max_pixels)
