"""Recorder of the MusicBrainz fixture: one synthetic Q1-2015 catalogue (shared with Spotify by ISRC)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from connectors.replay.recording import Route, response, responses_route, sha, uuid_of
from connectors.synth.public import recording_window

MB_RATE = {"limit": 60, "window_s": 60}  # about 1 request/s averaged over a minute


MUSIC_MONTHS = [(2015, 1), (2015, 2), (2015, 3)]
MB_COUNTRIES = {
    "US": ("489ce91b-6658-3307-9877-795b68554c98", "United States"),
    "GB": ("8a754a16-0027-3a29-b6d7-2b40ea0481ed", "United Kingdom"),
}
PRIMARY_TYPES = ["Album", "Single", "EP"]


def music_catalogue() -> list[dict[str, Any]]:
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


def _record_months(
    releases: Route,
    recordings: Route,
    catalogue: list[dict[str, Any]],
    months: list[tuple[int, int]],
    created: str,
) -> None:
    """Release searches per month and country, recording searches per month (100 per page, like the API)."""
    for year, month in months:
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
                    "barcode": r["barcode"] if "barcode" in r else str(int(sha(r["mbid"])[:11], 16))[:12],
                    "track-count": len(r["tracks"]),
                    "media": [{"format": "Digital Media", "disc-count": 0, "track-count": len(r["tracks"])}],
                }
                for r in rels
            ]
            query = {"query": f"date:{window} AND country:{country}", "fmt": "json"}
            _search_pages(releases, "releases", items, query, created)
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
                "isrcs": [x["t"]["isrc"]] if x["t"]["isrc"] else [],
                "first-release-date": x["rel"]["date"].isoformat(),
                "artist-credit": _credit(x["rel"]["artist"], x["rel"]["artist_id"]),
                "releases": [{"id": x["rel"]["mbid"], "title": x["rel"]["title"]}],
            }
            for x in recs
        ]
        _search_pages(recordings, "recordings", items, {"query": f"firstreleasedate:{window}", "fmt": "json"}, created)


def _search_pages(route: Route, key: str, items: list[Any], query: dict[str, Any], created: str) -> None:
    """Record a WS/2 search's answers, 100 hits a page (one empty page when nothing matched)."""
    for offset in range(0, max(1, len(items)), 100):
        body = {"created": created, "count": len(items), "offset": offset, key: items[offset : offset + 100]}
        response(route, body, query=query | {"limit": 100, "offset": offset})


def build_musicbrainz(_: Path) -> tuple[list[Route], dict[str, Any]]:
    releases = responses_route("/ws/2/release", rate_limit=MB_RATE)
    recordings = responses_route("/ws/2/recording", rate_limit=MB_RATE)
    _record_months(releases, recordings, music_catalogue(), MUSIC_MONTHS, "2015-04-01T00:00:00.000Z")
    _record_months(releases, recordings, public_catalogue(), PUBLIC_MONTHS, "2025-01-05T00:00:00.000Z")
    meta = {
        "provenance": "synthetic (seed 15): no openly licensed release catalogue ships in a registry package; "
        "2023-2024 releases synthetic from connectors/synth/public.py (seed 2023)",
        "synthetic": True,
        "windows": [
            {
                "window": "2015-01-01..2015-03-31",
                "synthetic": True,
                "data": "releases and recordings (ISRCs shared with the Spotify recording)",
                "source": "covary seed 15",
                "licence": "CC0-1.0 (synthetic, generated by covary)",
            },
            recording_window(
                "releases (US, GB) and their recordings; some without barcode or ISRC, as in real MusicBrainz data",
                "releases per day with Friday release day and a December lull; titles and artists fictional",
            ),
        ],
    }
    return [releases, recordings], meta


PUBLIC_MONTHS = [(y, m) for y in (2023, 2024) for m in range(1, 13)]


def public_catalogue() -> list[dict[str, Any]]:
    """The public clock's 2023-24 releases (synthetic) in the shape of :func:`music_catalogue`."""
    from connectors.synth.public import MUSIC_COUNTRIES, public_clock

    clock = public_clock()
    rng = random.Random(2023)
    out: list[dict[str, Any]] = []
    for country in MUSIC_COUNTRIES:
        for day, n in zip(clock.dates, clock.music_releases[country], strict=True):
            for k in range(int(n)):
                kind = rng.choices(PRIMARY_TYPES, weights=[1.5, 6.5, 2])[0]
                tracks = {"Album": rng.randint(8, 12), "Single": rng.randint(1, 2), "EP": rng.randint(4, 6)}[kind]
                artist = f"Artist {country}-{rng.randrange(120):03d}"
                rid = uuid_of("public-release", day, country, k)
                release: dict[str, Any] = {
                    "mbid": rid,
                    "title": f"{kind} {country}{day:%Y%m%d}-{k:02d}",
                    "date": day,
                    "country": country,
                    "type": kind,
                    "artist": artist,
                    "artist_id": uuid_of("artist", artist),
                    "tracks": [
                        {
                            "title": f"Track {t + 1} of {rid[:8]}",
                            "length": rng.randint(140_000, 300_000),
                            "isrc": None if rng.random() < 0.1 else f"{country}CVP{day:%y}{len(out) * 13 + t:05d}",
                            "recording_id": uuid_of("public-recording", rid, t),
                        }
                        for t in range(tracks)
                    ],
                    "on_spotify": False,
                }
                if rng.random() < 0.25:
                    release["barcode"] = None
                out.append(release)
    return out
