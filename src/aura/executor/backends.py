"""Backends: map :func:`~aura.executor.worker.execute` over the uncached tasks.

Each backend hands every outcome to ``emit`` as soon as it arrives, so the caller writes the
cache incrementally and a killed run loses at most the tasks in flight.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from aura.executor.cache import remove_partial
from aura.executor.config import ExecutorConfig, Task
from aura.executor.pool import WORKER_CRASHED, run_processes
from aura.executor.worker import error_text, execute, execute_kw, failure_row, timeout_row

log = logging.getLogger("aura.executor")

__all__ = ["BACKEND_FNS", "WORKER_CRASHED", "Emit", "Pending"]


@dataclass(frozen=True)
class Pending:
    """An uncached task: its position in the caller's list and its cache key."""

    index: int
    task: Task
    ckey: str


class Emit(Protocol):
    def __call__(
        self, item: Pending, row: dict[str, Any], tb: str | None, elapsed: float | None, cache: bool
    ) -> None: ...


StageFn = Callable[[Task, Mapping[str, Any]], Mapping[str, Any]]


def run_serial(
    fn: StageFn,
    pending: Sequence[Pending],
    params: Mapping[str, Any],
    config: ExecutorConfig,
    emit: Emit,
) -> None:
    """In-process loop: the reference behaviour, and the easiest to debug.

    ``task_timeout_s`` is not enforced here: a thread cannot be stopped safely from outside
    (a decoder stuck in native code never returns to Python), so it is logged once per stage.
    """
    if config.task_timeout_s is not None:
        log.warning(
            "executor.task_timeout_s=%g is not enforced by executor.backend=serial (tasks run "
            "in this process); use processes or dask to stop tasks that run too long",
            config.task_timeout_s,
        )
    for item in pending:
        row, tb, elapsed = execute(fn, item.task, params)
        emit(item, row, tb, elapsed, True)


@contextmanager
def _kept_environ() -> Iterator[None]:
    """Restore ``os.environ`` afterwards: a dask Nanny sets its ``pre-spawn-environ``
    (``OMP_NUM_THREADS=1`` ...) in *this* process, which would leave torch single-threaded for
    the rest of the run (e.g. the training stage after a dask feature stage)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _quiet(name: str, level: int = logging.WARNING) -> Iterator[None]:
    """Raise a logger's level for the duration of a block (no change if already quieter)."""
    logger = logging.getLogger(name)
    before = logger.level
    if logger.getEffectiveLevel() < level:
        logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def run_dask(
    fn: StageFn,
    pending: Sequence[Pending],
    params: Mapping[str, Any],
    config: ExecutorConfig,
    emit: Emit,
) -> None:
    """``dask.distributed``: an existing scheduler (``scheduler_address``) or a LocalCluster.

    Dask re-runs a task whose worker died and gives up with ``KilledWorker`` after
    ``distributed.scheduler.allowed-failures`` attempts. Tasks queued on that worker are
    blamed too, so each ``KilledWorker`` task is re-run alone; only one that fails alone again
    becomes a (cached) ``WorkerCrashed`` row.

    With ``task_timeout_s``, each task tells this client when it starts (a dask event); one
    still running ``task_timeout_s`` later is cancelled, becomes a (cached) ``timeout`` row,
    and its worker is restarted through its nanny (LocalCluster and dask-jobqueue workers
    have one; a worker without a nanny cannot be restarted and stays busy, which is logged).
    """
    import dask
    from dask.distributed import Client, LocalCluster

    with ExitStack() as stack:
        stack.enter_context(_kept_environ())
        if config.scheduler_address:
            client = stack.enter_context(Client(config.scheduler_address))
        else:
            stack.enter_context(
                _quiet("distributed")
            )  # its INFO chatter would drown the stage logs
            # One task per worker at a time: nothing waits on a worker that may die.
            stack.enter_context(dask.config.set({"distributed.scheduler.worker-saturation": 1.0}))
            n = max(1, min(config.n_workers, len(pending)))
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
                )
            )
            client = stack.enter_context(Client(cluster))
        log.info("dask: %s", client)
        watch = _StartWatch(client, config.task_timeout_s)
        stack.callback(watch.close)

        def submit(items: Sequence[Pending], tag: str) -> list[Any]:
            # Keys derived from the cache key: the same work resubmitted to a shared
            # scheduler is reused rather than duplicated.
            return client.map(
                execute_kw,
                [p.task for p in items],
                key=[f"aura-{p.ckey}{tag}" for p in items],
                pure=False,
                fn=fn,
                params=params,
                start_topic=watch.topic,
            )

        killed = _collect(watch, submit(pending, ""), pending, emit, alone=False)
        if killed:
            log.warning(
                "dask workers died under %d tasks; re-running them one at a time", len(killed)
            )
        for item in sorted(killed, key=lambda p: p.index):
            _collect(watch, submit([item], "-alone"), [item], emit, alone=True)


class _Start(NamedTuple):
    at: float  # time.monotonic() here, when the event arrived
    worker: str
    pid: int | None


class _StartWatch:
    """When and where each dask task started (from the tasks' start events), for timeouts."""

    def __init__(self, client: Any, limit: float | None) -> None:
        self.client, self.limit = client, limit
        self.started: dict[str, _Start] = {}
        self.topic: str | None = None
        if limit is not None:
            self.topic = f"aura-task-start-{uuid.uuid4().hex}"
            client.subscribe_topic(self.topic, self._on_event)

    def _on_event(self, event: tuple[float, Mapping[str, Any]]) -> None:
        msg = event[1]
        self.started[str(msg["key"])] = _Start(time.monotonic(), str(msg["worker"]), msg.get("pid"))

    def close(self) -> None:
        if self.topic is not None:
            self.client.unsubscribe_topic(self.topic)

    def wait_s(self, keys: Sequence[str]) -> float | None:
        """How long to wait for results before checking deadlines again (``None``: forever)."""
        if self.limit is None:
            return None
        now = time.monotonic()
        ends = [self.started[k].at + self.limit - now for k in keys if k in self.started]
        return max(0.0, min([1.0, *ends]))  # re-check each second for tasks that just started

    def overdue(self, keys: Sequence[str]) -> list[tuple[str, float]]:
        """``(key, seconds run)`` of the tasks past the limit."""
        if self.limit is None:
            return []
        now = time.monotonic()
        runs = [(k, now - self.started[k].at) for k in keys if k in self.started]
        return [r for r in runs if r[1] >= self.limit]

    def stop(self, fut: Any, key: str, task: Task) -> None:
        """Cancel an overdue task, restart the worker that runs it, drop its partial output."""
        start = self.started[key]
        fut.cancel()
        log.warning(
            "task %s: still running after executor.task_timeout_s=%g s; restarting dask worker %s",
            task.key,
            self.limit,
            start.worker,
        )
        status = self.client.restart_workers([start.worker], timeout=60, raise_for_error=False)
        if status.get(start.worker) != "OK":
            log.error(
                "could not restart dask worker %s (%s): the overdue task may keep it busy; "
                "workers need a nanny (the default) to be restarted",
                start.worker,
                status.get(start.worker),
            )
        else:
            remove_partial(task.output, start.pid)


def _collect(
    watch: _StartWatch,
    futures: list[Any],
    items: Sequence[Pending],
    emit: Emit,
    *,
    alone: bool,
) -> list[Pending]:
    """Emit each future's outcome as it lands; return the ``KilledWorker`` ones (unless alone)."""
    from distributed import wait as dask_wait
    from distributed.scheduler import KilledWorker

    left = {f.key: (f, p) for f, p in zip(futures, items, strict=True)}
    killed: list[Pending] = []
    while left:
        try:
            done = dask_wait(
                [f for f, _ in left.values()],
                timeout=watch.wait_s(list(left)),
                return_when="FIRST_COMPLETED",
            ).done
        except TimeoutError:
            done = set()
        for fut in done:
            item = left.pop(fut.key)[1]
            cache = True
            try:
                row, tb, elapsed = fut.result()
            except KilledWorker as exc:
                if not alone:
                    killed.append(item)
                    continue
                log.debug("task %s: %s", item.task.key, exc)
                row, tb, elapsed = failure_row(item.task.key, WORKER_CRASHED), None, None
            except Exception as exc:  # infrastructure, not the task: report, do not cache
                log.error("task %s could not run on dask: %s", item.task.key, error_text(exc))
                row, tb, elapsed = failure_row(item.task.key, error_text(exc)), None, None
                cache = False
            finally:
                fut.release()
            emit(item, row, tb, elapsed, cache)
        for key, ran in watch.overdue(list(left)):
            fut, item = left.pop(key)
            watch.stop(fut, key, item.task)
            emit(item, timeout_row(item.task.key, watch.limit or ran), None, ran, True)
    return killed


BACKEND_FNS: dict[str, Callable[..., None]] = {
    "serial": run_serial,
    "processes": run_processes,
    "dask": run_dask,
}
