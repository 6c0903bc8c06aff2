"""kedro-viz side-panel previews, computed by kedro-viz's own metadata model: the feature matrix's
``preview()``, and the project catalog's tables and plots (kedro-datasets' previews, reached through
the MLflow wrappers) with the catalog's ``preview_args``."""

from __future__ import annotations

import base64
import inspect
from pathlib import Path
from typing import Any, get_type_hints

import matplotlib
import numpy as np
import polars as pl
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, Version
from kedro.io.core import DatasetError
from kedro_datasets._typing import TablePreview
from kedro_viz.models.flowchart.node_metadata import DataNodeMetadata
from kedro_viz.models.flowchart.nodes import GraphNode

from aura.datasets import MatrixDataset
from aura.settings import CONFIG_LOADER_ARGS
from tests.conftest import REPO

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SAVE = "2026-01-02T03.04.05.678Z"


def _side_panel(name: str, dataset: Any) -> tuple[Any, str | None]:
    """What kedro-viz's side panel receives for ``dataset``: (preview, preview_type)."""
    node = GraphNode.create_data_node(
        dataset_id=name,
        dataset_name=name,
        layer=None,
        tags=set(),
        dataset=dataset,
        modular_pipelines=None,
    )
    meta = DataNodeMetadata(data_node=node)
    return meta.preview, meta.preview_type


def _preview_args(dataset: Any) -> dict[str, Any]:
    return ((dataset.metadata or {}).get("kedro-viz") or {}).get("preview_args") or {}


@pytest.fixture
def project_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataCatalog:
    """conf/base's catalog with its relative data/ paths under ``tmp_path``."""
    loader = OmegaConfigLoader(
        str(REPO / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": "base"}
    )
    monkeypatch.chdir(tmp_path)
    return DataCatalog.from_config(loader["catalog"], save_version=SAVE)


def _matrix(rows: int = 7) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(rows, 4)).astype(np.float32), ["energy", "cv", "kurtosis", "flat"]


def test_matrix_preview_reads_the_first_rows_under_their_names(tmp_path: Path) -> None:
    matrix, columns = _matrix()
    ds = MatrixDataset(filepath=str(tmp_path / "f.npy"), version=Version(None, SAVE))
    ds.save((matrix, columns))
    assert (tmp_path / "f.npy" / SAVE / "f.npy").is_file()
    back, names = ds.load()
    assert np.array_equal(back, matrix) and names == columns

    preview = ds.preview(nrows=3)
    assert preview["columns"] == columns
    assert preview["index"] == [0, 1, 2]
    assert np.array_equal(np.asarray(preview["data"], dtype=np.float32), matrix[:3])
    assert len(ds.preview(nrows=100)["data"]) == len(matrix)
    assert get_type_hints(MatrixDataset.preview)["return"] is TablePreview


def test_matrix_preview_refuses_misaligned_names(tmp_path: Path) -> None:
    matrix, columns = _matrix()
    ds = MatrixDataset(filepath=str(tmp_path / "f.npy"))
    ds.save((matrix, columns))
    (tmp_path / "f.columns.json").write_text('["only_one"]')
    with pytest.raises(DatasetError, match="does not match 1 column names"):
        ds.preview()


def test_matrix_entry_shows_a_table_in_kedro_viz(project_catalog: DataCatalog) -> None:
    matrix, columns = _matrix()
    project_catalog.save("features_stage2_matrix", (matrix, columns))
    preview, kind = _side_panel(
        "features_stage2_matrix", project_catalog.get("features_stage2_matrix")
    )
    assert kind == "TablePreview"
    assert preview["columns"] == columns and len(preview["data"]) == 5  # kedro-viz's default


def test_every_preview_args_entry_fits_its_dataset(project_catalog: DataCatalog) -> None:
    """A misspelt argument would only log a warning in kedro-viz and show no preview."""
    names = [n for n in project_catalog.keys() if _preview_args(project_catalog.get(n))]
    assert names
    for name in names:
        dataset = project_catalog.get(name)
        inspect.signature(dataset.preview).bind(**_preview_args(dataset))


def test_reporting_table_shows_its_preview_args_rows(
    project_catalog: DataCatalog, tracking
) -> None:
    """cv_metrics (VersionedArtifactDataset around polars CSV): kedro-datasets' own preview, with
    the catalog's nrows, on the file the run wrote."""
    nrows = _preview_args(project_catalog.get("cv_metrics"))["nrows"]
    table = pl.DataFrame(
        {
            "model": [f"m{i % 4}" for i in range(nrows + 3)],
            "fold": [i // 4 for i in range(nrows + 3)],
            "roc_auc": [0.5 + i / 256 for i in range(nrows + 3)],
        }
    )
    project_catalog.save("cv_metrics", table)
    assert Path(f"data/08_reporting/cv_metrics.csv/{SAVE}/cv_metrics.csv").is_file()

    preview, kind = _side_panel("cv_metrics", project_catalog.get("cv_metrics"))
    assert kind == "TablePreview"
    assert preview["columns"] == table.columns
    assert preview["data"] == [list(row) for row in table.head(nrows).rows()]


def test_plot_factory_shows_the_saved_png(project_catalog: DataCatalog, tracking) -> None:
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    project_catalog.save("roc_curves_plot", fig)
    png = Path("data/08_reporting/roc_curves.png").read_bytes()

    preview, kind = _side_panel("roc_curves_plot", project_catalog.get("roc_curves_plot"))
    assert kind == "ImagePreview"
    assert base64.b64decode(preview) == png and png.startswith(b"\x89PNG")
