"""Offline replay server: recorded payloads per connector with pagination, rate-limit headers and seeded faults."""

from __future__ import annotations

from connectors.replay.faults import TRANSIENT_KINDS, FaultEvent, FaultPlan
from connectors.replay.manifest import Manifest, Route, fixture_dirs, load_manifest
from connectors.replay.server import ReplayServer

__all__ = [
    "TRANSIENT_KINDS",
    "FaultEvent",
    "FaultPlan",
    "Manifest",
    "ReplayServer",
    "Route",
    "fixture_dirs",
    "load_manifest",
]
