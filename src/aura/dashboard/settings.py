"""How the dashboard process learns which project it shows: environment variables set by
``aura dashboard`` (and by tests), read on every script run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_VAR = "AURA_DASHBOARD_PROJECT"
ENV_VAR = "AURA_DASHBOARD_ENV"
UPLOAD_VAR = "AURA_DASHBOARD_MAX_UPLOAD_MB"


@dataclass(frozen=True)
class Settings:
    """The project folder, its Kedro environment (None: Kedro's default) and an upload cap in
    MB that overrides ``inference.max_upload_mb`` (None: use the project's setting)."""

    project: Path
    env: str | None = None
    max_upload_mb: float | None = None

    @classmethod
    def from_env(cls) -> Settings:
        upload = os.environ.get(UPLOAD_VAR) or None
        return cls(
            project=Path(os.environ.get(PROJECT_VAR) or Path.cwd()).resolve(),
            env=os.environ.get(ENV_VAR) or None,
            max_upload_mb=float(upload) if upload else None,
        )

    def to_env(self) -> dict[str, str]:
        """The variables that make :meth:`from_env` return these settings."""
        out = {PROJECT_VAR: str(self.project), ENV_VAR: self.env or ""}
        out[UPLOAD_VAR] = "" if self.max_upload_mb is None else f"{self.max_upload_mb:g}"
        return out
