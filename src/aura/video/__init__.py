"""The only place in AURA that touches the decoder: probing, exact frame sampling, letterbox, writing."""

from aura.video.crop import Crop, CropBox, crop_box
from aura.video.errors import VideoDecodeError
from aura.video.letterbox import letterbox, letterbox_geometry
from aura.video.probe import VideoInfo, probe
from aura.video.sampler import Clip, iter_frames, run_indices, sample_frames, sample_indices
from aura.video.writer import ENCODERS, VideoWriter, write_video

__all__ = [
    "ENCODERS",
    "Clip",
    "Crop",
    "CropBox",
    "VideoDecodeError",
    "VideoInfo",
    "VideoWriter",
    "crop_box",
    "iter_frames",
    "letterbox",
    "letterbox_geometry",
    "probe",
    "sample_frames",
    "run_indices",
    "sample_indices",
    "write_video",
]
