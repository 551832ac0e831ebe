"""Recorder of the TMDB fixture from vega-datasets ``movies.json`` (``python -m jobs.ingest.recording``)."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.replay.recording import Route, response, responses_route, sha
from connectors.synth.public import recording_window

TMDB_AUTH = {"bearer": "replay-tmdb-token"}
TMDB_RATE = {"limit": 500, "window_s": 10}


TMDB_YEARS = range(2006, 2011)
VEGA_TO_TMDB_GENRES = {
    "Drama": [18],
    "Comedy": [35],
    "Action": [28],
    "Adventure": [12],
    "Thriller/Suspense": [53],
    "Horror": [27],
    "Romantic Comedy": [10749, 35],
    "Musical": [10402],
    "Documentary": [99],
    "Western": [37],
    "Black Comedy": [35, 80],
    "Concert/Performance": [10402, 99],
}


def build_tmdb(vega: Path) -> tuple[list[Route], dict[str, Any]]:

    movies = json.loads((vega / "movies.json").read_text())
    by_year: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in movies:
        if not m.get("Release Date"):
            continue
        released = datetime.strptime(m["Release Date"], "%b %d %Y").date()
        if released.year in TMDB_YEARS:
            by_year[released.year].append(m | {"_date": released})
    discover = responses_route("/3/discover/movie", auth=TMDB_AUTH, rate_limit=TMDB_RATE)
    movie = responses_route("/3/movie/{movie_id}", auth=TMDB_AUTH, rate_limit=TMDB_RATE)
    for year in TMDB_YEARS:
        rows = sorted(by_year[year], key=lambda m: (m["_date"], str(m["Title"])))
        pages = max(1, math.ceil(len(rows) / 20))
        query = _discover_query(year)
        for page in range(1, pages + 1):
            results = []
            for m in rows[(page - 1) * 20 : page * 20]:
                mid = 10_000 + int(sha("tmdb", m["Title"], m["_date"])[:6], 16) % 900_000
                genre_ids = VEGA_TO_TMDB_GENRES.get(m.get("Major Genre") or "", [])
                film = {
                    "id": mid,
                    "title": str(m["Title"]),
                    "release_date": m["_date"].isoformat(),
                    "genre_ids": genre_ids,
                    "popularity": round((m.get("IMDB Votes") or 0) / 1000, 3),
                    "vote_average": m.get("IMDB Rating") or 0.0,
                    "vote_count": m.get("IMDB Votes") or 0,
                    "budget": int(m.get("Production Budget") or 0),
                    "revenue": int(m.get("Worldwide Gross") or 0),
                    "runtime": m.get("Running Time min"),
                }
                results.append(_movie(movie, film))
            body = {"page": page, "results": results, "total_pages": pages, "total_results": len(rows)}
            response(discover, body, query=query | {"page": page})
    _public_window(discover, movie)
    meta = {
        "provenance": "vega-datasets movies.json (BSD-3-Clause; figures from The Numbers/IMDb/Rotten Tomatoes "
        "as packaged by vega) 2006-2010 releases; TMDB ids, genre mapping and production_countries=US synthetic. "
        "PLUS 2023-2024: SYNTHETIC releases from connectors/synth/public.py (seed 2023, CC0-1.0)",
        "synthetic": "2006-2010 real (vega movies.json), 2023-2024 synthetic",
        "windows": [
            {
                "window": "2006-01-01..2010-12-31",
                "synthetic": False,
                "data": "movie titles, release dates, budgets, grosses, IMDb ratings/votes, running times, genres",
                "source": "vega-datasets 3.2.1 movies.json",
                "licence": "BSD-3-Clause",
            },
            recording_window(
                "theatrical releases (titles, dates, genres, budgets, revenue, votes)",
                "releases per day on Fridays/Wednesdays with summer and holiday seasons; every title fictional",
            ),
        ],
    }
    return [discover, movie], meta


PUBLIC_YEARS = (2023, 2024)
_WORDS = [
    "Silent",
    "Harbor",
    "Crimson",
    "Meridian",
    "Glass",
    "Orchard",
    "Northern",
    "Static",
    "Last",
    "Lantern",
    "Paper",
    "Tide",
    "Iron",
    "Garden",
    "Hollow",
    "Signal",
    "Velvet",
    "Storm",
    "Distant",
    "Echo",
    "Copper",
    "Sky",
    "Winter",
    "Circuit",
    "Golden",
    "Hour",
    "Broken",
    "Compass",
    "Midnight",
    "Atlas",
]
_PUBLIC_GENRES = ([18], [35], [28, 12], [53], [27], [10749, 35], [878, 28], [16, 10751], [99], [80, 18], [14, 12])


def _public_window(discover: Route, movie: Route) -> None:
    """Discover pages and details of the public clock's 2023-24 releases (synthetic, fictional titles)."""
    import random

    from connectors.synth.public import public_clock

    clock = public_clock()
    releases = [d for d, n in zip(clock.dates, clock.movie_releases, strict=True) for _ in range(int(n))]
    for year in PUBLIC_YEARS:
        rows = [d for d in releases if d.year == year]
        pages = max(1, math.ceil(len(rows) / 20))
        query = _discover_query(year)
        for page in range(1, pages + 1):
            results = []
            for k, released in enumerate(rows[(page - 1) * 20 : page * 20]):
                n = (page - 1) * 20 + k
                rng = random.Random(sha("tmdb-public", year, n))
                title = " ".join(rng.sample(_WORDS, rng.choice((1, 2, 2, 3))))
                mid = 1_000_000 + int(sha("tmdb-public", title, released, n)[:6], 16) % 9_000_000
                genre_ids = [] if rng.random() < 0.04 else list(rng.choice(_PUBLIC_GENRES))
                budget = 0 if rng.random() < 0.2 else int(round(rng.lognormvariate(17.2, 1.0), -5))
                revenue = 0 if budget == 0 or rng.random() < 0.1 else int(budget * rng.lognormvariate(0.6, 0.9))
                votes = int(rng.lognormvariate(6.5, 1.4))
                rating = round(min(9.2, max(3.0, rng.gauss(6.5, 0.9))), 1)
                popularity = round(votes / 40 + rng.random() * 5, 3)
                film = {
                    "id": mid,
                    "title": title,
                    "release_date": released.isoformat(),
                    "genre_ids": genre_ids,
                    "popularity": popularity,
                    "vote_average": rating,
                    "vote_count": votes,
                    "budget": budget,
                    "revenue": revenue,
                    "runtime": None if rng.random() < 0.05 else rng.randint(82, 165),
                }
                results.append(_movie(movie, film))
            body = {"page": page, "results": results, "total_pages": pages, "total_results": len(rows)}
            response(discover, body, query=query | {"page": page})


def _discover_query(year: int) -> dict[str, str]:
    """``/3/discover/movie``'s query for one release year (the recording answers it page by page)."""
    return {
        "primary_release_date.gte": f"{year}-01-01",
        "primary_release_date.lte": f"{year}-12-31",
        "sort_by": "primary_release_date.asc",
        "include_adult": "false",
    }


def _movie(movie: Route, film: dict[str, Any]) -> dict[str, Any]:
    """Record ``/3/movie/{id}``'s details of ``film``; return the film as a discover page lists it."""
    from connectors.tmdb.models import GENRES

    item = {
        "adult": False,
        "backdrop_path": None,
        "genre_ids": film["genre_ids"],
        "id": film["id"],
        "original_language": "en",
        "original_title": film["title"],
        "overview": "",
        "popularity": film["popularity"],
        "poster_path": None,
        "release_date": film["release_date"],
        "title": film["title"],
        "video": False,
        "vote_average": film["vote_average"],
        "vote_count": film["vote_count"],
    }
    details = {
        "id": film["id"],
        "imdb_id": None,
        "title": film["title"],
        "original_title": film["title"],
        "original_language": "en",
        "release_date": film["release_date"],
        "status": "Released",
        "budget": film["budget"],
        "revenue": film["revenue"],
        "runtime": film["runtime"],
        "genres": [{"id": g, "name": GENRES[g]} for g in film["genre_ids"]],
        "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
        "spoken_languages": [{"iso_639_1": "en", "english_name": "English", "name": "English"}],
        "vote_average": film["vote_average"],
        "vote_count": film["vote_count"],
        "popularity": film["popularity"],
    }
    response(movie, details, path={"movie_id": film["id"]})
    return item
