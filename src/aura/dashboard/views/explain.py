"""Shows one :class:`~aura.dashboard.scoring.ScoreResult`: verdict, timeline, explanation
(used by the drill-down and the scoring pages), and the scoring call with a progress bar."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import streamlit as st

from aura.dashboard import charts
from aura.dashboard.scoring import ScoreResult, score
from aura.inference.predict import VideoRequest


@st.cache_resource(show_spinner=False)
def sheets_dir() -> Path:
    """Where this server writes contact sheets (a temporary folder per process)."""
    return Path(tempfile.mkdtemp(prefix="aura-dashboard-"))


def score_with_progress(detector: Any, request: VideoRequest) -> ScoreResult:
    """:func:`aura.dashboard.scoring.score` with a progress bar and a spinner."""
    bar = st.progress(0.0, text="loading …")
    with st.spinner(f"Scoring {request.name} …"):
        result = score(
            detector,
            request,
            sheets_dir() / uuid.uuid4().hex,
            lambda fraction, text: bar.progress(fraction, text=text),
        )
    bar.empty()
    return result


def verdict(result: ScoreResult) -> None:
    """The verdict, or the reason the file could not be scored (never a traceback)."""
    if not result.ok:
        st.error(f"Could not score {result.name}: {result.status}. {result.error or ''}")
        return
    cols = st.columns(4)
    cols[0].metric("Verdict", (result.label or "").upper())
    cols[1].metric("P(fake)", f"{result.probability:.4f}")
    cols[2].metric("Threshold", f"{result.threshold:.4f}")
    spread = "—" if result.fold_spread is None else f"{result.fold_spread:.4f}"
    cols[3].metric("Fold spread (std)", spread)
    st.caption(
        f"Detector `{result.detector_version}` ({result.model}); "
        f"{result.duration_s or 0:.2f} s of video."
    )


def explanation(result: ScoreResult) -> None:
    """Segment timeline, contact sheet and feature contributions of a scored video."""
    if not result.ok:
        return
    st.subheader("Segment timeline")
    if result.segments.height:
        st.altair_chart(charts.timeline(result.segments, result.threshold))
    else:
        st.caption("(no segment scores)")
    st.subheader("Explanation")
    for note in result.notes:
        st.caption(note)
    if result.contact_sheet is not None and result.contact_sheet.is_file():
        st.image(
            str(result.contact_sheet),
            width=900,
            caption="Contact sheet (as `aura predict --explain` writes it): frames with "
            "Grad-CAM heatmaps where the model supports them, segment occlusion, top features",
        )
    if result.contributions.height:
        st.markdown("**Feature contributions** (standardised coefficient × standardised value)")
        st.altair_chart(charts.contributions(result.contributions))
        st.dataframe(result.contributions, hide_index=True, width="stretch")
    drops = result.segment_drops.drop_nulls("logit_drop")
    if drops.height:
        st.markdown("**Temporal occlusion** (logit drop without each segment)")
        st.dataframe(drops, hide_index=True, width="stretch")
