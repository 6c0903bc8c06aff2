"""Size limits of the video layer: the pixel cap and the per-video memory bound it buys.

A video's coded size is checked against ``max_pixels`` when it is opened, before anything
is decoded (status ``too_large``), and every decoded frame is checked again, so a stream
that grows mid-way is refused too. With frames at or under the cap, the per-video peak
memory one video adds in any stage is bounded by :data:`VIDEO_RSS_BOUND_MB` (measured by
``tests/video/test_limits.py``).
"""

from __future__ import annotations

from pathlib import Path

from aura.video.errors import VideoDecodeError

#: Default pixel cap (``ingest.max_pixels``): what a 3840x2160 (4K UHD) frame needs.
MAX_PIXELS = 3840 * 2160

#: What one video at the pixel cap adds to a worker's peak resident memory (MiB), over what
#: the process held before it (interpreter and imported libraries: ~0.1 GiB for a features
#: worker, ~0.75 GiB once torch is loaded, as in augmentation, scaling, or a serial run
#: inside ``kedro run``), in any per-video stage, with the default 16 sampled frames.
#: Measured at 3840x2160 by ``tests/video/test_limits.py`` and ``bench/hostile.py``:
#: features ~0.84 GiB, sampling ~0.4 GiB, augmentation ~0.2 GiB, scaling ~0.1 GiB; the rest
#: is margin for decoder threads on machines with more cores. The largest share is the
#: sampled RGB frames the features stage holds (16 x 3840 x 2160 x 3 bytes = 380 MiB); float
#: planes derived from them are kept for the few frames spatial features use plus a 3-frame
#: window for temporal ones. Each ``features.num_frames`` above 16 adds one frame (24 MiB at
#: the cap). Frames above the cap are refused before they are decoded.
VIDEO_RSS_BOUND_MB = 1024


def check_pixels(path: str | Path, width: int, height: int, max_pixels: int | None) -> None:
    """Raise ``too_large`` when a ``width`` x ``height`` frame exceeds ``max_pixels``."""
    if max_pixels is not None and width * height > max_pixels:
        raise VideoDecodeError(
            path,
            "too_large",
            f"{width}x{height} = {width * height} pixels per frame, above the cap of "
            f"{max_pixels} (ingest.max_pixels)",
        )
