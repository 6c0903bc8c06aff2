"""What runs on a worker: call the stage function and turn its outcome into a result row."""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from aura.executor.cache import json_default
from aura.executor.config import Task

_MAX_ERROR_CHARS = 2000
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def error_text(exc: BaseException) -> str:
    """``"<ExceptionType>: <message>"``, clipped to a sane length."""
    text = f"{type(exc).__name__}: {exc}".rstrip()
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def failure_row(key: str, error: str) -> dict[str, Any]:
    return {"key": key, "status": "failed", "error": error}


def timeout_row(key: str, limit_s: float) -> dict[str, Any]:
    """The row of a task stopped for running longer than ``executor.task_timeout_s``."""
    return {
        "key": key,
        "status": "timeout",
        "error": (
            f"TaskTimeout: still running after executor.task_timeout_s={limit_s:g} s, so its "
            "worker process was stopped; raise executor.task_timeout_s (null: no limit) and "
            "the next run retries it"
        ),
    }


def execute(
    fn: Callable[[Task, Mapping[str, Any]], Mapping[str, Any]],
    task: Task,
    params: Mapping[str, Any],
) -> tuple[dict[str, Any], str | None, float]:
    """Run ``fn(task, params)``; return (result row, traceback text or None, seconds).

    The row is passed through JSON so a fresh result equals the one later read from the
    cache (tuples become lists, NumPy scalars plain numbers). An exception, including a
    result that is not a dict or not JSON-serialisable, becomes a ``failed`` row.
    """
    t0 = time.perf_counter()
    try:
        out = fn(task, params)
        if not isinstance(out, Mapping):
            raise TypeError(f"stage function returned {type(out).__name__}, expected a dict")
        row = {"key": task.key, **{k: v for k, v in out.items() if k != "key"}}
        row.setdefault("status", "ok")
        row = json.loads(json.dumps(row, ensure_ascii=False, default=json_default))
        return row, None, time.perf_counter() - t0
    except Exception as exc:
        row = failure_row(task.key, error_text(exc))
        return row, traceback.format_exc(), time.perf_counter() - t0


def execute_kw(
    task: Task,
    *,
    fn: Callable[[Task, Mapping[str, Any]], Mapping[str, Any]],
    params: Mapping[str, Any],
    start_topic: str | None = None,
) -> tuple[dict[str, Any], str | None, float]:
    """:func:`execute` with the task first, for ``Client.map`` (which maps the first argument).

    With ``start_topic``, first tell the client (a dask event: this task's key and worker)
    that the task has started, so it can time it.
    """
    if start_topic is not None:
        from distributed import get_worker

        worker = get_worker()
        msg = {"key": worker.get_current_task(), "worker": worker.address, "pid": os.getpid()}
        worker.log_event(start_topic, msg)
    return execute(fn, task, params)


def init_worker(threads: int) -> None:
    """Process-pool initializer: cap BLAS/OpenMP threads so N workers do not oversubscribe.

    Runs before the stage function's module (torch, cv2) is imported in the worker, so the
    environment variables still take effect; values the user already set are kept.
    """
    for var in _THREAD_VARS:
        os.environ.setdefault(var, str(threads))
