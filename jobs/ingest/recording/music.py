"""Recorders of the MusicBrainz and Spotify fixtures: one synthetic Q1-2015 catalogue, linked by ISRC."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jobs.ingest.recording._common import Route, response, responses_route, sha, uuid_of

MB_RATE = {"limit": 60, "window_s": 60}  # about 1 request/s averaged over a minute
SPOTIFY_RATE = {"limit": 180, "window_s": 30}
SPOTIFY_AUTH = {"oauth": True}
SPOTIFY_CLIENT = {"client_id": "replay-client-id", "client_secret": "replay-client-secret", "expires_in": 3600}
SPOTIFY_API = "https://api.spotify.com/v1"


MUSIC_MONTHS = [(2015, 1), (2015, 2), (2015, 3)]
MB_COUNTRIES = {
    "US": ("489ce91b-6658-3307-9877-795b68554c98", "United States"),
    "GB": ("8a754a16-0027-3a29-b6d7-2b40ea0481ed", "United Kingdom"),
}
PRIMARY_TYPES = ["Album", "Single", "EP"]


def _music_catalogue() -> list[dict[str, Any]]:
    """Synthetic releases for Q1 2015 shared by the MusicBrainz and Spotify recordings (ISRCs link them)."""
    rng = random.Random(15)
    releases: list[dict[str, Any]] = []
    for year, month in MUSIC_MONTHS:
        for country in MB_COUNTRIES:
            for k in range(rng.randint(25, 35)):
                day = date(year, month, rng.randint(1, 28))
                kind = rng.choices(PRIMARY_TYPES, weights=[5, 3, 2])[0]
                tracks = {"Album": rng.randint(8, 13), "Single": rng.randint(1, 3), "EP": rng.randint(4, 6)}[kind]
                artist = f"Artist {rng.randrange(60):02d}"
                rid = uuid_of("release", year, month, country, k)
                releases.append(
                    {
                        "mbid": rid,
                        "title": f"{kind} {country}{year}{month:02d}-{k:03d}",
                        "date": day,
                        "country": country,
                        "type": kind,
                        "artist": artist,
                        "artist_id": uuid_of("artist", artist),
                        "tracks": [
                            {
                                "title": f"Track {t + 1} of {rid[:8]}",
                                "length": rng.randint(150_000, 320_000),
                                "isrc": f"{country}CVY{day.year % 100:02d}{len(releases) * 20 + t:05d}",
                                "recording_id": uuid_of("recording", rid, t),
                            }
                            for t in range(tracks)
                        ],
                        "on_spotify": rng.random() < 0.7,
                    }
                )
    return releases


def _month_window(year: int, month: int) -> str:
    last = (date(year, month % 12 + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return f"[{year}-{month:02d}-01 TO {last.isoformat()}]"


def _credit(artist: str, artist_id: str) -> list[dict[str, Any]]:
    return [{"name": artist, "artist": {"id": artist_id, "name": artist, "sort-name": artist}}]


def build_musicbrainz(_: Path) -> tuple[list[Route], dict[str, Any]]:
    catalogue = _music_catalogue()
    releases = responses_route("/ws/2/release", rate_limit=MB_RATE)
    recordings = responses_route("/ws/2/recording", rate_limit=MB_RATE)
    created = "2015-04-01T00:00:00.000Z"
    for year, month in MUSIC_MONTHS:
        window = _month_window(year, month)
        for country, (area_id, area_name) in MB_COUNTRIES.items():
            rels = sorted(
                (
                    r
                    for r in catalogue
                    if r["country"] == country and (r["date"].year, r["date"].month) == (year, month)
                ),
                key=lambda r: (r["date"], r["mbid"]),
            )
            area = {"id": area_id, "name": area_name, "sort-name": area_name, "iso-3166-1-codes": [country]}
            items = [
                {
                    "id": r["mbid"],
                    "score": 100,
                    "count": 1,
                    "title": r["title"],
                    "status-id": "4e304316-386d-3409-af2e-78857eec5cfe",
                    "status": "Official",
                    "artist-credit": _credit(r["artist"], r["artist_id"]),
                    "release-group": {"id": uuid_of("rg", r["mbid"]), "title": r["title"], "primary-type": r["type"]},
                    "date": r["date"].isoformat(),
                    "country": country,
                    "release-events": [{"date": r["date"].isoformat(), "area": area}],
                    "barcode": str(int(sha(r["mbid"])[:11], 16))[:12],
                    "track-count": len(r["tracks"]),
                    "media": [{"format": "Digital Media", "disc-count": 0, "track-count": len(r["tracks"])}],
                }
                for r in rels
            ]
            query = {"query": f"date:{window} AND country:{country}", "fmt": "json"}
            for offset in range(0, max(1, len(items)), 100):
                body = {
                    "created": created,
                    "count": len(items),
                    "offset": offset,
                    "releases": items[offset : offset + 100],
                }
                response(releases, body, query=query | {"limit": 100, "offset": offset})
        recs = sorted(
            (
                {"rel": r, "t": t}
                for r in catalogue
                if (r["date"].year, r["date"].month) == (year, month)
                for t in r["tracks"]
            ),
            key=lambda x: x["t"]["recording_id"],
        )
        items = [
            {
                "id": x["t"]["recording_id"],
                "score": 100,
                "title": x["t"]["title"],
                "length": x["t"]["length"],
                "isrcs": [x["t"]["isrc"]],
                "first-release-date": x["rel"]["date"].isoformat(),
                "artist-credit": _credit(x["rel"]["artist"], x["rel"]["artist_id"]),
                "releases": [{"id": x["rel"]["mbid"], "title": x["rel"]["title"]}],
            }
            for x in recs
        ]
        query = {"query": f"firstreleasedate:{window}", "fmt": "json"}
        for offset in range(0, max(1, len(items)), 100):
            body = {
                "created": created,
                "count": len(items),
                "offset": offset,
                "recordings": items[offset : offset + 100],
            }
            response(recordings, body, query=query | {"limit": 100, "offset": offset})
    meta = {
        "provenance": "synthetic (seed 15): no openly licensed release catalogue ships in a registry package",
        "synthetic": True,
    }
    return [releases, recordings], meta


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
    catalogue = sorted((r for r in _music_catalogue() if r["on_spotify"]), key=lambda r: (r["date"], r["mbid"]))
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
