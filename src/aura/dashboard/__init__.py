"""The results dashboard: a Streamlit app over what the pipelines wrote (``aura dashboard``).

Four pages (:mod:`aura.dashboard.views`): Runs, Threshold explorer, Video drill-down and Score
a video. Everything is read through the project's Kedro catalog and its MLflow store
(:mod:`aura.dashboard.data`); metrics come from :mod:`aura.evaluation`, scores from the
``aura predict`` loop (:mod:`aura.dashboard.scoring`). :mod:`aura.dashboard.launch` starts the
server, :mod:`aura.dashboard.check` drives it in headless Chromium.
"""

from pathlib import Path

#: The Streamlit entry script (``streamlit run`` target).
APP = Path(__file__).with_name("app.py")
