"""What every page shares: the project opened once per server process, the run version picked
in the sidebar, and cached loads keyed by that version."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import streamlit as st

from aura.dashboard.data import MlflowRun, Project, Release, RunTables
from aura.dashboard.settings import Settings

log = logging.getLogger(__name__)

VIEW_KEY = "aura_view"
NEWEST = "newest"


@st.cache_resource(show_spinner="Opening the Kedro project (catalog, parameters, MLflow) …")
def _open(path: str, env: str | None) -> Project:
    return Project(Path(path), env)


@st.cache_resource(show_spinner="Loading the run's tables …", max_entries=8)
def _tables(_project: Project, key: str, as_of: str | None) -> RunTables:
    return _project.run_tables(as_of)


@st.cache_resource(show_spinner="Loading the released detector …", max_entries=4)
def _release(_project: Project, key: str, as_of: str | None) -> Release | None:
    return _project.release(as_of, _project.run_tables(as_of).predictions)


@st.cache_resource(show_spinner=False, max_entries=4)
def _videos(_project: Project, key: str, as_of: str | None) -> pl.DataFrame:
    return _project.video_table(
        as_of, _tables(_project, key, as_of), _release(_project, key, as_of)
    )


@st.cache_data(ttl=30, show_spinner=False)
def _runs(_project: Project, key: str) -> list[MlflowRun]:
    return _project.runs()


@dataclass(frozen=True)
class View:
    """The project and the run version every page shows."""

    project: Project
    as_of: str | None  # the catalog version picked (None: the project has no evaluation yet)
    tables: RunTables
    release: Release | None
    runs: list[MlflowRun]

    @property
    def key(self) -> str:
        return f"{self.project.path}|{self.project.env}"

    def videos(self) -> pl.DataFrame:
        """The drill-down table of every video (see :meth:`Project.video_table`)."""
        return _videos(self.project, self.key, self.as_of)

    def run_for_version(self) -> MlflowRun | None:
        """The MLflow run that saved the picked version, if tracked."""
        return next((r for r in self.runs if r.version and r.version == self.as_of), None)


def sidebar() -> View:
    """Draw the sidebar (project, version picker, reload) and return the view of this run."""
    settings = Settings.from_env()
    project = _open(str(settings.project), settings.env)
    key = f"{project.path}|{project.env}"
    runs = _runs(project, key)
    by_version = {r.version: r for r in runs if r.version}
    versions = list(reversed(project.versions("cv_predictions")))
    st.sidebar.caption(
        f"Project `{project.path}`" + (f" · env `{project.env}`" if project.env else "")
    )

    def label(version: str) -> str:
        run = by_version.get(version)
        return version + (f" · {run.name} ({run.status})" if run else "")

    as_of = st.sidebar.selectbox(
        "Run (catalog version)",
        versions,
        format_func=label,
        key="version",
        help="Every versioned dataset is shown as of this Kedro save version (the run's "
        "session id; the MLflow run of that session is named beside it).",
    )
    if st.sidebar.button("Reload data", help="Read the catalog and MLflow again"):
        for cached in (_tables, _release, _videos, _runs):
            cached.clear()
    view = View(
        project=project,
        as_of=as_of,
        tables=_tables(project, key, as_of),
        release=_release(project, key, as_of),
        runs=runs,
    )
    st.session_state[VIEW_KEY] = view
    return view


def current() -> View:
    """The view :func:`sidebar` set up for this script run."""
    view = st.session_state.get(VIEW_KEY)
    return view if isinstance(view, View) else sidebar()


def no_run_yet() -> None:
    st.info("This project has no evaluated run yet: run `make run` (or `kedro run`) first.")


def table(data: pl.DataFrame | None, *, height: int | None = None) -> None:
    """A table, or a note when the run did not write it."""
    if data is None or not data.height:
        st.caption("(not written by this run)")
        return
    st.dataframe(data, hide_index=True, width="stretch", height=height or "auto")
