"""A project's logged MLflow model served on a free local port, for the bench scripts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class ServeError(RuntimeError):
    """The server exited or did not answer ``/ping`` in time."""


def newest_model_uri(project: Path, name: str = "model") -> tuple[str | None, str]:
    """(``runs:/<run>/<name>``, model id) of the newest logged model ``name`` in the
    project's ``mlflow.db``, or (None, why not)."""
    db = project / "mlflow.db"
    if not db.is_file():
        return None, f"no {db}"
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    experiments = [e.experiment_id for e in mlflow.search_experiments()]
    found = mlflow.search_logged_models(
        experiment_ids=experiments,  # without them only the default experiment is searched
        filter_string=f"name = '{name}'",
        order_by=[{"field_name": "creation_time", "ascending": False}],
        max_results=1,
        output_format="list",
    )
    if not found or not found[0].source_run_id:
        return None, f"no logged model named {name!r} in {db}"
    return f"runs:/{found[0].source_run_id}/{name}", found[0].model_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(project: Path, uri: str, log_path: Path, wait_s: float) -> Iterator[str]:
    """``mlflow models serve -m uri --env-manager local`` in ``project``; yields the base URL
    once ``GET /ping`` answers (at most ``wait_s`` seconds); the process group is stopped after."""
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"}
    # mlflow starts the server as `bash -c "exec uvicorn ..."`: the venv's bin must be on PATH
    env["PATH"] = f"{mlflow_bin.parent}{os.pathsep}{env.get('PATH', '')}"
    cmd = [str(mlflow_bin), "models", "serve", "-m", uri, "--env-manager", "local"]
    cmd += ["-h", "127.0.0.1", "-p", str(port)]
    t0 = time.perf_counter()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text()[-600:]
                raise ServeError(f"the server exited ({proc.returncode}): {tail}")
            if time.perf_counter() - t0 > wait_s:
                raise ServeError(f"no /ping answer within {wait_s:.0f}s (see {log_path})")
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        yield base
    finally:
        stop(proc)


def post_paths(base: str, paths: list[Path]) -> tuple[float, list[dict[str, Any]]]:
    """Seconds of one ``POST /invocations`` round trip and the returned rows."""
    records = [{"path": str(p)} for p in paths]
    body = json.dumps({"dataframe_records": records}).encode()
    req = urllib.request.Request(f"{base}/invocations", body, {"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as resp:
        data = json.loads(resp.read())
    seconds = time.perf_counter() - t0
    rows = data.get("predictions", data) if isinstance(data, dict) else data
    return seconds, rows if isinstance(rows, list) else []


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (mlflow starts a uvicorn child)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
