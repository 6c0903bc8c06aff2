"""Deterministic demo corpus in the FVC layout: real camera-like clips vs clips with synthesis traces.

``generate_demo_corpus(root, DemoConfig(...))`` writes ``FVC.csv``, ``FVC_dup.csv``,
``videos/FVC1..3/<video_id>.<ext>`` and ``demo_manifest.json`` (every drawn parameter, trace and
file hash), so the ordinary FVC importer reads it unchanged.
"""

from __future__ import annotations

from aura.corpus.demo.generate import (
    GENERATOR_VERSION,
    MANIFEST_NAME,
    DemoConfig,
    generate_demo_corpus,
    plan,
)
from aura.corpus.demo.traces import TRACES

__all__ = [
    "GENERATOR_VERSION",
    "MANIFEST_NAME",
    "TRACES",
    "DemoConfig",
    "generate_demo_corpus",
    "plan",
]
