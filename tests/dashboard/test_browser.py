"""The dashboard in a real browser: ``aura dashboard`` on a free 127.0.0.1 port, headless
Chromium driven by Selenium (:mod:`aura.dashboard.check`, what ``make dashboard-check`` runs)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from aura.dashboard.check import find_browser, run_check
from tests.dashboard.conftest import (
    cv_predictions,
    detector_folder,
    first_ok_video,
    predict,
    video_index,
)

pytestmark = pytest.mark.slow


def test_every_page_in_headless_chromium(demo_snapshot: Path, tmp_path: Path) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip(
            "no chromium / chromedriver binary: apt-get install chromium chromium-driver "
            "(`make test` installs them when run as root)"
        )
    video = first_ok_video(demo_snapshot)
    expected = predict(video, detector_folder(demo_snapshot), tmp_path / "p.json")
    models = sorted(cv_predictions(demo_snapshot)["model"].unique())
    first_id = video_index(demo_snapshot).sort("video_id")["video_id"][0]
    facts = json.loads((demo_snapshot / "data/08_reporting/run_facts.json").read_text())
    config_hash = facts["Config hash"]
    shots = tmp_path / "screenshots"
    report = run_check(
        demo_snapshot,
        shots,
        video=video,
        extra={
            "runs": (config_hash, "FINISHED"),  # the MLflow run of the version shown
            "threshold": ("released detector", *models),  # one tab (slider) per model
            "videos": (first_id,),  # the picked video's header
        },
        browser=browser,
    )
    log = report.log.read_text()[-3000:]
    for page in report.pages:
        assert page.ok, f"{page.page}: missing {page.missing}, errors {page.errors}\n{log}"
        assert page.screenshot.read_bytes()[:4] == b"\x89PNG"
    # the browser upload went through Streamlit's upload endpoint and scored as `aura predict`
    assert report.upload_probability == f"{expected['probability']:.4f}", log
    assert pl.Series([p.page for p in report.pages]).n_unique() == 5
