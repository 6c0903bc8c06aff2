"""Ids are unique by construction: same-named files in different folders, and file names that
spell a variant id, go through ingest, augmentation and scaling without a duplicate task key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner

from aura.corpus.ids import is_source_id
from aura.corpus.videos import stage_inputs
from aura.pipelines import augmentation, ingest, scaling
from aura.video import write_video

#: Manifest path → label. ``a__v1.mp4`` was the variant id of ``a`` under the old ``__v`` scheme;
#: ``a.mp4~v1`` is the variant id of ``a.mp4`` today, here as a file name (no suffix).
FILES = {
    "a/x/v.mp4": "fake",
    "b/x/v.mp4": "real",
    "a.mp4": "fake",
    "a__v1.mp4": "real",
    "a.mp4~v1": "real",
}


def _video(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    tmp = path.with_name(f"tmp{seed}.mp4")
    write_video(tmp, [np.roll(base, 2 * i, axis=1) for i in range(8)], fps=25)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(path)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mine")
    for seed, rel in enumerate(FILES):
        _video(root / rel, seed)
    rows = [f"{rel},{label}" for rel, label in FILES.items()]
    rows.append("./a/x/../x/v.mp4,fake")  # the same file again: a true duplicate
    (root / "manifest.csv").write_text("path,label\n" + "\n".join(rows) + "\n")
    return root / "manifest.csv"


class _Kept(MemoryDataset):
    """A MemoryDataset the runner cannot release, so the test reads intermediate outputs."""

    def _release(self) -> None:
        pass


def _run(manifest: Path, work: Path) -> dict[str, pl.DataFrame]:
    params = {
        "corpus": {"kind": "manifest", "root": str(manifest)},
        "ingest": {"progress": False},
        "executor": {"backend": "serial", "progress": False},
        "cache_dir": str(work / "cache"),
        "augmentation": {"k": 1, "seed": 0, "max_side": 64, "output_dir": str(work / "aug")},
        "scaling": {"method": "letterbox", "target_size": 32, "output_dir": str(work / "scaled")},
    }
    pipe = sum((m.create_pipeline() for m in (ingest, augmentation, scaling)), Pipeline([]))
    names = ("video_index", "augmented_metadata", "scaled_metadata")
    catalog = DataCatalog(
        {
            **{f"params:{k}": MemoryDataset(v) for k, v in params.items()},
            **{n: _Kept() for n in names},
        }
    )
    SequentialRunner().run(pipe, catalog)
    return {n: catalog.load(n) for n in names}


def test_colliding_names_get_distinct_ids_through_scaling(manifest: Path, tmp_path: Path) -> None:
    out = _run(manifest, tmp_path)
    index = out["video_index"]
    assert index["status"].to_list() == ["ok"] * 5 + ["duplicate"]
    ids = index["video_id"].to_list()
    assert ids[:5] == ["a==x==v.mp4", "b==x==v.mp4", "a.mp4", "a__v1.mp4", "a.mp4=7e=v1"]
    assert ids[5] == ids[0] and all(is_source_id(i) for i in ids)

    variants = out["augmented_metadata"]
    assert variants["status"].to_list() == ["ok"] * 5
    assert sorted(variants["variant_id"]) == sorted(f"{i}~v1" for i in ids[:5])
    work, _ = stage_inputs(index, variants)
    assert work.height == 10 and work["video_id"].n_unique() == 10

    scaled = out["scaled_metadata"]
    assert scaled.filter(pl.col("status") == "ok").height == 10
    assert scaled["video_id"].n_unique() == scaled.height
    assert all(Path(p).is_file() for p in scaled.filter(pl.col("status") == "ok")["path"])
