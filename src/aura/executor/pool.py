"""The ``processes`` backend: a small pool that knows which worker runs which task.

Each worker process runs one task at a time and talks to the parent over its own pipe, so the
parent can blame a dead worker's task exactly and stop (kill and replace) a worker whose task
runs past ``executor.task_timeout_s``, while the other workers go on.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import pickle
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_ready
from multiprocessing.process import BaseProcess
from typing import Any

from aura.executor.cache import remove_partial
from aura.executor.config import ExecutorConfig, Task, default_workers
from aura.executor.worker import error_text, execute, failure_row, init_worker, timeout_row

log = logging.getLogger("aura.executor")

WORKER_CRASHED = (
    "WorkerCrashed: the worker process died while running this task "
    "(a crash in native code such as the decoder, or an out-of-memory kill)"
)

_STOP_WAIT_S = 5.0


def _worker_main(conn: Connection, fn_blob: bytes, params_blob: bytes, threads: int) -> None:
    """Worker loop: receive a task, say ``start``, send ``done`` with its outcome; ``None`` ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    init_worker(threads)  # before unpickling fn imports torch, cv2 & co.
    fn: Callable[[Task, Mapping[str, Any]], Mapping[str, Any]] = pickle.loads(fn_blob)
    params: Mapping[str, Any] = pickle.loads(params_blob)
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the parent is gone
            return
        if task is None:
            return
        conn.send(("start",))
        conn.send(("done", execute(fn, task, params)))


def _mp_context() -> mp.context.BaseContext:
    # Never fork: a parent holding PyAV/torch threads can deadlock a forked child.
    return mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")


@dataclass
class _Slot:
    """One worker process, and the task it runs (``started``: when it said so)."""

    proc: BaseProcess
    conn: Connection
    item: Any = None  # a backends.Pending while busy
    started: float | None = None
    used: bool = False  # has started a task (so it did start up)


class _Workers:
    """Start, feed, stop and replace the worker processes of one stage."""

    def __init__(self, fn: Callable[..., Any], params: Mapping[str, Any], n: int) -> None:
        self.ctx = _mp_context()
        self.blobs = (pickle.dumps(fn), pickle.dumps(dict(params)))
        self.threads = max(1, default_workers() // n)
        self.slots = [self._start() for _ in range(n)]

    def _start(self) -> _Slot:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(
            target=_worker_main,
            args=(child, *self.blobs, self.threads),
            name="aura-worker",
            daemon=True,
        )
        proc.start()
        child.close()
        return _Slot(proc, parent)

    def replace(self, slot: _Slot) -> None:
        """Kill ``slot``'s process (if alive) and put a fresh one in its place; remove the
        temporary file its task was writing, if any."""
        self._kill(slot)
        if slot.item is not None:
            remove_partial(slot.item.task.output, slot.proc.pid)
        self.slots[self.slots.index(slot)] = self._start()

    @staticmethod
    def _kill(slot: _Slot) -> None:
        if slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join(_STOP_WAIT_S)
        slot.conn.close()

    def close(self, *, graceful: bool) -> None:
        """Stop every worker: ask idle ones to exit when ``graceful``, kill the rest."""
        for slot in self.slots:
            if graceful and slot.item is None and slot.proc.is_alive():
                try:
                    slot.conn.send(None)
                    slot.proc.join(_STOP_WAIT_S)
                except OSError:
                    pass
            self._kill(slot)


def run_processes(
    fn: Callable[[Task, Mapping[str, Any]], Mapping[str, Any]],
    pending: Sequence[Any],
    params: Mapping[str, Any],
    config: ExecutorConfig,
    emit: Callable[..., None],
) -> None:
    """Map the pending tasks over ``workers`` processes, one task per process at a time.

    A worker that dies (segfault, OOM kill) turns its own task into a cached ``WorkerCrashed``
    row and is replaced. A task still running ``task_timeout_s`` after it started becomes a
    cached ``timeout`` row; its worker is killed and replaced. Other results are kept.
    """
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(
            f"executor.backend=processes needs a top-level (picklable) stage function: {exc}"
        ) from exc
    limit = config.task_timeout_s
    queue: deque[Any] = deque(pending)
    workers = _Workers(fn, params, max(1, min(config.n_workers, len(pending))))
    graceful = False
    try:
        while True:
            _feed(workers, queue, emit)
            busy = [s for s in workers.slots if s.item is not None]
            if not busy:
                break
            now = time.monotonic()
            deadlines = [s.started + limit for s in busy if limit and s.started is not None]
            wait_s = max(0.0, min(deadlines) - now) if deadlines else None
            wait_ready([s.conn for s in busy] + [s.proc.sentinel for s in busy], wait_s)
            for slot in busy:
                _collect(workers, slot, emit)
            if limit:
                now = time.monotonic()
                for slot in [s for s in workers.slots if s.item is not None and s.started]:
                    ran = now - slot.started
                    if ran >= limit:
                        item = slot.item
                        log.warning(
                            "task %s: still running after executor.task_timeout_s=%g s; "
                            "stopping its worker (pid %s)",
                            item.task.key,
                            limit,
                            slot.proc.pid,
                        )
                        workers.replace(slot)
                        emit(item, timeout_row(item.task.key, limit), None, ran, True)
        graceful = True
    finally:
        workers.close(graceful=graceful)


def _feed(workers: _Workers, queue: deque[Any], emit: Callable[..., None]) -> None:
    """Send a queued task to every idle worker (replacing any that died while idle)."""
    i = 0
    while i < len(workers.slots) and queue:
        slot = workers.slots[i]
        if slot.item is not None:
            i += 1
            continue
        item = queue.popleft()
        try:
            slot.conn.send(item.task)
        except OSError:  # the idle worker is gone: a fresh one takes its place
            workers.replace(slot)
            if slot.used:
                queue.appendleft(item)
            else:  # it died starting up: report, do not cache (and do not loop on it)
                _start_failed(item, slot.proc.exitcode, emit)
            continue
        except Exception as exc:  # infrastructure (unpicklable arguments): report, do not cache
            log.error("task %s could not run on a worker: %s", item.task.key, error_text(exc))
            emit(item, failure_row(item.task.key, error_text(exc)), None, None, False)
            continue
        slot.item, slot.started = item, None
        i += 1


def _collect(workers: _Workers, slot: _Slot, emit: Callable[..., None]) -> None:
    """Read what ``slot``'s worker sent; a worker that died mid-task blames that task."""
    item = slot.item
    try:
        while slot.item is not None and slot.conn.poll():
            msg = slot.conn.recv()
            if msg[0] == "start":
                slot.started, slot.used = time.monotonic(), True
            else:
                slot.item = slot.started = None
                emit(item, *msg[1], True)
    except (EOFError, OSError):
        pass
    if slot.item is None or slot.proc.is_alive():
        return
    code, started = slot.proc.exitcode, slot.started is not None
    workers.replace(slot)
    if started:
        log.warning("task %s: the worker process died (exit code %s)", item.task.key, code)
        emit(item, failure_row(item.task.key, WORKER_CRASHED), None, None, True)
    else:  # it never reached the task (e.g. the stage function cannot be imported there)
        _start_failed(item, code, emit)


def _start_failed(item: Any, code: int | None, emit: Callable[..., None]) -> None:
    error = (
        f"WorkerStartFailed: the worker process exited with code {code} before running "
        "the task (see its error output above)"
    )
    log.error("task %s: %s", item.task.key, error)
    emit(item, failure_row(item.task.key, error), None, None, False)
