"""Recorders of the TMDB, weather, PokeAPI and FRED fixtures from vega-datasets, @pkmn/dex and statsmodels."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jobs.ingest.recording._common import Route, records_route, response, responses_route, sha

TMDB_AUTH = {"bearer": "replay-tmdb-token"}
TMDB_RATE = {"limit": 500, "window_s": 10}
FRED_AUTH = {"query": "api_key", "value": "replay-fred-key"}
FRED_RATE = {"limit": 120, "window_s": 60}
OWM_AUTH = {"query": "appid", "value": "replay-owm-key"}


# --------------------------------------------------------------------------------------- TMDB
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
    from connectors.tmdb.models import GENRES

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
        query = {
            "primary_release_date.gte": f"{year}-01-01",
            "primary_release_date.lte": f"{year}-12-31",
            "sort_by": "primary_release_date.asc",
            "include_adult": "false",
        }
        for page in range(1, pages + 1):
            results = []
            for m in rows[(page - 1) * 20 : page * 20]:
                mid = 10_000 + int(sha("tmdb", m["Title"], m["_date"])[:6], 16) % 900_000
                genre_ids = VEGA_TO_TMDB_GENRES.get(m.get("Major Genre") or "", [])
                item = {
                    "adult": False,
                    "backdrop_path": None,
                    "genre_ids": genre_ids,
                    "id": mid,
                    "original_language": "en",
                    "original_title": str(m["Title"]),
                    "overview": "",
                    "popularity": round((m.get("IMDB Votes") or 0) / 1000, 3),
                    "poster_path": None,
                    "release_date": m["_date"].isoformat(),
                    "title": str(m["Title"]),
                    "video": False,
                    "vote_average": m.get("IMDB Rating") or 0.0,
                    "vote_count": m.get("IMDB Votes") or 0,
                }
                results.append(item)
                details = {
                    "id": mid,
                    "imdb_id": None,
                    "title": item["title"],
                    "original_title": item["title"],
                    "original_language": "en",
                    "release_date": item["release_date"],
                    "status": "Released",
                    "budget": int(m.get("Production Budget") or 0),
                    "revenue": int(m.get("Worldwide Gross") or 0),
                    "runtime": m.get("Running Time min"),
                    "genres": [{"id": g, "name": GENRES[g]} for g in genre_ids],
                    "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
                    "spoken_languages": [{"iso_639_1": "en", "english_name": "English", "name": "English"}],
                    "vote_average": item["vote_average"],
                    "vote_count": item["vote_count"],
                    "popularity": item["popularity"],
                }
                response(movie, details, path={"movie_id": mid})
            body = {"page": page, "results": results, "total_pages": pages, "total_results": len(rows)}
            response(discover, body, query=query | {"page": page})
    meta = {
        "provenance": "vega-datasets movies.json (BSD-3-Clause; figures from The Numbers/IMDb/Rotten Tomatoes "
        "as packaged by vega) 2006-2010 releases; TMDB ids, genre mapping and production_countries=US synthetic",
        "synthetic": False,
    }
    return [discover, movie], meta


# ------------------------------------------------------------------------------------ weather
CITIES = {
    "Seattle": (47.6062, -122.3321, 47.595562, -122.32443, 56.0),
    "New York": (40.7128, -74.0060, 40.710335, -73.99308, 27.0),
}
DAILY = "temperature_2m_max,temperature_2m_min,precipitation_sum,wind_speed_10m_max"


def build_weather(vega: Path) -> tuple[list[Route], dict[str, Any]]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in csv.DictReader((vega / "weather.csv").open()):
        rows[row["location"]].append(row)
    archive = responses_route("/v1/archive", rate_limit={"limit": 600, "window_s": 60})
    owm = responses_route("/data/3.0/onecall/day_summary", auth=OWM_AUTH, rate_limit={"limit": 60, "window_s": 60})
    for city, (lat, lon, glat, glon, elevation) in CITIES.items():
        for year in range(2012, 2016):
            days = [r for r in rows[city] if r["date"].startswith(str(year))]
            body = {
                "latitude": glat,
                "longitude": glon,
                "generationtime_ms": 0.85,
                "utc_offset_seconds": 0,
                "timezone": "GMT",
                "timezone_abbreviation": "GMT",
                "elevation": elevation,
                "daily_units": {
                    "time": "iso8601",
                    "temperature_2m_max": "°C",
                    "temperature_2m_min": "°C",
                    "precipitation_sum": "mm",
                    "wind_speed_10m_max": "m/s",
                },
                "daily": {
                    "time": [r["date"] for r in days],
                    "temperature_2m_max": [float(r["temp_max"]) for r in days],
                    "temperature_2m_min": [float(r["temp_min"]) for r in days],
                    "precipitation_sum": [float(r["precipitation"]) for r in days],
                    "wind_speed_10m_max": [float(r["wind"]) for r in days],
                },
            }
            query = {
                "latitude": lat,
                "longitude": lon,
                "start_date": f"{year}-01-01",
                "end_date": f"{year}-12-31",
                "daily": DAILY,
                "wind_speed_unit": "ms",
                "timezone": "GMT",
            }
            response(archive, body, query=query)
        # OpenWeatherMap alternative: January 2015 day summaries (metric units)
        for r in rows[city]:
            if not r["date"].startswith("2015-01"):
                continue
            tmax, tmin = float(r["temp_max"]), float(r["temp_min"])
            body = {
                "lat": lat,
                "lon": lon,
                "tz": "+00:00",
                "date": r["date"],
                "units": "metric",
                "cloud_cover": {"afternoon": 0},
                "humidity": {"afternoon": 70},
                "precipitation": {"total": float(r["precipitation"])},
                "temperature": {
                    "min": tmin,
                    "max": tmax,
                    "afternoon": tmax,
                    "night": tmin,
                    "evening": (tmax + tmin) / 2,
                    "morning": tmin,
                },
                "pressure": {"afternoon": 1015},
                "wind": {"max": {"speed": float(r["wind"]), "direction": 180}},
            }
            query = {"lat": lat, "lon": lon, "date": r["date"], "units": "metric"}
            response(owm, body, query=query)
    meta = {
        "provenance": "vega-datasets weather.csv: NOAA Climate Data Online daily observations for Seattle and "
        "New York 2012-2015 (U.S. Government work, public domain). Wind is NOAA AWND in m/s "
        "(requested with wind_speed_unit=ms). Grid coordinates/elevation illustrative.",
        "synthetic": False,
    }
    return [archive, owm], meta


# ------------------------------------------------------------------------------------ PokeAPI
HABITATS = ["cave", "forest", "grassland", "mountain", "rare", "rough-terrain", "sea", "urban", "waters-edge"]
EGG_TO_HABITAT = {
    "Water 1": "waters-edge",
    "Water 2": "sea",
    "Water 3": "sea",
    "Bug": "forest",
    "Flying": "forest",
    "Field": "grassland",
    "Monster": "mountain",
    "Mineral": "rough-terrain",
    "Amorphous": "urban",
    "Human-Like": "urban",
    "Fairy": "grassland",
    "Grass": "grassland",
    "Dragon": "waters-edge",
    "Undiscovered": "rare",
    "Ditto": "urban",
}
PK = "/api/v2"


def build_pokeapi(pkmn: Path) -> tuple[list[Route], dict[str, Any]]:
    species = json.loads(pkmn.read_text())
    species.sort(key=lambda s: s["num"])
    detail_routes = {
        kind: responses_route(f"{PK}/{kind}/{{id}}")
        for kind in ("pokemon", "pokemon-species", "type", "pokemon-habitat", "generation")
    }

    def res(kind: str, name: str, ident: int) -> dict[str, str]:
        return {"name": name, "url": f"https://pokeapi.co{PK}/{kind}/{ident}/"}

    slugs = {
        s["num"]: s["name"]
        .lower()
        .replace(". ", "-")
        .replace("'", "")
        .replace("\u2019", "")
        .replace("♀", "-f")
        .replace("♂", "-m")
        for s in species
    }
    listing = records_route(
        f"{PK}/pokemon",
        [res("pokemon", slugs[s["num"]], s["num"]) for s in species],
        paginate={"style": "offset", "page_size": 20, "envelope": "results", "total_path": "count"},
    )
    type_names = sorted({t for s in species for t in s["types"]})
    type_ids = {t: i + 1 for i, t in enumerate(type_names)}
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_habitat: dict[str, list[dict[str, str]]] = defaultdict(list)
    stat_names = {
        "hp": "hp",
        "atk": "attack",
        "def": "defense",
        "spa": "special-attack",
        "spd": "special-defense",
        "spe": "speed",
    }
    for s in species:
        num, slug = s["num"], slugs[s["num"]]
        weight_hg = round(s["weightkg"] * 10)
        height_dm = max(1, round(3.2 * (s["weightkg"] ** (1 / 3))))  # synthetic: not in @pkmn/dex
        types = [{"slot": i + 1, "type": res("type", t.lower(), type_ids[t])} for i, t in enumerate(s["types"])]
        for i, t in enumerate(s["types"]):
            by_type[t].append({"slot": i + 1, "pokemon": res("pokemon", slug, num)})
        pokemon = {
            "id": num,
            "name": slug,
            "base_experience": sum(s["baseStats"].values()) // 3,
            "height": height_dm,
            "weight": weight_hg,
            "order": num,
            "is_default": True,
            "species": res("pokemon-species", slug, num),
            "types": types,
            "stats": [
                {"base_stat": v, "effort": 0, "stat": res("stat", stat_names[k], j + 1)}
                for j, (k, v) in enumerate(s["baseStats"].items())
            ],
        }
        response(detail_routes["pokemon"], pokemon, path={"id": slug})
        legendary = "Restricted Legendary" in s.get("tags", []) or "Sub-Legendary" in s.get("tags", [])
        habitat = (
            "rare"
            if legendary or "Mythical" in s.get("tags", [])
            else EGG_TO_HABITAT.get(s["eggGroups"][0], "grassland")
        )
        by_habitat[habitat].append(res("pokemon-species", slug, num))
        prevo = next((p for p in species if p["name"] == s.get("prevo")), None)
        response(
            detail_routes["pokemon-species"],
            {
                "id": num,
                "name": slug,
                "order": num,
                "capture_rate": 45,
                "base_happiness": 70,
                "is_legendary": legendary,
                "is_mythical": "Mythical" in s.get("tags", []),
                "color": None,
                "habitat": res("pokemon-habitat", habitat, HABITATS.index(habitat) + 1),
                "generation": res("generation", "generation-i", 1),
                "evolves_from_species": res("pokemon-species", slugs[prevo["num"]], prevo["num"]) if prevo else None,
            },
            path={"id": slug},
        )
    for t, ident in type_ids.items():
        body = {
            "id": ident,
            "name": t.lower(),
            "generation": res("generation", "generation-i", 1),
            "pokemon": by_type[t],
        }
        response(detail_routes["type"], body, path={"id": ident})
    for i, h in enumerate(HABITATS):
        response(
            detail_routes["pokemon-habitat"],
            {"id": i + 1, "name": h, "pokemon_species": by_habitat[h]},
            path={"id": i + 1},
        )
    gen = {
        "id": 1,
        "name": "generation-i",
        "main_region": res("region", "kanto", 1),
        "pokemon_species": [res("pokemon-species", slugs[s["num"]], s["num"]) for s in species],
        "types": [res("type", t.lower(), i) for t, i in type_ids.items()],
    }
    response(detail_routes["generation"], gen, path={"id": 1})
    meta = {
        "provenance": "@pkmn/dex 0.10.11 (npm, MIT): names, types, base stats, weights, egg groups, evolutions of "
        "the 151 generation-I species. Synthetic: heights (from weight), habitats (from egg group), "
        "capture_rate/base_happiness constants, base_experience.",
        "synthetic": False,
    }
    return [listing, *detail_routes.values()], meta


# --------------------------------------------------------------------------------------- FRED
FRED_SERIES = {
    # FRED id: (macrodata column, title, frequency, units, units_short, seasonal adj.)
    "GDPC1": (
        "realgdp",
        "Real Gross Domestic Product",
        "Quarterly",
        "Billions of Chained 2005 Dollars",
        "Bil. of Chn. 2005 $",
        "Seasonally Adjusted Annual Rate",
    ),
    "PCECC96": (
        "realcons",
        "Real Personal Consumption Expenditures",
        "Quarterly",
        "Billions of Chained 2005 Dollars",
        "Bil. of Chn. 2005 $",
        "Seasonally Adjusted Annual Rate",
    ),
    "CPIAUCSL": (
        "cpi",
        "Consumer Price Index for All Urban Consumers: All Items",
        "Quarterly",
        "Index 1982-1984=100",
        "Index 1982-1984=100",
        "Seasonally Adjusted",
    ),
    "UNRATE": ("unemp", "Unemployment Rate", "Quarterly", "Percent", "%", "Seasonally Adjusted"),
    "TB3MS": (
        "tbilrate",
        "3-Month Treasury Bill: Secondary Market Rate",
        "Quarterly",
        "Percent",
        "%",
        "Not Seasonally Adjusted",
    ),
    "M1SL": ("m1", "M1 Money Stock", "Quarterly", "Billions of Dollars", "Bil. of $", "Seasonally Adjusted"),
    "SP500": ("sp500", "S&P 500 (monthly close)", "Monthly", "Index", "Index", "Not Seasonally Adjusted"),
}


def build_fred(vega: Path) -> tuple[list[Route], dict[str, Any]]:
    import statsmodels.api as sm

    frame = sm.datasets.macrodata.load_pandas().data
    values: dict[str, list[tuple[date, float | None]]] = {}
    for fred_id, (column, *_rest) in FRED_SERIES.items():
        if column == "sp500":
            rows = csv.DictReader((vega / "sp500.csv").open())
            values[fred_id] = [(datetime.strptime(r["date"], "%b %d %Y").date(), float(r["price"])) for r in rows]
        else:
            values[fred_id] = [
                (date(int(r["year"]), 3 * (int(r["quarter"]) - 1) + 1, 1), float(r[column]))
                for r in frame.to_dict(orient="records")
            ]
    series_route = responses_route("/fred/series", auth=FRED_AUTH, rate_limit=FRED_RATE)
    observations = responses_route("/fred/series/observations", auth=FRED_AUTH, rate_limit=FRED_RATE)
    rt = "2015-06-01"
    for fred_id, (_col, title, freq, units, units_short, sa) in FRED_SERIES.items():
        obs = values[fred_id]
        if fred_id == "UNRATE":  # demonstrate FRED's "." for a missing observation
            obs = [(d, None if d == date(1960, 1, 1) else v) for d, v in obs]
        series = {
            "id": fred_id,
            "realtime_start": rt,
            "realtime_end": rt,
            "title": title,
            "observation_start": obs[0][0].isoformat(),
            "observation_end": obs[-1][0].isoformat(),
            "frequency": freq,
            "frequency_short": freq[0],
            "units": units,
            "units_short": units_short,
            "seasonal_adjustment": sa,
            "seasonal_adjustment_short": "SA" if sa.startswith("Seas") else "NSA",
            "last_updated": "2015-05-29 07:51:08-05",
            "popularity": 80,
            "notes": "Recorded for covary's demo.",
        }
        response(
            series_route,
            {"realtime_start": rt, "realtime_end": rt, "seriess": [series]},
            query={"series_id": fred_id, "file_type": "json"},
        )
        for offset in range(0, len(obs), 100):
            chunk = obs[offset : offset + 100]
            body = {
                "realtime_start": rt,
                "realtime_end": rt,
                "observation_start": "1776-07-04",
                "observation_end": "9999-12-31",
                "units": "lin",
                "output_type": 1,
                "file_type": "json",
                "order_by": "observation_date",
                "sort_order": "asc",
                "count": len(obs),
                "offset": offset,
                "limit": 100,
                "observations": [
                    {
                        "realtime_start": rt,
                        "realtime_end": rt,
                        "date": d.isoformat(),
                        "value": "." if v is None else f"{v:.3f}",
                    }
                    for d, v in chunk
                ],
            }
            query = {"series_id": fred_id, "file_type": "json", "sort_order": "asc", "limit": 100, "offset": offset}
            response(observations, body, query=query)
    meta = {
        "provenance": "statsmodels macrodata (US BEA/BLS/Federal Reserve via FRED, public domain) for the "
        "quarterly series 1959Q1-2009Q3; vega-datasets sp500.csv (BSD-3-Clause) monthly closes 2000-2010 for "
        "SP500. UNRATE 1960-01-01 is served as '.' (missing) on purpose.",
        "synthetic": False,
    }
    return [series_route, observations], meta
