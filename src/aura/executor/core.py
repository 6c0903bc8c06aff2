"""``run_tasks``: resolve cached results, map the rest over a backend, write results as they land."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from aura.executor.backends import BACKEND_FNS, Pending
from aura.executor.cache import (
    ResultStore,
    cache_key,
    file_digests,
    output_signature,
    output_signatures,
    signature_mismatch,
    stable_json,
)
from aura.executor.config import ExecutorConfig, Task
from aura.executor.worker import error_text, failure_row

log = logging.getLogger("aura.executor")

#: Statuses the executor itself gives a task that did not succeed.
FAILED = ("failed", "timeout")

_STAGE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def _check_inputs(tasks: Sequence[Task], stage: str, params: Mapping[str, Any]) -> str:
    """Validate the call (programming errors raise); return the canonical params JSON."""
    if not _STAGE_RE.fullmatch(stage):
        raise ValueError(
            f"stage={stage!r}: expected letters, digits, '_', '-' or '.' (a folder name)"
        )
    seen: set[str] = set()
    for t in tasks:
        if not isinstance(t, Task):
            raise TypeError(f"tasks must be aura.executor.Task, got {type(t).__name__}")
        if t.key in seen:
            raise ValueError(f"stage {stage}: duplicate task key {t.key!r}")
        seen.add(t.key)
    try:
        return stable_json(params)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"stage {stage}: params are not JSON-serialisable: {exc}") from exc


def _rerun(record: Mapping[str, Any], config: ExecutorConfig) -> bool:
    """Whether a cached failure is re-run: ``retry_failed``, or a timeout under a lower limit."""
    status = record["result"]["status"]
    if status == "failed":
        return config.retry_failed
    if status == "timeout":
        was, now = record.get("task_timeout_s"), config.task_timeout_s
        return config.retry_failed or now is None or not isinstance(was, int | float) or now > was
    return False


def _verify_outputs(
    tasks: Sequence[Task], hits: list[tuple[int, str, dict[str, Any]]], stage: str
) -> list[tuple[int, str, dict[str, Any]]]:
    """The cache hits whose output file no longer matches its recorded size and hash."""
    check = [h for h in hits if h[2]["result"]["status"] == "ok" and tasks[h[0]].output]
    actual = output_signatures(str(tasks[i].output) for i, _, _ in check)
    stale, reasons = [], []
    for hit in check:
        output = str(tasks[hit[0]].output)
        why = signature_mismatch(hit[2].get("output"), actual[output])
        if why is not None:
            stale.append(hit)
            reasons.append(f"{output}: {why}")
    if stale:
        more = f"; and {len(reasons) - 5} more" if len(reasons) > 5 else ""
        log.warning(
            "stage=%s: %d cached outputs are missing or changed, recomputing them: %s%s",
            stage,
            len(stale),
            "; ".join(reasons[:5]),
            more,
        )
    return stale


def run_tasks(
    fn: Callable[[Task, Mapping[str, Any]], Mapping[str, Any]],
    tasks: Sequence[Task],
    *,
    stage: str,
    params: Mapping[str, Any],
    cache_dir: str | Path,
    config: ExecutorConfig,
) -> list[dict[str, Any]]:
    """Map ``fn(task, params)`` over ``tasks``; return one result dict per task, in task order.

    Results are cached under ``cache_dir/<stage>/`` by a hash of (stage, params, task key,
    task args, content of ``task.path``): cached tasks are skipped, a killed run resumes,
    and changed params or inputs recompute only what they affect. A task that raises
    becomes ``{"key", "status": "failed", "error": "<Type>: <message>"}`` and is cached
    too (re-run with ``config.retry_failed``); an unreadable input file gives a failed row
    that is not cached. Every row carries ``key`` and ``status`` (``"ok"`` by default).

    A task running longer than ``config.task_timeout_s`` (processes, dask) becomes a cached
    ``timeout`` row, re-run with ``retry_failed`` or once the limit is raised. A task with an
    ``output`` file has that file's size and hash cached with its ``ok`` result; the result
    is reused only while the file still matches, otherwise the task is recomputed.
    """
    t0 = time.perf_counter()
    tasks = list(tasks)
    params_json = _check_inputs(tasks, stage, params)
    store = ResultStore(Path(cache_dir) / stage)
    digests = file_digests(t.path for t in tasks if t.path is not None)

    results: list[dict[str, Any] | None] = [None] * len(tasks)
    pending: list[Pending] = []
    hits: list[tuple[int, str, dict[str, Any]]] = []
    n_cached = reused_failures = 0
    for i, task in enumerate(tasks):
        digest = digests.get(task.path) if task.path is not None else None
        if isinstance(digest, OSError):
            results[i] = failure_row(task.key, error_text(digest))
            log.warning(
                "stage=%s task=%s input unreadable: %s", stage, task.key, results[i]["error"]
            )
            continue
        try:
            ckey = cache_key(stage, params_json, task.key, task.args, digest, task.output)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"stage {stage}: task {task.key!r} args are not JSON-serialisable: {exc}"
            ) from exc
        record = store.load(ckey, task.key)
        if record is None or _rerun(record, config):
            pending.append(Pending(i, task, ckey))
        else:
            hits.append((i, ckey, record))
    stale = {i for i, _, _ in _verify_outputs(tasks, hits, stage)}
    for i, ckey, record in hits:
        if i in stale:
            pending.append(Pending(i, tasks[i], ckey))
        else:
            results[i] = record["result"]
            n_cached += 1
            reused_failures += record["result"]["status"] in FAILED
    pending.sort(key=lambda p: p.index)
    if reused_failures:
        log.warning(
            "stage=%s: reusing %d cached failures (set executor.retry_failed=true to re-run them)",
            stage,
            reused_failures,
        )

    new_errors: Counter[str] = Counter()
    if pending:
        bar = tqdm(total=len(pending), desc=stage, unit="videos", disable=not config.progress)

        def emit(
            item: Pending, row: dict[str, Any], tb: str | None, elapsed: float | None, cache: bool
        ) -> None:
            extra: dict[str, Any] = {}
            output = item.task.output
            if row.get("status") == "ok" and output is not None:
                try:
                    extra["output"] = output_signature(output)
                except OSError as exc:
                    row = failure_row(
                        item.task.key,
                        f"OutputMissing: the task returned ok but its output {output} cannot "
                        f"be read ({error_text(exc)})",
                    )
            if row.get("status") == "timeout":
                extra["task_timeout_s"] = config.task_timeout_s
            if cache:
                store.save(item.ckey, item.task.key, row, elapsed, extra)
            results[item.index] = row
            if row.get("status") in FAILED:
                new_errors[row.get("error", "").split(":", 1)[0]] += 1
                log.warning(
                    "stage=%s task=%s %s: %s", stage, item.task.key, row["status"], row.get("error")
                )
                if tb:
                    log.debug("stage=%s task=%s traceback:\n%s", stage, item.task.key, tb)
            bar.update()

        try:
            BACKEND_FNS[config.backend](fn, pending, params, config, emit)
        finally:
            bar.close()
        if len(pending) >= 4 and sum(new_errors.values()) == len(pending) and len(new_errors) == 1:
            log.error(
                "stage=%s: all %d computed tasks failed with %s; if the stage function is at "
                "fault, fix it and re-run with executor.retry_failed=true (failures are cached)",
                stage,
                len(pending),
                next(iter(new_errors)),
            )

    missing = [tasks[i].key for i, r in enumerate(results) if r is None]
    if missing:  # a backend bug, never data: fail loudly
        raise RuntimeError(f"stage {stage}: no result for {len(missing)} tasks, e.g. {missing[:3]}")
    elapsed = time.perf_counter() - t0
    n_failed = sum(r["status"] in FAILED for r in results)  # type: ignore[index]
    log.info(
        "stage=%s backend=%s tasks=%d cached=%d computed=%d failed=%d in %.2f s (%.2f videos/s)",
        stage,
        config.backend,
        len(tasks),
        n_cached,
        len(pending),
        n_failed,
        elapsed,
        len(pending) / elapsed if elapsed > 0 else 0.0,
    )
    return results  # type: ignore[return-value]
