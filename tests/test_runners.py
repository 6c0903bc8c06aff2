"""The grid as a value of the config, and the DaskRunner against the SequentialRunner on the demo."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from aura.training.grid import ConfigSource, Grid, load_grid
from tests.conftest import KEDRO, REPO, _env

#: training + evaluation of a tiny grid on a copy of the session's demo run
TINY = (
    "training.models=logistic_regression;naive_cnn,training.n_folds=3,"
    "training.trainer.max_epochs=1,evaluation.bootstrap=200,executor.workers=2"
)


def test_grid_is_a_value_of_the_config_source(tmp_path: Path) -> None:
    """Any process rebuilds the grid from (conf, env, --params): a fresh interpreter given a
    pickled ConfigSource gets the grid a `kedro run` session builds its pipelines with."""
    params = {"training": {"models": "svm;naive_cnn", "n_folds": 2}}
    source = ConfigSource.of(REPO / "conf", None, params)
    assert pickle.loads(pickle.dumps(source)) == source
    blob = tmp_path / "source.pkl"
    blob.write_bytes(pickle.dumps(source))
    script = (
        "import json, pickle, sys\n"
        "from kedro.framework.session import KedroSession\n"
        "from kedro.framework.startup import bootstrap_project\n"
        "from kedro.framework.project import pipelines\n"
        f"bootstrap_project({str(REPO)!r})\n"
        f"source = pickle.loads(open({str(blob)!r}, 'rb').read())\n"
        "grid = source.grid()\n"
        f"with KedroSession.create({str(REPO)!r}, runtime_params={params!r}) as s:\n"
        "    s.load_context()\n"
        "    spaces = sorted({n.namespace for n in pipelines['training'].nodes if n.namespace})\n"
        "print(json.dumps([list(grid.models), grid.n_folds, spaces]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    models, n_folds, spaces = json.loads(out.stdout.strip().splitlines()[-1])
    assert Grid(tuple(models), n_folds) == Grid(("svm", "naive_cnn"), 2)
    assert spaces == sorted(f"{m}.fold_{k}" for m in models for k in range(n_folds))
    assert load_grid(REPO / "conf", "fvc").n_folds == 5  # --env fvc's own folds


def _run(project: Path, *args: str, timeout: float) -> float:
    start = time.perf_counter()
    env = {**_env(), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # as on a Dask worker
    out = subprocess.run(
        [*KEDRO, "run", "--pipelines", "training,evaluation", "--params", TINY, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    return time.perf_counter() - start


def _tables(project: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The newest cv_predictions and cv_metrics versions."""

    def newest(pattern: str) -> Path:
        return sorted(project.glob(pattern))[-1]

    predictions = pd.read_feather(newest("data/07_model_output/cv_predictions.arrow/*/*"))
    metrics = pd.read_csv(newest("data/08_reporting/cv_metrics.csv/*/*"))
    return predictions, metrics


@pytest.mark.slow
def test_dask_runner_matches_sequential(demo_snapshot: Path, tmp_path: Path) -> None:
    """The demo's training + evaluation on a 2-worker LocalCluster writes the same out-of-fold
    predictions and metrics as the SequentialRunner."""
    seq, dask = tmp_path / "seq", tmp_path / "dask"
    for dest in (seq, dask):
        shutil.copytree(demo_snapshot, dest)
    _run(seq, timeout=900)
    _run(dask, "--runner=aura.runners.DaskRunner", timeout=900)
    (p_seq, m_seq), (p_dask, m_dask) = _tables(seq), _tables(dask)
    assert set(p_seq["model"]) == {"logistic_regression", "naive_cnn"}
    pd.testing.assert_frame_equal(p_seq, p_dask)
    pd.testing.assert_frame_equal(m_seq, m_dask)


@pytest.mark.slow
def test_killed_worker_run_finishes_on_rerun(demo_snapshot: Path, tmp_path: Path) -> None:
    """Workers killed while a deep cell trains (after its first epoch's last.ckpt), and the run
    stopped: the next DaskRunner run finishes, resuming that cell from its checkpoint."""
    import psutil

    from aura.models.artifacts import load_artifact

    project = tmp_path / "aura"
    shutil.copytree(demo_snapshot, project)
    params = TINY.replace("logistic_regression;naive_cnn", "naive_cnn").replace(
        "max_epochs=1", "max_epochs=3"
    )
    cmd = [*KEDRO, "run", "--pipelines", "training", "--runner=aura.runners.DaskRunner"]
    proc = subprocess.Popen(
        [*cmd, "--params", params],
        cwd=project,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while not any((project / "data" / "06_models").rglob("last.ckpt")):
            assert proc.poll() is None, "the run ended before any checkpoint was written"
            assert time.monotonic() < deadline, "no checkpoint within 600 s"
            time.sleep(0.5)
        workers = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline())
        ]
        assert workers, "no Dask worker process found"
        for p in workers:
            p.kill()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # our own run's process group
        proc.wait(timeout=60)
    started = time.monotonic()
    out = subprocess.run(
        [*cmd, "--params", params],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    fits = [
        load_artifact(
            max(project.glob(f"data/06_models/naive_cnn/fold_{k}/model.safetensors/*/*")),
            "safetensors",
        ).fit
        for k in range(3)
    ]
    assert all(f is not None for f in fits)
    assert any(f.resumed_from for f in fits), "no cell resumed from its checkpoint"
    assert time.monotonic() - started < 900


def test_deep_training_nodes_ask_for_a_gpu_on_cuda() -> None:
    """Only a deep cell's train node asks for ``GPU=1``: when its trainer is on CUDA, or on
    ``auto`` with GPU workers in the cluster."""
    from kedro.io import DataCatalog, MemoryDataset

    from aura.pipelines.training.pipeline import create_pipeline
    from aura.runners import node_resources

    nodes = create_pipeline(grid=Grid(("naive_cnn", "svm"), 2)).nodes
    for accelerator, gpu_workers, deep in [
        ("cuda", False, {"GPU": 1}),
        ("gpu", False, {"GPU": 1}),
        ("auto", True, {"GPU": 1}),
        ("auto", False, None),
        ("cpu", True, None),
    ]:
        catalog = DataCatalog(
            {"params:training.trainer": MemoryDataset({"accelerator": accelerator})}
        )
        asked = {n.name: node_resources(n, catalog, gpu_workers) for n in nodes}
        assert {k: v for k, v in asked.items() if v} == (
            {f"naive_cnn.fold_{k}.train": deep for k in range(2)} if deep else {}
        )
