"""Parameter blocks of the pipelines (``corpus``, ``ingest``, ``features``, ``scaled_features``,
``scaling``, ``evaluation``, ``release``): their keys, types, bounds and defaults. The other
blocks are :class:`~aura.executor.ExecutorConfig`, :class:`~aura.augment.AugmentConfig` and
:class:`~aura.training.config.TrainingConfig`; :mod:`aura.parameters` joins them all.

The defaults here are the only ones; ``conf/base`` states a value only where the demo differs.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from aura.config import Section
from aura.corpus.annotations import ExtraLabels
from aura.corpus.demo.generate import DemoConfig
from aura.evaluation.robustness import RobustnessConfig
from aura.video.limits import MAX_PIXELS


class FeaturesConfig(Section):
    """``features`` (stage 2): handcrafted forensic features on sampled native frames."""

    PREFIX: ClassVar[str] = "features"

    num_frames: int = Field(16, ge=1)  # T frames sampled uniformly per video
    prefix: str = ""  # column prefix of the feature table


class ScaledFeaturesConfig(FeaturesConfig):
    """``scaled_features`` (stage 4): the same features on the scaled videos, prefixed so the
    two tables join."""

    PREFIX: ClassVar[str] = "scaled_features"

    prefix: str = "s4_"


class AutoencoderConfig(Section):
    """``scaling.autoencoder``: the local diffusers VAE (never downloaded)."""

    # diffusers-format folder: config.json + diffusion_pytorch_model.safetensors
    weights_path: str = "data/06_models/vae"


class ScalingConfig(Section):
    """``scaling`` (stage 3): every video letterboxed to ``target_size`` x ``target_size``."""

    PREFIX: ClassVar[str] = "scaling"

    # letterbox | autoencoder (letterbox, then each frame re-synthesised by a local VAE;
    # needs `pip install -e ".[vae]"` and target_size divisible by the VAE's factor, 8 for SD)
    method: Literal["letterbox", "autoencoder"] = "letterbox"
    target_size: int = Field(112, ge=16)  # even; aspect kept, bars black
    crf: int = Field(18, ge=0, le=51)  # H.264 quality of the re-encoded videos
    # folder of the scaled videos; the project config must set it (conf/base: globals.yml)
    output_dir: str | None = None
    autoencoder: AutoencoderConfig = AutoencoderConfig()

    @field_validator("target_size")
    @classmethod
    def _even(cls, size: int) -> int:
        if size % 2:
            raise ValueError("must be an even number >= 16")
        return size


class SlicesConfig(Section):
    """``evaluation.slices``: metrics by platform, resolution, duration and codec."""

    # a slice with fewer videos (or one class only) is listed with a note, not scored
    min_videos: int = Field(10, ge=1)


class EvaluationConfig(Section):
    """``evaluation`` of the out-of-fold predictions (video level, original videos only)."""

    PREFIX: ClassVar[str] = "evaluation"

    threshold: float = Field(0.5, ge=0, le=1)  # score >= threshold: predicted fake
    calibration_bins: int = Field(10, ge=1)  # equal-width bins for ECE and reliability
    bootstrap: int = Field(1000, ge=0)  # cascade-bootstrap resamples (0: no intervals)
    ci_level: float = Field(0.95, gt=0, lt=1)  # confidence level of the percentile intervals
    seed: int = Field(0, ge=0)  # seed of the bootstrap resamples
    slices: SlicesConfig = SlicesConfig()
    # perturbed re-scoring of the validation originals (the `robustness` pipeline)
    robustness: RobustnessConfig = RobustnessConfig()


class CorpusConfig(Section):
    """``corpus``: which videos to ingest (switch with ``--params corpus.kind=fvc,...``)."""

    PREFIX: ClassVar[str] = "corpus"

    # which corpus and where: no defaults, the project config states them (conf/base: demo)
    kind: Literal["demo", "fvc", "manifest"]
    # demo: where the generated corpus is written; fvc: folder with FVC.csv / FVC_dup.csv and
    # videos/; manifest: the CSV itself, or a folder holding manifest.csv
    root: str = Field(min_length=1)
    annotation_files: tuple[str, ...] = Field(("FVC.csv", "FVC_dup.csv"), min_length=1)
    manifest: str | None = None  # manifest: explicit CSV path (path,label[,group]); wins over root
    # manifest: read files outside the manifest's folder (symlinks resolved)? Rows pointing
    # there are status outside_root, never opened, unless this is true.
    allow_outside_root: bool = False
    extra_labels: ExtraLabels = ExtraLabels()
    demo: DemoConfig = DemoConfig()  # generator settings for kind=demo (deterministic per seed)


class IngestConfig(Section):
    """``ingest``: how each video is probed."""

    PREFIX: ClassVar[str] = "ingest"

    verify_decode: bool = True  # decode the first and a late frame to catch truncation
    progress: bool = True
    # pixels per frame above which a video is too_large (never decoded), in every stage;
    # null: no cap. Default: what a 3840x2160 frame needs.
    max_pixels: int | None = Field(MAX_PIXELS, ge=1)


class ReleaseConfig(Section):
    """``release``: which models become the detector, how, and its calibration and threshold
    (both fitted on the out-of-fold predictions of the released models)."""

    PREFIX: ClassVar[str] = "release"

    # null: the model with the best pooled out-of-fold ROC-AUC; a list: their ensemble (mean logit)
    models: tuple[str, ...] | None = Field(None, min_length=1)
    # fold_ensemble: the K fold models as trained; refit: each model retrained on every video
    strategy: Literal["fold_ensemble", "refit"] = "fold_ensemble"
    calibration: Literal["platt", "isotonic", "none"] = "platt"
    threshold: str = "youden"  # youden | max_f1 | fpr:<x> (highest TPR with FPR <= x)

    @field_validator("models")
    @classmethod
    def _unique(cls, models: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if models is not None and len(set(models)) != len(models):
            raise ValueError(f"lists a model twice: {list(models)}")
        return models

    @field_validator("threshold")
    @classmethod
    def _rule(cls, rule: str) -> str:
        from aura.release.threshold import parse_rule

        try:
            return str(parse_rule(rule))
        except ValueError:
            raise ValueError("must be youden, max_f1 or fpr:<x> with 0 <= x <= 1") from None
