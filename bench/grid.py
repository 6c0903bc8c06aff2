"""The training grid's cost: measured on the demo, projected to a full FVC run.

    python bench/grid.py --project DIR [--models logistic_regression;naive_cnn] [--epochs 1]

DIR is a finished demo project (``make run``, or the test session's demo snapshot); it is copied
twice, never written to. In one run the script
  1. MEASURES ``kedro run --pipelines training,evaluation`` on the demo with the
     SequentialRunner, timing every node (the per-cell cost of each model, the shared nodes
     before the cells and the evaluation fan-in after them);
  2. MEASURES the same run with ``aura.runners.DaskRunner`` on a 2-worker LocalCluster (wall
     time, cluster start included) and checks the cv_predictions are identical;
  3. PROJECTS the makespan of a full FVC run (6,000 videos, the models, folds and epochs of
     conf/fvc) on 1, 8 and 64 workers: a deep cell costs (measured seconds per training
     video-epoch) × training videos × epochs + (seconds per scored video) × validation videos;
     a classic cell and the shared/evaluation nodes scale linearly with the videos. Cells are
     packed longest first (LPT); the critical path is shared nodes → the longest cell →
     evaluation. Every deep family is costed as naive_cnn (the only one measured): a lower bound
     for the heavier video networks. The per-video stages 1-4 are not part of this figure.
"""

from __future__ import annotations

import argparse
import heapq
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl

REPO = Path(__file__).resolve().parents[1]
FVC_VIDEOS = 6000


class NodeTimer:
    """A Kedro hook recording each node's wall time (sequential run: start to end)."""

    def __init__(self) -> None:
        self.start: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self.start[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        self.seconds[node.name] = time.perf_counter() - self.start[node.name]


def run(project: Path, params: dict[str, Any], runner: Any = None) -> tuple[float, NodeTimer]:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    os.chdir(project)  # the catalog's paths are relative to the project, as under `kedro run`
    bootstrap_project(project)
    timer = NodeTimer()
    with KedroSession.create(project, runtime_params=params) as session:
        session._hook_manager.register(timer)  # bench only: time the nodes of this run
        start = time.perf_counter()
        session.run(pipeline_names=["training", "evaluation"], runner=runner)
        return time.perf_counter() - start, timer


def newest(project: Path, pattern: str) -> pd.DataFrame:
    return pd.read_feather(sorted(project.glob(pattern))[-1])


def lpt(costs: list[float], workers: int) -> float:
    """Makespan of list scheduling, longest first."""
    loads = [0.0] * workers
    for c in sorted(costs, reverse=True):
        heapq.heapreplace(loads, loads[0] + c)
    return max(loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a finished demo project")
    parser.add_argument("--models", default="logistic_regression;naive_cnn")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from aura.models import model_entry
    from aura.runners import DaskRunner
    from aura.training.grid import ConfigSource, namespace

    params = {
        "training": {"models": args.models, "n_folds": 3, "trainer": {"max_epochs": args.epochs}},
        "evaluation": {"bootstrap": 200},
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench_grid_"))
    seq, dsk = tmp / "seq" / "aura", tmp / "dask" / "aura"
    for dest in (seq, dsk):
        shutil.copytree(args.project, dest, ignore=shutil.ignore_patterns("checkpoints"))
        # no MLflow run: two sessions in one process share mlflow's cached SQLite engine
        (dest / "conf" / "local" / "mlflow.yml").write_text(
            "tracking:\n  disable_tracking:\n    pipelines: [training, evaluation]\n"
        )
    wall_seq, timer = run(seq, params)
    wall_dask, _ = run(dsk, params, DaskRunner(n_workers=2))
    same = newest(seq, "data/07_model_output/cv_predictions.arrow/*/*").equals(
        newest(dsk, "data/07_model_output/cv_predictions.arrow/*/*")
    )

    demo = ConfigSource.of(seq / "conf", None, params)
    grid = demo.grid()
    n_demo = len(
        pd.read_feather(sorted(seq.glob("data/07_model_output/cv_predictions.arrow/*/*"))[-1])
    )
    cell_s: dict[str, list[float]] = defaultdict(list)
    shared = evaluation = 0.0
    cells = {namespace(m, k): m for m, k in grid.cells()}
    for name, s in timer.seconds.items():
        space = name.rsplit(".", 1)[0] if "." in name else ""
        if space in cells:
            cell_s[cells[space]].append(s)
        elif name in ("make_cv_folds", "probe_video_metadata", "build_model_input"):
            shared += s
        else:
            evaluation += s
    per_cell = {m: sum(v) / grid.n_folds for m, v in cell_s.items()}

    print("MEASURED on the demo (CPU, this machine)")
    print(f"  videos scored out of fold: {n_demo}; grid {', '.join(grid.models)} x {grid.n_folds}")
    for m, s in per_cell.items():
        print(f"  per-cell cost {m:<22} {s:8.1f} s")
    print(
        f"  shared nodes before the cells  {shared:8.1f} s; evaluation after them {evaluation:8.1f} s"
    )
    print(
        f"  training+evaluation wall time: sequential {wall_seq:.1f} s, "
        f"DaskRunner LocalCluster(2) {wall_dask:.1f} s (x{wall_seq / wall_dask:.2f}); "
        f"identical cv_predictions: {same}"
    )

    fvc = ConfigSource.of(REPO / "conf", "fvc").params()["training"]
    epochs = int(fvc.get("trainer", {}).get("max_epochs", 30))
    n_folds = int(fvc["n_folds"])
    train_v, val_v = FVC_VIDEOS * (n_folds - 1) / n_folds, FVC_VIDEOS / n_folds
    deep = next((m for m in per_cell if model_entry(m).kind.name == "clips"), None)
    classic = next((m for m in per_cell if model_entry(m).kind.name != "clips"), None)
    demo_train = n_demo * (grid.n_folds - 1) / grid.n_folds
    per_video_epoch = (
        per_cell[deep] / (demo_train * args.epochs + n_demo / grid.n_folds) if deep else 0
    )
    scale = FVC_VIDEOS / n_demo
    costs: dict[str, float] = {}
    for m in ConfigSource.of(REPO / "conf", "fvc").grid().models:
        if model_entry(m).kind.name == "clips":
            costs[m] = per_video_epoch * (train_v * epochs + val_v)
        else:
            costs[m] = (per_cell[classic] if classic else 0.0) * scale
    cell_costs = [c for c in costs.values() for _ in range(n_folds)]
    head, tail = shared * scale, evaluation * scale
    longest = max(costs, key=costs.get)
    print(
        f"\nPROJECTED full FVC run ({FVC_VIDEOS} videos, {len(costs)} models x {n_folds} folds, "
        f"{epochs} epochs; deep cells costed as {deep}: {per_video_epoch * 1000:.1f} ms per "
        "video-epoch, measured)"
    )
    for w in (1, 8, 64):
        span = head + max(lpt(cell_costs, w), costs[longest]) + tail
        bound = "critical path" if lpt(cell_costs, w) <= costs[longest] * 1.001 else "worker load"
        print(f"  {w:>2} workers: {span / 3600:8.1f} h  ({bound})")
    print(
        f"  critical path: shared nodes ({head / 60:.0f} min) -> {longest}.fold_k "
        f"({costs[longest] / 3600:.1f} h) -> evaluation ({tail / 60:.0f} min)"
    )
    import mlflow

    while mlflow.active_run():  # before its store is deleted with the copies
        mlflow.end_run()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
