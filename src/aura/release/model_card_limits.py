"""The model card's Limitations section: what the run's own data say its numbers cannot carry."""

from __future__ import annotations

from typing import Any

import polars as pl

from aura.evaluation.report_sections import METADATA_MODEL, MISSING, text
from aura.release.detector import Detector
from aura.release.model_card_parts import Corpus, interval, missing, num, records

#: A ROC-AUC interval at least this wide is called out as too wide to rank models by.
WIDE = 0.1


def _pretrained(detector: Detector, model: str) -> list[str]:
    """What each clip member of ``model`` started from (its fit report), else the setting."""
    found: set[str] = set()
    for m in detector.members:
        fit = getattr(m.artifact, "fit", None)  # a TrainedClipModel's FitReport
        if m.model == model and fit is not None:
            found.add(str(fit.pretrained_status))
    if found:
        return sorted(found)
    params = (detector.manifest.config.get("training") or {}).get("model_params") or {}
    setting = (params.get(model) or {}).get("pretrained")
    return [] if setting is None else ["off" if setting is False else f"setting {setting}"]


def _off_chance(row: dict[str, Any]) -> bool:
    """The ROC-AUC interval excludes 0.5 (either side: a reversed shortcut is one too)."""
    lo, hi = num(row.get("roc_auc_lo")), num(row.get("roc_auc_hi"))
    return lo is not None and hi is not None and (lo > 0.5 or hi < 0.5)


def _size_text(summary: list[dict[str, Any]], corpus: Corpus) -> str:
    if not summary:
        return "No pooled summary of the released model(s) was recorded; the sample is unknown."
    r = summary[0]
    where = "synthetic demo clips" if corpus.kind == "demo" else "videos"
    out = (
        f"The numbers rest on {text(r.get('n_videos'))} {where} ({text(r.get('n_real'))} real, "
        f"{text(r.get('n_fake'))} fake) in {text(r.get('n_groups'))} cascade groups over "
        f"{text(r.get('n_folds'))} folds."
    )
    if corpus.kind == "demo":
        out += " They show that the pipeline works end to end, not how well it detects real fakes."
    return out


def limitations(
    detector: Detector,
    corpus: Corpus,
    summary: pl.DataFrame | None,
    slices: pl.DataFrame | None,
    robustness: pl.DataFrame | None,
) -> list[str]:
    """What the run's own data say the numbers above cannot carry."""
    m = detector.manifest
    released = [r for r in records(summary) if r["model"] in m.models]
    items = [_size_text(released, corpus)]
    for r in released:
        lo, hi = num(r.get("roc_auc_lo")), num(r.get("roc_auc_hi"))
        if lo is None or hi is None:
            items.append(f"{r['model']}: no interval for ROC-AUC; its uncertainty is not stated.")
        else:
            width = hi - lo
            tail = (
                ": too wide to pin down how well it ranks, or to tell it from models closer "
                "than that."
                if width >= WIDE
                else "."
            )
            items.append(
                f"{r['model']}: ROC-AUC {interval(r, 'roc_auc')}, an interval {width:.3f} wide{tail}"
            )
    items.append(
        f"Calibration ({m.calibration.get('method', MISSING)}) and the threshold "
        f"({m.threshold_rule}) were fitted on the same out-of-fold predictions they are "
        "evaluated on, so the metrics at the threshold are optimistic."
    )
    if m.strategy == "refit":
        items.append(
            "Strategy refit: the released model has no out-of-fold scores of its own; its "
            "metrics are those of the fold models it stands in for."
        )
    kinds = {x.model: x.kind for x in detector.members}
    for model in m.models:
        if kinds.get(model) != "clips":
            continue
        status = _pretrained(detector, model)
        if not status or any(s == "off" or s.startswith("scratch") for s in status):
            items.append(
                f"{model} was trained from scratch, without pretrained weights "
                f"(pretrained status: {', '.join(status) or 'unknown'}); its score says little "
                "about the architecture with pretrained weights and full-scale (GPU) training."
            )
    if "clips" not in kinds.values():
        items.append("Feature models only: no deep video model is part of the detector.")
    meta = next((r for r in records(summary) if r["model"] == METADATA_MODEL), None)
    if meta is None:
        items.append("Shortcuts through container metadata were not audited (no metadata model).")
    else:
        auc = f"ROC-AUC {interval(meta, 'roc_auc')}"
        if missing(meta.get("roc_auc_lo")):
            items.append(f"Metadata alone: {auc}, without an interval to judge it against chance.")
        elif _off_chance(meta):
            items.append(
                f"Metadata alone separates the classes better than chance ({auc}): resolution, "
                "codec or bit rate differ between them, a shortcut any model may use instead "
                "of manipulation traces."
            )
        else:
            items.append(
                f"Metadata alone stays near chance ({auc}): no shortcut through container "
                "properties was found."
            )
    listed = [r for r in records(slices) if r["model"] in m.models and not missing(r.get("note"))]
    if listed:
        items.append(
            f"{len(listed)} slice(s) of the released model(s) had too few videos or one class "
            "and were not scored: performance there is unknown."
        )
    shifts = [
        r
        for r in records(robustness)
        if r["model"] in m.models
        and r["perturbation"] != "none"
        and num(r.get("delta")) is not None
    ]
    if shifts:
        worst = min(shifts, key=lambda r: float(r["delta"]))
        items.append(
            f"Largest robustness drop: {worst['model']} under {worst['perturbation']}, "
            f"Δ ROC-AUC {float(worst['delta']):+.3f}."
        )
    else:
        items.append("Robustness to re-encoding, resizing and cropping was not measured.")
    return ["\n".join(f"- {item}" for item in items)]
