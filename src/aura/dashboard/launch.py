"""Start the dashboard: ``streamlit run`` of :data:`aura.dashboard.APP`, headless, bound to
127.0.0.1, in the project folder (the MLflow store ``sqlite:///mlflow.db`` is relative to it,
as for ``kedro run``)."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from aura.dashboard import APP
from aura.dashboard.settings import Settings

HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def is_kedro_project(path: Path) -> bool:
    """True when ``path`` holds a ``pyproject.toml`` with a ``[tool.kedro]`` table."""
    toml = path / "pyproject.toml"
    return toml.is_file() and "[tool.kedro]" in toml.read_text(encoding="utf-8")


def project_upload_cap(project: Path, env: str | None) -> float:
    """``inference.max_upload_mb`` of the project's resolved parameters (conf/base + env)."""
    from kedro.config import OmegaConfigLoader

    from aura.parameters import resolve
    from aura.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(conf_source=str(project / "conf"), env=env, **CONFIG_LOADER_ARGS)
    return resolve(loader["parameters"]).inference.max_upload_mb


def streamlit_command(settings: Settings, port: int, upload_cap_mb: float) -> list[str]:
    """The ``python -m streamlit run`` command line of the dashboard server."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.port={port}",
        f"--server.address={HOST}",
        "--server.headless=true",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        # Streamlit refuses bigger uploads in the browser; the app checks the exact cap again
        f"--server.maxUploadSize={max(1, math.ceil(upload_cap_mb))}",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=minimal",
        "--global.developmentMode=false",
    ]


def command_and_env(settings: Settings, port: int) -> tuple[list[str], dict[str, str]]:
    """The server's command line and environment for ``settings``."""
    cap = settings.max_upload_mb or project_upload_cap(settings.project, settings.env)
    env = {
        **os.environ,
        **settings.to_env(),
        "KEDRO_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "HF_HUB_OFFLINE": "1",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    return streamlit_command(settings, port, cap), env


def serve(settings: Settings, port: int = DEFAULT_PORT) -> None:
    """Replace this process with the Streamlit server (signals reach it directly)."""
    command, env = command_and_env(settings, port)
    os.chdir(settings.project)
    os.execve(command[0], command, env)
