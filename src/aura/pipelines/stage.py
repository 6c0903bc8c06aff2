"""Shared plumbing of the per-video stages: run tasks through the executor, join their rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from aura.executor import ExecutorConfig, Task, run_tasks

TaskFn = Callable[[Task, Mapping[str, Any]], dict[str, Any]]


def run_video_stage(
    fn: TaskFn,
    work: pl.DataFrame,
    *,
    stage: str,
    params: Mapping[str, Any],
    executor: Mapping[str, Any] | None,
    cache_dir: str,
    output_dir: str | None = None,
    suffix: str = ".mp4",
    arg_columns: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Map ``fn`` over ``work`` (one task per ``video_id``) and return its rows joined to ``work``.

    With ``output_dir``, each task writes ``output_dir/<video_id><suffix>`` (passed as
    ``args["output"]`` and declared as the task's ``output``); ``arg_columns`` are copied from
    each row into the task's args. The executor records each output's size and hash with its
    cached result and recomputes a task whose output was deleted, truncated or changed, so
    outputs and cache never disagree.
    """
    config = ExecutorConfig.from_params(executor)
    out = Path(output_dir) if output_dir else None

    def task(row: dict[str, Any]) -> Task:
        args = {c: row[c] for c in arg_columns}
        if out is None:
            return Task(key=row["video_id"], path=row["path"], args=args)
        output = str(out / f"{row['video_id']}{suffix}")
        return Task(row["video_id"], row["path"], {**args, "output": output}, output=output)

    tasks = [task(r) for r in work.iter_rows(named=True)]
    results = run_tasks(fn, tasks, stage=stage, params=params, cache_dir=cache_dir, config=config)
    if not results:  # nothing usable upstream: an empty table with the stage's own columns
        cols = ["status", "error"] + (["output"] if out is not None else [])
        return work.with_columns(pl.lit(None, pl.String).alias(c) for c in cols)
    table = pl.DataFrame(results, infer_schema_length=None).rename({"key": "video_id"})
    # No task failed (no "error"), or all did (no "output"): keep one schema either way.
    for col in ["error"] + (["output"] if out is not None else []):
        if col not in table.columns:
            table = table.with_columns(pl.lit(None, pl.String).alias(col))
    return work.join(table, on="video_id", how="left", maintain_order="left")


def failures(skipped: pl.DataFrame, stage: str) -> pl.DataFrame:
    """Rows for inputs a stage could not use: status ``skipped`` and the upstream reason."""
    return skipped.select(
        "video_id",
        pl.lit("skipped").alias("status"),
        pl.format(
            "{}: input status {}: {}",
            pl.lit(stage),
            pl.col("status"),
            pl.col("error").fill_null(""),
        ).alias("error"),
    )
