"""The few Kedro datasets kedro-datasets lacks: NumPy matrices with column names, video folders."""

from aura.datasets.matrix import MatrixDataset
from aura.datasets.video_folder import VideoFolderDataset

__all__ = ["MatrixDataset", "VideoFolderDataset"]
