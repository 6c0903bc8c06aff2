"""Executor configuration (read from the ``executor`` parameters) and the unit of work."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

BACKENDS = ("serial", "processes", "dask")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def default_workers() -> int:
    """CPUs this process may use (affinity-aware, so SLURM/cgroup CPU sets are respected)."""
    if hasattr(os, "process_cpu_count"):  # Python >= 3.13
        n = os.process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS / Windows
        n = os.cpu_count()
    return max(1, n or 1)


@dataclass(frozen=True)
class ExecutorConfig:
    """How :func:`aura.executor.run_tasks` maps work: backend, parallelism, progress, retries.

    ``workers`` defaults to the CPUs available; ``scheduler_address`` is only used by the
    ``dask`` backend (``None`` starts a ``LocalCluster`` for the stage).
    """

    backend: str = "serial"
    workers: int | None = None
    scheduler_address: str | None = None
    progress: bool = True
    retry_failed: bool = False

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(
                f"executor.backend={self.backend!r}: expected serial, processes or dask"
            )
        w = self.workers
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < 1):
            raise ValueError(f"executor.workers={w!r}: expected an integer >= 1 or null")
        addr = self.scheduler_address
        if addr is not None and (not isinstance(addr, str) or not addr.strip()):
            raise ValueError(
                f"executor.scheduler_address={addr!r}: expected a scheduler address such as "
                "'tcp://host:8786', or null"
            )
        for name in ("progress", "retry_failed"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"executor.{name}={getattr(self, name)!r}: expected true or false")

    @property
    def n_workers(self) -> int:
        """``workers``, or the CPUs available when unset."""
        return self.workers if self.workers is not None else default_workers()

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> ExecutorConfig:
        """Build from the ``executor`` parameters mapping; raise ``ValueError`` naming a bad key.

        Strings as given on the command line (``--params "executor.workers=4"``) are accepted
        for the integer and boolean fields.
        """
        if params is None:
            return cls()
        if not isinstance(params, Mapping):
            raise ValueError(
                f"executor: expected a mapping of settings, got {type(params).__name__}"
            )
        known = [f.name for f in fields(cls)]
        unknown = [str(k) for k in params if k not in known]
        if unknown:
            raise ValueError(
                f"executor.{unknown[0]}: unknown key; expected one of {', '.join(known)}"
            )
        values = dict(params)
        if isinstance(values.get("backend"), str):
            values["backend"] = values["backend"].strip().lower()
        if isinstance(values.get("workers"), str):
            text = values["workers"].strip()
            values["workers"] = int(text) if text.isdigit() else text
        for name in ("progress", "retry_failed"):
            if isinstance(values.get(name), str):
                text = values[name].strip().lower()
                values[name] = True if text in _TRUE else False if text in _FALSE else values[name]
        return cls(**values)


@dataclass(frozen=True)
class Task:
    """One work item: a stable ``key``, an input file hashed by content, and JSON arguments.

    The cache key covers the *content* of ``path``, not the path itself, so moving a corpus
    keeps its cached results: results should therefore not embed ``path`` (join it back
    from the index instead).
    """

    key: str
    path: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
