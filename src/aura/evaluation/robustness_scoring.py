"""Re-score each fold's validation originals after every perturbation, as ``aura predict`` would.

One executor task per (validation original, perturbation): perturb the file once
(:func:`aura.evaluation.robustness.perturb`), prepare it once with
:func:`aura.inference.prepare.prepare_video` and the union :class:`InputSpec` of every model of
the grid (whole-video inputs only: no segments), then let each model's fold-``k`` artifact
score it with :meth:`aura.models.kinds.ModelKind.logits`; the score is the sigmoid of that
logit, the probability an uncalibrated (``calibration: none``) detector of that one model gives.

Workers cannot be handed model objects (task arguments are JSON), so the fold models are first
written to ``cache_dir/robustness_models`` under a digest of their content, and each worker
loads the ones its task names (keeping one fold's set in memory). Results are cached by the
executor under ``cache_dir/robustness`` per (video content hash, perturbation and its
parameters, model digests, input spec): a re-run only computes what changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import torch

from aura.evaluation.robustness import PERTURBATIONS, SCORED, failure, perturb
from aura.executor import ExecutorConfig, Task, run_tasks
from aura.inference.inputs import ClipSpec, InputSpec
from aura.models.artifacts import (
    SUFFIXES,
    ArtifactFormat,
    SkippedCell,
    TrainedClipModel,
    load_artifact,
)
from aura.models.artifacts import save_artifact as _save
from aura.models.baselines import FittedBaseline
from aura.models.kinds import KINDS

if TYPE_CHECKING:
    from aura.parameters import AuraConfig

log = logging.getLogger(__name__)

STAGE = "robustness"
#: Bumped when the task's code changes what it computes (part of the cache key).
VERSION = 1
#: ``robustness_predictions``: one row per (model, fold, perturbation, validation original).
SCHEMA: dict[str, Any] = {
    "model": pl.String,
    "fold": pl.Int64,
    "perturbation": pl.String,
    "video_id": pl.String,
    "cascade_id": pl.String,
    "group_id": pl.String,
    "target": pl.Int8,
    "score": pl.Float64,
    "status": pl.String,
    "error": pl.String,
    "width": pl.Int64,
    "height": pl.Int64,
    "fps": pl.Float64,
    "n_frames": pl.Int64,
}
#: The per-video facts reported for the perturbed file (from its probe).
INFO = ("width", "height", "fps", "n_frames")
_SELECTED = ["fold", "video_id", "cascade_id", "group_id", "target", "path"]


def empty_predictions() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def _stratified(rows: pl.DataFrame, k: int, rng: np.random.Generator) -> pl.DataFrame:
    """``k`` of ``rows``, the classes in proportion (largest remainder), each class present
    keeping at least one row when ``k`` allows."""
    targets = rows["target"].to_numpy()
    classes, counts = np.unique(targets, return_counts=True)
    exact = k * counts / counts.sum()
    quota = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - quota), kind="stable")[: k - quota.sum()]:
        quota[i] += 1
    for i in np.flatnonzero(quota == 0):
        if k >= len(classes):
            quota[i], quota[np.argmax(quota)] = 1, quota[np.argmax(quota)] - 1
    keep = [
        np.flatnonzero(targets == c)[rng.choice(n, q, replace=False)]
        for c, n, q in zip(classes, counts, quota, strict=True)
    ]
    return rows[np.sort(np.concatenate(keep))]


def select_videos(
    cv_folds: pl.DataFrame, video_index: pl.DataFrame, max_videos: int | None, seed: int
) -> pl.DataFrame:
    """Each fold's validation originals with their file path; with ``max_videos``, a subset of
    that many per fold, stratified by label and seeded by (``seed``, fold)."""
    val = cv_folds.filter((pl.col("role") == "val") & (pl.col("variant") == 0))
    paths = video_index.select("video_id", "path").unique("video_id", keep="first")
    val = val.join(paths, on="video_id", how="left").sort("fold", "video_id")
    parts = []
    for fold in sorted(val["fold"].unique().to_list()):
        rows = val.filter(pl.col("fold") == fold)
        if max_videos is not None and rows.height > max_videos:
            rows = _stratified(rows, max_videos, np.random.default_rng([seed, int(fold)]))
        parts.append(rows)
    if not parts:
        return val.select(_SELECTED)
    return pl.concat(parts).select(_SELECTED)


def kind_of(artifact: Any) -> str:
    """``features`` or ``clips`` for a trained model; ``TypeError`` for anything else."""
    if isinstance(artifact, TrainedClipModel):
        return "clips"
    if isinstance(artifact, FittedBaseline):
        return "features"
    raise TypeError(f"not a trained model: {type(artifact).__name__} (re-run training)")


def artifact_digest(artifact: Any) -> str:
    """A content digest of a trained model, the same for the same weights in any process
    (skops files name their members by object id, so the file bytes are not)."""
    if isinstance(artifact, TrainedClipModel):
        h = hashlib.blake2b(digest_size=16)
        h.update(json.dumps(asdict(artifact.config), sort_keys=True, default=str).encode())
        for name in sorted(artifact.state_dict):
            t = artifact.state_dict[name].detach().cpu().contiguous()
            h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        return h.hexdigest()
    import joblib

    return joblib.hash((artifact.name, artifact.pipeline, list(artifact.feature_names)))


def _store(artifact: Any, folder: Path, stem: str, fmt: ArtifactFormat) -> tuple[str, Path]:
    """(digest, file): ``artifact`` written to ``folder/<stem>.<digest><suffix>`` once.

    A baseline is digested after a save/load round trip, so an object fresh from training and
    the same model loaded from its file give one digest."""
    suffix = SUFFIXES[fmt]
    if isinstance(artifact, TrainedClipModel):  # tensors and config: exact either way
        digest = artifact_digest(artifact)
        file = folder / f"{stem}.{digest[:20]}{suffix}"
        if not file.is_file():
            _save(artifact, file, fmt)
        return digest, file
    tmp = folder / f".{stem}.staging-{os.getpid()}{suffix}"
    _save(artifact, tmp, fmt)
    digest = artifact_digest(load_artifact(tmp, fmt))
    file = folder / f"{stem}.{digest[:20]}{suffix}"
    if file.is_file():
        tmp.unlink()
    else:
        tmp.replace(file)
    return digest, file


def stage_models(
    cells: Mapping[tuple[str, int], Any], folder: str | Path
) -> dict[int, list[dict[str, str]]]:
    """Write each trained cell's model to ``folder`` (once per content digest); return, per
    fold, what a task needs to load them: model, kind, file, digest (skipped cells left out)."""
    out: dict[int, list[dict[str, str]]] = {}
    for (model, fold), artifact in cells.items():
        if isinstance(artifact, SkippedCell):
            continue
        try:
            kind = kind_of(artifact)
        except TypeError as err:
            raise TypeError(f"{model}.fold_{fold}.model: {err}") from err
        fmt = KINDS[kind].artifact_format
        digest, file = _store(artifact, Path(folder), f"{model}.fold_{fold}", fmt)
        out.setdefault(int(fold), []).append(
            {"model": model, "kind": kind, "file": str(file), "digest": digest}
        )
    return out


def union_spec(artifacts: Sequence[Any], config: AuraConfig) -> InputSpec:
    """What to compute per video for all of ``artifacts`` with the run's ``config``
    (:func:`~aura.inference.prepare.input_spec_from_config`): features if any is a feature
    model, every clip shape of the clip models; whole-video inputs only (no segments)."""
    from aura.inference.prepare import input_spec_from_config

    trained = [a for a in artifacts if not isinstance(a, SkippedCell)]
    clips = {KINDS["clips"].clip_spec(a) for a in trained if kind_of(a) == "clips"}
    ordered = sorted(clips, key=lambda c: json.dumps(asdict(c), sort_keys=True))
    features = any(kind_of(a) == "features" for a in trained)
    return input_spec_from_config(config, ordered, features, segment_s=0.0, max_segments=0)


def spec_to_params(spec: InputSpec) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(spec)))


def spec_from_params(data: Mapping[str, Any]) -> InputSpec:
    values = dict(data)
    values["clips"] = tuple(ClipSpec(**c) for c in data["clips"])
    return InputSpec(**values)


_LOADED: dict[tuple[str, str], Any] = {}


def _load(models: Sequence[Mapping[str, str]]) -> list[tuple[str, str, Any]]:
    """The task's models, loaded once per process; one fold's set is kept at a time."""
    want = [(m["file"], m["digest"]) for m in models]
    if not set(want) <= set(_LOADED):
        _LOADED.clear()
        for m in models:
            fmt = KINDS[m["kind"]].artifact_format
            _LOADED[(m["file"], m["digest"])] = load_artifact(m["file"], fmt)
    return [(m["model"], m["kind"], _LOADED[key]) for m, key in zip(models, want, strict=True)]


def score_file(
    path: str | Path, spec: InputSpec, models: Sequence[tuple[str, str, Any]], workdir: Path
) -> tuple[dict[str, Any], dict[str, float | None], dict[str, str | None]]:
    """(probe facts, score per model, error per model) of one file, prepared once.

    A model that fails on the prepared video gets no score and its error; a file that
    cannot be prepared raises (the caller makes the status row).
    """
    from aura.inference.prepare import prepare_video
    from aura.release.calibration import sigmoid

    video = prepare_video(path, spec, workdir)
    scores: dict[str, float | None] = {}
    errors: dict[str, str | None] = {}
    for model, kind, artifact in models:
        try:
            whole, _ = KINDS[kind].logits(artifact, video)
            scores[model], errors[model] = float(sigmoid(whole)), None
        except Exception as err:  # one model's failure is its own row
            scores[model], errors[model] = None, f"{model}: {failure(err)[1]}"
    return {k: video.info.get(k) for k in INFO}, scores, errors


def score_task(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Executor task: perturb ``task.path`` with ``task.args['perturbation']`` and score the
    result with the fold's models (``task.args['models']``); never raises for a bad video."""
    name = str(task.args["perturbation"])
    spec = spec_from_params(params["spec"])
    models = _load(task.args["models"])
    with tempfile.TemporaryDirectory(prefix="aura-robust-") as tmp:
        work = Path(tmp)
        outcome = perturb(name, str(task.path), work / "perturbed.mp4", max_pixels=spec.max_pixels)
        if outcome.status not in SCORED:
            return {"status": outcome.status, "error": outcome.error}
        target = work / "perturbed.mp4" if outcome.written else Path(str(task.path))
        try:
            info, scores, errors = score_file(target, spec, models, work)
        except Exception as err:  # a perturbed file the inference path refuses: a status row
            status, error = failure(err)
            return {"status": status, "error": f"{name} (scoring the perturbed file): {error}"}
    return {
        "status": outcome.status,
        "error": outcome.error,
        "info": info,
        "scores": scores,
        "errors": errors,
    }


def _rows(
    video: Mapping[str, Any], name: str, models: Sequence[Mapping[str, str]], r: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The rows of one task's result: one per model of the video's fold."""
    info = r.get("info") or {}
    scores, errors = r.get("scores") or {}, r.get("errors") or {}
    ids = {k: video[k] for k in ("fold", "video_id", "cascade_id", "group_id", "target")}
    return [
        {
            "model": m["model"],
            "perturbation": name,
            **ids,
            "score": scores.get(m["model"]),
            "status": "error" if errors.get(m["model"]) else r["status"],
            "error": errors.get(m["model"]) or r.get("error"),
            **{k: info.get(k) for k in INFO},
        }
        for m in models
    ]


def score_perturbed(
    cells: Mapping[tuple[str, int], Any],
    selected: pl.DataFrame,
    perturbations: Sequence[str],
    spec: InputSpec,
    *,
    cache_dir: str | Path,
    executor: ExecutorConfig | Mapping[str, Any] | None,
) -> pl.DataFrame:
    """``robustness_predictions`` (see :data:`SCHEMA`) of the ``selected`` videos (from
    :func:`select_videos`) under each of ``perturbations``, by the trained ``cells``."""
    models = stage_models(cells, Path(cache_dir) / f"{STAGE}_models")
    tasks, meta = [], []
    for video in selected.iter_rows(named=True):
        fold_models = models.get(int(video["fold"]), [])
        for name in perturbations if fold_models else ():
            args = {
                "perturbation": name,
                "perturbation_params": PERTURBATIONS[name].params,
                "fold": int(video["fold"]),
                "models": fold_models,
            }
            tasks.append(Task(f"{video['video_id']}|{name}", video["path"], args))
            meta.append((video, name, fold_models))
    try:
        results = run_tasks(
            score_task,
            tasks,
            stage=STAGE,
            params={"version": VERSION, "spec": spec_to_params(spec)},
            cache_dir=cache_dir,
            config=ExecutorConfig.from_params(executor),
        )
    finally:
        _LOADED.clear()  # the serial backend loads the models in this process
    rows = [row for (v, n, ms), r in zip(meta, results, strict=True) for row in _rows(v, n, ms, r)]
    table = pl.DataFrame(rows, schema=SCHEMA) if rows else empty_predictions()
    bad = table.filter(~pl.col("status").is_in(SCORED))
    if bad.height:
        log.warning(
            "robustness: %d of %d rows have no score, e.g. %s",
            bad.height,
            table.height,
            bad["error"].drop_nulls().head(3).to_list(),
        )
    return table
