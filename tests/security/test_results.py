"""Issue 16 items 3 and 13: results are capped in rows AND bytes, the deadline covers reading them,
``truncated`` is true whenever rows were cut; benign PIVOT and time_bucket() pass the guard."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from lakehouse import BatchKey, Lakehouse
from serve.guard import BlockedQueryError, GuardPolicy, QueryTimeoutError, check_sql
from serve.guard.engine import EngineLimits, snapshot_from_tables
from serve.query.service import EngineOptions, QueryService


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> QueryService:
    lake = Lakehouse(tmp_path_factory.mktemp("results") / "lake")
    rows = [
        {"series_id": s, "ts": date(2020, m, d), "value": float(m * d)} for s in "ab" for m in (1, 2) for d in (1, 15)
    ]
    with lake.load("tests.security") as load:
        load.write("gold.series_values", rows, batch=BatchKey("tests/security/values"))
    svc = QueryService(lake, EngineOptions(max_rows=1000, timeout_s=5.0, max_result_bytes=1_000_000, threads=1))
    yield svc
    svc.close()


def test_cut_rows_say_truncated(service: QueryService) -> None:
    out = service.run_sql("SELECT * FROM range(50000)")
    assert out["row_count"] == 1000 and out["truncated"] is True and out["truncated_by"] == "max_rows"
    exact = service.run_sql("SELECT * FROM range(1000)")  # exactly the cap: nothing was cut
    assert exact["row_count"] == 1000 and exact["truncated"] is False
    own = service.run_sql("SELECT * FROM range(50000) LIMIT 10")  # the caller's own LIMIT is not a cut
    assert own["row_count"] == 10 and own["truncated"] is False
    small = service.run_sql("SELECT * FROM range(50000)", max_rows=7)
    assert small["row_count"] == 7 and small["truncated"] is True


def test_result_bytes_capped(service: QueryService) -> None:
    started = time.perf_counter()
    out = service.run_sql("SELECT repeat('x', 300000) AS s FROM range(1000)")
    elapsed = time.perf_counter() - started
    body = orjson.dumps(out["rows"])
    assert out["truncated"] is True and out["truncated_by"] == "max_result_bytes"
    assert 0 < out["row_count"] < 1000 and len(body) <= 1_000_000
    assert elapsed < 5.0


def test_deadline_covers_reading_results(tmp_path: Path) -> None:
    """A statement whose rows are cheap for DuckDB but slow to read back still stops at the deadline."""
    engine = snapshot_from_tables(
        [("gold.t", pa.table({"a": [1]}))],
        tmp_path,
        limits=EngineLimits(timeout_s=1.0, max_rows=100_000, max_result_bytes=1 << 40),
    )
    started = time.perf_counter()
    # DuckDB builds the lists in well under a second on an idle machine; turning 6 M dates into JSON-able rows
    # takes many seconds more, so the 1 s deadline has to stop the reading, not only the statement
    with pytest.raises(QueryTimeoutError):
        engine.execute("SELECT [DATE '2020-01-01' + i::INT for i in range(100)] AS l FROM range(60000)")
    assert time.perf_counter() - started < 5.0
    engine.close()


POLICY = GuardPolicy.for_tables(["gold.series_values"])


@pytest.mark.parametrize(
    "sql",
    [
        "PIVOT gold.series_values ON series_id USING avg(value)",
        "PIVOT gold.series_values ON series_id USING sum(value) GROUP BY ts",
        "SELECT time_bucket(INTERVAL '1 month', ts) AS m, avg(value) FROM gold.series_values GROUP BY 1",
        "WITH p AS (PIVOT gold.series_values ON series_id USING sum(value)) SELECT * FROM p",
    ],
)
def test_benign_pivot_and_time_bucket_pass(sql: str, service: QueryService) -> None:
    guarded = check_sql(sql, POLICY)
    assert guarded.limit == 1000
    out = service.run_sql(sql)
    assert out["row_count"] > 0 and out["truncated"] is False


def test_pivot_results_are_right(service: QueryService) -> None:
    out = service.run_sql("PIVOT (SELECT series_id, value FROM gold.series_values) ON series_id USING sum(value)")
    record = dict(zip(out["columns"], out["rows"][0], strict=True))
    assert out["row_count"] == 1 and record == {"a": 1 + 15 + 2 + 30.0, "b": 1 + 15 + 2 + 30.0}
    by_day = service.run_sql(
        "SELECT * FROM (PIVOT gold.series_values ON series_id USING sum(value) GROUP BY ts) ORDER BY ts"
    )
    assert [r[1:] for r in by_day["rows"]] == [[1.0, 1.0], [15.0, 15.0], [2.0, 2.0], [30.0, 30.0]]
    buckets = service.run_sql(
        "SELECT time_bucket(INTERVAL '1 month', ts) AS m, count(*) AS n FROM gold.series_values GROUP BY 1 ORDER BY 1"
    )
    assert [r[1] for r in buckets["rows"]] == [4, 4]


@pytest.mark.parametrize(
    "sql",
    [
        "PIVOT (SELECT * FROM read_csv('/etc/passwd')) ON a USING count(*)",
        "PIVOT main.secret ON a USING count(*)",
        "PIVOT gold.series_values ON series_id USING avg(value); DROP TABLE gold.series_values",
        "SELECT time_bucket(INTERVAL '1 day', ts) FROM read_parquet('/tmp/x.parquet')",
    ],
)
def test_hostile_pivot_still_blocked(sql: str) -> None:
    with pytest.raises(BlockedQueryError):
        check_sql(sql, POLICY)
