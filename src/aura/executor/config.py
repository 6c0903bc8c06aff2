"""Executor configuration (read from the ``executor`` parameters) and the unit of work."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from aura.config import Section

BACKENDS = ("serial", "processes", "dask")  # executor.backend


def default_workers() -> int:
    """CPUs this process may use (affinity-aware, so SLURM/cgroup CPU sets are respected)."""
    if hasattr(os, "process_cpu_count"):  # Python >= 3.13
        n = os.process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS / Windows
        n = os.cpu_count()
    return max(1, n or 1)


class ExecutorConfig(Section):
    """How :func:`aura.executor.run_tasks` maps work: backend, parallelism, progress, retries.

    ``workers`` defaults to the CPUs available; ``scheduler_address`` is only used by the
    ``dask`` backend (``None`` starts a ``LocalCluster`` for the stage). ``task_timeout_s``
    bounds one task's run time on the ``processes`` and ``dask`` backends (``None``: no limit;
    the ``serial`` backend cannot stop its own thread and only logs that it is not enforced).
    Build it from the ``executor`` parameters with :meth:`from_params`; strings as given on the
    command line (``--params "executor.workers=4"``) are accepted for numbers and booleans.
    """

    PREFIX: ClassVar[str] = "executor"

    backend: Literal["serial", "processes", "dask"] = "serial"
    workers: int | None = Field(None, ge=1)  # processes/dask; null: the CPUs available
    # dask: tcp://host:8786 of a running scheduler (e.g. dask-jobqueue on SLURM)
    scheduler_address: str | None = None
    progress: bool = True
    retry_failed: bool = False  # re-run tasks whose cached result is a failure
    task_timeout_s: float | None = Field(None, gt=0, allow_inf_nan=False)  # seconds per task

    @field_validator("scheduler_address")
    @classmethod
    def _address(cls, address: str | None) -> str | None:
        if address is not None and not address.strip():
            raise ValueError("must be a scheduler address such as 'tcp://host:8786', or null")
        return address

    @property
    def n_workers(self) -> int:
        """``workers``, or the CPUs available when unset."""
        return self.workers if self.workers is not None else default_workers()


@dataclass(frozen=True)
class Task:
    """One work item: a stable ``key``, an input file hashed by content, and JSON arguments.

    The cache key covers the *content* of ``path``, not the path itself, so moving a corpus
    keeps its cached results: results should therefore not embed ``path`` (join it back
    from the index instead). ``output`` names the file the task writes (part of the cache
    key): its size and hash are recorded with the result, and a cached ``ok`` result is only
    reused while that file is unchanged.
    """

    key: str
    path: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    output: str | None = None
