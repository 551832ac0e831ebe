"""The SQL guard and the locked engine: hostile corpus blocked twice, benign corpus untouched, fuzz, timeouts."""

from __future__ import annotations

import pickle
import re
import time

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from serve.guard import BlockedQueryError, GuardPolicy, QueryFailedError, QueryTimeoutError, check_sql
from serve.guard.engine import EngineLimits, LakeSnapshots
from tests.serve.corpus import BENIGN, GUARD_ONLY, HOSTILE

TABLES = ["gold.series_values", "gold.series_catalog"]
POLICY = GuardPolicy.for_tables(TABLES, max_limit=1000)
ENGINE_REFUSAL = re.compile(
    r"permission|read-only|read only|lock|disabled|cannot|not supported|parser error|catalog error|not (found|exist)|"
    r"binder error|unknown|extension",
    re.I,
)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    from lakehouse import Lakehouse
    from tests.serve.conftest import write_planted

    lake = Lakehouse(tmp_path_factory.mktemp("guard") / "lake")
    write_planted(lake)
    snaps = LakeSnapshots(lake, TABLES, limits=EngineLimits(timeout_s=2.0, max_rows=1000, threads=1))
    yield snaps
    snaps.close()


@pytest.fixture(scope="module")
def open_con(snapshots):
    """An UNLOCKED in-memory copy of the same data: the reference for benign results."""
    con = duckdb.connect()
    for name in TABLES:
        layer, short = name.split(".")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
        con.register("src", snapshots.lake.read(name))
        con.execute(f"CREATE TABLE {layer}.{short} AS SELECT * FROM src")
        con.unregister("src")
    return con


def test_corpora_are_big_enough():
    assert len(HOSTILE) >= 100
    assert len(set(HOSTILE)) == len(HOSTILE)
    assert len(BENIGN) >= 40


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_blocked_by_guard(sql):
    with pytest.raises(BlockedQueryError) as info:
        check_sql(sql, POLICY)
    assert info.value.reason and info.value.message


def test_hostile_fail_on_locked_engine_without_guard(snapshots):
    """Guard switched off: every hostile statement still fails in the locked, read-only DuckDB."""
    engine = snapshots.engine()
    survived, messages = [], []
    for sql in HOSTILE:
        try:
            engine.execute(sql)
        except QueryFailedError as exc:
            messages.append(exc.message)
            assert ENGINE_REFUSAL.search(exc.message), f"{sql!r} failed for an unexpected reason: {exc.message}"
        else:
            survived.append(sql)
    assert survived == []
    # the file readers fail on the permission check, not on something incidental
    assert sum("Permission" in m or "disabled" in m for m in messages) >= 60
    # and the data is intact
    assert engine.execute("SELECT count(*) FROM gold.series_values").rows == [[120]]


@pytest.mark.parametrize("sql", GUARD_ONLY)
def test_guard_only_statements_blocked(sql):
    with pytest.raises(BlockedQueryError):
        check_sql(sql, POLICY)


def test_guard_is_needed_for_guard_only_statements(snapshots):
    """These run on the engine (so the guard is not redundant): query(), catalog functions, temp tables."""
    engine = snapshots.engine()
    ran = 0
    for sql in [
        "SELECT * FROM query('SELECT 42')",
        "SELECT * FROM duckdb_settings()",
        "SELECT current_setting('threads')",
    ]:
        engine.execute(sql)
        ran += 1
    assert ran == 3


@pytest.mark.parametrize("sql", BENIGN)
def test_benign_allowed_and_equivalent(sql, snapshots, open_con):
    guarded = check_sql(sql, POLICY)
    got = snapshots.engine().execute(guarded.sql).rows
    expected = [
        [v.isoformat() if hasattr(v, "isoformat") else v for v in row] for row in open_con.execute(sql).fetchall()
    ]
    if "ORDER BY" not in sql.upper():
        got, expected = sorted(map(repr, got)), sorted(map(repr, expected))
    assert _approx(got) == _approx(expected)


def _approx(rows):
    return [[round(v, 6) if isinstance(v, float) else v for v in r] if isinstance(r, list) else r for r in rows]


def test_limit_enforced():
    assert check_sql("SELECT * FROM gold.series_values", POLICY).sql.endswith("LIMIT 1000")
    assert check_sql("SELECT * FROM gold.series_values LIMIT 5", POLICY).limit == 5
    assert check_sql("SELECT * FROM gold.series_values LIMIT 99999", POLICY).limit == 1000
    union = check_sql("SELECT 1 UNION ALL SELECT 2", POLICY)
    assert union.sql.endswith("LIMIT 1000")


def test_block_reasons():
    cases = {
        "SELECT 1; SELECT 2": "multiple_statements",
        "DROP TABLE gold.series_values": "ddl",
        "SELECT * FROM read_csv('/etc/passwd')": "function",
        "WITH x AS (DELETE FROM gold.series_values RETURNING *) SELECT * FROM x": "write",
        "SET threads = 1": "set",
        "SELECT * FROM gold.nope": "table",
        "SELEC 1": "not_select",
        "": "empty",
    }
    for sql, reason in cases.items():
        with pytest.raises(BlockedQueryError) as info:
            check_sql(sql, POLICY)
        assert info.value.reason in (reason, "parse_error", "unknown_statement"), (sql, info.value.reason)


def test_errors_pickle():
    err = BlockedQueryError("no", reason="ddl")
    back = pickle.loads(pickle.dumps(err))
    assert back.reason == "ddl" and back.message == "no" and isinstance(back, ValueError)
    for cls in (QueryFailedError, QueryTimeoutError):
        assert pickle.loads(pickle.dumps(cls("x", hint="h"))).hint == "h"


def test_pathological_queries_cut(snapshots):
    engine = snapshots.engine()
    sql = check_sql("SELECT count(*) FROM range(100000000000)", POLICY).sql
    started = time.perf_counter()
    with pytest.raises(QueryTimeoutError):
        engine.execute(sql, timeout_s=0.5)
    assert time.perf_counter() - started < 5
    cross = check_sql(
        "SELECT * FROM gold.series_values a, gold.series_values b, gold.series_values c, range(1000000) r", POLICY
    ).sql
    started = time.perf_counter()
    result = engine.execute(cross, max_rows=200)
    assert (result.row_count == 200 and result.truncated is False) or result.row_count == 200
    assert time.perf_counter() - started < 5
    # without a LIMIT from the guard the row cap still truncates
    raw = engine.execute("SELECT * FROM range(100000000)", max_rows=50)
    assert raw.row_count == 50 and raw.truncated
    # a cross join aggregated (no streaming) is interrupted
    with pytest.raises(QueryTimeoutError):
        engine.execute(
            check_sql("SELECT sum(a.i * b.i) FROM range(1000000) a(i), range(1000000) b(i)", POLICY).sql,
            timeout_s=0.5,
        )


FRAGMENTS = [
    "SELECT",
    "*",
    "FROM",
    "gold.series_values",
    "gold.series_catalog",
    "WHERE",
    "value",
    ">",
    "1",
    ";",
    "DROP",
    "TABLE",
    "INSERT",
    "INTO",
    "VALUES",
    "(",
    ")",
    "read_csv('/etc/passwd')",
    "UNION",
    "ALL",
    "WITH",
    "x",
    "AS",
    "COPY",
    "TO",
    "'/tmp/x'",
    "ATTACH",
    "PRAGMA",
    "SET",
    "threads",
    "=",
    "LOAD",
    "httpfs",
    "query('select 1')",
    "--",
    "/*",
    "*/",
    "'",
    '"',
    "RETURNING",
    "DELETE",
    "UPDATE",
    "CALL",
    "getenv('x')",
    ",",
    "ORDER BY",
    "LIMIT",
    "series_id",
    "count(*)",
    "range(5)",
    "EXPORT",
    "DATABASE",
    "INSTALL",
    "CREATE",
    "TEMP",
    "VIEW",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14))
def test_guard_fuzz(snapshots, parts):
    """Random token soups: the guard raises only BlockedQueryError, and whatever it lets through is a
    single read-only SELECT that passes the guard again and runs without touching files or settings."""
    sql = " ".join(parts)
    try:
        guarded = check_sql(sql, POLICY)
    except BlockedQueryError:
        return
    again = check_sql(guarded.sql, POLICY)
    assert again.sql == guarded.sql
    lowered = guarded.sql.lower()
    for bad in ("read_csv", "getenv", "query("):  # functions: never in what the guard lets through
        assert bad not in lowered, guarded.sql
    # statement keywords may appear only as plain column names (``SELECT load`` selects a column "load"):
    # what the guard lets through is one query with no statement of another kind anywhere inside it
    tree = sqlglot.parse_one(guarded.sql, read="duckdb")
    assert isinstance(tree, exp.Query), guarded.sql
    forbidden = (exp.Command, exp.Copy, exp.Attach, exp.Pragma, exp.Insert, exp.Delete, exp.Update, exp.Create)
    assert not any(isinstance(node, forbidden) for node in tree.walk()), guarded.sql
    named = {c.name.lower() for c in tree.find_all(exp.Column)}
    for word in ("copy", "attach", "pragma", "install", "load", "insert", "delete"):
        assert word not in lowered.split() or word in named, guarded.sql
    try:
        snapshots.engine().execute(guarded.sql, timeout_s=2.0, max_rows=10)
    except QueryFailedError as exc:  # e.g. a type error is fine; a permission problem would mean a bypass
        assert "Permission" not in exc.message and "read-only" not in exc.message, (sql, exc.message)
    except QueryTimeoutError:
        pass


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(BENIGN[:10]),
    st.sampled_from([f.split(" FROM ")[-1] if " FROM " in f else f for f in HOSTILE[:60:4]] + ["query('select 1')"]),
)
def test_fuzz_hostile_spliced_into_benign(benign, hostile):
    """A hostile table function spliced into a benign query (as subquery / join / union) is always blocked."""
    for template in (
        "SELECT * FROM ({b}) q, {h}",
        "SELECT (SELECT count(*) FROM {h}) AS n, * FROM ({b}) q",
        "WITH q AS ({b}) SELECT * FROM q WHERE EXISTS (SELECT 1 FROM {h})",
    ):
        with pytest.raises(BlockedQueryError):
            check_sql(template.format(b=benign, h=hostile), POLICY)
