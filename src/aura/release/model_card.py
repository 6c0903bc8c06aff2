"""The released detector's model card (Hugging Face format), generated from the run's data.

YAML front matter (licence, tags, a ``model-index`` with the detector's pooled out-of-fold
metrics at its threshold), then Markdown sections. Every number comes from the detector's
manifest and the evaluation / robustness tables; a missing table gives a sentence, not a crash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
import yaml

from aura.evaluation.report_sections import LABELS, METADATA_MODEL, MISSING, text, with_interval
from aura.release.detector import Detector, DetectorManifest, Member
from aura.release.model_card_limits import limitations
from aura.release.model_card_parts import (
    CORPORA,
    ETHICS,
    FVC_BIBTEX,
    INTENDED_USE,
    OUT_OF_SCOPE,
    Corpus,
    interval,
    level,
    missing,
    num,
    records,
    table,
)

if TYPE_CHECKING:
    from aura.pipelines.config import CorpusConfig

#: Metrics of the ``model-index``, read from ``release_metrics`` (the detector at its threshold).
INDEX_METRICS = ("roc_auc", "pr_auc", "accuracy", "f1")
#: Headings of the card's sections, in order.
SECTIONS = (
    "Model details",
    "Intended use",
    "Out-of-scope uses",
    "Training data",
    "Evaluation",
    "Slices",
    "Robustness",
    "Limitations",
    "Ethical considerations",
)
POOLED_SHOWN = ("roc_auc", "pr_auc", "eer", "accuracy", "f1")
RELEASE_SHOWN = ("roc_auc", "pr_auc", "eer", "ece", "accuracy", "precision", "recall", "f1", "fpr")


def front_matter(
    manifest: DetectorManifest,
    release_metrics: pl.DataFrame | None,
    corpus: Corpus,
    kinds: set[str],
) -> dict[str, Any]:
    """The card's metadata: licence, tags and the ``model-index`` (Hugging Face schema)."""
    row = records(release_metrics)[0] if records(release_metrics) else {}
    threshold = num(row.get("threshold", manifest.threshold))
    metrics = []
    for m in INDEX_METRICS:
        if (value := num(row.get(m))) is None:
            continue
        at_threshold = m in ("accuracy", "f1") and threshold is not None
        at = f" at threshold {threshold:.4f}" if at_threshold else ""
        entry: dict[str, Any] = {
            "type": m,
            "value": value,
            "name": f"{LABELS[m]}{at} (pooled out-of-fold)",
        }
        if at:
            entry["args"] = {"threshold": threshold}
        metrics.append(entry)
    name = f"aura-detector-{'-'.join(manifest.models)}"
    tags = ["aura", "video-classification", "fake-video-detection", "kedro"]
    tags += [t for k, t in (("features", "scikit-learn"), ("clips", "pytorch")) if k in kinds]
    tags += list(manifest.models)
    meta: dict[str, Any] = {"license": corpus.license}
    if corpus.license == "other":
        meta["license_name"] = corpus.license_name
    meta |= {
        "pipeline_tag": "video-classification",
        "tags": tags,
        "metrics": [m["type"] for m in metrics],
        "model-index": [
            {
                "name": name,
                "results": [
                    {
                        "task": {
                            "type": "video-classification",
                            "name": "Video classification (binary: real / fake)",
                        },
                        "dataset": {
                            "name": corpus.name,
                            "type": corpus.type,
                            "split": "out-of-fold",
                        },
                        "metrics": metrics,
                    }
                ]
                if metrics
                else [],
            }
        ],
    }
    return meta


def details_section(manifest: DetectorManifest, members: Sequence[Member]) -> list[str]:
    by_model: dict[str, list[Member]] = {}
    for m in members:
        by_model.setdefault(m.model, []).append(m)
    rows = []
    for model in manifest.models:
        ms = by_model.get(model, [])
        folds = [m.fold for m in ms if m.fold is not None]
        kind = ms[0].kind if ms else MISSING
        how = f"folds {', '.join(map(str, folds))}" if folds else "refit on every video"
        rows.append([model, kind, how, len(ms)])
    cal = manifest.calibration or {}
    params = cal.get("params") or {}
    shown = {k: v for k, v in params.items() if isinstance(v, int | float)}
    calibration = str(cal.get("method", MISSING)) + (f" ({text(shown)})" if shown else "")
    s = manifest.sampler or {}
    clips = [
        f"{c['num_frames']} frames, {c.get('source', 'scaled')} "
        f"{c.get('crop_size') or c.get('size') or 'native'} px"
        for c in s.get("clips", [])
    ]
    facts = [
        ["models", ", ".join(manifest.models)],
        ["strategy", manifest.strategy],
        ["calibration", calibration],
        ["threshold", f"{manifest.threshold:.4f} (rule {manifest.threshold_rule})"],
        ["version", manifest.version],
        ["created (UTC)", manifest.created_utc],
        ["config hash", manifest.config_hash],
        ["git commit", manifest.git_commit or MISSING],
        ["corpus fingerprint", manifest.corpus_fingerprint],
        [
            "handcrafted features",
            f"{len(manifest.feature_names)} columns" if s.get("features") else "not used",
        ],
        ["clips", "; ".join(clips) or "not used"],
        ["stage-2 sampling", s.get("stage2", {})],
        ["stage-4 sampling", s.get("stage4", {})],
        # output_dir is where this machine kept its scaled copies, not a setting of the model
        ["scaling", {k: v for k, v in s.get("scaling", {}).items() if k != "output_dir"}],
        ["max pixels per frame", s.get("max_pixels")],
    ]
    return [
        "A binary classifier of whole videos: real or fake. Each member scores the video; "
        "logits are averaged over a model's members, then over models, calibrated into a "
        "probability of *fake*, and the label is *fake* when that probability reaches the "
        "threshold (calibration and threshold fitted on the pooled out-of-fold predictions).",
        table(["model", "kind", "trained on", "members"], rows, left=3),
        table(["", "value"], facts, left=2),
    ]


def data_section(
    corpus: Corpus, facts: Mapping[str, Any] | None, manifest: DetectorManifest
) -> list[str]:
    blocks = [corpus.description]
    if facts:
        blocks.append(table(["fact", "value"], [[k, v] for k, v in facts.items()], left=2))
    else:
        blocks.append("No run facts were recorded for this run.")
    blocks.append(
        "Cross-validation folds are stratified by label and grouped by cascade (a cascade never "
        "sits on both sides of a split); augmented variants are used in training only. The "
        f"manifest's corpus fingerprint `{manifest.corpus_fingerprint[:16]}…` identifies the "
        "exact videos and labels."
    )
    if corpus.kind == "fvc":
        blocks.append("Citation:\n\n```bibtex\n" + FVC_BIBTEX + "\n```")
    return blocks


def evaluation_section(
    manifest: DetectorManifest,
    release_metrics: pl.DataFrame | None,
    summary: pl.DataFrame | None,
    comparisons: pl.DataFrame | None,
) -> list[str]:
    blocks = ["### The released detector at its threshold"]
    release = records(release_metrics)
    if release:
        r = release[0]
        blocks.append(
            f"Pooled out-of-fold metrics of the calibrated detector on {text(r.get('n'))} "
            f"videos at threshold {manifest.threshold:.4f} ({manifest.threshold_rule}):"
        )
        shown = [m for m in RELEASE_SHOWN if m in r]
        blocks.append(table([LABELS.get(m, m.upper()) for m in shown], [[r[m] for m in shown]], 0))
    else:
        blocks.append("No release metrics were recorded.")
    blocks.append("### Every model of the grid (pooled out-of-fold)")
    rows = sorted(records(summary), key=lambda r: str(r["model"]))
    if not rows:
        blocks.append("No cross-validation summary was recorded.")
        return blocks
    threshold = next((r["threshold"] for r in rows if not missing(r.get("threshold"))), None)

    def role(model: str) -> str:
        if model in manifest.models:
            return "released"
        return "metadata reference" if model == METADATA_MODEL else ""

    header = ["model", "role", "videos", "groups", *(LABELS[m] for m in POOLED_SHOWN)]
    body = [
        [r["model"], role(r["model"]), r.get("n_videos"), r.get("n_groups")]
        + [interval(r, m) for m in POOLED_SHOWN]
        for r in rows
    ]
    blocks.append(table(header, body, left=2))
    n_boot = next((int(r["n_boot"]) for r in rows if not missing(r.get("n_boot"))), 0)
    at = f" at score {float(threshold):g}" if threshold is not None else ""
    blocks.append(
        f"Every original is scored once, by the fold model that did not train on it. Brackets: "
        f"{level(summary)} percentile intervals over {n_boot} bootstrap resamples of whole "
        f"cascade groups. Accuracy and F1 here are{at} (uncalibrated scores)."
        if n_boot
        else "No bootstrap intervals were computed (evaluation.bootstrap is 0)."
    )
    blocks.append("### Metadata reference line")
    blocks.append(_metadata_text(manifest, rows, comparisons))
    blocks.append("### Significant paired differences")
    blocks.append(_significant_text(comparisons))
    return blocks


def _pair(comparisons: pl.DataFrame | None, a: str, b: str) -> dict[str, Any] | None:
    for r in records(comparisons):
        if {r["model_a"], r["model_b"]} == {a, b}:
            return r
    return None


def _diff(r: Mapping[str, Any], better: str) -> str:
    sign = 1 if r["model_a"] == better else -1
    lo, hi = (num(r.get(k)) for k in ("roc_auc_diff_lo", "roc_auc_diff_hi"))
    bounds = sorted((sign * lo, sign * hi)) if lo is not None and hi is not None else (None, None)
    return with_interval(sign * float(r["roc_auc_diff"]), *bounds, 3)


def _metadata_text(
    manifest: DetectorManifest, rows: list[dict[str, Any]], comparisons: pl.DataFrame | None
) -> str:
    meta = next((r for r in rows if r["model"] == METADATA_MODEL), None)
    if meta is None:
        return (
            f"No metadata reference line: `{METADATA_MODEL}` was not among training.models, so "
            "how much container / probe metadata alone explains was not measured."
        )
    out = (
        f"`{METADATA_MODEL}` (logistic regression on container and probe metadata only, never "
        f"the pixels) reaches ROC-AUC {interval(meta, 'roc_auc')}."
    )
    for model in manifest.models:
        if model == METADATA_MODEL or (pair := _pair(comparisons, model, METADATA_MODEL)) is None:
            continue
        if missing(pair.get("roc_auc_diff")):
            continue
        verdict = {True: "significant", False: "not significant", None: "no interval"}
        sig = pair.get("significant")
        out += (
            f" {model} − {METADATA_MODEL}: {_diff(pair, model)} "
            f"({verdict[None if sig is None else bool(sig)]})."
        )
    return out


def _significant_text(comparisons: pl.DataFrame | None) -> str:
    rows = records(comparisons)
    if not rows:
        return "No paired comparisons: fewer than two models were evaluated."
    found = []
    for r in rows:
        if r.get("significant") and not missing(r.get("roc_auc_diff")):
            better, worse = (
                (r["model_a"], r["model_b"])
                if float(r["roc_auc_diff"]) > 0
                else (r["model_b"], r["model_a"])
            )
            found.append(f"- {better} beats {worse} by {_diff(r, better)} ROC-AUC")
    if not found:
        return f"No paired ROC-AUC difference is significant at {level(comparisons)}."
    head = (
        f"ROC-AUC differences whose {level(comparisons)} paired interval (same cascade "
        "resamples for both models, on the videos both scored) excludes 0:"
    )
    return head + "\n\n" + "\n".join(found)


def slices_section(manifest: DetectorManifest, slices: pl.DataFrame | None) -> list[str]:
    rows = [r for r in records(slices) if r["model"] in manifest.models]
    if not rows:
        return ["No slice metrics were recorded for the released model(s)."]
    keys = ["model", "slice", "value", "n", "n_real", "n_fake", "n_groups"]
    scored = [r for r in rows if missing(r.get("note")) or r.get("note") == ""]
    listed = [r for r in rows if r not in scored]
    blocks = [
        "Pooled out-of-fold metrics of each released model by platform, resolution (shorter "
        "side, px), duration and codec; ROC-AUC with its cascade-bootstrap interval."
    ]
    header = [LABELS.get(k, k) for k in keys] + ["ROC-AUC", "PR-AUC", "accuracy", "F1"]
    body = [
        [
            *(r[k] for k in keys),
            interval(r, "roc_auc"),
            r.get("pr_auc"),
            r.get("accuracy"),
            r.get("f1"),
        ]
        for r in scored
    ]
    blocks.append(table(header, body, left=3) if body else "No slice could be scored.")
    if listed:
        blocks.append("Listed, not scored (too few videos or one class):")
        blocks.append(
            table(
                ["model", "slice", "value", "note", "n"],
                [[r["model"], r["slice"], r["value"], r["note"], r["n"]] for r in listed],
                left=4,
            )
        )
    return blocks


def robustness_section(manifest: DetectorManifest, robustness: pl.DataFrame | None) -> list[str]:
    rows = [r for r in records(robustness) if r["model"] in manifest.models]
    if not rows:
        return [
            "Robustness was not measured for the released model(s): the robustness table is "
            "empty (evaluation.robustness.enabled is false, or the pipeline did not run)."
        ]
    body = []
    for r in rows:
        delta = num(r.get("delta"))
        body.append(
            [
                r["model"],
                r["perturbation"],
                r.get("n"),
                r.get("n_unchanged"),
                r.get("n_failed"),
                interval(r, "roc_auc"),
                MISSING if delta is None else f"{delta:+.3f}",
            ]
        )
    return [
        "Each fold model re-scores its validation originals after a perturbation, through the "
        "inference path; `none` is the unperturbed score of the same videos. Δ is the paired "
        "ROC-AUC change on the videos the perturbation scored.",
        table(
            ["model", "perturbation", "n", "unchanged", "failed", "ROC-AUC", "Δ ROC-AUC"],
            body,
            left=2,
        ),
    ]


def render_model_card(
    detector: Detector,
    release_metrics: pl.DataFrame | None,
    cv_summary: pl.DataFrame | None,
    cv_comparisons: pl.DataFrame | None,
    cv_slices: pl.DataFrame | None,
    robustness_metrics: pl.DataFrame | None,
    run_facts: Mapping[str, Any] | None,
    corpus: CorpusConfig,
) -> str:
    """The model card of ``detector`` as Markdown with YAML front matter (Hugging Face format).

    The tables are ``release_metrics``, ``cv_summary``, ``cv_comparisons``, ``cv_slices`` and
    ``robustness_metrics`` as the pipelines write them; any of them (and ``run_facts``) may be
    None or empty, and the card then says what was not measured.
    """
    m = detector.manifest
    info = CORPORA[corpus.kind](corpus)
    kinds = {x.kind for x in detector.members}
    meta = yaml.safe_dump(front_matter(m, release_metrics, info, kinds), sort_keys=False)
    body = {
        "Model details": details_section(m, detector.members),
        "Intended use": [INTENDED_USE],
        "Out-of-scope uses": [OUT_OF_SCOPE.format(extra=info.out_of_scope)],
        "Training data": data_section(info, run_facts, m),
        "Evaluation": evaluation_section(m, release_metrics, cv_summary, cv_comparisons),
        "Slices": slices_section(m, cv_slices),
        "Robustness": robustness_section(m, robustness_metrics),
        "Limitations": limitations(detector, info, cv_summary, cv_slices, robustness_metrics),
        "Ethical considerations": [ETHICS.format(extra=info.ethics)],
    }
    parts = [
        f"---\n{meta}---",
        f"# AURA detector: {', '.join(m.models)} ({m.strategy})",
        "<!-- Generated by aura.release.model_card from the run's tables; do not edit by hand. -->",
    ]
    for title in SECTIONS:
        parts.append(f"## {title}")
        parts.extend(body[title])
    return "\n\n".join(parts) + "\n"
