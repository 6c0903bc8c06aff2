"""Runs: one run's corpus, counts and config hash, pooled out-of-fold metrics with intervals,
per-fold metrics, model comparisons, slices, robustness and interactive curves; the MLflow
run's parameters and metrics."""

from __future__ import annotations

import polars as pl
import streamlit as st

from aura.dashboard import charts
from aura.dashboard.data import MlflowRun
from aura.dashboard.views.common import View, current, no_run_yet, table
from aura.evaluation import curve_points
from aura.evaluation.plots import calibration_bins

POOLED = ("roc_auc", "pr_auc", "accuracy", "f1")


def _mlflow(view: View) -> MlflowRun | None:
    """The MLflow run picker (default: the run that saved the picked version)."""
    if not view.runs:
        st.caption(f"No MLflow runs in `{view.project.tracking_uri}`.")
        return None
    by_id = {r.run_id: r for r in view.runs}
    matched = view.run_for_version()
    ids = list(by_id)
    run_id = st.selectbox(
        "MLflow run",
        ids,
        index=ids.index(matched.run_id) if matched else 0,
        format_func=lambda i: by_id[i].label,
        key="mlflow_run",
    )
    run = by_id[run_id]
    cols = st.columns(4)
    cols[0].metric("Status", run.status)
    cols[1].metric("Config hash", run.config_hash or "—")
    cols[2].metric("Git commit", (run.git_commit or "—")[:12])
    cols[3].metric("Catalog version", run.version or "—")
    return run


def _corpus(view: View, run: MlflowRun | None) -> None:
    st.subheader("Corpus, counts and config hash")
    facts = pl.DataFrame(view.tables.facts, schema=["fact", "value"], orient="row")
    if run is not None and run.config_hash:
        facts = pl.concat(
            [facts, pl.DataFrame({"fact": ["MLflow run config hash"], "value": [run.config_hash]})]
        )
    table(facts)
    st.caption("Facts of the newest evaluation (run_facts is not versioned).")


def _pooled(view: View) -> None:
    summary = view.tables.summary
    st.subheader("Pooled out-of-fold metrics")
    if summary is None:
        st.caption("(no cv_summary in this run)")
        return
    level = summary["ci_level"][0] if "ci_level" in summary.columns else None
    st.caption(
        "Every original scored once by the fold model that did not see it; "
        + (f"{100 * level:g} % cascade-bootstrap intervals." if level else "intervals where given.")
    )
    chart = charts.interval_points(summary, POOLED)
    if chart is not None:
        st.altair_chart(chart)
    keep = [c for c in summary.columns if not c.endswith(("_mean", "_std"))]
    table(summary.select(keep))


def _folds(view: View) -> None:
    st.subheader("Per-fold metrics")
    metrics, summary = view.tables.metrics, view.tables.summary
    if metrics is None:
        st.caption("(no cv_metrics in this run)")
        return
    metric = st.selectbox(
        "Metric", ["roc_auc", "pr_auc", "f1", "accuracy", "eer", "ece"], key="fold_metric"
    )
    st.altair_chart(charts.fold_strip(metrics, metric))
    table(metrics)
    if summary is not None:
        cols = ["model", "n_folds"] + [c for c in summary.columns if c.endswith(("_mean", "_std"))]
        st.caption("Mean ± std over folds")
        table(summary.select([c for c in cols if c in summary.columns]))


def _comparisons(view: View) -> None:
    st.subheader("Model comparison")
    comparisons = view.tables.comparisons
    if comparisons is None or not comparisons.height:
        st.caption("(no cv_comparisons in this run)")
        return
    n = int(comparisons["significant"].sum())
    st.caption(
        f"ROC-AUC difference of every pair on the videos both scored, with its paired "
        f"interval; {n} of {comparisons.height} pairs differ significantly."
    )
    st.altair_chart(charts.comparison_chart(comparisons))
    table(comparisons)


def _slices(view: View) -> None:
    st.subheader("Slices")
    slices = view.tables.slices
    if slices is None or not slices.height:
        st.caption("(no cv_slices in this run)")
        return
    kinds = sorted(slices["slice"].unique().to_list())
    kind = st.selectbox("Slice by", kinds, key="slice_kind")
    part = slices.filter(pl.col("slice") == kind)
    scored = part.filter(pl.col("roc_auc").is_not_null()).with_columns(
        (pl.col("model") + " · " + pl.col("value").cast(pl.Utf8)).alias("model · value")
    )
    if scored.height:
        chart = charts.interval_points(scored, ["roc_auc"], label="model · value")
        if chart is not None:
            st.altair_chart(chart)
    table(part)


def _robustness(view: View) -> None:
    st.subheader("Robustness")
    robustness = view.tables.robustness
    if robustness is None or not robustness.height:
        st.caption("(no robustness_metrics in this run)")
        return
    shown = robustness.with_columns(
        (pl.col("model") + " · " + pl.col("perturbation")).alias("model · perturbation")
    )
    chart = charts.interval_points(shown, ["roc_auc"], label="model · perturbation")
    if chart is not None:
        st.altair_chart(chart)
    table(robustness)


def _plots(view: View) -> None:
    st.subheader("Curves and calibration")
    preds = view.tables.predictions
    if preds is None or not preds.height:
        return
    models = sorted(preds["model"].unique().to_list())
    model = st.selectbox("Model", models, key="curve_model")
    left, right = st.columns(2)
    left.altair_chart(charts.curves(curve_points(preds, "roc"), "roc", model))
    right.altair_chart(charts.curves(curve_points(preds, "pr"), "pr", model))
    n_bins = view.project.config.evaluation.calibration_bins
    rows = []
    for m in models:
        part = preds.filter(pl.col("model") == m)
        mean, frac, count = calibration_bins(
            part["target"].to_numpy(), part["score"].to_numpy(), n_bins
        )
        rows.append(
            pl.DataFrame({"model": m, "mean_score": mean, "frac_fake": frac, "count": count})
        )
    st.caption(f"Reliability ({n_bins} bins, folds pooled)")
    st.altair_chart(charts.reliability(pl.concat(rows)))


def _params(run: MlflowRun | None) -> None:
    if run is None:
        return
    with st.expander(f"MLflow parameters ({len(run.params)}) and metrics ({len(run.metrics)})"):
        needle = st.text_input("Filter by name", key="param_filter")
        params = pl.DataFrame({"param": list(run.params), "value": list(run.params.values())})
        metrics = pl.DataFrame({"metric": list(run.metrics), "value": list(run.metrics.values())})
        if needle:
            params = params.filter(pl.col("param").str.contains(needle, literal=True))
            metrics = metrics.filter(pl.col("metric").str.contains(needle, literal=True))
        table(params.sort("param"))
        table(metrics.sort("metric"))


def render() -> None:
    view = current()
    st.title("Runs")
    if view.as_of is None:
        no_run_yet()
        return
    st.caption(
        f"Catalog version `{view.as_of}`; evaluation tables of version `{view.tables.version}`."
    )
    run = _mlflow(view)
    _corpus(view, run)
    _pooled(view)
    _folds(view)
    _comparisons(view)
    _slices(view)
    _robustness(view)
    _plots(view)
    st.subheader("Released detector")
    table(view.tables.release)
    _params(run)


if __name__ == "__main__":
    render()
