"""Bronze -> silver: typed, de-duplicated entity rows (with date/location/ISRC link keys) from connector records."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ValidationError

from connectors.fred import models as fred
from connectors.github import models as gh
from connectors.musicbrainz import models as mb
from connectors.notion import models as notion
from connectors.pokeapi import models as poke
from connectors.spotify import models as spotify
from connectors.tmdb import models as tmdb
from connectors.weather import models as weather
from jobs.ingest.geo import resolve
from lakehouse.registry import LOAD_ID, get_spec

Rows = dict[str, list[dict[str, Any]]]
Transform = Callable[[list[dict[str, Any]], dict[str, Any]], Rows]


class Rejected:
    """Records a transform could not type (they go to ops.quarantine with the reason)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, record: Any, reason: str, location: str) -> None:
        self.items.append({"reason": reason, "raw": record, "location": location})


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _parse(model: type[BaseModel], records: Iterable[dict[str, Any]], rejected: Rejected, where: str) -> list[Any]:
    out = []
    for i, record in enumerate(records):
        try:
            out.append(model.model_validate(record))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            rejected.add(record, f"{model.__name__}: {loc}: {first['msg']}", f"{where}#{i}")
    return out


# --------------------------------------------------------------------------------------------- GitHub
def github_repos(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = [
        {
            "repo": r.full_name,
            "repo_id": r.id,
            "owner": r.owner.login,
            "language": r.language,
            "description": r.description,
            "stars": r.stargazers_count,
            "forks": r.forks_count,
            "open_issues": r.open_issues_count,
            "license": r.license.spdx_id if r.license else None,
            "topics": r.topics,
            "created_at": _utc(r.created_at),
            "pushed_at": _utc(r.pushed_at),
        }
        for r in _parse(gh.Repository, records, rej, "github/repo")
    ]
    return {"silver.github_repos": rows}


def _repo(ctx: dict[str, Any]) -> str:
    """``owner/name`` of a GitHub partition (``{"owner": ..., "repo": ...}``)."""
    return f"{ctx['owner']}/{ctx['repo']}" if "owner" in ctx else str(ctx["repo"])


def github_commits(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for c in _parse(gh.Commit, records, rej, f"github/{repo}/commits"):
        ts = _utc(c.commit.author.date)
        assert ts is not None
        rows.append(
            {
                "repo": repo,
                "sha": c.sha,
                "committed_at": ts,
                "date": ts.date(),
                "author_login": c.author.login if c.author else None,
                "author_name": c.commit.author.name,
                "message_headline": c.commit.message.splitlines()[0] if c.commit.message else "",
            }
        )
    return {"silver.github_commits": rows}


def github_history(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for n in _parse(gh.HistoryNode, records, rej, f"github/{repo}/history"):
        ts = _utc(n.committed_date)
        assert ts is not None
        rows.append(
            {
                "repo": repo,
                "sha": n.oid,
                "committed_at": ts,
                "date": ts.date(),
                "additions": n.additions,
                "deletions": n.deletions,
                "changed_files": n.changed_files,
                "author_login": n.author.user.login if n.author and n.author.user else None,
            }
        )
    return {"silver.github_commit_stats": rows}


def github_issues(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for i in _parse(gh.Issue, records, rej, f"github/{repo}/issues"):
        created = _utc(i.created_at)
        assert created is not None
        rows.append(
            {
                "repo": repo,
                "number": i.number,
                "issue_id": i.id,
                "title": i.title,
                "state": i.state,
                "is_pull_request": i.pull_request is not None,
                "author_login": i.user.login if i.user else None,
                "labels": [label.name for label in i.labels],
                "comments": i.comments,
                "created_at": created,
                "date": created.date(),
                "closed_at": _utc(i.closed_at),
                "updated_at": _utc(i.updated_at),
            }
        )
    return {"silver.github_issues": rows}


def github_releases(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for r in _parse(gh.Release, records, rej, f"github/{repo}/releases"):
        if r.draft:
            continue
        published = _utc(r.published_at or r.created_at)
        assert published is not None
        rows.append(
            {
                "repo": repo,
                "release_id": r.id,
                "tag": r.tag_name,
                "name": r.name,
                "prerelease": r.prerelease,
                "published_at": published,
                "date": published.date(),
            }
        )
    return {"silver.github_releases": rows}


def github_stargazers(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for s in _parse(gh.Stargazer, records, rej, f"github/{repo}/stargazers"):
        ts = _utc(s.starred_at)
        assert ts is not None
        rows.append({"repo": repo, "user_login": s.user.login, "starred_at": ts, "date": ts.date()})
    return {"silver.github_stargazers": rows}


# ----------------------------------------------------------------------------------------------- TMDB
def tmdb_movies(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = []
    for m in _parse(tmdb.MovieDetails, records, rej, "tmdb/movie"):
        if m.release_date is None:
            rej.add(m.model_dump(mode="json"), "movie has no release_date (no date link key)", f"tmdb/movie/{m.id}")
            continue
        genres = [g.name for g in m.genres]
        rows.append(
            {
                "movie_id": m.id,
                "title": m.title,
                "release_date": m.release_date,
                "date": m.release_date,
                "genres": genres,
                "primary_genre": genres[0] if genres else "Unknown",
                "countries": [c.iso_3166_1 for c in m.production_countries],
                "budget_usd": m.budget,
                "revenue_usd": m.revenue,
                "runtime_min": m.runtime,
                "vote_average": m.vote_average,
                "vote_count": m.vote_count,
                "popularity": m.popularity,
                "original_language": m.original_language,
            }
        )
    return {"silver.tmdb_movies": rows}


# -------------------------------------------------------------------------------------------- weather
def _location_row(lat: float, lon: float) -> dict[str, Any]:
    place = resolve(lat, lon)
    return {
        "location_id": place.location_id,
        "lat": lat,
        "lon": lon,
        "city": place.city,
        "country": place.country,
        "country_code": place.country_code,
        "distance_km": place.distance_km,
    }


def open_meteo(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows, places = [], []
    lat, lon = float(ctx["latitude"]), float(ctx["longitude"])
    loc = _location_row(lat, lon)
    for a in _parse(weather.OpenMeteoArchive, records, rej, f"weather/archive/{lat},{lon}"):
        d = a.daily
        places.append(loc)
        for i, day in enumerate(d.time):
            rows.append(
                {
                    "location_id": loc["location_id"],
                    "date": day,
                    "city": loc["city"],
                    "country_code": loc["country_code"],
                    "lat": lat,
                    "lon": lon,
                    "temp_max_c": d.temperature_2m_max[i],
                    "temp_min_c": d.temperature_2m_min[i],
                    "precipitation_mm": d.precipitation_sum[i],
                    "wind_max_ms": _wind_ms(d.wind_speed_10m_max[i], a.daily_units.get("wind_speed_10m_max", "m/s")),
                    "provider": "open-meteo",
                }
            )
    return {"silver.weather_daily": rows, "silver.locations": places}


def _wind_ms(value: float | None, unit: str) -> float | None:
    if value is None:
        return None
    factor = {"m/s": 1.0, "km/h": 1 / 3.6, "mp/h": 0.44704, "kn": 0.514444}.get(unit, 1.0)
    return round(value * factor, 3)


def openweathermap(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows, places = [], []
    for s in _parse(weather.OwmDaySummary, records, rej, "weather/owm"):
        loc = _location_row(s.lat, s.lon)
        places.append(loc)
        kelvin = s.units == "standard"
        to_c = (lambda k: round(k - 273.15, 2)) if kelvin else (lambda c: c)
        rows.append(
            {
                "location_id": loc["location_id"],
                "date": s.date,
                "city": loc["city"],
                "country_code": loc["country_code"],
                "lat": s.lat,
                "lon": s.lon,
                "temp_max_c": to_c(s.temperature.max),
                "temp_min_c": to_c(s.temperature.min),
                "precipitation_mm": s.precipitation.total,
                "wind_max_ms": round(s.wind.max.speed * (0.44704 if s.units == "imperial" else 1.0), 3),
                "provider": "openweathermap",
            }
        )
    return {"silver.weather_daily": rows, "silver.locations": places}


# -------------------------------------------------------------------------------------------- PokeAPI
def pokeapi(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    """``pokemon`` records joined with their ``species`` (context: species by id, from the same partition)."""
    species: dict[int, poke.PokemonSpecies] = {
        s.id: s for s in _parse(poke.PokemonSpecies, ctx.get("species", []), rej, "pokeapi/species")
    }
    rows = []
    for p in _parse(poke.Pokemon, records, rej, "pokeapi/pokemon"):
        sp = species.get(poke.id_from_url(p.species.url))
        stats = {s.stat.name: s.base_stat for s in p.stats}
        types = [t.type.name for t in sorted(p.types, key=lambda t: t.slot)]
        rows.append(
            {
                "pokemon_id": p.id,
                "name": p.name,
                "types": types,
                "primary_type": types[0] if types else None,
                "generation": sp.generation.name if sp else None,
                "habitat": sp.habitat.name if sp and sp.habitat else None,
                "height_m": p.height / 10,
                "weight_kg": p.weight / 10,
                "base_experience": p.base_experience,
                "hp": stats.get("hp"),
                "attack": stats.get("attack"),
                "defense": stats.get("defense"),
                "speed": stats.get("speed"),
                "is_legendary": bool(sp and (sp.is_legendary or sp.is_mythical)),
                "evolves_from": sp.evolves_from_species.name if sp and sp.evolves_from_species else None,
            }
        )
    return {"silver.pokemon": rows}


# ------------------------------------------------------------------------------------------ MusicBrainz
def mb_releases(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = []
    for r in _parse(mb.Release, records, rej, "musicbrainz/release"):
        day = mb.partial_date(r.date)
        if day is None:
            rej.add(r.model_dump(mode="json", by_alias=True), "release has no date (no date link key)", r.id)
            continue
        area = r.release_events[0].area if r.release_events and r.release_events[0].area else None
        rows.append(
            {
                "release_id": r.id,
                "title": r.title,
                "release_date": day,
                "date": day,
                "country_code": r.country,
                "area": area.name if area else None,
                "primary_type": r.release_group.primary_type if r.release_group else None,
                "status": r.status,
                "artist": r.artist_credit[0].name if r.artist_credit else None,
                "artist_id": r.artist_credit[0].artist.id if r.artist_credit else None,
                "track_count": r.track_count,
                "barcode": r.barcode,
            }
        )
    return {"silver.music_releases": rows}


def mb_recordings(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = []
    for r in _parse(mb.Recording, records, rej, "musicbrainz/recording"):
        day = mb.partial_date(r.first_release_date)
        if day is None:
            rej.add(r.model_dump(mode="json", by_alias=True), "recording has no first-release-date", r.id)
            continue
        rows.append(
            {
                "recording_id": r.id,
                "title": r.title,
                "length_ms": r.length,
                "isrc": r.isrcs[0] if r.isrcs else None,
                "isrcs": r.isrcs,
                "first_release_date": day,
                "date": day,
                "artist": r.artist_credit[0].name if r.artist_credit else None,
                "release_id": str(r.releases[0].get("id")) if r.releases else None,
            }
        )
    return {"silver.music_recordings": rows}


# ---------------------------------------------------------------------------------------------- Spotify
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


def isrc_links(tracks: list[dict[str, Any]], recordings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spotify track <-> MusicBrainz recording pairs that share an ISRC."""
    by_isrc: dict[str, list[str]] = {}
    for r in recordings:
        for code in r.get("isrcs") or ([r["isrc"]] if r.get("isrc") else []):
            by_isrc.setdefault(code.upper(), []).append(r["recording_id"])
    links = []
    for t in tracks:
        code = (t.get("isrc") or "").upper()
        for rec in by_isrc.get(code, []):
            links.append(
                {
                    "link_type": "isrc",
                    "link_value": code,
                    "left_table": "silver.spotify_tracks",
                    "left_id": t["track_id"],
                    "right_table": "silver.music_recordings",
                    "right_id": rec,
                }
            )
    return links


# ------------------------------------------------------------------------------------------------- FRED
def fred_series(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = [
        {
            "series_id": s.id,
            "title": s.title,
            "frequency": s.frequency_short,
            "units": s.units,
            "seasonal_adjustment": s.seasonal_adjustment_short,
            "observation_start": s.observation_start,
            "observation_end": s.observation_end,
            "last_updated": s.last_updated,
        }
        for s in _parse(fred.Series, records, rej, "fred/series")
    ]
    return {"silver.fred_series": rows}


def fred_observations(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    series_id = ctx["series_id"]
    rows = [
        {"series_id": series_id, "date": o.date, "value": o.value, "realtime_start": o.realtime_start}
        for o in _parse(fred.Observation, records, rej, f"fred/{series_id}")
    ]
    return {"silver.fred_observations": rows}


# ----------------------------------------------------------------------------------------------- Notion
def notion_pages(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    pages, numbers = [], []
    for p in _parse(notion.Page, records, rej, "notion/pages"):
        if p.archived or p.in_trash:
            continue
        plain = {name: v.plain() for name, v in p.properties.items()}
        title = next((plain[n] for n, v in p.properties.items() if v.type == "title"), None)
        first_date = next((v.date.start for v in p.properties.values() if v.type == "date" and v.date), None)
        day = first_date.date() if isinstance(first_date, datetime) else first_date
        created = _utc(p.created_time)
        assert created is not None
        day = day or created.date()
        tags = [t for v in p.properties.values() if v.type == "multi_select" for t in v.plain()]
        pages.append(
            {
                "page_id": p.id,
                "database_id": p.parent.database_id,
                "title": title,
                "date": day,
                "tags": tags,
                "created_time": created,
                "last_edited_time": _utc(p.last_edited_time),
                "properties": json.dumps(plain, default=str, sort_keys=True),
                "url": p.url,
            }
        )
        numbers += [
            {"page_id": p.id, "property": n, "database_id": p.parent.database_id, "date": day, "value": v.number}
            for n, v in p.properties.items()
            if v.type == "number" and v.number is not None
        ]
    return {"silver.notion_pages": pages, "silver.notion_page_numbers": numbers}


TRANSFORMS: dict[tuple[str, str], Callable[[list[dict[str, Any]], dict[str, Any], Rejected], Rows]] = {
    ("github", "repo"): github_repos,
    ("github", "commits"): github_commits,
    ("github", "history"): github_history,
    ("github", "issues"): github_issues,
    ("github", "releases"): github_releases,
    ("github", "stargazers"): github_stargazers,
    ("tmdb", "movie"): tmdb_movies,
    ("weather", "archive"): open_meteo,
    ("weather", "day_summary"): openweathermap,
    ("pokeapi", "pokemon"): pokeapi,
    ("musicbrainz", "releases"): mb_releases,
    ("musicbrainz", "recordings"): mb_recordings,
    ("spotify", "albums"): spotify_albums,
    ("spotify", "tracks"): spotify_tracks,
    ("fred", "series"): fred_series,
    ("fred", "observations"): fred_observations,
    ("notion", "pages"): notion_pages,
}


def to_silver(
    source: str, endpoint: str, records: list[dict[str, Any]], ctx: dict[str, Any] | None = None
) -> tuple[Rows, Rejected]:
    """Silver rows per table for ``records`` of ``source``/``endpoint`` (plus what could not be typed)."""
    rejected = Rejected()
    transform = TRANSFORMS.get((source, endpoint))
    if transform is None:
        return {}, rejected
    context = dict(ctx or {})
    try:
        return transform(records, context, rejected), rejected
    except _MAPPING_ERRORS:  # a record the model accepts but the mapping cannot use: find it, keep the rest
        pass
    rejected = Rejected()
    rows: Rows = {}
    for i, record in enumerate(records):
        try:
            for table, items in transform([record], context, rejected).items():
                rows.setdefault(table, []).extend(items)
        except _MAPPING_ERRORS as exc:
            reason = f"{source}/{endpoint}: cannot map the record ({type(exc).__name__}: {str(exc)[:200]})"
            rejected.add(record, reason, f"{source}/{endpoint}#{i}")
    return rows, rejected


_MAPPING_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError, AssertionError)


# ------------------------------------------------------------------------- batches of the declared schema
_UNFIT = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError, ValueError)


def _column(name: str, type_: pa.DataType | None, values: list[Any]) -> tuple[pa.Array | None, dict[int, str]]:
    """``values`` as an Arrow array of ``type_`` (inferred when None), or the rows that do not fit and why."""
    try:
        return pa.array(values, type=type_), {}
    except _UNFIT:
        pass
    bad: dict[int, str] = {}
    for i, value in enumerate(values):
        try:
            pa.array([value], type=type_)
        except _UNFIT as exc:
            want = f"the table's {type_}" if type_ is not None else "one Arrow type with the other rows"
            bad[i] = f"column {name!r}: {value!r:.80} does not fit {want} ({type(exc).__name__})"
    return None, bad or {0: f"column {name!r}: the values do not share one Arrow type"}


def declared_batch(table: str, rows: list[dict[str, Any]]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """``rows`` as an Arrow table of ``table``'s declared schema (never inferred from the values).

    Empty lists, all-null columns and missing optional keys are normal: each column takes its type from
    the table registry, so ``[]`` stays ``list<string>`` and ``None`` a typed null. Keys the registry does
    not declare are inferred (the writer adds them as new nullable columns). Rows with a value that does
    not fit its column (an integer beyond int64, text in a number column, a null in a required column)
    are left out and returned as ``(row index, reason)`` so the caller can quarantine them.
    """
    spec = get_spec(table)
    fields = [f.with_nullable(True) for f in spec.schema if f.name != LOAD_ID]
    declared = {f.name for f in fields}
    extra = sorted({k for r in rows for k in r} - declared - {LOAD_ID})
    wanted: list[tuple[str, pa.DataType | None]] = [(f.name, f.type) for f in fields] + [(k, None) for k in extra]
    bad: dict[int, str] = {}
    arrays: dict[str, pa.Array] = {}
    required = {f.name for f in spec.schema if not f.nullable and f.name != LOAD_ID}
    for name, type_ in wanted:
        values = [r.get(name) for r in rows]
        if name in required:
            for i, value in enumerate(values):
                if value is None:
                    bad.setdefault(i, f"{table}: required column {name!r} is null")
        array, unfit = _column(name, type_, values)
        for i, reason in unfit.items():
            bad.setdefault(i, f"{table}: {reason}")
        if array is not None:
            arrays[name] = array
    if bad:  # rebuild from the rows that fit (each of their values fitted above, so this cannot fail)
        kept = [r for i, r in enumerate(rows) if i not in bad]
        batch, _ = declared_batch(table, kept)
        return batch, sorted(bad.items())
    schema = pa.schema([*fields, *(pa.field(k, arrays[k].type) for k in extra)])
    columns = [arrays[name] for name, _ in wanted]
    return pa.Table.from_arrays(columns, schema=schema), []


def silver_batches(rows: Rows, rejected: Rejected, *, lineage: str) -> dict[str, pa.Table]:
    """Per silver table, its rows (tagged with ``lineage``) as a batch of the declared schema.

    Rows that do not fit the schema go to ``rejected`` (quarantined with the reason) instead of failing
    the whole partition; a table with no rows gets an empty batch of its schema.
    """
    out: dict[str, pa.Table] = {}
    for table, items in rows.items():
        tagged = [r | {"lineage": lineage} for r in items]
        batch, unfit = declared_batch(table, tagged)
        for i, reason in unfit:
            rejected.add(_jsonable(tagged[i]), reason, f"{table}#{i}")
        out[table] = batch
    return out


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(row, default=str))
    return out


__all__ = [
    "TRANSFORMS",
    "Rejected",
    "Rows",
    "declared_batch",
    "isrc_links",
    "silver_batches",
    "spotify_date",
    "to_silver",
]
