"""Spotify source: client-credentials token, album and track search by release year and market, audio features."""

from __future__ import annotations

import logging
from typing import Any

from connectors.core import HttpClient
from connectors.core.connector import Partition, SourcePlan
from connectors.errors import TerminalHTTPError
from connectors.spotify.models import SeveralAudioFeatures, SimpleAlbum, Track

log = logging.getLogger(__name__)

TOKEN_URL = "https://accounts.spotify.com/api/token"
REPLAY_CLIENT = {"client_id": "replay-client-id", "client_secret": "replay-client-secret"}
AUDIO_FEATURES_GONE = (
    "Spotify refused /v1/audio-features (HTTP {status}): since 2024-11-27 apps registered after that date (or in "
    "development mode) cannot read audio features; tracks land without them"
)


def build_source(*, token_url: str = TOKEN_URL) -> dict[str, Any]:
    """The declarative spec. Partitions: ``{"q": "year:2015", "market": "US"}`` (search stops at offset 1000)."""

    def search(name: str, kind: str, model: type) -> dict[str, Any]:
        return {
            "name": name,
            "path": "/v1/search",
            "params": {"type": kind},
            "paginator": {"type": "offset", "limit": 50, "total_path": f"{name}.total"},
            "records": f"{name}.items",
            "primary_key": "id",
            "model": model,
            "max_pages": 20,
        }

    return {
        "name": "spotify",
        "description": "Spotify Web API: albums and tracks (with ISRC) by release year; audio features if allowed.",
        "base_url": "https://api.spotify.com",
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": token_url,
            "client_id": "setting:spotify_client_id",
            "client_secret": "setting:spotify_client_secret",
        },
        "rate_limit": {"requests_per_second": 5, "burst": 10},  # rolling 30 s window; 429 + Retry-After beyond
        "endpoints": [search("albums", "album", SimpleAlbum), search("tracks", "track", Track)],
    }


def audio_features(client: HttpClient, track_ids: list[str]) -> list[dict[str, Any]] | None:
    """Audio features of up to 100 tracks per request, or ``None`` when Spotify refuses them (403/404).

    Degrades gracefully: the deprecation is logged once per call and ingestion goes on without features.
    """
    out: list[dict[str, Any]] = []
    for start in range(0, len(track_ids), 100):
        ids = ",".join(track_ids[start : start + 100])
        try:
            response = client.request("GET", "/v1/audio-features", params={"ids": ids}, context="audio_features")
        except TerminalHTTPError as exc:
            if exc.status in (403, 404):
                log.warning(AUDIO_FEATURES_GONE.format(status=exc.status))
                return None
            raise
        parsed = SeveralAudioFeatures.model_validate(response.data)
        out += [f.model_dump() for f in parsed.audio_features if f is not None]
    return out


DEFAULTS: dict[str, Any] = {"query": "year:2015", "markets": ["US", "GB"]}


def first_stage(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    """Album and track search per market."""
    return [
        Partition("spotify", ep, {"q": opts["query"], "market": market})
        for market in opts["markets"]
        for ep in ("albums", "tracks")
    ]


def replay_spec(replay_url: str) -> dict[str, Any]:
    """The spec against the replay server: its token endpoint and the recording's client credentials."""
    spec = dict(build_source(token_url=f"{replay_url}/api/token"))
    spec["auth"] = dict(spec["auth"]) | REPLAY_CLIENT
    return spec


def track_context(client: HttpClient, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Audio features of a tracks partition's records (None when Spotify refuses them)."""
    return {"audio_features": audio_features(client, [str(r["id"]) for r in records])}


PLAN = SourcePlan(defaults=DEFAULTS, first=first_stage, replay_spec=replay_spec, context={"tracks": track_context})


__all__ = [
    "AUDIO_FEATURES_GONE",
    "DEFAULTS",
    "PLAN",
    "REPLAY_CLIENT",
    "TOKEN_URL",
    "audio_features",
    "build_source",
    "first_stage",
    "replay_spec",
    "track_context",
]
