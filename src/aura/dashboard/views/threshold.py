"""Threshold explorer: a slider per model over its out-of-fold scores; precision, recall, F1,
FPR and the confusion matrix come from :func:`aura.evaluation.operating_point`. The released
detector's threshold is marked (on its calibrated probabilities, and on its model's own scores
when it releases one model)."""

from __future__ import annotations

import numpy as np
import polars as pl
import streamlit as st

from aura.dashboard import charts
from aura.dashboard.views.common import current, no_run_yet
from aura.evaluation import operating_point

RELEASED = "released detector"


def slider_key(model: str) -> str:
    """The session-state key of ``model``'s threshold slider."""
    return f"threshold_{model}"


def explore(
    name: str, target: np.ndarray, score: np.ndarray, default: float, released: float | None
) -> None:
    """One model's slider, numbers, confusion matrix and score histogram."""
    value = st.slider(
        f"Threshold ({name})",
        min_value=0.0,
        max_value=1.0,
        value=float(default),  # exact: the released threshold is not on the step grid
        step=0.001,
        format="%.3f",
        key=slider_key(name),
        help="A video is called fake when its score is at or above the threshold.",
    )
    point = operating_point(target, score, value)
    cols = st.columns(5)
    cols[0].metric("Precision", f"{point.precision:.3f}")
    cols[1].metric("Recall", f"{point.recall:.3f}")
    cols[2].metric("F1", f"{point.f1:.3f}")
    cols[3].metric("FPR", f"{point.fpr:.3f}")
    cols[4].metric("Accuracy", f"{point.accuracy:.3f}")
    counts = st.columns(4)
    counts[0].metric("TP (fake called fake)", point.tp)
    counts[1].metric("FP (real called fake)", point.fp)
    counts[2].metric("FN (fake called real)", point.fn)
    counts[3].metric("TN (real called real)", point.tn)
    left, right = st.columns([1, 2])
    left.markdown("**Confusion matrix**")
    left.altair_chart(charts.confusion(point))
    labels = np.where(target == 1, "fake", "real")
    right.altair_chart(
        charts.score_histogram(pl.DataFrame({"score": score, "label": labels}), value, released)
    )
    if released is not None:
        st.caption(f"Released detector's threshold on this scale: {released:.3f}.")


def render() -> None:
    view = current()
    st.title("Threshold explorer")
    preds = view.tables.predictions
    if view.as_of is None or preds is None or not preds.height:
        no_run_yet()
        return
    models = sorted(preds["model"].unique().to_list())
    release = view.release
    names = ([RELEASED] if release is not None and release.oof.height else []) + models
    cut = view.project.config.evaluation.threshold
    st.caption(
        f"Out-of-fold predictions of version `{view.tables.version}` ({preds.height} rows); "
        f"each tab starts at the evaluation threshold {cut:g}"
        + (
            f", the released detector's tab at its threshold {release.threshold:.3f} "
            f"({release.detector.manifest.threshold_rule}, on calibrated probabilities)."
            if release is not None
            else "."
        )
    )
    for tab, name in zip(st.tabs(names), names, strict=True):
        with tab:
            if name == RELEASED and release is not None:
                st.markdown(
                    f"Released detector `{release.version}`: {', '.join(release.detector.models)}, "
                    f"calibrated probabilities of the out-of-fold ensemble."
                )
                explore(
                    name,
                    release.oof["target"].to_numpy(),
                    release.oof["probability"].to_numpy(),
                    release.threshold,
                    release.threshold,
                )
                continue
            rows = preds.filter(pl.col("model") == name)
            mark = None
            if release is not None and release.detector.models == [name]:
                mark = release.score_threshold
            explore(name, rows["target"].to_numpy(), rows["score"].to_numpy(), cut, mark)


if __name__ == "__main__":
    render()
