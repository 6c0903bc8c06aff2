"""Tests of aura.features."""
