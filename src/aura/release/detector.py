"""The released detector: member models, calibration, threshold and a JSON manifest.

On disk a detector is a folder::

    manifest.json                       what was released, how, from which data and code
    parts/<model>.fold_<k>.<suffix>     one file per member (``<model>.refit.<suffix>`` for refit)

Members are written with :func:`aura.models.artifacts.save_artifact` (skops for feature
baselines, safetensors for clip models). :func:`load_detector` checks each part's SHA-256
against the manifest and reads it with :func:`~aura.models.artifacts.load_artifact`, which
refuses anything but those two formats: a part swapped for a pickle never runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from aura.inference.config import InferenceConfig
from aura.inference.inputs import ClipSpec, InputSpec, VideoInputs
from aura.models.artifacts import (
    SUFFIXES,
    ArtifactError,
    SkippedCell,
    load_artifact,
    save_artifact,
)
from aura.models.kinds import KINDS, ModelKind
from aura.release.calibration import Calibration

MANIFEST = "manifest.json"
PARTS = "parts"
#: Bumped when the manifest layout changes incompatibly.
MANIFEST_FORMAT = 1
STRATEGIES = ("fold_ensemble", "refit")


class DetectorError(ValueError):
    """A detector folder that cannot be loaded (missing, tampered with, inconsistent)."""


@dataclass(frozen=True)
class Member:
    """One model of the detector: a fold model (``fold`` = k) or a refit one (``fold`` None).

    ``kind`` is ``features`` or ``clips`` (:data:`aura.models.kinds.KINDS`); ``artifact`` the
    :class:`~aura.models.baselines.FittedBaseline` or
    :class:`~aura.models.artifacts.TrainedClipModel`.
    """

    model: str
    fold: int | None
    kind: str
    artifact: Any = field(compare=False, repr=False)

    @property
    def model_kind(self) -> ModelKind:
        return KINDS[self.kind]

    @property
    def file(self) -> str:
        """The part's file name (under ``parts/``)."""
        tag = "refit" if self.fold is None else f"fold_{self.fold}"
        return f"{self.model}.{tag}{SUFFIXES[self.model_kind.artifact_format]}"


@dataclass(frozen=True)
class MemberFile:
    """A member as the manifest records it."""

    model: str
    fold: int | None
    kind: str
    file: str
    sha256: str


@dataclass
class DetectorManifest:
    """Everything a released detector states about itself (``manifest.json``)."""

    version: str
    created_utc: str
    strategy: str
    models: list[str]
    config: dict[str, Any]  # every resolved parameter of the release run
    feature_names: list[str]
    sampler: dict[str, Any]  # an InputSpec as a dict (see Detector.input_spec)
    calibration: dict[str, Any]
    threshold: float
    threshold_rule: str
    corpus_fingerprint: str
    config_hash: str
    git_commit: str | None
    cv_metrics: dict[str, dict[str, float]]  # per released model: pooled out-of-fold metrics
    oof_metrics: dict[str, float]  # the released ensemble at the chosen threshold
    members: list[MemberFile] = field(default_factory=list)  # filled in by save_detector
    format: int = MANIFEST_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorManifest:
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(data) - known):
            raise DetectorError(f"manifest has unknown keys {unknown}")
        values = dict(data)
        values["members"] = [MemberFile(**m) for m in data.get("members", [])]
        try:
            return cls(**values)
        except TypeError as err:
            raise DetectorError(f"manifest is incomplete: {err}") from err


@dataclass(frozen=True)
class DetectorScore:
    """One video's verdict; ``label`` is ``fake`` iff ``probability >= threshold``."""

    probability: float
    label: str
    logit: float
    threshold: float
    fold_spread: float | None
    segment_probabilities: list[float]


def sampler_settings(
    members: Sequence[Member],
    stage2: dict[str, Any],
    stage4: dict[str, Any],
    scaling: dict[str, Any],
    max_pixels: int | None,
) -> dict[str, Any]:
    """The manifest's ``sampler``: what inference must compute for ``members`` (an InputSpec)."""
    clips = sorted(
        {m.model_kind.clip_spec(m.artifact) for m in members if m.kind == "clips"},
        key=lambda c: (c.num_frames, -1 if c.size is None else c.size, c.source, c.crop_size or 0),
    )
    return {
        "features": any(m.kind == "features" for m in members),
        "clips": [asdict(c) for c in clips],
        "stage2": dict(stage2),
        "stage4": dict(stage4),
        "scaling": dict(scaling),
        "max_pixels": max_pixels,
    }


class Detector:
    """Scores videos: member logits → mean per model over folds → mean over models →
    calibrated probability → label at the threshold."""

    def __init__(
        self, manifest: DetectorManifest, members: Sequence[Member], calibration: Calibration
    ) -> None:
        if not members:
            raise DetectorError("a detector needs at least one member model")
        if manifest.strategy not in STRATEGIES:
            raise DetectorError(f"unknown strategy {manifest.strategy!r}; expected {STRATEGIES}")
        if unknown := sorted({m.kind for m in members} - set(KINDS)):
            raise DetectorError(f"unknown member kinds {unknown}; expected {sorted(KINDS)}")
        self.manifest = manifest
        self.members = list(members)
        self.calibration = calibration

    @property
    def threshold(self) -> float:
        return float(self.manifest.threshold)

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def models(self) -> list[str]:
        return list(self.manifest.models)

    def inference_config(self) -> InferenceConfig:
        """The ``inference`` block resolved at release time (defaults for older manifests)."""
        return InferenceConfig.from_params(dict(self.manifest.config.get("inference") or {}))

    def input_spec(self, segment_s: float = 2.0, max_segments: int = 32) -> InputSpec:
        """What to compute for each video, with the training run's parameters."""
        s = self.manifest.sampler
        return InputSpec(
            features=bool(s["features"]),
            clips=tuple(
                ClipSpec(
                    int(c["num_frames"]),
                    c["size"],
                    c.get("source", "scaled"),  # manifests before native crops: scaled
                    c.get("crop_size"),
                )
                for c in s["clips"]
            ),
            stage2=dict(s["stage2"]),
            stage4=dict(s["stage4"]),
            scaling=dict(s["scaling"]),
            max_pixels=s["max_pixels"],
            segment_s=segment_s,
            max_segments=max_segments,
        )

    def member_logits(self, video: VideoInputs) -> list[tuple[Member, float, np.ndarray]]:
        """Each member's (whole-video logit, per-segment logits) on ``video``."""
        out = []
        for m in self.members:
            whole, segs = m.model_kind.logits(m.artifact, video)
            out.append((m, float(whole), np.asarray(segs, dtype=np.float64).reshape(-1)))
        return out

    def score(self, video: VideoInputs) -> DetectorScore:
        """The detector's verdict on one prepared video."""
        scored = self.member_logits(video)
        by_model: dict[str, list[tuple[float, np.ndarray]]] = {}
        for m, whole, segs in scored:
            by_model.setdefault(m.model, []).append((whole, segs))
        whole = float(np.mean([np.mean([w for w, _ in v]) for v in by_model.values()]))
        n_segs = {len(s) for _, _, s in scored}
        if len(n_segs) > 1:
            raise ValueError(f"{video.path}: members returned different segment counts {n_segs}")
        segments: list[float] = []
        if n_segs and n_segs != {0}:
            per_model = [np.mean([s for _, s in v], axis=0) for v in by_model.values()]
            segments = [float(p) for p in self.calibration.apply(np.mean(per_model, axis=0))]
        fold_probs = [float(self.calibration.apply(w)) for m, w, _ in scored if m.fold is not None]
        probability = float(self.calibration.apply(whole))
        return DetectorScore(
            probability=probability,
            label="fake" if probability >= self.threshold else "real",
            logit=whole,
            threshold=self.threshold,
            fold_spread=float(np.std(fold_probs)) if len(fold_probs) > 1 else None,
            segment_probabilities=segments,
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_detector(detector: Detector, directory: str | Path) -> Path:
    """Write ``detector`` to ``directory`` (which must not hold a detector yet); the folder
    appears complete or not at all."""
    target = Path(directory)
    if (target / MANIFEST).exists():
        raise FileExistsError(f"{target}: already holds a detector")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        records = []
        names = [m.file for m in detector.members]
        if len(set(names)) != len(names):
            raise DetectorError(f"two members share a file name: {sorted(names)}")
        for m in detector.members:
            path = save_artifact(m.artifact, tmp / PARTS / m.file, m.model_kind.artifact_format)
            records.append(MemberFile(m.model, m.fold, m.kind, m.file, _sha256(path)))
        manifest = DetectorManifest(**{**asdict(detector.manifest), "members": records})
        manifest.calibration = detector.calibration.to_dict()
        (tmp / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=2, sort_keys=True))
        if target.exists():
            target.rmdir()  # an empty folder (a non-empty one raises and is kept)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _part(directory: Path, record: MemberFile) -> Path:
    """The part's path, refusing names that would leave ``parts/``."""
    name = record.file
    if not name or name != Path(name).name or name in (".", ".."):
        raise DetectorError(f"{directory / MANIFEST}: member file {name!r} is not a plain name")
    return directory / PARTS / name


def load_detector(directory: str | Path) -> Detector:
    """Read a detector written by :func:`save_detector`; :class:`DetectorError` naming the file
    when a part is missing, altered, or not a skops / safetensors model file."""
    root = Path(directory)
    path = root / MANIFEST
    if not path.is_file():
        raise DetectorError(f"{root}: no {MANIFEST} (not a detector folder)")
    try:
        manifest = DetectorManifest.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise DetectorError(f"{path}: unreadable manifest ({err})") from err
    if manifest.format != MANIFEST_FORMAT:
        raise DetectorError(
            f"{path}: manifest format {manifest.format}, expected {MANIFEST_FORMAT}"
        )
    members = []
    for record in manifest.members:
        if record.kind not in KINDS:
            raise DetectorError(f"{path}: member {record.file} has unknown kind {record.kind!r}")
        part = _part(root, record)
        if not part.is_file():
            raise DetectorError(f"{part}: member file is missing")
        if (digest := _sha256(part)) != record.sha256:
            raise DetectorError(
                f"{part}: SHA-256 {digest[:12]}… does not match the manifest "
                f"({record.sha256[:12]}…); refused"
            )
        try:
            artifact = load_artifact(part, KINDS[record.kind].artifact_format)
        except ArtifactError as err:
            raise DetectorError(f"{part}: refused ({err})") from err
        if isinstance(artifact, SkippedCell):
            raise DetectorError(f"{part}: a skipped cell is not a model")
        members.append(Member(record.model, record.fold, record.kind, artifact))
    return Detector(manifest, members, Calibration.from_dict(manifest.calibration))
