"""Backends: map :func:`~aura.executor.worker.execute` over the uncached tasks.

Each backend hands every outcome to ``emit`` as soon as it arrives, so the caller writes the
cache incrementally and a killed run loses at most the tasks in flight.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from aura.executor.config import ExecutorConfig, Task, default_workers
from aura.executor.worker import error_text, execute, execute_kw, failure_row, init_worker

log = logging.getLogger("aura.executor")

WORKER_CRASHED = (
    "WorkerCrashed: the worker process died while running this task "
    "(a crash in native code such as the decoder, or an out-of-memory kill)"
)


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
    """In-process loop: the reference behaviour, and the easiest to debug."""
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


def _mp_context() -> mp.context.BaseContext:
    # Never fork: a parent holding PyAV/torch threads can deadlock a forked child.
    return mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")


def run_processes(
    fn: StageFn,
    pending: Sequence[Pending],
    params: Mapping[str, Any],
    config: ExecutorConfig,
    emit: Emit,
) -> None:
    """A ``ProcessPoolExecutor`` with at most ``workers`` tasks in flight.

    A worker that dies (segfault, OOM kill) breaks the whole pool. Keeping in-flight work to
    one task per worker bounds the suspects; they are then re-run one at a time on a fresh
    pool, so only the task that really kills its worker becomes a ``failed`` row.
    """
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(
            f"executor.backend=processes needs a top-level (picklable) stage function: {exc}"
        ) from exc
    n = max(1, min(config.n_workers, len(pending)))
    threads = max(1, default_workers() // n)
    queue: deque[Pending] = deque(pending)
    suspects: deque[Pending] = deque()
    pool: ProcessPoolExecutor | None = None
    inflight: dict[Future, Pending] = {}
    try:
        while queue or suspects or inflight:
            if pool is None:
                pool = ProcessPoolExecutor(
                    n, _mp_context(), initializer=init_worker, initargs=(threads,)
                )
            source = suspects if suspects else queue
            limit = 1 if suspects else n
            while source and len(inflight) < limit:
                item = source.popleft()
                try:
                    inflight[pool.submit(execute, fn, item.task, params)] = item
                except BrokenProcessPool:
                    # A worker died since the last wait; its in-flight futures will say so.
                    source.appendleft(item)
                    break
            if not inflight:  # broken with nothing left to report it: start a fresh pool
                pool.shutdown(wait=True)
                pool = None
                continue
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                wait(inflight)  # every other in-flight future is about to fail the same way
                done = set(inflight)
            crashed: list[Pending] = []
            for fut in done:
                item = inflight.pop(fut)
                exc = fut.exception()
                if exc is None:
                    emit(item, *fut.result(), True)
                elif isinstance(exc, BrokenProcessPool):
                    crashed.append(item)
                else:  # infrastructure (e.g. unpicklable arguments): report, do not cache
                    log.error(
                        "task %s could not run on a worker: %s", item.task.key, error_text(exc)
                    )
                    emit(item, failure_row(item.task.key, error_text(exc)), None, None, False)
            if crashed:
                pool.shutdown(wait=True)
                pool = None
                if len(crashed) == 1:  # it ran alone (or was the only one running): the culprit
                    emit(
                        crashed[0],
                        failure_row(crashed[0].task.key, WORKER_CRASHED),
                        None,
                        None,
                        True,
                    )
                else:
                    log.warning(
                        "a worker process died with %d tasks in flight; re-running them one at a time",
                        len(crashed),
                    )
                    suspects.extend(sorted(crashed, key=lambda p: p.index))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


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
    """
    import dask
    from dask.distributed import Client, LocalCluster, as_completed
    from distributed.scheduler import KilledWorker

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
            )

        def collect(futures: list[Any], items: Sequence[Pending], alone: bool) -> list[Pending]:
            by_key = {f.key: p for f, p in zip(futures, items, strict=True)}
            killed: list[Pending] = []
            for fut in as_completed(futures):
                item = by_key[fut.key]
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
            return killed

        killed = collect(submit(pending, ""), pending, alone=False)
        if killed:
            log.warning(
                "dask workers died under %d tasks; re-running them one at a time", len(killed)
            )
        for item in sorted(killed, key=lambda p: p.index):
            collect(submit([item], "-alone"), [item], alone=True)


BACKEND_FNS: dict[str, Callable[..., None]] = {
    "serial": run_serial,
    "processes": run_processes,
    "dask": run_dask,
}
