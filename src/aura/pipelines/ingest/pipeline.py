"""Ingest pipeline: materialise the corpus, read its annotations, probe every video."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.ingest.nodes import build_video_index, materialise_corpus, read_annotations


def create_pipeline(**kwargs: object) -> Pipeline:
    """``params:corpus`` → ``corpus_spec`` → ``annotations`` → ``video_index``."""
    return pipeline(
        [
            node(materialise_corpus, "params:corpus", "corpus_spec", name="materialise_corpus"),
            node(
                read_annotations,
                ["corpus_spec", "params:corpus"],
                "annotations",
                name="read_annotations",
            ),
            node(
                build_video_index,
                ["annotations", "params:ingest"],
                "video_index",
                name="build_video_index",
            ),
        ],
        tags="ingest",
    )
