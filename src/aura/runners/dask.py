"""Run Kedro nodes as Dask tasks (the pattern of Kedro's Dask deployment guide).

Each node is one ``client.submit`` whose arguments are the futures of the nodes it depends on,
so the scheduler honours the DAG and places work as workers free up. Persistent outputs are
saved by the worker through its (pickled) copy of the catalog; in-memory outputs stay on the
workers as the task's result and reach downstream tasks without passing through this process.
Project hooks (``before/after_node_run``, ``on_node_error``) fire here, in the process that holds
the Kedro session and the MLflow run. The grid travels with the nodes: workers never build
pipelines (a process that must can call :func:`aura.training.grid.load_grid`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from kedro.io import MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro.runner import AbstractRunner
from pluggy import PluginManager

from aura.executor.config import ExecutorConfig

log = logging.getLogger(__name__)

#: The resource name a GPU worker declares (``dask worker --resources GPU=1``, or
#: ``worker_extra_args`` in conf/slurm) and deep training nodes ask for on CUDA.
GPU = "GPU"


def _target(node: Node) -> Any:
    return getattr(node.func, "__wrapped__", node.func)


def is_deep_training(node: Node) -> bool:
    """Whether ``node`` fits a clip model (a deep grid cell's ``train`` node)."""
    from aura.pipelines.training.deep import train_clip_cell

    return _target(node) is train_clip_cell


def _accelerator(node: Node, catalog: Any) -> str:
    for name in node.inputs:
        if name.startswith("params:") and name.endswith("trainer"):
            trainer = catalog.load(name)
            value = getattr(trainer, "accelerator", None)
            if value is None and isinstance(trainer, dict):
                value = trainer.get("accelerator")
            return str(value or "auto")
    return "auto"


def node_resources(node: Node, catalog: Any, gpu_workers: bool) -> dict[str, float] | None:
    """``{"GPU": 1}`` for a deep training node that runs on CUDA: its trainer asks for a GPU
    (``accelerator: gpu|cuda``), or leaves it to ``auto`` and the cluster has GPU workers."""
    if not is_deep_training(node):
        return None
    accelerator = _accelerator(node, catalog)
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and gpu_workers):
        return {GPU: 1}
    return None


def _run_on_worker(
    node: Node, catalog: Any, memory: frozenset[str], *upstream: dict[str, Any]
) -> dict[str, Any]:
    """Load ``node``'s inputs (upstream results first, then the catalog), run it, save its
    persistent outputs; return the in-memory ones."""
    produced: dict[str, Any] = {}
    for result in upstream:
        produced.update(result)
    inputs = {n: produced[n] if n in produced else catalog.load(n) for n in node.inputs}
    outputs = node.run(inputs)
    for name, data in outputs.items():
        if name not in memory:
            catalog.save(name, data)
    return {name: data for name, data in outputs.items() if name in memory}


class DaskRunner(AbstractRunner):
    """Runs a pipeline on a ``dask.distributed`` cluster: the scheduler at
    ``executor.scheduler_address``, else a LocalCluster of ``executor.workers`` processes
    (``address``/``n_workers`` override them; ``kedro run --runner=aura.runners.DaskRunner``
    uses the parameters)."""

    def __init__(
        self, address: str | None = None, n_workers: int | None = None, is_async: bool = False
    ) -> None:
        super().__init__(is_async=False)  # loads and saves happen on the workers
        self._address = address
        self._n_workers = n_workers

    def _get_executor(self, max_workers: int) -> None:
        return None  # the Dask client is the executor (see _run)

    @contextmanager
    def _client(self, catalog: Any) -> Iterator[Any]:
        import dask
        from distributed import Client, LocalCluster

        config = ExecutorConfig.from_params(_params(catalog, "params:executor"))
        address = self._address or config.scheduler_address
        with ExitStack() as stack:
            if address:
                log.info("Dask scheduler: %s", address)
                yield stack.enter_context(Client(address))
                return
            n = self._n_workers or config.n_workers
            # nodes start their own process pools (video probes, DataLoader workers)
            stack.enter_context(dask.config.set({"distributed.worker.daemon": False}))
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
                )
            )
            log.info("Dask LocalCluster: %d workers", n)
            yield stack.enter_context(Client(cluster))

    def _run(
        self,
        pipeline: Pipeline,
        catalog: Any,
        hook_manager: PluginManager | None = None,
        run_id: str | None = None,
    ) -> None:
        from distributed import as_completed

        nodes = pipeline.nodes  # topologically sorted
        memory = frozenset(
            name
            for name in pipeline.datasets()
            if not name.startswith("params:")
            and name != "parameters"
            and isinstance(catalog.get(name, fallback_to_runtime_pattern=True), MemoryDataset)
        )
        wanted = pipeline.outputs() & memory
        deps = pipeline.node_dependencies
        tag = uuid.uuid4().hex[:8]  # task keys unique on a shared scheduler
        with self._client(catalog) as client:
            gpu_workers = any(
                w.get("resources", {}).get(GPU) for w in client.scheduler_info()["workers"].values()
            )
            futures: dict[Node, Any] = {}
            for node in nodes:
                if hook_manager is not None:
                    hook_manager.hook.before_node_run(
                        node=node, catalog=catalog, inputs={}, is_async=False, run_id=run_id
                    )
                upstream = [futures[d] for d in sorted(deps[node], key=nodes.index)]
                futures[node] = client.submit(
                    _run_on_worker,
                    node,
                    catalog,
                    memory,
                    *upstream,
                    key=f"{node.name}-{run_id}-{tag}",
                    pure=False,
                    resources=node_resources(node, catalog, gpu_workers),
                )
            by_future = {f.key: n for n, f in futures.items()}
            for done, future in enumerate(as_completed(list(futures.values())), start=1):
                node = by_future[future.key]
                try:
                    outputs = future.result()
                except Exception as exc:
                    if hook_manager is not None:
                        hook_manager.hook.on_node_error(
                            error=exc,
                            node=node,
                            catalog=catalog,
                            inputs={},
                            is_async=False,
                            run_id=run_id,
                        )
                    client.cancel(list(futures.values()))  # a remote cluster outlives the run
                    self._suggest_resume_scenario(
                        pipeline, {n for n, f in futures.items() if f.status == "finished"}, catalog
                    )
                    raise
                for name in wanted & set(outputs):
                    catalog.save(name, outputs[name])
                if hook_manager is not None:
                    hook_manager.hook.after_node_run(
                        node=node,
                        catalog=catalog,
                        inputs={},
                        outputs=outputs,
                        is_async=False,
                        run_id=run_id,
                    )
                self._logger.info("Completed node: %s (%d of %d)", node.name, done, len(nodes))


def _params(catalog: Any, name: str) -> Any:
    try:
        return catalog.load(name)
    except Exception:  # a catalog without the block: the schema's defaults
        return None
