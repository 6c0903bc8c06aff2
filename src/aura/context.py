"""The project's Kedro context: parameters are validated, typed blocks (:mod:`aura.parameters`)."""

from __future__ import annotations

from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.context import KedroContext

from aura.parameters import resolve


class AuraContext(KedroContext):
    """A :class:`KedroContext` whose ``params`` are :class:`~aura.parameters.AuraConfig`'s blocks.

    Nodes get ``params:scaling`` as a :class:`~aura.pipelines.config.ScalingConfig` (and so on),
    with every default filled in, so a block or key left out of ``conf/`` still reaches them;
    nested keys (``params:training.seed``) are Kedro's usual entries built from those fields. An
    unknown or bad key raises :class:`~aura.config.ConfigError` naming it.
    """

    @property
    def params(self) -> dict[str, Any]:
        try:
            raw = self.config_loader["parameters"]
        except MissingConfigException:
            raw = self._runtime_params or {}
        return resolve(raw).blocks()
