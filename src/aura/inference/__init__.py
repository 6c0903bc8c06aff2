"""Scoring videos nobody trained on: per-video inputs, the detector, predictions."""
