"""Seeded synthetic enterprise systems (CRM, ads, finance, HR, support, plants) with planted ground truth."""

from __future__ import annotations

from connectors.synth.errors import SynthConfigError, SynthError
from connectors.synth.source import DEFAULT_START, GOLD, SynthResult, generate, gold_series, run_synth
from connectors.synth.world import CONFOUNDED, RELATIONSHIPS, World, series_id, simulate

__all__ = [
    "CONFOUNDED",
    "DEFAULT_START",
    "GOLD",
    "RELATIONSHIPS",
    "SynthConfigError",
    "SynthError",
    "SynthResult",
    "World",
    "generate",
    "gold_series",
    "run_synth",
    "series_id",
    "simulate",
]
