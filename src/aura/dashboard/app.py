"""The dashboard's Streamlit entry script: page navigation, the shared sidebar, and a guard
that turns an unexpected error into a message (the traceback goes to the server log)."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from aura.dashboard.views import common

log = logging.getLogger("aura.dashboard")
VIEWS = Path(__file__).with_name("views")

st.set_page_config(page_title="AURA dashboard", layout="wide")
page = st.navigation(
    [
        st.Page(VIEWS / "runs.py", title="Runs", url_path="runs", default=True),
        st.Page(VIEWS / "threshold.py", title="Threshold explorer", url_path="threshold"),
        st.Page(VIEWS / "videos.py", title="Video drill-down", url_path="videos"),
        st.Page(VIEWS / "score.py", title="Score a video", url_path="score"),
    ]
)
try:
    common.sidebar()
    page.run()
except Exception as err:  # every failure is a message, never a traceback in the page
    log.exception("dashboard page %s failed", page.title)
    st.error(
        f"{page.title} failed: {type(err).__name__}: {err}. "
        "The traceback is in the dashboard's log."
    )
