"""Spotify albums and tracks (with audio features when allowed) -> silver.spotify_albums, silver.spotify_tracks."""

from __future__ import annotations

from datetime import date
from typing import Any

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.connector import parse_records as _parse
from connectors.spotify import models as spotify


def spotify_date(value: str, precision: str) -> date:
    """Spotify ``release_date`` at ``year``/``month``/``day`` precision; coarse ones map to the first day."""
    parts = [int(p) for p in value.split("-")]
    del precision
    while len(parts) < 3:
        parts.append(1)
    return date(parts[0], parts[1], parts[2])


def spotify_albums(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = []
    for a in _parse(spotify.SimpleAlbum, records, rej, "spotify/albums"):
        day = spotify_date(a.release_date, a.release_date_precision)
        rows.append(
            {
                "album_id": a.id,
                "name": a.name,
                "album_type": a.album_type,
                "release_date": day,
                "date": day,
                "release_date_precision": a.release_date_precision,
                "total_tracks": a.total_tracks,
                "artist": a.artists[0].name if a.artists else None,
                "markets": a.available_markets,
            }
        )
    return {"silver.spotify_albums": rows}


def spotify_tracks(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    features = {f["id"]: f for f in ctx.get("audio_features") or [] if f}
    rows = []
    for t in _parse(spotify.Track, records, rej, "spotify/tracks"):
        day = spotify_date(t.album.release_date, t.album.release_date_precision)
        f = features.get(t.id, {})
        rows.append(
            {
                "track_id": t.id,
                "name": t.name,
                "album_id": t.album.id,
                "release_date": day,
                "date": day,
                "duration_ms": t.duration_ms,
                "explicit": t.explicit,
                "popularity": t.popularity,
                "isrc": t.external_ids.isrc,
                "artist": t.artists[0].name if t.artists else None,
                "danceability": f.get("danceability"),
                "energy": f.get("energy"),
                "valence": f.get("valence"),
                "tempo": f.get("tempo"),
            }
        )
    return {"silver.spotify_tracks": rows}


TRANSFORMS: dict[str, Transform] = {
    "albums": spotify_albums,
    "tracks": spotify_tracks,
}

__all__ = ["TRANSFORMS", "spotify_albums", "spotify_date", "spotify_tracks"]
