"""Per-video executor: map a pure function over work items on a backend chosen in parameters.

Every per-video stage (augmentation, features, scaling) is a top-level function
``fn(task, params) -> dict`` mapped by :func:`run_tasks`::

    from aura.executor import ExecutorConfig, Task, atomic_path, run_tasks

    def features_one(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
        clip = sample_frames(task.path, params["n_frames"])       # may raise: becomes a row
        return {"mean_luma": float(clip.frames.mean())}

    tasks = [Task(key=r["video_id"], path=r["path"], args={}) for r in index.iter_rows(named=True)]
    rows = run_tasks(features_one, tasks, stage="features", params=params_features,
                     cache_dir="data/.cache", config=ExecutorConfig.from_params(params_executor))

Contract:

- Results come back in task order; each has ``key`` and ``status`` (``"ok"`` unless ``fn`` set
  one). A task that raises gives ``{"key", "status": "failed", "error": "<Type>: <message>"}``;
  the stage never stops for it. The caller fills its other columns with nulls.
- Each result is cached as JSON at ``cache_dir/<stage>/<k[:2]>/<k>.json`` (written atomically),
  ``k`` = hash of (stage, params, task key, task args, content of ``task.path``, ``task.output``
  path). A re-run skips
  cached tasks, changed params or inputs recompute only what they change, and a killed run
  resumes. Failures are cached too (a corrupt video stays corrupt); ``retry_failed`` re-runs them.
  The stage function's *code* is not in the key: after changing it, put a ``version`` in its
  params or delete ``cache_dir/<stage>``.
- Files ``fn`` writes itself must be written through :func:`atomic_path` (temp file beside the
  target, renamed on success, removed on error), so no partial file survives a kill. A task that
  writes one file declares it as ``Task.output``: its size and blake2b hash are cached with the
  ``ok`` result, and a re-run reuses the result only while the file still matches (a deleted,
  truncated or edited output is recomputed, with one warning line naming the files).
- ``task_timeout_s``: a task still running that long after it started becomes
  ``{"status": "timeout", "error": "TaskTimeout: ... executor.task_timeout_s=..."}`` and its
  worker process is killed and replaced (``processes``) or restarted through its nanny
  (``dask``), and the ``atomic_path`` temp file it left for its ``Task.output`` is removed; the
  other tasks go on. Timeouts are cached like failures and re-run with
  ``retry_failed`` or when the limit is raised (or set to null). ``serial`` runs tasks in the
  calling thread, which cannot be stopped from outside: it logs that the limit is not enforced.
- One summary line per stage on logger ``aura.executor``:
  ``stage=features backend=processes tasks=N cached=C computed=K failed=F in S s (R videos/s)``
  (``failed`` counts timeouts too).

Parameters (``executor`` block; every key optional)::

    executor:
      backend: serial          # serial | processes | dask
      workers: null            # processes/dask: default = CPUs available
      scheduler_address: null  # dask: an existing scheduler; null = a LocalCluster per stage
      progress: true
      retry_failed: false
      task_timeout_s: 600      # processes/dask: seconds per task; null = no limit

``processes`` runs one task at a time in each of ``workers`` forkserver (or spawn) processes, so
``fn`` must be importable (a module-level function); a worker that dies fails only its own task
(``WorkerCrashed``, cached) and is replaced. ``dask`` imports ``dask.distributed`` only when chosen. In a script that
starts a LocalCluster, guard the entry point with ``if __name__ == "__main__":``.

Running on SLURM with dask-jobqueue (``pip install dask-jobqueue``; not an AURA dependency).
Start the cluster in a separate, long-lived process (a notebook, or a script in ``tmux``) on a
login node, with the same environment (this venv) on the compute nodes::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=8, memory="32GB", walltime="04:00:00",
                           queue="cpu", job_extra_directives=["--cpus-per-task=8"])
    cluster.scale(jobs=10)                  # 10 jobs x 8 single-threaded workers
    print(cluster.scheduler_address)        # e.g. tcp://10.1.2.3:8786; keep this process alive

then point the pipeline at it::

    kedro run --pipelines features \\
        --params "executor.backend=dask,executor.scheduler_address=tcp://10.1.2.3:8786"

Workers read ``task.path`` and write any output files themselves, so videos and the ``data/``
folder must be on a filesystem shared with the compute nodes; cache files are written by the
``kedro run`` process. Workers may join late or die: dask re-runs lost tasks, and a task that
keeps killing workers becomes a ``failed`` row (``WorkerCrashed: ...``).
"""

from __future__ import annotations

from aura.executor.cache import atomic_path
from aura.executor.config import BACKENDS, ExecutorConfig, Task, default_workers
from aura.executor.core import run_tasks

__all__ = ["BACKENDS", "ExecutorConfig", "Task", "atomic_path", "default_workers", "run_tasks"]
