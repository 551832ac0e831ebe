"""MusicBrainz source: releases by date window and area, recordings (with ISRCs) by first release date."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from connectors.core.connector import Partition, SourcePlan
from connectors.musicbrainz.models import Recording, Release

REPLAY_AUTH = None  # no key; a meaningful User-Agent is required instead


def _user_agent() -> str:
    from covary.settings import get_settings

    return get_settings().connectors.musicbrainz_user_agent


def build_source() -> dict[str, Any]:
    """The declarative spec: WS/2 search, JSON, 100 per page, at most 1 request per second per client."""
    common = {"params": {"fmt": "json"}, "paginator": {"type": "offset", "limit": 100, "total_path": "count"}}
    return {
        "name": "musicbrainz",
        "description": "MusicBrainz: releases by date and area, recordings with ISRCs (links to Spotify).",
        "base_url": "https://musicbrainz.org",
        "headers": {"User-Agent": _user_agent(), "Accept": "application/json"},
        "rate_limit": {"requests_per_second": 1, "burst": 1},  # MusicBrainz: 1 request/s per IP, else 503
        "endpoints": [
            {
                "name": "releases",
                "path": "/ws/2/release",
                **common,
                "records": "releases",
                "primary_key": "id",
                "model": Release,
            },
            {
                "name": "recordings",
                "path": "/ws/2/recording",
                **common,
                "records": "recordings",
                "primary_key": "id",
                "model": Recording,
            },
        ],
    }


def month_window(year: int, month: int) -> str:
    """Lucene date range of one month, e.g. ``[2015-01-01 TO 2015-01-31]``."""
    last = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
    return f"[{year}-{month:02d}-01 TO {last.isoformat()}]"


def releases_query(year: int, month: int, country: str) -> dict[str, str]:
    return {"query": f"date:{month_window(year, month)} AND country:{country}"}


def recordings_query(year: int, month: int) -> dict[str, str]:
    return {"query": f"firstreleasedate:{month_window(year, month)}"}


DEFAULTS: dict[str, Any] = {
    "months": ["2015-01", "2015-02", "2015-03"],
    "countries": ["US", "GB"],
    # the 2023-24 public window (GB is recorded too; US only by default: 1 request/s, one partition per month)
    "also": [{"months": [f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)], "countries": ["US"]}],
}


def first_stage(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    """Releases per month and country, recordings per month."""
    months = [tuple(int(p) for p in m.split("-")) for m in opts["months"]]
    out = [Partition("musicbrainz", "releases", releases_query(y, m, c)) for y, m in months for c in opts["countries"]]
    return out + [Partition("musicbrainz", "recordings", recordings_query(y, m)) for y, m in months]


PLAN = SourcePlan(defaults=DEFAULTS, first=first_stage, max_in_flight=1, replay_auth=REPLAY_AUTH)


__all__ = [
    "DEFAULTS",
    "PLAN",
    "REPLAY_AUTH",
    "build_source",
    "first_stage",
    "month_window",
    "recordings_query",
    "releases_query",
]
