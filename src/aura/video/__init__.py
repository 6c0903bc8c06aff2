"""The only place in AURA that touches the decoder: probing, exact frame sampling, letterbox, writing."""

from aura.video.errors import VideoDecodeError
from aura.video.writer import ENCODERS, VideoWriter, write_video

__all__ = ["ENCODERS", "VideoDecodeError", "VideoWriter", "write_video"]
