"""The few Kedro datasets kedro-datasets lacks: NumPy matrices with column names, video folders,
trained torch models (weights-only), fitted scikit-learn baselines (skops), and MLflow artifacts that keep Kedro's run-wide save version."""

from aura.datasets.matrix import MatrixDataset
from aura.datasets.skops_model import SkopsModelDataset
from aura.datasets.torch_model import TorchModelDataset
from aura.datasets.tracked import VersionedArtifactDataset
from aura.datasets.video_folder import VideoFolderDataset

__all__ = [
    "MatrixDataset",
    "SkopsModelDataset",
    "TorchModelDataset",
    "VersionedArtifactDataset",
    "VideoFolderDataset",
]
