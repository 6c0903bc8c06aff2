"""The few Kedro datasets kedro-datasets lacks: NumPy matrices with column names, video folders,
trained models as safe artifacts (skops / safetensors, by the model's kind), and MLflow artifacts
that keep Kedro's run-wide save version."""

from aura.datasets.detector import DetectorDataset
from aura.datasets.explanations import ExplanationsDataset
from aura.datasets.matrix import MatrixDataset
from aura.datasets.model_artifact import ModelArtifactDataset
from aura.datasets.tracked import VersionedArtifactDataset
from aura.datasets.video_folder import VideoFolderDataset

__all__ = [
    "DetectorDataset",
    "ExplanationsDataset",
    "MatrixDataset",
    "ModelArtifactDataset",
    "VersionedArtifactDataset",
    "VideoFolderDataset",
]
