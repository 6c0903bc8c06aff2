"""The dashboard app in Streamlit's AppTest on the finished demo run: every page renders its
key elements, the threshold slider's numbers agree with scikit-learn on ``cv_predictions``, and
an upload (or a server-side path) scores exactly as ``aura predict``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score
from streamlit.testing.v1 import AppTest

from aura.dashboard import APP
from aura.dashboard.check import PAGES
from aura.dashboard.settings import UPLOAD_VAR
from tests.conftest import aura_cli
from tests.dashboard.conftest import (
    cv_predictions,
    detector_folder,
    first_ok_video,
    newest,
    predict,
    video_index,
)

pytestmark = pytest.mark.slow
#: The first run opens the Kedro project (hooks, catalog): slow on a busy 2-core machine.
TIMEOUT = 300


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


#: Columns that pick out one table of a page.
TABLES = {
    "pooled": {"model", "n_videos", "roc_auc_lo"},
    "failures": {"video_id", "label_raw", "error"},
    "scores": {"model", "fold", "score", "target"},
    "features": {"column", "stage", "description"},
    "probe": {"field", "value"},
    "videos": {"video_id", "p_released"},
}


def _frame(at: AppTest, name: str) -> pl.DataFrame:
    """The page's table holding the columns of ``TABLES[name]`` (the first, if several)."""
    frames = [pl.from_pandas(d.value) for d in at.dataframe]
    found = [f for f in frames if TABLES[name] <= set(f.columns)]
    assert found, f"no {name} table; tables have {[f.columns[:4] for f in frames]}"
    return found[0]


def _metrics(block) -> dict[str, str]:  # noqa: ANN001 (an AppTest block)
    return {m.label: m.value for m in block.metric}


@pytest.fixture(scope="module")
def app(dashboard_project: Path) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    _clean(at)
    return at


def test_every_page_renders_its_key_elements(app: AppTest, dashboard_project: Path) -> None:
    app.switch_page("views/runs.py").run()
    _clean(app)
    headers = {h.value for h in app.subheader}
    assert set(PAGES["runs"]) <= headers | {t.value for t in app.title}
    facts = json.loads((dashboard_project / "data/08_reporting/run_facts.json").read_text())
    assert _metrics(app)["Config hash"] == facts["Config hash"]
    assert app.selectbox(key="mlflow_run").value  # the run of this version is tracked
    summary = pl.read_csv(newest(dashboard_project / "data/08_reporting/cv_summary.csv"))
    pooled = _frame(app, "pooled")
    assert sorted(pooled["model"]) == sorted(summary["model"])
    assert np.allclose(pooled.sort("model")["roc_auc"], summary.sort("model")["roc_auc"])
    assert len(app.get("vega_lite_chart")) >= 6  # interactive charts, not PNGs

    app.switch_page("views/threshold.py").run()
    _clean(app)
    models = sorted(cv_predictions(dashboard_project)["model"].unique())
    assert [t.label for t in app.tabs] == ["released detector", *models]

    app.switch_page("views/videos.py").run()
    _clean(app)
    assert set(PAGES["videos"]) <= {h.value for h in app.subheader} | {t.value for t in app.title}
    index = video_index(dashboard_project)
    failures = _frame(app, "failures")
    assert sorted(failures["video_id"]) == sorted(
        index.filter(pl.col("status") != "ok")["video_id"]
    )
    assert set(failures["status"]) >= {"corrupt", "not_video", "missing_file"}

    app.switch_page("views/score.py").run()
    _clean(app)
    assert app.radio(key="score_source").options == ["Upload a file", "Path on the server"]


def test_threshold_slider_matches_sklearn(app: AppTest, dashboard_project: Path) -> None:
    app.switch_page("views/threshold.py").run()
    preds = cv_predictions(dashboard_project).filter(pl.col("model") == "svm")
    y, s = preds["target"].to_numpy(), preds["score"].to_numpy()
    tab = next(t for t in app.tabs if t.label == "svm")
    seen = []
    for threshold in (0.3, 0.5, 0.8):
        app.slider(key="threshold_svm").set_value(threshold).run()
        _clean(app)
        tab = next(t for t in app.tabs if t.label == "svm")
        shown = _metrics(tab)
        pred = (s >= threshold).astype(int)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        expected = {
            "Precision": precision_score(y, pred, zero_division=0),
            "Recall": recall_score(y, pred, zero_division=0),
            "F1": f1_score(y, pred, zero_division=0),
            "FPR": fp / (fp + tn),
            "Accuracy": (tp + tn) / y.size,
        }
        for label, value in expected.items():
            assert shown[label] == f"{value:.3f}", (threshold, label)
        counts = [shown[k] for k in shown if k.split()[0] in ("TP", "FP", "FN", "TN")]
        assert [int(c) for c in counts] == [tp, fp, fn, tn]
        seen.append(tuple(shown.values()))
    assert len(set(seen)) > 1  # moving the slider moves the numbers

    # the released detector's tab starts at its threshold, with the release's own numbers
    release = pl.read_csv(newest(dashboard_project / "data/08_reporting/release_metrics.csv"))
    manifest = json.loads((detector_folder(dashboard_project) / "manifest.json").read_text())
    released = next(t for t in app.tabs if t.label == "released detector")
    assert app.slider(key="threshold_released detector").value == manifest["threshold"]
    shown = _metrics(released)
    for label, column in (("Precision", "precision"), ("Recall", "recall"), ("FPR", "fpr")):
        assert shown[label] == f"{release[column][0]:.3f}", label


def test_drill_down_shows_what_the_pipelines_wrote(app: AppTest, dashboard_project: Path) -> None:
    app.switch_page("views/videos.py").run()
    video = first_ok_video(dashboard_project)
    video_id = video_index(dashboard_project).filter(pl.col("path") == str(video))["video_id"][0]
    app.selectbox(key="video_id").set_value(video_id).run()
    _clean(app)
    scores = _frame(app, "scores").sort("model")
    expected = (
        cv_predictions(dashboard_project).filter(pl.col("video_id") == video_id).sort("model")
    )
    assert scores["model"].to_list() == expected["model"].to_list()
    assert np.allclose(scores["score"], expected["score"])
    features = _frame(app, "features")
    assert {"stage 2", "stage 4", "metadata"} <= set(features["stage"])
    assert features["description"].str.len_chars().min() > 0
    assert _frame(app, "probe")["field"].to_list()[:2] == ["width", "height"]
    assert len(app.get("video")) >= 3  # original, a variant, the scaled clip
    verdict = _metrics(app)
    assert verdict["Verdict"] in ("REAL", "FAKE") and 0 <= float(verdict["P(fake)"]) <= 1
    table = _frame(app, "videos")
    assert table.height == video_index(dashboard_project).height
    assert {"p_released", "misclassified"} <= set(table.columns)

    app.text_input(key="video_search").set_value(video_id).run()
    assert _frame(app, "videos")["video_id"].to_list() == [video_id]
    app.text_input(key="video_search").set_value("").run()


def test_upload_and_path_score_as_aura_predict(
    app: AppTest, dashboard_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = first_ok_video(dashboard_project)
    expected = predict(video, detector_folder(dashboard_project), tmp_path / "p.json")
    app.switch_page("views/score.py").run()
    app.file_uploader(key="score_upload").upload(video.name, video.read_bytes(), "video/mp4")
    app.run()
    _clean(app)
    result = app.session_state["score_result"]
    assert result.probability == pytest.approx(expected["probability"], abs=1e-12)
    assert result.label == expected["label"] and result.fold_spread == pytest.approx(
        expected["fold_spread"], abs=1e-12
    )
    assert result.segments["probability"].to_list() == pytest.approx(
        [seg["probability"] for seg in expected["segments"]], abs=1e-12
    )
    assert result.contact_sheet is not None and result.contact_sheet.read_bytes()[:4] == b"\x89PNG"
    assert _metrics(app)["P(fake)"] == f"{expected['probability']:.4f}"

    app.radio(key="score_source").set_value("Path on the server").run()
    app.text_input(key="score_path").set_value(str(video)).run()
    app.button(key="score_button").click().run()
    _clean(app)
    assert app.session_state["score_result"].probability == pytest.approx(
        expected["probability"], abs=1e-12
    )

    # a bad file and a too-big one: a clear message, no traceback
    app.radio(key="score_source").set_value("Upload a file").run()
    app.file_uploader(key="score_upload").set_value(("notes.mp4", b"not a video", "video/mp4"))
    app.run()
    assert not app.exception
    assert "not_video" in app.error[0].value and "notes.mp4" in app.error[0].value
    monkeypatch.setenv(UPLOAD_VAR, "0.001")
    app.file_uploader(key="score_upload").set_value((video.name, video.read_bytes(), "video/mp4"))
    app.run()
    assert not app.exception
    assert "over the upload cap of 0.001 MiB" in app.error[0].value


def test_dashboard_command_refuses_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    result = aura_cli("dashboard", "--project", tmp_path)
    assert result.exit_code == 1 and "not a Kedro project" in result.output
