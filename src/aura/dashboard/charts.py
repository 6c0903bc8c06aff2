"""Interactive Altair charts of the tables the pipelines wrote (tooltips, zoom, legend
selection). Each function takes a polars table and returns an ``alt.Chart``; nothing here
computes a metric."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from aura.evaluation import OperatingPoint

WIDTH = 520


def _df(table: pl.DataFrame):  # noqa: ANN202 (a pandas frame, for Altair's type inference)
    return table.to_pandas()


def interval_points(
    table: pl.DataFrame, metrics: Sequence[str], label: str = "model"
) -> alt.Chart | None:
    """Per ``label`` row and metric: the point estimate with its ``<metric>_lo``/``_hi``
    interval (pooled out-of-fold metrics, slices, robustness)."""
    rows = []
    for m in metrics:
        if m not in table.columns:
            continue
        lo = pl.col(f"{m}_lo") if f"{m}_lo" in table.columns else pl.col(m)
        hi = pl.col(f"{m}_hi") if f"{m}_hi" in table.columns else pl.col(m)
        rows.append(
            table.select(
                pl.col(label).cast(pl.Utf8).alias("row"),
                pl.lit(m).alias("metric"),
                pl.col(m).cast(pl.Float64).alias("value"),
                lo.cast(pl.Float64).alias("lo"),
                hi.cast(pl.Float64).alias("hi"),
            )
        )
    if not rows:
        return None
    data = _df(pl.concat(rows).drop_nulls("value"))
    base = alt.Chart(data).encode(
        y=alt.Y("row:N", title=label, sort=None),
        color=alt.Color("metric:N"),
        yOffset="metric:N",
        tooltip=["row", "metric", alt.Tooltip("value:Q", format=".3f"), "lo", "hi"],
    )
    bars = base.mark_rule().encode(
        x=alt.X("lo:Q", title="value", scale=alt.Scale(domain=[0, 1])), x2="hi:Q"
    )
    points = base.mark_point(filled=True, size=60).encode(x="value:Q")
    return (bars + points).properties(width=WIDTH).interactive()


def fold_strip(metrics: pl.DataFrame, metric: str) -> alt.Chart:
    """Per model, one point per fold of ``metric`` (cv_metrics), the fold as colour."""
    data = _df(metrics.select("model", pl.col("fold").cast(pl.Utf8), pl.col(metric).alias("value")))
    return (
        alt.Chart(data)
        .mark_circle(size=80)
        .encode(
            x=alt.X("value:Q", title=metric, scale=alt.Scale(zero=False)),
            y=alt.Y("model:N", sort=None),
            color=alt.Color("fold:N"),
            tooltip=["model", "fold", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=WIDTH)
        .interactive()
    )


def comparison_chart(comparisons: pl.DataFrame) -> alt.Chart:
    """Each model pair's ROC-AUC difference with its paired interval; significant in colour."""
    data = _df(
        comparisons.with_columns(
            (pl.col("model_a") + " − " + pl.col("model_b")).alias("pair"),
            pl.col("significant").cast(pl.Utf8),
        )
    )
    base = alt.Chart(data).encode(
        y=alt.Y("pair:N", sort="-x", title=None),
        color=alt.Color("significant:N"),
        tooltip=["pair", "roc_auc_diff", "roc_auc_diff_lo", "roc_auc_diff_hi", "significant"],
    )
    rule = base.mark_rule().encode(
        x=alt.X("roc_auc_diff_lo:Q", title="ROC-AUC difference"), x2="roc_auc_diff_hi:Q"
    )
    zero = alt.Chart(_df(pl.DataFrame({"x": [0.0]}))).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return (
        (rule + base.mark_point(filled=True).encode(x="roc_auc_diff:Q") + zero)
        .properties(width=WIDTH)
        .interactive()
    )


def curves(points: pl.DataFrame, kind: str, model: str) -> alt.Chart:
    """ROC or precision-recall curves of ``model`` (one line per fold, from
    :func:`aura.evaluation.curve_points`)."""
    x_title, y_title = (
        ("false positive rate", "true positive rate") if kind == "roc" else ("recall", "precision")
    )
    rows = points.filter(pl.col("model") == model).with_columns(
        pl.col("fold").cast(pl.Utf8),
        # the curve's end points have an infinite threshold: JSON has no infinity
        pl.when(pl.col("threshold").is_finite()).then(pl.col("threshold")).alias("threshold"),
    )
    data = _df(rows)
    interp = "linear" if kind == "roc" else "step-after"
    return (
        alt.Chart(data)
        .mark_line(interpolate=interp)
        .encode(
            x=alt.X("x:Q", title=x_title, scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("fold:N"),
            tooltip=[
                "fold",
                alt.Tooltip("x:Q", format=".3f"),
                alt.Tooltip("y:Q", format=".3f"),
                "threshold",
            ],
        )
        .properties(
            width=360,
            height=320,
            title=f"{model}: {'ROC' if kind == 'roc' else 'precision-recall'}",
        )
        .interactive()
    )


def reliability(bins: pl.DataFrame) -> alt.Chart:
    """Fraction fake against mean score per bin (``model, mean_score, frac_fake, count``)."""
    data = _df(bins)
    diagonal = (
        alt.Chart(_df(pl.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})))
        .mark_line(strokeDash=[4, 4], color="grey")
        .encode(x="x:Q", y="y:Q")
    )
    lines = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "mean_score:Q", title="mean predicted probability", scale=alt.Scale(domain=[0, 1])
            ),
            y=alt.Y("frac_fake:Q", title="fraction fake", scale=alt.Scale(domain=[0, 1])),
            color="model:N",
            tooltip=["model", "mean_score", "frac_fake", "count"],
        )
    )
    return (diagonal + lines).properties(width=WIDTH, height=360).interactive()


def score_histogram(
    scores: pl.DataFrame, threshold: float, released: float | None = None
) -> alt.Chart:
    """Scores by class (``score``, ``label``) with the chosen threshold and, when given, the
    released detector's threshold marked."""
    hist = (
        alt.Chart(_df(scores))
        .mark_bar(opacity=0.6)
        .encode(
            x=alt.X("score:Q", bin=alt.Bin(maxbins=30, extent=[0, 1]), title="score"),
            y=alt.Y("count():Q", stack=None, title="videos"),
            color=alt.Color(
                "label:N", scale=alt.Scale(domain=["real", "fake"], range=["#1f77b4", "#d62728"])
            ),
            tooltip=["label", "count():Q"],
        )
    )
    marks = [{"x": threshold, "what": "chosen threshold"}]
    if released is not None:
        marks.append({"x": released, "what": "released threshold"})
    rules = (
        alt.Chart(_df(pl.DataFrame(marks)))
        .mark_rule(strokeWidth=2)
        .encode(x="x:Q", strokeDash=alt.StrokeDash("what:N"), tooltip=["what", "x"])
    )
    return (hist + rules).properties(width=WIDTH, height=240)


def confusion(point: OperatingPoint) -> alt.Chart:
    """The 2x2 confusion matrix of ``point`` as a labelled heat map."""
    cells = [
        ("real", "real", point.tn),
        ("real", "fake", point.fp),
        ("fake", "real", point.fn),
        ("fake", "fake", point.tp),
    ]
    data = _df(pl.DataFrame(cells, schema=["actual", "predicted", "videos"], orient="row"))
    base = alt.Chart(data).encode(
        x=alt.X("predicted:N", sort=["real", "fake"]), y=alt.Y("actual:N", sort=["real", "fake"])
    )
    heat = base.mark_rect().encode(
        color=alt.Color("videos:Q", scale=alt.Scale(scheme="blues")),
        tooltip=["actual", "predicted", "videos"],
    )
    text = base.mark_text(fontSize=18).encode(text="videos:Q")
    return (heat + text).properties(width=220, height=180)


def timeline(segments: pl.DataFrame, threshold: float | None) -> alt.Chart:
    """Per-segment probability of fake over time (``start_s, end_s, probability``)."""
    bars = (
        alt.Chart(_df(segments))
        .mark_rect(opacity=0.8)
        .encode(
            x=alt.X("start_s:Q", title="time (s)"),
            x2="end_s:Q",
            y=alt.Y("probability:Q", title="p(fake)", scale=alt.Scale(domain=[0, 1])),
            y2=alt.datum(0),
            color=alt.Color(
                "probability:Q",
                scale=alt.Scale(scheme="redyellowgreen", reverse=True, domain=[0, 1]),
            ),
            tooltip=["start_s", "end_s", alt.Tooltip("probability:Q", format=".3f")],
        )
    )
    if threshold is None:
        return bars.properties(width=WIDTH, height=200)
    rule = (
        alt.Chart(_df(pl.DataFrame({"y": [threshold]})))
        .mark_rule(strokeDash=[4, 4])
        .encode(y="y:Q")
    )
    return (bars + rule).properties(width=WIDTH, height=200)


def contributions(table: pl.DataFrame) -> alt.Chart:
    """Feature contributions (``column, contribution, description``), largest first."""
    return (
        alt.Chart(_df(table))
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q", title="contribution to the score (> 0: towards fake)"),
            y=alt.Y("column:N", sort=None, title=None),
            color=alt.condition(
                alt.datum.contribution > 0, alt.value("#d62728"), alt.value("#1f77b4")
            ),
            tooltip=["column", "description", alt.Tooltip("contribution:Q", format=".3f"), "value"],
        )
        .properties(width=WIDTH)
    )
