"""Ingest planning: which partitions (source x endpoint x key or date window) to run, in which stage."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from connectors.core.state import canonical
from jobs.ingest.errors import IngestConfigError
from jobs.ingest.geo import city_coordinates

SOURCES = ("github", "tmdb", "weather", "pokeapi", "musicbrainz", "spotify", "fred", "notion")

# What the bundled replay recording covers; a real run passes its own lists in the job config.
DEFAULTS: dict[str, Any] = {
    "github": {"repos": ["covary-demo/pyflow", "covary-demo/rustdb", "covary-demo/webdash"]},
    "tmdb": {"years": [2006, 2007, 2008, 2009, 2010]},
    "weather": {
        "cities": ["Seattle", "New York"],
        "years": [2012, 2013, 2014, 2015],
        "owm_days": {"start": "2015-01-01", "end": "2015-01-31"},
    },
    "pokeapi": {},
    "musicbrainz": {"months": ["2015-01", "2015-02", "2015-03"], "countries": ["US", "GB"]},
    "spotify": {"query": "year:2015", "markets": ["US", "GB"]},
    "fred": {"series": ["GDPC1", "PCECC96", "CPIAUCSL", "UNRATE", "TB3MS", "M1SL", "SP500"]},
    "notion": {"databases": ["5f3e0c1a-7b2d-4c9e-8a1f-2b3c4d5e6f70"]},
}

# Tasks of one source in flight at once (on top of the source's cluster-wide request rate).
MAX_IN_FLIGHT: dict[str, int] = {"musicbrainz": 1, "notion": 1, "github": 3, "tmdb": 3}
CHUNK = 50  # ids per detail partition


@dataclass(frozen=True)
class Partition:
    """One unit of work: a (source, endpoint, partition) run; ``stage`` orders parents before children."""

    source: str
    endpoint: str
    partition: dict[str, Any] = field(default_factory=dict)
    stage: int = 0

    @property
    def key(self) -> str:
        return canonical(self.partition)

    @property
    def id(self) -> str:
        return f"{self.source}/{self.endpoint}/{self.key}"

    @property
    def short_id(self) -> str:
        return hashlib.sha1(self.id.encode()).hexdigest()[:12]


def _options(config: dict[str, Any], source: str) -> dict[str, Any]:
    return DEFAULTS[source] | dict((config.get("options") or {}).get(source) or {})


def first_stage(source: str, config: dict[str, Any]) -> list[Partition]:
    """The partitions a source starts with (children are planned from what these land)."""
    opts = _options(config, source)
    planner = _PLANNERS.get(source)
    if planner is None:
        raise IngestConfigError(f"unknown source {source!r}", hint=f"built-in sources: {', '.join(SOURCES)}")
    return planner(opts, config)


def _github(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    from connectors.github.source import repository

    endpoints = ("repo", "commits", "issues", "releases", "stargazers", "history")
    return [Partition("github", ep, repository(r)) for r in opts["repos"] for ep in endpoints]


def _tmdb(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    from connectors.tmdb.source import window

    return [Partition("tmdb", "discover", window(int(y))) for y in opts["years"]]


def _weather(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    from connectors.weather.source import archive_window, day
    from covary.settings import get_settings

    places = []
    for city in opts["cities"]:
        try:
            places.append(city_coordinates(city) if isinstance(city, str) else (float(city[0]), float(city[1])))
        except KeyError as exc:
            raise IngestConfigError(str(exc.args[0]), hint="use a known city or a [lat, lon] pair") from None
    if get_settings().connectors.weather_provider == "openweathermap":
        days = opts["owm_days"]
        start, end = date.fromisoformat(days["start"]), date.fromisoformat(days["end"])
        return [
            Partition("weather", "day_summary", day(lat, lon, date.fromordinal(d)))
            for lat, lon in places
            for d in range(start.toordinal(), end.toordinal() + 1)
        ]
    return [
        Partition("weather", "archive", archive_window(lat, lon, date(y, 1, 1), date(y, 12, 31)))
        for lat, lon in places
        for y in opts["years"]
    ]


def _pokeapi(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    return [Partition("pokeapi", "pokemon_list", {})]


def _musicbrainz(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    from connectors.musicbrainz.source import recordings_query, releases_query

    months = [tuple(int(p) for p in m.split("-")) for m in opts["months"]]
    out = [Partition("musicbrainz", "releases", releases_query(y, m, c)) for y, m in months for c in opts["countries"]]
    return out + [Partition("musicbrainz", "recordings", recordings_query(y, m)) for y, m in months]


def _spotify(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    return [
        Partition("spotify", ep, {"q": opts["query"], "market": market})
        for market in opts["markets"]
        for ep in ("albums", "tracks")
    ]


def _fred(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    return [Partition("fred", ep, {"series_id": s}) for s in opts["series"] for ep in ("series", "observations")]


def _notion(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    return [Partition("notion", ep, {"database_id": d}) for d in opts["databases"] for ep in ("database", "pages")]


_PLANNERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[Partition]]] = {
    "github": _github,
    "tmdb": _tmdb,
    "weather": _weather,
    "pokeapi": _pokeapi,
    "musicbrainz": _musicbrainz,
    "spotify": _spotify,
    "fred": _fred,
    "notion": _notion,
}


# --------------------------------------------------------------------------------------- children
def _id_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def children_of(source: str, endpoint: str, records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Keys for child endpoints found in a partition's records: ``{child endpoint: [keys]}``."""
    if (source, endpoint) == ("tmdb", "discover"):
        return {"movie": [str(r["id"]) for r in records]}
    if (source, endpoint) == ("pokeapi", "pokemon_list"):
        names = [str(r["name"]) for r in records]
        return {"pokemon": names, "species": names}
    if (source, endpoint) == ("pokeapi", "pokemon"):
        return {"type": [_id_of(t["type"]["url"]) for r in records for t in r.get("types", [])]}
    if (source, endpoint) == ("pokeapi", "species"):
        habitats = [_id_of(r["habitat"]["url"]) for r in records if r.get("habitat")]
        return {"habitat": habitats, "generation": [_id_of(r["generation"]["url"]) for r in records]}
    return {}


PLACEHOLDER = {("tmdb", "movie"): "movie_id"}
PARENT_ENDPOINTS = {("tmdb", "discover"), ("pokeapi", "pokemon_list"), ("pokeapi", "pokemon"), ("pokeapi", "species")}


def child_partitions(source: str, keys: dict[str, list[str]], stage: int) -> list[Partition]:
    """Detail partitions of ``CHUNK`` ids each (the ``id_list`` paginator fetches one id per request)."""
    out = []
    for endpoint, values in sorted(keys.items()):
        unique = list(dict.fromkeys(values))
        name = PLACEHOLDER.get((source, endpoint), "id")
        for start in range(0, len(unique), CHUNK):
            out.append(Partition(source, endpoint, {name: ",".join(unique[start : start + CHUNK])}, stage))
    return out


# -------------------------------------------------------------------------------------- the specs
def source_spec(source: str, *, replay_url: str | None = None) -> dict[str, Any]:
    """The connector's spec dict; against the replay server with the recording's credentials."""
    module = importlib.import_module(f"connectors.{source}.source")
    if source == "spotify":
        spec = module.build_source(token_url=f"{replay_url}/api/token" if replay_url else module.TOKEN_URL)
        if replay_url:
            spec["auth"] |= module.REPLAY_CLIENT
        return dict(spec)
    spec = dict(module.build_source())
    if replay_url:
        spec["auth"] = module.REPLAY_AUTH
    return spec


def rate_of(spec: dict[str, Any]) -> tuple[float, float | None]:
    """Requests per second and burst the source's cluster-wide bucket enforces."""
    rl = spec.get("rate_limit") or {}
    return float(rl.get("requests_per_second") or 1000.0), rl.get("burst")


def describe(parts: list[Partition]) -> list[str]:
    return [orjson.dumps({"id": p.id, "stage": p.stage}).decode() for p in parts]


__all__ = [
    "CHUNK",
    "DEFAULTS",
    "MAX_IN_FLIGHT",
    "PARENT_ENDPOINTS",
    "SOURCES",
    "Partition",
    "child_partitions",
    "children_of",
    "first_stage",
    "rate_of",
    "source_spec",
]
