"""Stages 1–4 on a dask LocalCluster give the same tables as the serial backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_dask_backend_matches_serial(corpus: Path, outputs, run_stages, tmp_path: Path) -> None:
    other = run_stages(corpus, tmp_path, backend="dask")
    for name in ("features_stage2", "features_stage4"):
        assert other[name].drop("path").equals(outputs[name].drop("path")), name
    np.testing.assert_array_equal(
        other["features_stage2_matrix"][0], outputs["features_stage2_matrix"][0]
    )
    cols = [
        "video_id",
        "status",
        "n_frames",
        "content_width",
        "content_height",
        "pad_top",
        "pad_left",
    ]
    assert other["scaled_metadata"].select(cols).equals(outputs["scaled_metadata"].select(cols))
    meta = ["variant_id", "source_video_id", "variant", "ops", "seed", "status"]
    assert (
        other["augmented_metadata"].select(meta).equals(outputs["augmented_metadata"].select(meta))
    )
