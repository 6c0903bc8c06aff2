"""Score a video: upload a file or name one on the server; the released detector scores it
through the ``aura predict`` loop, with a progress bar, the verdict, its probability and fold
spread, the segment timeline and the explanation. Too-big and bad files get a clear message."""

from __future__ import annotations

import streamlit as st

from aura.dashboard.scoring import ScoreResult, path_request, upload_request
from aura.dashboard.settings import Settings
from aura.dashboard.views.common import current
from aura.dashboard.views.explain import explanation, score_with_progress, verdict

UPLOAD, PATH = "Upload a file", "Path on the server"
RESULT_KEY = "score_result"


def render() -> None:
    view = current()
    st.title("Score a video")
    release = view.release
    if release is None:
        st.info("No released detector in this project yet: run `make run` (or `kedro run`).")
        return
    cap = Settings.from_env().max_upload_mb or view.project.config.inference.max_upload_mb
    st.caption(
        f"Released detector `{release.version}` ({', '.join(release.detector.models)}, "
        f"threshold {release.threshold:.3f}); the same scoring code as `aura predict`."
    )
    state = st.session_state
    source = st.radio("Video", [UPLOAD, PATH], key="score_source", horizontal=True)
    if source == UPLOAD:
        uploaded = st.file_uploader(
            f"Video file (at most {cap:g} MiB)", key="score_upload", accept_multiple_files=False
        )
        if uploaded is not None and state.get("score_for") != ("upload", uploaded.file_id):
            request = upload_request(uploaded.name, uploaded.getvalue(), cap)
            state[RESULT_KEY] = score_with_progress(release.detector, request)
            state["score_for"] = ("upload", uploaded.file_id)
    else:
        path = st.text_input("Path of a video file on the server", key="score_path")
        if st.button("Score", key="score_button"):
            state[RESULT_KEY] = score_with_progress(release.detector, path_request(path))
            state["score_for"] = ("path", path)
    result = state.get(RESULT_KEY)
    if isinstance(result, ScoreResult):
        st.subheader(f"Verdict on {result.name}")
        verdict(result)
        explanation(result)


if __name__ == "__main__":
    render()
