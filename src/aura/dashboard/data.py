"""What the dashboard reads, as typed values: the project's Kedro catalog (any saved version of
a versioned dataset) and its MLflow runs. Nothing here computes a metric.

A *version* is Kedro's save version of a run (its session id, also the MLflow run's ``run_id``
tag): every versioned dataset a run saved carries it. Loading "as of" a version takes each
dataset's newest version not after it, so datasets an evaluation-only run did not rewrite
(``video_index``, features ...) come from the run that last wrote them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import polars as pl

from aura.features.metadata import PROBE_KEYS
from aura.parameters import AuraConfig
from aura.release import Detector

log = logging.getLogger(__name__)

#: ``video_index`` columns shown as the probe metadata of a video.
PROBE_COLUMNS = (*PROBE_KEYS, "n_frames")
#: ``video_index`` columns of the drill-down table (model scores are added to them).
VIDEO_COLUMNS = ("video_id", "label", "platform", "status", "cascade_id", "codec", "duration_s")
_EMPTY_OOF = pl.DataFrame(
    schema={"video_id": pl.Utf8, "target": pl.Int8, "probability": pl.Float64}
)


@dataclass(frozen=True)
class MlflowRun:
    """One MLflow run of the project's experiment."""

    run_id: str
    name: str
    status: str
    started: datetime
    version: str | None  # the Kedro session id: the catalog version the run saved
    config_hash: str | None
    git_commit: str | None
    params: dict[str, str]
    metrics: dict[str, float]

    @property
    def label(self) -> str:
        return f"{self.name} · {self.started:%Y-%m-%d %H:%M} · {self.run_id[:8]} ({self.status})"


@dataclass(frozen=True)
class RunTables:
    """The evaluation outputs of one version; a table is None when that run did not write it."""

    version: str | None  # the cv_predictions version shown (None: no evaluation yet)
    predictions: pl.DataFrame | None  # cv_predictions
    summary: pl.DataFrame | None  # cv_summary
    metrics: pl.DataFrame | None  # cv_metrics
    comparisons: pl.DataFrame | None  # cv_comparisons
    slices: pl.DataFrame | None  # cv_slices
    robustness: pl.DataFrame | None  # robustness_metrics
    release: pl.DataFrame | None  # release_metrics
    facts: list[tuple[str, str]]  # run_facts (not versioned: the newest run's)


@dataclass(frozen=True)
class Release:
    """The released detector of a version and its out-of-fold view."""

    detector: Detector
    version: str
    #: ``video_id, target, probability``: the calibrated out-of-fold probability of the
    #: released ensemble, what its threshold was chosen on
    oof: pl.DataFrame
    #: for a one-model detector: the lowest raw out-of-fold score of that model that the
    #: detector calls fake (its threshold on the model's own scale); None otherwise
    score_threshold: float | None

    @property
    def threshold(self) -> float:
        return self.detector.threshold


@dataclass(frozen=True)
class Variant:
    """An augmented variant of an original video (stage 1)."""

    variant_id: str
    path: Path | None
    ops: str
    status: str
    error: str | None


@dataclass(frozen=True)
class VideoDetail:
    """Everything the pipelines wrote about one original video."""

    video_id: str
    label: str | None
    status: str
    error: str | None
    path: Path | None
    probe: pl.DataFrame  # field, value (video_index)
    variants: list[Variant]
    scaled: Path | None
    features: pl.DataFrame  # column, stage, group, value, imputed, description
    scores: pl.DataFrame  # cv_predictions rows: model, fold, score, target
    robustness: pl.DataFrame | None  # robustness_predictions rows of the video


def sqlite_path(uri: str, project: Path) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative: to the project), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    path = Path(uri.removeprefix("sqlite:///"))
    return path if path.is_absolute() else project / path


class Project:
    """A Kedro project opened the Kedro way: ``bootstrap_project`` + ``KedroSession``; its
    catalog, resolved parameters and the MLflow store kedro-mlflow's config names."""

    def __init__(self, path: Path, env: str | None = None) -> None:
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project

        from aura.parameters import resolve

        self.path = path.resolve()
        self.env = env
        self._lock = threading.RLock()  # one catalog, shared by every browser session
        bootstrap_project(self.path)
        self._session = KedroSession.create(project_path=self.path, env=env)
        context = self._session.load_context()
        self.catalog = context.catalog
        self.config: AuraConfig = resolve(context.params)
        server = context.mlflow.server  # kedro-mlflow's config (conf/*/mlflow.yml)
        uri = str(server.mlflow_tracking_uri)
        db = sqlite_path(uri, self.path)
        self.tracking_uri = f"sqlite:///{db}" if db is not None else uri
        self.experiment = str(context.mlflow.tracking.experiment.name)

    def abspath(self, path: str | None) -> Path | None:
        """A path column's value as an absolute path (relative ones: to the project)."""
        if not path:
            return None
        p = Path(path)
        return p if p.is_absolute() else self.path / p

    # --- the catalog ---------------------------------------------------------------------------

    def versions(self, name: str) -> list[str]:
        """Saved versions of a versioned dataset, oldest first ([] otherwise)."""
        from kedro.io import AbstractVersionedDataset

        with self._lock:
            dataset = self.catalog.get(name)
        if not isinstance(dataset, AbstractVersionedDataset):
            return []
        # Kedro's own lookup of the latest version (AbstractVersionedDataset), listed whole
        pattern = str(dataset._get_versioned_path("*"))
        found = {
            PurePosixPath(p).parent.name
            for p in dataset._glob_function(pattern)
            if dataset._exists_function(p)
        }
        return sorted(found)

    def load(self, name: str, as_of: str | None = None) -> Any | None:
        """``name`` through the catalog: for a versioned dataset its newest version not after
        ``as_of`` (None: the newest); None when there is no such version or file."""
        if name not in self.catalog:
            return None
        versions = self.versions(name)
        with self._lock:
            if versions:
                usable = [v for v in versions if as_of is None or v <= as_of]
                return self.catalog.load(name, version=usable[-1]) if usable else None
            return self.catalog.load(name) if self.catalog.exists(name) else None

    def run_tables(self, as_of: str | None) -> RunTables:
        """The evaluation tables as of ``as_of`` (None: the newest)."""
        predictions = self.load("cv_predictions", as_of)
        version = None
        if predictions is not None:
            version = max(v for v in self.versions("cv_predictions") if not as_of or v <= as_of)
        facts = self.load("run_facts") or {}
        return RunTables(
            version=version,
            predictions=predictions,
            summary=self.load("cv_summary", as_of),
            metrics=self.load("cv_metrics", as_of),
            comparisons=self.load("cv_comparisons", as_of),
            slices=self.load("cv_slices", as_of),
            robustness=self.load("robustness_metrics", as_of),
            release=self.load("release_metrics", as_of),
            facts=[(str(k), _text(v)) for k, v in facts.items()],
        )

    def release(self, as_of: str | None, predictions: pl.DataFrame | None) -> Release | None:
        """The detector released as of ``as_of`` with its calibrated out-of-fold
        probabilities (from ``predictions``, the release's own inputs)."""
        from aura.models.kinds import logit
        from aura.release.oof import ensemble_oof

        detector = self.load("detector", as_of)
        if detector is None:
            return None
        if predictions is None:
            return Release(detector, detector.version, _EMPTY_OOF, None)
        try:
            ens = ensemble_oof(predictions, detector.models)
        except ValueError as err:  # the detector's models are not in this evaluation
            log.warning("dashboard: no out-of-fold view of detector %s: %s", detector.version, err)
            return Release(detector, detector.version, _EMPTY_OOF, None)
        prob = detector.calibration.apply(ens["logit"].to_numpy())
        oof = ens.select("video_id", "target").with_columns(pl.Series("probability", prob))
        score_threshold = None
        if len(detector.models) == 1:
            raw = predictions.filter(pl.col("model") == detector.models[0]).sort("video_id")
            scores = raw["score"].to_numpy()
            fake = detector.calibration.apply(logit(scores)) >= detector.threshold
            # the same calls as a raw-score threshold, when the calibration keeps the order
            if fake.any() and np.array_equal(fake, scores >= scores[fake].min()):
                score_threshold = float(scores[fake].min())
        return Release(detector, detector.version, oof, score_threshold)

    # --- MLflow --------------------------------------------------------------------------------

    def runs(self, limit: int = 200) -> list[MlflowRun]:
        """The experiment's runs, newest first ([] without a tracking store)."""
        from mlflow import MlflowClient

        db = sqlite_path(self.tracking_uri, self.path)
        if db is not None and not db.is_file():
            return []  # MlflowClient would create an empty store
        client = MlflowClient(tracking_uri=self.tracking_uri)
        experiment = client.get_experiment_by_name(self.experiment)
        if experiment is None:
            return []
        found = client.search_runs(
            [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit
        )
        return [
            MlflowRun(
                run_id=r.info.run_id,
                name=r.info.run_name or "",
                status=r.info.status,
                started=datetime.fromtimestamp(r.info.start_time / 1000, tz=UTC),
                version=r.data.tags.get("run_id"),
                config_hash=r.data.tags.get("config_hash"),
                git_commit=r.data.tags.get("git_commit"),
                params=dict(r.data.params),
                metrics=dict(r.data.metrics),
            )
            for r in found
        ]

    # --- videos --------------------------------------------------------------------------------

    def video_table(
        self, as_of: str | None, tables: RunTables, release: Release | None
    ) -> pl.DataFrame:
        """Every ``video_index`` row with each model's out-of-fold score (``score_<model>``),
        the released detector's out-of-fold probability and whether it was misclassified at
        the released threshold, and the models wrong at ``evaluation.threshold``."""
        index = self.load("video_index", as_of)
        if index is None:
            return pl.DataFrame()
        table = index.select(VIDEO_COLUMNS)
        preds = tables.predictions
        if preds is not None and preds.height:
            wide = preds.pivot(
                on="model", index="video_id", values="score", aggregate_function="first"
            )
            table = table.join(
                wide.rename({c: f"score_{c}" for c in wide.columns if c != "video_id"}),
                on="video_id",
                how="left",
            )
            cut = self.config.evaluation.threshold
            wrong = (
                preds.filter((pl.col("score") >= cut).cast(pl.Int8) != pl.col("target"))
                .group_by("video_id")
                .agg(pl.col("model").sort().str.join(", ").alias(f"wrong_at_{cut:g}"))
            )
            table = table.join(wrong, on="video_id", how="left")
        if release is not None and release.oof.height:
            verdict = release.oof.select(
                "video_id",
                pl.col("probability").alias("p_released"),
                (
                    (pl.col("probability") >= release.threshold).cast(pl.Int8) != pl.col("target")
                ).alias("misclassified"),
            )
            table = table.join(verdict, on="video_id", how="left")
        return table.sort("video_id")

    def failures(self, as_of: str | None) -> pl.DataFrame:
        """``video_index`` rows whose status is not ``ok``, with their error."""
        index = self.load("video_index", as_of)
        if index is None:
            return pl.DataFrame()
        return index.filter(pl.col("status") != "ok").select(
            "video_id", "platform", "label_raw", "status", "error", "path"
        )

    def video_detail(
        self, video_id: str, as_of: str | None, tables: RunTables
    ) -> VideoDetail | None:
        """What the pipelines wrote about ``video_id`` (None: not in ``video_index``)."""
        index = self.load("video_index", as_of)
        if index is None or not (row := index.filter(pl.col("video_id") == video_id)).height:
            return None
        record = row.row(0, named=True)
        probe = pl.DataFrame(
            {
                "field": [c for c in PROBE_COLUMNS if c in row.columns],
                "value": [_text(record[c]) for c in PROBE_COLUMNS if c in row.columns],
            }
        )
        scores = pl.DataFrame()
        if tables.predictions is not None:
            scores = tables.predictions.filter(pl.col("video_id") == video_id).select(
                "model", "fold", "score", "target"
            )
        robust = self.load("robustness_predictions", as_of)
        if robust is not None:
            robust = robust.filter(pl.col("video_id") == video_id).select(
                "model", "fold", "perturbation", "score", "status", "error"
            )
        return VideoDetail(
            video_id=video_id,
            label=record.get("label"),
            status=str(record["status"]),
            error=record.get("error"),
            path=self.abspath(record.get("path")),
            probe=probe,
            variants=self._variants(video_id, as_of),
            scaled=self._scaled(video_id, as_of),
            features=self._features(video_id, as_of),
            scores=scores,
            robustness=robust,
        )

    def _variants(self, video_id: str, as_of: str | None) -> list[Variant]:
        meta = self.load("augmented_metadata", as_of)
        if meta is None:
            return []
        rows = meta.filter((pl.col("source_video_id") == video_id) & (pl.col("variant") > 0))
        return [
            Variant(
                r["variant_id"], self.abspath(r["path"]), _text(r["ops"]), r["status"], r["error"]
            )
            for r in rows.sort("variant").iter_rows(named=True)
        ]

    def _scaled(self, video_id: str, as_of: str | None) -> Path | None:
        meta = self.load("scaled_metadata", as_of)
        if meta is None:
            return None
        rows = meta.filter((pl.col("video_id") == video_id) & (pl.col("status") == "ok"))
        return self.abspath(rows["path"][0]) if rows.height else None

    def _features(self, video_id: str, as_of: str | None) -> pl.DataFrame:
        """Stage-2, stage-4 and metadata features of the original, with their descriptions."""
        from aura.explain import describe_column
        from aura.features import FLAG_SUFFIX
        from aura.features.metadata import META_PREFIX, METADATA

        rows: list[tuple[str, str, str, float, bool, str]] = []
        for name in ("features_stage2", "features_stage4", "video_metadata"):
            table = self.load(name, as_of)
            if table is None or not (hit := table.filter(pl.col("video_id") == video_id)).height:
                continue
            values = hit.row(0, named=True)
            for column, value in values.items():
                meta = METADATA.get(column.removeprefix(META_PREFIX))
                info = describe_column(column)
                if not isinstance(value, int | float) or column.endswith(FLAG_SUFFIX):
                    continue
                if column.startswith(META_PREFIX) and meta:
                    described = ("metadata", "metadata", meta)
                elif info.group:  # else: an id or a count, not a registered feature
                    described = (info.stage, info.group, info.description)
                else:
                    continue
                imputed = bool(values.get(column + FLAG_SUFFIX))
                rows.append((column, *described[:2], float(value), imputed, described[2]))
        columns = ["column", "stage", "group", "value", "imputed", "description"]
        return pl.DataFrame(rows, schema=columns, orient="row")


def _text(value: Any) -> str:
    """A table cell as text (nested values as ``k: v`` lists)."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return "" if value is None else str(value)
