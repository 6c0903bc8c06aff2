"""Building blocks of the model card (:mod:`aura.release.model_card`): number and table
formatting, what the card says about each corpus kind, and its fixed prose."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from aura.evaluation.report_sections import text, with_interval


def missing(value: Any) -> bool:
    """None, NaN or not a number-like value that is empty."""
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def num(value: Any) -> float | None:
    return None if missing(value) else float(value)


def interval(row: Mapping[str, Any], metric: str) -> str:
    """``0.912 [0.851, 0.960]``; the point alone without an interval, a dash when missing."""
    return with_interval(row.get(metric), row.get(f"{metric}_lo"), row.get(f"{metric}_hi"), 3)


def _cell(value: Any) -> str:
    raw = value if isinstance(value, str) else text(value)
    return html.escape(raw, quote=False).replace("|", r"\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    """A GitHub pipe table; the first ``left`` columns hold text (left-aligned)."""
    align = "|" + "|".join(" --- " if i < left else " ---: " for i in range(len(header))) + "|"
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", align]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def records(df: pl.DataFrame | None) -> list[dict[str, Any]]:
    """``df`` as dicts; none for a missing or empty table."""
    return [] if df is None or df.height == 0 else df.to_dicts()


def level(df: pl.DataFrame | None) -> str:
    """The interval level of a table with a ``ci_level`` column, as ``95 %``."""
    found = [r["ci_level"] for r in records(df) if not missing(r.get("ci_level"))]
    return f"{100 * float(found[0]):g} %" if found else "95 %"


# ---- corpora ----

FVC_CITATION = (
    'Papadopoulou, O., Zampoglou, M., Papadopoulos, S., & Kompatsiaris, I. (2019). "A corpus '
    'of debunked and verified user-generated videos". *Online Information Review*, 43(1), '
    "72–88. https://doi.org/10.1108/OIR-03-2018-0101"
)
FVC_BIBTEX = """@article{papadopoulou2019corpus,
  title   = {A corpus of debunked and verified user-generated videos},
  author  = {Papadopoulou, Olga and Zampoglou, Markos and Papadopoulos, Symeon and
             Kompatsiaris, Ioannis},
  journal = {Online Information Review},
  volume  = {43},
  number  = {1},
  pages   = {72--88},
  year    = {2019},
  doi     = {10.1108/OIR-03-2018-0101}
}"""


@dataclass(frozen=True)
class Corpus:
    """What the card states about the training corpus."""

    kind: str
    name: str  # model-index dataset name
    type: str  # model-index dataset type
    license: str  # a Hugging Face licence id, or "other"
    license_name: str | None
    description: str
    out_of_scope: str
    ethics: str


def _fvc(corpus: Any) -> Corpus:
    return Corpus(
        kind="fvc",
        name="Fake Video Corpus (FVC)",
        type="fvc",
        license="cc-by-nc-sa-4.0",
        license_name=None,
        description=(
            "The Fake Video Corpus (FVC): user-generated videos of newsworthy events from "
            "YouTube, Facebook and Twitter that journalists debunked (*fake*) or verified "
            "(*real*), each with the cascade of its near-duplicate reposts. Citation: "
            f"{FVC_CITATION}. The corpus is licensed CC BY-NC-SA 4.0 (attribution, "
            "non-commercial, share-alike), and this detector is released under the same "
            f"licence. Annotations and videos read from `{corpus.root}`."
        ),
        out_of_scope=(
            "Commercial use: the training corpus is licensed CC BY-NC-SA 4.0 (non-commercial)."
        ),
        ethics=(
            "FVC's *fake* means *debunked*: a video can be misleading because of its caption or "
            "context while every pixel is authentic. A detector that reads pixels and container "
            "traces cannot see context, so a *real* verdict never means *true*."
        ),
    )


def _demo(corpus: Any) -> Corpus:
    from aura.corpus.demo import GENERATOR_VERSION

    d = corpus.demo
    return Corpus(
        kind="demo",
        name="AURA demo corpus (synthetic)",
        type="aura-demo",
        license="other",
        license_name="aura-demo-corpus",
        description=(
            "The AURA demo corpus: synthetic videos generated deterministically by "
            f"`aura.corpus.demo` (generator {GENERATOR_VERSION}, seed {d.seed}, "
            f"{d.n_cascades} cascades, {d.reposts_per_cascade} repost(s) each, "
            f"{d.min_duration_s:g}–{d.max_duration_s:g} s) into `{corpus.root}` in the FVC "
            "layout. *Real* clips imitate camera footage (sensor noise, handheld motion, "
            "motion blur); *fake* clips carry drawn synthesis traces (noise-free shading, "
            "blended frames, upsampling, composited regions, flicker). Licence statement: the "
            "clips contain no third-party footage; they are generated by the AURA code, under "
            "the AURA project's terms."
        ),
        out_of_scope=(
            "Any use on real videos: this detector was trained on the synthetic demo corpus "
            "and only demonstrates the pipeline."
        ),
        ethics=(
            "Trained on synthetic clips, this detector has no evidential value for real "
            "footage; publishing its scores as verdicts about real videos would mislead."
        ),
    )


def _manifest(corpus: Any) -> Corpus:
    source = corpus.manifest or corpus.root
    return Corpus(
        kind="manifest",
        name="User-supplied videos (manifest)",
        type="manifest",
        license="other",
        license_name="user-supplied-videos",
        description=(
            f"The user's own videos listed in the manifest `{source}` (`path,label[,group]`). "
            "Their licence is set by their owners and is not known to AURA; check it before "
            "sharing this detector."
        ),
        out_of_scope="Sharing or using the detector beyond what the videos' licences allow.",
        ethics="The videos' provenance and consent were not checked by AURA.",
    )


CORPORA: dict[str, Callable[[Any], Corpus]] = {"fvc": _fvc, "demo": _demo, "manifest": _manifest}


# ---- fixed prose ----

INTENDED_USE = (
    "Research on fake-video detection and decision support for verification work: a "
    "calibrated probability that a short user-generated video is fake, with per-segment "
    "scores and the fold models' spread, for a person who checks the video's source and "
    "context before concluding anything. Scored with `aura predict`, `mlflow models serve` or "
    "the AURA dashboard, which apply the same sampling and features as training (see the "
    "sampler settings above)."
)
OUT_OF_SCOPE = (
    "- Sole or automatic grounds for removing, labelling or ranking content, or for legal, "
    "journalistic or disciplinary decisions about people.\n"
    "- Videos unlike the training corpus (other platforms, lengths, codecs or kinds of "
    "manipulation), still images, audio-only media, live streams.\n"
    "- Identifying people, or judging whether a claim about a video is true.\n"
    "- Adversarial settings: the detector was not hardened against someone evading it.\n"
    "- {extra}"
)
ETHICS = (
    "- A false *fake* verdict can discredit genuine footage and the people who filmed it "
    "(eyewitnesses, journalists); a false *real* verdict can lend credibility to a "
    "fabrication. Report both error rates (see Evaluation) wherever the scores are shown.\n"
    "- The videos show real people who did not consent to this use; do not use the detector "
    "or its explanations to identify or profile them.\n"
    "- Performance differs by platform, resolution, duration and codec (see Slices); groups "
    "of videos under-represented in training may be judged worse.\n"
    "- {extra}"
)
