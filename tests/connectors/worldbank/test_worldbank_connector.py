"""World Bank connector: recording (real WDI values statsmodels ships) -> bronze -> silver -> gold, checked
against the dataset itself; empty answers, bad periods, and a foreign payload quarantined."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.datasets import fertility

from connectors.core import RunOptions, parse_spec, run_endpoint
from connectors.core.registry import CONNECTORS
from connectors.replay import ReplayServer
from connectors.worldbank.models import Observation, period_start
from connectors.worldbank.recording import ISO2
from connectors.worldbank.series import unit_of
from jobs.ingest.gold import write_gold
from jobs.ingest.plan import DEFAULT_SOURCES, first_stage, source_spec
from jobs.ingest.silver import to_silver
from jobs.ingest.tasks import write_silver

INDICATOR = "SP.DYN.TFRT.IN"


def _reference() -> dict[str, dict[int, float]]:
    """The dataset statsmodels ships, read with pandas (not through the connector)."""
    frame = fertility.load_pandas().data.set_index("Country Code")
    return {
        iso3: {int(y): float(v) for y, v in frame.loc[iso3].items() if y.isdigit() and not math.isnan(float(v))}
        for iso3 in ISO2
    }


@pytest.fixture(scope="module")
def server() -> Any:
    with ReplayServer(["worldbank"]) as srv:
        yield srv


def _land(lake: Any, server: Any, partition: dict[str, str]) -> Any:
    spec = parse_spec(source_spec("worldbank", replay_url=server.base_url("worldbank")))
    return run_endpoint(
        lake, spec, "indicator", partition=partition, options=RunOptions(base_url=server.base_url("worldbank"))
    )


def test_recording_lands_bronze_silver_gold_equal_to_the_dataset(lake: Any, server: Any) -> None:
    parts = first_stage("worldbank", {})
    assert {p.partition["country"] for p in parts} == set(ISO2) and all(p.endpoint == "indicator" for p in parts)
    for part in parts:
        summary = _land(lake, server, part.partition)
        assert (summary.pages, summary.rows, summary.quarantined) == (2, 54, 0)  # 50 + 4 rows: the paginator follows
        written, rejected = write_silver(lake, "t", part, _records(lake, part), dict(part.partition))
        assert (written, rejected) == (54, 0)
    silver = lake.read("silver.worldbank_indicators").to_pylist()
    assert len(silver) == len(ISO2) * 54
    ref = _reference()
    for row in silver:
        want = ref[row["country_iso3"]].get(row["date"].year)
        assert row["value"] == want, row  # null exactly where the World Bank had no estimate (2012, 2013)
        assert row["date"] == date(int(row["period"]), 1, 1) and row["frequency"] == "A"
        assert row["country_id"] == ISO2[row["country_iso3"]] and row["lineage"].startswith("worldbank/indicator/")
    assert sum(r["value"] is None for r in silver) == 2 * len(ISO2)

    out = write_gold(lake, sources={"worldbank"})
    assert out == {"series": len(ISO2), "values": sum(len(v) for v in ref.values())}
    catalog = {r["series_id"]: r for r in lake.read("gold.series_catalog").to_pylist()}
    jpn = catalog["worldbank.sp_dyn_tfrt_in.jpn.annual"]
    assert (jpn["unit"], jpn["frequency"], jpn["source"], jpn["domain"]) == (
        "births per woman",
        "A",
        "worldbank",
        "development",
    )
    assert "Japan" in jpn["description"]
    values = lake.read("gold.series_values", filter=pc.field("series_id") == "worldbank.sp_dyn_tfrt_in.jpn.annual")
    got = {r["ts"].year: r["value"] for r in values.to_pylist()}
    assert got == ref["JPN"] and max(got) == 2011


def _records(lake: Any, part: Any) -> list[dict[str, Any]]:
    import orjson

    expr = (pc.field("source") == "worldbank") & (pc.field("partition") == part.key)
    table = lake.read("bronze.api_records", filter=expr, columns=["page_key", "record_index", "record"])
    table = table.sort_by([("page_key", "ascending"), ("record_index", "ascending")])
    return [orjson.loads(r) for r in table.column("record").to_pylist()]


def test_an_empty_answer_finishes_with_zero_rows(lake: Any, server: Any) -> None:
    """``[{"page": 0, "pages": 0, "total": 0}, null]`` is how the API says "nothing": not an error."""
    summary = _land(lake, server, {"country": "XKX", "indicator": INDICATOR, "date": "1960:2013"})
    assert (summary.pages, summary.rows, summary.requests) == (1, 0, 1)


def test_periods_units_and_bad_records() -> None:
    assert period_start("2013") == (date(2013, 1, 1), "A")
    assert period_start("2013Q3") == (date(2013, 7, 1), "Q")
    assert period_start("2013M07") == (date(2013, 7, 1), "M")
    for bad in ("13", "2013Q5", "2013M13", "2013-07"):
        with pytest.raises(ValueError, match="World Bank period"):
            period_start(bad)
    assert unit_of("GDP (current US$)", None) == "current US$" and unit_of("Population, total", "") == "value"
    ok = {"indicator": {"id": INDICATOR, "value": "x"}, "country": {"id": "JP", "value": "Japan"}, "date": "2001Q2"}
    records = [ok | {"value": 1.3}, ok | {"date": "2001Q9"}, {"date": "2001"}, ok | {"value": "n/a"}]
    rows, rejected = to_silver("worldbank", "indicator", records, {"country": "JPN"})
    assert [r["period"] for r in rows["silver.worldbank_indicators"]] == ["2001Q2"]
    assert rows["silver.worldbank_indicators"][0]["country_iso3"] == "JP"  # no iso3 code sent: the API's id
    reasons = " | ".join(i["reason"] for i in rejected.items)
    assert len(rejected.items) == 3 and "no such quarter" in reasons and "Observation: indicator" in reasons
    assert Observation.model_validate(ok).value is None


def test_registered_as_opt_in() -> None:
    assert "worldbank" in CONNECTORS and "worldbank" not in DEFAULT_SOURCES


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_PERIODS = st.one_of(
    st.integers(1, 9999).map(lambda y: f"{y:04d}"),
    st.tuples(st.integers(1, 9999), st.integers(0, 6)).map(lambda t: f"{t[0]:04d}Q{t[1]}"),
    st.tuples(st.integers(1, 9999), st.integers(0, 14)).map(lambda t: f"{t[0]:04d}M{t[1]:02d}"),
    _TEXT,
)
_OBS = st.fixed_dictionaries(
    {
        "indicator": st.fixed_dictionaries({"id": _TEXT, "value": _TEXT}),
        "country": st.fixed_dictionaries({"id": _TEXT, "value": _TEXT}),
        "date": _PERIODS,
    },
    optional={
        "countryiso3code": _TEXT,
        "value": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**53), 2**53)),
        "unit": _TEXT,
        "obs_status": _TEXT,
        "decimal": st.one_of(st.none(), st.integers(0, 10)),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(records=st.lists(_OBS, max_size=4))
def test_generated_payloads_map_to_the_declared_schema(records: list[dict[str, Any]]) -> None:
    """Unicode, missing optional keys, nulls, extreme numbers, impossible periods: every record is either a row
    of exactly the table's schema with its value unchanged, or quarantined with a reason; nothing raises."""
    from jobs.ingest.silver import silver_batches
    from lakehouse._arrow import conform
    from lakehouse.registry import LOAD_ID, get_spec

    rows, rejected = to_silver("worldbank", "indicator", records, {})
    batches = silver_batches(rows, rejected, lineage="worldbank/indicator/x")
    batch = batches.get("silver.worldbank_indicators")
    landed = batch.num_rows if batch is not None else 0
    assert landed + len(rejected.items) == len(records) and all(i["reason"] for i in rejected.items)
    if batch is not None:
        schema = get_spec("silver.worldbank_indicators").schema
        assert batch.schema.names == [f.name for f in schema if f.name != LOAD_ID]
        with_id = batch.append_column(pa.field(LOAD_ID, pa.string()), pa.array(["l"] * batch.num_rows, pa.string()))
        conform(with_id, schema, table_name="silver.worldbank_indicators")  # the writer's own check passes
        kept = [r for r in records if r not in [i["raw"] for i in rejected.items]]
        want = [None if r.get("value") is None else float(r["value"]) for r in kept]
        assert batch.column("value").to_pylist() == want
