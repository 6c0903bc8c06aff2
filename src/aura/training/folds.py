"""Group-aware stratified K-fold assignment → the ``cv_folds`` table.

Folds are drawn over usable *original* videos with scikit-learn's ``StratifiedGroupKFold``:
stratified by label, grouped by ``group_id`` (cascades merged when they share a video), so a
cascade never sits on both sides of a split. Augmented variants inherit their source's fold and
are training-only; validation holds originals only. The table is long: one row per
(video, fold) with ``role`` ∈ {train, val}; a variant has no row in the fold where its source is
validation (it must not be trained on there, nor scored).

Nested selection: inside each outer fold the training side is split once more, the same way
(stratified, grouped, seeded by ``(seed, fold)``), into ``inner_role`` ``fit`` and ``select``
(``null`` on validation rows). ``select`` holds about ``inner_val_fraction`` of the training
side's cascade groups, with their variants; deep models train on ``fit`` and pick their epoch on
the ``select`` originals, so the outer validation videos are only ever scored. With a fraction of
0 every training row is ``fit`` and nothing is selected.
"""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import polars as pl
from sklearn.model_selection import StratifiedGroupKFold

from aura.corpus.videos import stage_inputs

log = logging.getLogger(__name__)

FOLD_COLUMNS = [
    "video_id",
    "source_video_id",
    "variant",
    "cascade_id",
    "group_id",
    "label",
    "target",
    "fold",
    "role",
    "inner_role",
]


class FoldError(ValueError):
    """The corpus cannot be split into the requested folds (e.g. a fold would miss a class)."""


def _assign(groups: np.ndarray, y: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    fold = np.full(len(y), -1, dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (_, val) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        fold[val] = k
    return fold


def _problems(fold: np.ndarray, y: np.ndarray, n_folds: int) -> list[str]:
    out = []
    for k in range(n_folds):
        for side, mask in (("validation", fold == k), ("training", fold != k)):
            counts = Counter(y[mask].tolist())
            missing = [name for cls, name in ((0, "real"), (1, "fake")) if counts.get(cls, 0) == 0]
            if missing:
                out.append(
                    f"fold {k} {side} side has no {'/'.join(missing)} video ({dict(counts)} by target)"
                )
    return out


def _inner_seed(seed: int, fold: int) -> int:
    return int(np.random.SeedSequence([seed, fold]).generate_state(1)[0])


def _select(
    ids: np.ndarray, groups: np.ndarray, y: np.ndarray, fraction: float, seed: int, fold: int
) -> list[str]:
    """Ids of fold ``fold``'s training-side originals held out for selection: the first
    stratified group split (of ``round(1 / fraction)``) whose held-out part and remainder both
    hold both classes."""
    n_splits = round(1 / fraction)
    name = f"training.inner_val_fraction={fraction}"
    n_groups = len(set(groups.tolist()))
    if n_groups < n_splits:
        raise FoldError(
            f"{name} cannot be used: fold {fold}'s training side has {n_groups} cascade groups "
            f"for {n_splits} inner splits (raise it, set it to 0 for no selection, or use fewer "
            "training.n_folds)"
        )
    splitter = StratifiedGroupKFold(
        n_splits=n_splits, shuffle=True, random_state=_inner_seed(seed, fold)
    )
    for fit, select in splitter.split(np.zeros(len(y)), y, groups):
        if len(set(y[select].tolist())) == 2 and len(set(y[fit].tolist())) == 2:
            return ids[select].tolist()
    raise FoldError(
        f"{name} cannot be used: no inner split of fold {fold}'s training side "
        f"({dict(Counter(y.tolist()))} by target, {n_groups} groups) holds both classes on both "
        "sides (raise it, set it to 0 for no selection, or use fewer training.n_folds)"
    )


def _inner_roles(
    ok: pl.DataFrame, fold: np.ndarray, n_folds: int, fraction: float, seed: int
) -> pl.DataFrame:
    """``source_video_id, fold, inner_role``: ``select`` rows (any other training row is fit)."""
    ids, y, groups = ok["video_id"].to_numpy(), ok["target"].to_numpy(), ok["group_id"].to_numpy()
    rows: list[tuple[str, int]] = []
    if fraction > 0:
        for k in range(n_folds):
            side = fold != k
            chosen = _select(ids[side], groups[side], y[side], fraction, seed, k)
            rows += [(v, k) for v in chosen]
    return pl.DataFrame(
        {
            "source_video_id": [v for v, _ in rows],
            "fold": [k for _, k in rows],
            "inner_role": ["select"] * len(rows),
        },
        schema={"source_video_id": pl.String, "fold": pl.Int64, "inner_role": pl.String},
    )


def make_folds(
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame | None = None,
    *,
    n_folds: int = 5,
    seed: int = 0,
    auto_reduce_folds: bool = False,
    inner_val_fraction: float = 0.2,
) -> pl.DataFrame:
    """Assign every usable original to one validation fold; return the long ``cv_folds`` table.

    Each fold's training side is split into ``inner_role`` ``fit`` / ``select`` (see the module
    doc); ``inner_val_fraction`` 0 makes every training row ``fit``.

    Raises :class:`FoldError` naming ``training.n_folds`` when a fold would lack a class on
    either side (or, with ``auto_reduce_folds``, when even 2 folds cannot hold both classes), and
    naming ``training.inner_val_fraction`` when a fold's selection set or its remainder cannot
    hold both classes.
    """
    if n_folds < 2:
        raise FoldError(f"training.n_folds={n_folds}: need at least 2 folds")
    if not 0 <= inner_val_fraction < 0.5:
        raise FoldError(f"training.inner_val_fraction={inner_val_fraction}: must be in [0, 0.5)")
    work, _ = stage_inputs(video_index, augmented_metadata)
    ok = work.filter(pl.col("variant") == 0)
    excluded = video_index.height - ok.height
    if excluded:
        log.info(
            "cv_folds: %d index rows excluded (status != ok): %s",
            excluded,
            dict(Counter(video_index.filter(pl.col("status") != "ok")["status"].to_list())),
        )
    y = ok["target"].to_numpy()
    groups = ok["group_id"].to_numpy()
    n_groups = len(set(groups.tolist()))
    k = n_folds
    while True:
        if k > n_groups:
            problems = [f"only {n_groups} cascade groups for {k} folds"]
        else:
            fold = _assign(groups, y, k, seed)
            problems = _problems(fold, y, k)
        if not problems:
            break
        if not auto_reduce_folds or k == 2:
            raise FoldError(
                f"training.n_folds={k} cannot be used on {ok.height} videos in {n_groups} groups: "
                + "; ".join(problems[:3])
                + (
                    " (set training.auto_reduce_folds=true to try fewer folds)"
                    if not auto_reduce_folds
                    else ""
                )
            )
        log.warning("cv_folds: %d folds impossible (%s); trying %d", k, problems[0], k - 1)
        k -= 1
    # Variants inherit their source's fold (stage_inputs already joined them to their source).
    home = pl.DataFrame({"source_video_id": ok["video_id"], "home": fold})
    rows = work.join(home, on="source_video_id", how="inner").with_columns(
        pl.col("target").cast(pl.Int8)
    )
    folds = pl.DataFrame({"fold": list(range(k))}, schema={"fold": pl.Int64})
    # variants join on their source, so a select original's variants are select too
    select = _inner_roles(ok, fold, k, inner_val_fraction, seed)
    table = (
        rows.join(folds, how="cross")
        .with_columns(
            pl.when(pl.col("home") == pl.col("fold"))
            .then(pl.lit("val"))
            .otherwise(pl.lit("train"))
            .alias("role")
        )
        # variants are training-only: drop them where their source is validation
        .filter(~((pl.col("variant") > 0) & (pl.col("role") == "val")))
        .join(select, on=["source_video_id", "fold"], how="left")
        .with_columns(
            pl.when(pl.col("role") == "val")
            .then(pl.lit(None, pl.String))
            .otherwise(pl.col("inner_role").fill_null("fit"))
            .alias("inner_role")
        )
        .select(FOLD_COLUMNS)
        .sort("fold", "role", "video_id")
    )
    log.info(
        "cv_folds: %d folds over %d originals (%d groups), %d rows; %d selection originals",
        k,
        ok.height,
        n_groups,
        table.height,
        select.height,
    )
    return table
