"""Kedro runners: :class:`DaskRunner` runs the nodes as Dask tasks
(``kedro run --runner=aura.runners.DaskRunner``)."""

from aura.runners.dask import DaskRunner, is_deep_training, node_resources

__all__ = ["DaskRunner", "is_deep_training", "node_resources"]
