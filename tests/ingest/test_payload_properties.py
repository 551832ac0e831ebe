"""Property tests: payloads generated from each built-in connector's pydantic models go bronze -> silver.

Payloads are drawn from the endpoint's own record model (the one the connector spec validates bronze
with): optional keys missing or null, empty lists, unicode text, extreme numbers and dates. Each record
goes through the real bronze validation (``RecordValidator`` of the endpoint, JSON round-trip as bronze
stores it) and the real silver mapping (``to_silver`` + ``silver_batches``). The property: nothing
raises, every batch has exactly its table's declared schema and passes the writer's conformance check,
values arrive unchanged, and what could not be mapped is quarantined with a reason. A deterministic
variant writes a minimal payload (every optional key missing) per endpoint into a real Delta lake.
"""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from lakehouse import BatchKey, Lakehouse
from lakehouse._arrow import conform
from lakehouse.registry import LOAD_ID, get_spec

# (source, endpoint, partition context the plan gives that endpoint)
ENDPOINTS: list[tuple[str, str, dict[str, Any]]] = [
    ("github", "repo", {"owner": "o", "repo": "r"}),
    ("github", "commits", {"owner": "o", "repo": "r"}),
    ("github", "history", {"owner": "o", "repo": "r"}),
    ("github", "issues", {"owner": "o", "repo": "r"}),
    ("github", "releases", {"owner": "o", "repo": "r"}),
    ("github", "stargazers", {"owner": "o", "repo": "r"}),
    ("tmdb", "movie", {}),
    ("weather", "archive", {"latitude": 47.61, "longitude": -122.33}),
    ("weather", "day_summary", {}),
    ("pokeapi", "pokemon", {}),
    ("musicbrainz", "releases", {}),
    ("musicbrainz", "recordings", {}),
    ("spotify", "albums", {}),
    ("spotify", "tracks", {}),
    ("fred", "series", {}),
    ("fred", "observations", {"series_id": "UNRATE"}),
    ("notion", "pages", {}),
]

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # JSON text: any scalar but surrogates
INTS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63)]),
)
FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308, -1.7976931348623157e308]),
    INTS,
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12, minutes=-30))])
DATETIMES = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES).map(
    lambda d: d.isoformat()
)
DATES = st.dates().map(date.isoformat)
YEARS = st.integers(0, 9999).map(lambda y: f"{y:04d}")
PARTIAL = st.one_of(
    YEARS,
    st.builds(lambda y, m: f"{y}-{m:02d}", YEARS, st.integers(1, 12)),
    DATES,
    st.just(""),
    TEXT,
)
# str fields that carry a format in the real APIs (the rest get arbitrary unicode)
FORMATS: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("SimpleAlbum", "release_date"): PARTIAL,
    ("SimpleAlbum", "release_date_precision"): st.sampled_from(["year", "month", "day"]),
    ("Release", "date"): PARTIAL,
    ("ReleaseEvent", "date"): PARTIAL,
    ("Recording", "first_release_date"): PARTIAL,
    ("NamedResource", "url"): st.integers(1, 2000).map(lambda n: f"https://pokeapi.co/api/v2/pokemon-species/{n}/"),
    ("PropertyValue", "type"): st.sampled_from(
        ["title", "rich_text", "number", "select", "multi_select", "date", "checkbox", "url", "formula"]
    ),
    ("Parent", "type"): st.just("database_id"),
    ("OwmDaySummary", "units"): st.sampled_from(["standard", "metric", "imperial"]),
    ("Series", "frequency_short"): st.sampled_from(["D", "W", "M", "Q", "A", ""]),
}
NUMBERS: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("OwmDaySummary", "lat"): st.floats(-90, 90),
    ("OwmDaySummary", "lon"): st.floats(-180, 180),
    ("Observation", "value"): st.one_of(FLOATS, st.just(".")),
}


def _value(annotation: Any, owner: str, name: str, depth: int) -> st.SearchStrategy[Any]:
    """Strategy for a JSON value of a field annotated ``annotation`` (``owner.name``)."""
    if (owner, name) in FORMATS and annotation in (str, str | None):
        return FORMATS[(owner, name)]
    if (owner, name) in NUMBERS:
        return NUMBERS[(owner, name)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[_value(a, owner, name, depth) for a in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(_value(args[0], owner, name, depth + 1), max_size=0 if depth > 2 else 3)
    if origin is dict:
        return st.dictionaries(TEXT, _value(args[1], owner, name, depth + 1), max_size=0 if depth > 2 else 3)
    if annotation is type(None):
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return INTS
    if annotation is float:
        return FLOATS
    if annotation is str:
        return TEXT
    if annotation is datetime:
        return DATETIMES
    if annotation is date:
        return DATES
    if annotation in (object, Any):
        return st.one_of(st.none(), INTS, TEXT)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return payloads(annotation, depth + 1)
    raise TypeError(f"no strategy for {owner}.{name}: {annotation!r}")


def payloads(model: type[BaseModel], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects of ``model``: required keys always, optional keys missing, null or a value."""
    if model.__name__ == "OpenMeteoDaily":  # its validator wants equally long day lists
        return _open_meteo_daily()
    hints = typing.get_type_hints(model)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        strategy = _value(hints[name], model.__name__, name, depth)
        if info.is_required():
            required[key] = strategy
        else:
            optional[key] = st.one_of(st.none(), strategy)
    return st.fixed_dictionaries(required, optional=optional)


def _open_meteo_daily() -> st.SearchStrategy[dict[str, Any]]:
    def build(n: int) -> st.SearchStrategy[dict[str, Any]]:
        values = st.lists(st.one_of(st.none(), FLOATS), min_size=n, max_size=n)
        return st.fixed_dictionaries(
            {
                "time": st.lists(st.dates(), min_size=n, max_size=n, unique=True).map(
                    lambda ds: [d.isoformat() for d in ds]
                ),
                "temperature_2m_max": values,
                "temperature_2m_min": values,
                "precipitation_sum": values,
                "wind_speed_10m_max": values,
            }
        )

    return st.integers(0, 4).flatmap(build)


def _endpoint(source: str, endpoint: str) -> Any:
    from connectors.core import parse_spec
    from jobs.ingest.plan import source_spec

    if (source, endpoint) == ("weather", "day_summary"):  # the OpenWeatherMap spec (provider setting)
        from unittest.mock import patch

        with patch("connectors.weather.source._provider", return_value="openweathermap"):
            spec = source_spec(source)
    else:
        spec = source_spec(source)
    return parse_spec(spec, origin=f"connectors.{source}").endpoint(endpoint)


def _bronze(source: str, endpoint: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What bronze keeps of ``records``: the endpoint's validation, then the stored JSON, read back."""
    from connectors.core.validation import RecordValidator

    ep = _endpoint(source, endpoint)
    checked = RecordValidator(ep.record_model(), contract=ep.contract, primary_key=ep.primary_keys).check(records)
    return [orjson.loads(orjson.dumps(rec)) for _, rec in checked.valid]


def _context(source: str, endpoint: str, ctx: dict[str, Any], extra: Any) -> dict[str, Any]:
    if (source, endpoint) == ("pokeapi", "pokemon"):
        return ctx | {"species": extra}
    if (source, endpoint) == ("spotify", "tracks"):
        return ctx | {"audio_features": extra}
    return ctx


def _context_strategy(source: str, endpoint: str) -> st.SearchStrategy[Any]:
    if (source, endpoint) == ("pokeapi", "pokemon"):
        from connectors.pokeapi.models import PokemonSpecies

        return st.lists(payloads(PokemonSpecies), max_size=3)
    if (source, endpoint) == ("spotify", "tracks"):
        from connectors.spotify.models import AudioFeatures

        return st.one_of(st.none(), st.lists(st.one_of(st.none(), payloads(AudioFeatures)), max_size=3))
    return st.none()


def _silver(source: str, endpoint: str, records: list[dict[str, Any]], ctx: dict[str, Any]) -> Any:
    from jobs.ingest.silver import silver_batches, to_silver

    rows, rejected = to_silver(source, endpoint, records, ctx)
    expected = {t: [r | {"lineage": "p"} for r in items] for t, items in rows.items()}
    return silver_batches(rows, rejected, lineage="p"), rejected, expected


def _check(batches: dict[str, pa.Table], rejected: Any, expected: dict[str, list[dict[str, Any]]]) -> None:
    reasons = [item["reason"] for item in rejected.items]
    assert all(isinstance(r, str) and r for r in reasons)
    for table, batch in batches.items():
        spec = get_spec(table)
        declared = pa.schema([f.with_nullable(True) for f in spec.schema if f.name != LOAD_ID])
        assert batch.schema.equals(declared), (table, batch.schema)  # declared, never inferred
        with_id = batch.append_column(pa.field(LOAD_ID, pa.string()), pa.array(["l"] * batch.num_rows, pa.string()))
        conform(with_id, spec.schema, table_name=table)  # the writer's own check: raises on any mismatch
        left_out = [i for i in rejected.items if str(i["location"]).startswith(f"{table}#")]
        assert batch.num_rows == len(expected[table]) - len(left_out)
        if not left_out:  # values arrive as mapped: text, lists (also empty ones), numbers, nulls
            for got, want in zip(batch.to_pylist(), expected[table], strict=True):
                for key, value in want.items():
                    if isinstance(value, str | bool | int | float | list) or value is None:  # no NaN in JSON
                        assert got[key] == value, (table, key)


@pytest.mark.parametrize(("source", "endpoint", "ctx"), ENDPOINTS, ids=[f"{s}-{e}" for s, e, _ in ENDPOINTS])
def test_generated_payloads_go_bronze_to_silver(source: str, endpoint: str, ctx: dict[str, Any]) -> None:
    model = _endpoint(source, endpoint).record_model()
    assert model is not None

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(records=st.lists(payloads(model), max_size=3), extra=_context_strategy(source, endpoint))
    def run(records: list[dict[str, Any]], extra: Any) -> None:
        bronze = _bronze(source, endpoint, records)
        batches, rejected, expected = _silver(source, endpoint, bronze, _context(source, endpoint, ctx, extra))
        _check(batches, rejected, expected)

    run()


def _minimal(model: type[BaseModel]) -> dict[str, Any]:
    hints = typing.get_type_hints(model)
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            out[info.alias or name] = _plain(hints[name], model.__name__, name)
    return out


def _plain(annotation: Any, owner: str, name: str) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    simple: dict[tuple[str, str], Any] = {
        ("SimpleAlbum", "release_date"): "2015",
        ("SimpleAlbum", "release_date_precision"): "year",
        ("NamedResource", "url"): "https://pokeapi.co/api/v2/pokemon-species/1/",
        ("Parent", "type"): "database_id",
    }
    if (owner, name) in simple:
        return simple[(owner, name)]
    if origin in (typing.Union, types.UnionType):
        return None if type(None) in args else _plain(args[0], owner, name)
    if origin is typing.Literal:
        return args[0]
    if origin is list:
        return []
    if origin is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation.__name__ == "OpenMeteoDaily":
            return {"time": ["2015-06-01"]} | {
                k: [None]
                for k in ("temperature_2m_max", "temperature_2m_min", "precipitation_sum", "wind_speed_10m_max")
            }
        return _minimal(annotation)
    return {
        bool: False,
        int: 1,
        float: 1.5,
        str: "x",
        datetime: "2015-06-01T00:00:00Z",
        date: "2015-06-01",
    }[annotation]


@pytest.mark.parametrize(("source", "endpoint", "ctx"), ENDPOINTS, ids=[f"{s}-{e}" for s, e, _ in ENDPOINTS])
def test_minimal_payload_lands_in_a_real_lake(lake: Lakehouse, source: str, endpoint: str, ctx: dict[str, Any]) -> None:
    from jobs.ingest.silver import silver_batches, to_silver

    model = _endpoint(source, endpoint).record_model()
    assert model is not None
    records = _bronze(source, endpoint, [_minimal(model)])
    assert len(records) == 1, "a payload with only the required keys must pass bronze validation"
    rows, rejected = to_silver(source, endpoint, records, _context(source, endpoint, ctx, []))
    batches = silver_batches(rows, rejected, lineage="minimal")
    with lake.load("t") as load:
        for table, batch in batches.items():
            if batch.num_rows:
                load.write(table, batch, batch=BatchKey(f"minimal/{table}"))
    for table, batch in batches.items():
        if batch.num_rows:
            back = lake.read(table)
            assert back.num_rows == batch.num_rows
            for field in batch.schema:  # every value round-trips the Delta table (empty lists stay [])
                assert back.column(field.name).to_pylist() == batch.column(field.name).to_pylist(), (table, field)
    landed = sum(b.num_rows for b in batches.values())
    assert landed + len(rejected.items) >= 1  # the record became rows or was quarantined with a reason
