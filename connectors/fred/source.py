"""FRED source: series metadata and observations (incremental on the observation date)."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Partition, SourcePlan
from connectors.fred.models import Observation, Series

REPLAY_AUTH = {"type": "api_key", "name": "api_key", "location": "query", "key": "replay-fred-key"}


def build_source() -> dict[str, Any]:
    """The declarative spec. Partitions are series: ``{"series_id": "GDPC1"}``."""
    return {
        "name": "fred",
        "description": "Federal Reserve Economic Data: series metadata and observations.",
        "base_url": "https://api.stlouisfed.org",
        "auth": {"type": "api_key", "name": "api_key", "location": "query", "key": "setting:fred_api_key"},
        "rate_limit": {"requests_per_second": 2, "burst": 20},  # FRED: 120 requests per minute
        "endpoints": [
            {
                "name": "series",
                "path": "/fred/series",
                "params": {"file_type": "json"},
                "records": "seriess",
                "primary_key": "id",
                "model": Series,
            },
            {
                "name": "observations",
                "path": "/fred/series/observations",
                "params": {"file_type": "json", "sort_order": "asc"},
                "paginator": {"type": "offset", "limit": 100, "total_path": "count"},
                "records": "observations",
                "primary_key": "date",
                "model": Observation,
                "incremental": {"cursor_field": "date", "param": "observation_start"},
            },
        ],
    }


DEFAULTS: dict[str, Any] = {
    "series": ["GDPC1", "PCECC96", "CPIAUCSL", "UNRATE", "TB3MS", "M1SL", "SP500"],
    "also": [{"series": ["DGS10", "DCOILWTICO", "ICSA", "PAYEMS", "UMCSENT"]}],  # the 2023-24 public window
}


def first_stage(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    """Metadata and observations per series."""
    return [Partition("fred", ep, {"series_id": s}) for s in opts["series"] for ep in ("series", "observations")]


PLAN = SourcePlan(defaults=DEFAULTS, first=first_stage, replay_auth=REPLAY_AUTH)


__all__ = ["DEFAULTS", "PLAN", "REPLAY_AUTH", "build_source", "first_stage"]
