"""Recorder of the Spotify fixture: the MusicBrainz recording's catalogue, linked by ISRC."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from connectors.musicbrainz.recording import MB_COUNTRIES, music_catalogue
from connectors.replay.recording import Route, response, responses_route, sha

SPOTIFY_RATE = {"limit": 180, "window_s": 30}
SPOTIFY_AUTH = {"oauth": True}
SPOTIFY_CLIENT = {"client_id": "replay-client-id", "client_secret": "replay-client-secret", "expires_in": 3600}
SPOTIFY_API = "https://api.spotify.com/v1"


def _paging(kind: str, items: list[Any], q: str, market: str, offset: int, total: int) -> dict[str, Any]:
    def url(o: int) -> str:
        return f"{SPOTIFY_API}/search?{urlencode({'q': q, 'type': kind, 'market': market, 'offset': o, 'limit': 50})}"

    return {
        "href": url(offset),
        "items": items,
        "limit": 50,
        "next": url(offset + 50) if offset + 50 < total else None,
        "offset": offset,
        "previous": url(offset - 50) if offset else None,
        "total": total,
    }


def build_spotify(_: Path) -> tuple[list[Route], dict[str, Any]]:
    catalogue = sorted((r for r in music_catalogue() if r["on_spotify"]), key=lambda r: (r["date"], r["mbid"]))
    token = {"path": "/api/token", "method": "POST", "oauth_token": SPOTIFY_CLIENT, "faults": False}
    search = responses_route("/v1/search", auth=SPOTIFY_AUTH, rate_limit=SPOTIFY_RATE)
    features = responses_route("/v1/audio-features", auth=SPOTIFY_AUTH, faults=False)
    response(features, {"error": {"status": 403, "message": "Forbidden"}}, status=403)
    q = "year:2015"
    for market in sorted(MB_COUNTRIES):
        albums, tracks = [], []
        for r in (r for r in catalogue if r["country"] == market):
            aid = sha("spotify-album", r["mbid"])[:22]
            art = sha("spotify-artist", r["artist"])[:22]
            artist = {"id": art, "name": r["artist"], "type": "artist", "uri": f"spotify:artist:{art}"}
            album = {
                "album_type": {"Album": "album", "Single": "single", "EP": "single"}[r["type"]],
                "total_tracks": len(r["tracks"]),
                "available_markets": [market],
                "href": f"{SPOTIFY_API}/albums/{aid}",
                "id": aid,
                "name": r["title"],
                "release_date": r["date"].isoformat(),
                "release_date_precision": "day",
                "type": "album",
                "uri": f"spotify:album:{aid}",
                "artists": [artist],
            }
            albums.append(album)
            for n, t in enumerate(r["tracks"]):
                tid = sha("spotify-track", t["recording_id"])[:22]
                tracks.append(
                    {
                        "id": tid,
                        "name": t["title"],
                        "track_number": n + 1,
                        "disc_number": 1,
                        "duration_ms": t["length"],
                        "explicit": False,
                        "artists": [artist],
                        "album": album,
                        "popularity": int(sha(tid)[:2], 16) % 100,
                        "external_ids": {"isrc": t["isrc"]},
                        "type": "track",
                        "uri": f"spotify:track:{tid}",
                    }
                )
        for kind, items, key in (("album", albums, "albums"), ("track", tracks, "tracks")):
            if len(items) > 1000:
                raise ValueError(f"Spotify search pages stop at offset 1000; {market} has {len(items)} {key}")
            for offset in range(0, max(1, len(items)), 50):
                body = {key: _paging(kind, items[offset : offset + 50], q, market, offset, len(items))}
                query = {"q": q, "type": kind, "market": market, "offset": offset, "limit": 50}
                response(search, body, query=query)
    meta = {
        "provenance": "synthetic (seed 15), the same catalogue as the MusicBrainz recording (shared ISRCs); "
        "audio-features answers 403 like the real API does for apps registered after 2024-11-27",
        "synthetic": True,
    }
    return [token, search, features], meta
