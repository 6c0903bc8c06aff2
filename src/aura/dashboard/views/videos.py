"""Video drill-down: a searchable, filterable table of every video with each model's
out-of-fold score; for the picked video its original, variants and scaled clip, probe metadata,
features with descriptions, scores per model and fold, and the released detector's timeline and
explanation. Ingest failures are listed at the end."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from aura.dashboard.data import Release, VideoDetail
from aura.dashboard.scoring import ScoreResult, path_request
from aura.dashboard.views.common import View, current, no_run_yet, table
from aura.dashboard.views.explain import explanation, score_with_progress, verdict


@st.cache_resource(show_spinner=False, max_entries=16)
def _detail(_view: View, key: str, as_of: str | None, video_id: str) -> VideoDetail | None:
    return _view.project.video_detail(video_id, as_of, _view.tables)


def _explained(release: Release, path: str) -> ScoreResult:
    """The released detector's score and explanation of ``path`` (kept for the session)."""
    done: dict[tuple[str, str], ScoreResult] = st.session_state.setdefault("explained", {})
    key = (release.version, path)
    if key not in done:
        done[key] = score_with_progress(release.detector, path_request(path))
    return done[key]


def _filtered(videos: pl.DataFrame) -> pl.DataFrame:
    """The filter widgets applied to the video table."""
    search = st.text_input("Search (video id, cascade, platform, codec)", key="video_search")
    cols = st.columns(4)
    labels = cols[0].multiselect(
        "Label", sorted(videos["label"].drop_nulls().unique()), key="video_label"
    )
    platforms = cols[1].multiselect(
        "Platform", sorted(videos["platform"].drop_nulls().unique()), key="video_platform"
    )
    statuses = cols[2].multiselect("Status", sorted(videos["status"].unique()), key="video_status")
    wrong = cols[3].checkbox(
        "Misclassified only",
        key="video_wrong",
        help="Misclassified by the released detector at its threshold (out-of-fold).",
        disabled="misclassified" not in videos.columns,
    )
    out = videos
    if search:
        text = pl.concat_str(
            [
                pl.col(c).cast(pl.Utf8).fill_null("")
                for c in ("video_id", "cascade_id", "platform", "codec")
            ],
            separator=" ",
        )
        out = out.filter(text.str.contains(search, literal=True))
    if labels:
        out = out.filter(pl.col("label").is_in(labels))
    if platforms:
        out = out.filter(pl.col("platform").is_in(platforms))
    if statuses:
        out = out.filter(pl.col("status").is_in(statuses))
    if wrong and "misclassified" in out.columns:
        out = out.filter(pl.col("misclassified").fill_null(False))
    return out


def _play(title: str, path: Path | None) -> None:
    st.markdown(f"**{title}**")
    if path is None or not path.is_file():
        st.caption("(no file)")
        return
    st.video(str(path))
    st.caption(path.name)


def _media(detail: VideoDetail) -> None:
    st.subheader("Original, augmented variants and scaled clip")
    n = 2 + len(detail.variants)
    cols = st.columns(min(n, 4))
    with cols[0]:
        _play("Original", detail.path)
    for i, variant in enumerate(detail.variants, start=1):
        with cols[i % len(cols)]:
            _play(f"Variant {variant.variant_id}", variant.path)
            st.caption(f"ops: {variant.ops}")
    with cols[(n - 1) % len(cols)]:
        _play("Scaled (stage 3)", detail.scaled)


def _about(detail: VideoDetail) -> None:
    left, right = st.columns([1, 2])
    with left:
        st.subheader("Probe metadata")
        table(detail.probe)
    with right:
        st.subheader("Features")
        needle = st.text_input("Filter features", key="feature_filter")
        features = detail.features
        if needle and features.height:
            features = features.filter(
                pl.col("column").str.contains(needle, literal=True)
                | pl.col("description").str.contains(needle, literal=True)
            )
        table(features, height=320)


def _scores(detail: VideoDetail, view: View) -> None:
    st.subheader("Scores per model and fold")
    st.caption(
        "Out-of-fold: each model's score comes from the fold model that did not train on it."
    )
    table(detail.scores)
    if detail.robustness is not None and detail.robustness.height:
        st.markdown("**Perturbed copies** (robustness)")
        table(detail.robustness)
    release = view.release
    if release is None:
        st.caption("No released detector in this version: no timeline or explanation.")
        return
    if detail.status != "ok" or detail.path is None:
        st.caption(f"Not scored: status {detail.status}.")
        return
    st.subheader("Released detector on this video")
    st.caption(
        "The released detector scores the file through the `aura predict` path. Its fold "
        "models trained on this video unless it was in their validation fold, so this is not "
        "an out-of-fold score (the table above is)."
    )
    result = _explained(release, str(detail.path))
    verdict(result)
    explanation(result)


def render() -> None:
    view = current()
    st.title("Video drill-down")
    if view.as_of is None:
        no_run_yet()
        return
    videos = view.videos()
    if not videos.height:
        st.info("No video_index in this version.")
        return
    st.subheader("Videos")
    shown = _filtered(videos)
    st.caption(f"{shown.height} of {videos.height} videos")
    table(shown, height=320)
    if shown.height:
        labels = dict(zip(shown["video_id"], shown["label"].fill_null("?"), strict=True))
        video_id = st.selectbox(
            "Video", list(labels), format_func=lambda v: f"{v} ({labels[v]})", key="video_id"
        )
        detail = _detail(view, view.key, view.as_of, video_id)
        if detail is not None:
            st.markdown(f"### `{detail.video_id}` · {detail.label} · {detail.status}")
            if detail.error:
                st.warning(detail.error)
            _media(detail)
            _about(detail)
            _scores(detail, view)
    st.subheader("Ingest failures")
    failures = view.project.failures(view.as_of)
    st.caption(f"{failures.height} rows of video_index whose status is not ok")
    table(failures)


if __name__ == "__main__":
    render()
