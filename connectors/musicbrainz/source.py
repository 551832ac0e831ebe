"""MusicBrainz source: releases by date window and area, recordings (with ISRCs) by first release date."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

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


__all__ = ["REPLAY_AUTH", "build_source", "month_window", "recordings_query", "releases_query"]
