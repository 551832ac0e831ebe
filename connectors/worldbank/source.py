"""World Bank source: indicator observations per country (no key; paged ``[meta, rows]`` JSON answers)."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Partition, SourcePlan
from connectors.worldbank.models import Observation

REPLAY_AUTH = None  # the API needs no key
# What the bundled recording covers (statsmodels' copy of WDI SP.DYN.TFRT.IN); a real run passes its own.
DEFAULTS: dict[str, Any] = {
    "countries": ["USA", "GBR", "DEU", "JPN", "KOR", "IND", "BRA", "NGA"],
    "indicators": ["SP.DYN.TFRT.IN"],
    "years": "1960:2013",
}


def build_source() -> dict[str, Any]:
    """The declarative spec. Partitions: ``{"country": "USA", "indicator": "SP.DYN.TFRT.IN", "date": "1960:2013"}``."""
    return {
        "name": "worldbank",
        "description": "World Bank World Development Indicators: yearly (or quarterly/monthly) values per country.",
        "base_url": "https://api.worldbank.org",
        "auth": None,
        "rate_limit": {"requests_per_second": 5, "burst": 10},  # no published limit: stay polite
        "endpoints": [
            {
                "name": "indicator",
                "path": "/v2/country/{country}/indicator/{indicator}",
                "params": {"format": "json"},
                "paginator": {
                    "type": "page_number",
                    "size_param": "per_page",
                    "size": 50,
                    "total_pages_path": "0.pages",
                },
                "records": "1",  # [meta, rows]: the rows are the second element (null when none match)
                "primary_key": "date",
                "model": Observation,
            }
        ],
    }


def first_stage(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    """One partition per country and indicator over the configured year range."""
    return [
        Partition("worldbank", "indicator", {"country": str(c), "indicator": str(i), "date": str(opts["years"])})
        for c in opts["countries"]
        for i in opts["indicators"]
    ]


# Not in ``sources: all`` yet: its annual series would change the demo lake every other test and eval reads.
PLAN = SourcePlan(defaults=DEFAULTS, first=first_stage, replay_auth=REPLAY_AUTH, in_default_run=False)

__all__ = ["DEFAULTS", "PLAN", "REPLAY_AUTH", "build_source", "first_stage"]
