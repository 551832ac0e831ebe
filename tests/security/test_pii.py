"""Issue 16 item 7: personal-data columns are tagged in the registry and masked in the SQL engine for keys
without a ``pii`` grant, whatever the SQL (SELECT *, aliases, expressions, CTEs, joins, PIVOT)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest

from lakehouse import BatchKey, Lakehouse, get_spec
from serve.auth import KeyStore, KeyStoreError
from serve.guard import BlockedQueryError
from serve.query.service import EngineOptions, QueryService

NOW = datetime(2024, 1, 1, tzinfo=UTC)
PEOPLE = [
    ("Ada Lovelace", "ada@example.org", "441234567890", "12 Analytical St", date(1815, 12, 10)),
    ("Alan Turing", "alan@example.org", "441987654321", "3 Enigma Rd", date(1912, 6, 23)),
]
RAW = [v for p in PEOPLE for v in (p[0], p[1], p[2], p[3])] + ["1815-12-10", "1912-06-23"]


def test_registry_tags() -> None:
    for table in ("silver.customers", "silver.customer_records"):
        assert set(get_spec(table).pii_columns) == {"name", "email", "phone", "address", "birth_date"}
    assert "author_name" in get_spec("silver.github_commits").pii_columns
    assert not get_spec("gold.series_values").pii_columns


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> QueryService:
    lake = Lakehouse(tmp_path_factory.mktemp("pii") / "lake")
    customers = [
        {
            "entity_id": f"c{i}",
            "status": "active",
            "record_count": 1,
            "first_seen": NOW,
            "updated_at": NOW,
            "run_id": "r1",
            "name": p[0],
            "email": p[1],
            "phone": p[2],
            "address": p[3],
            "birth_date": p[4],
            "city": "London",
            "lifetime_value": 10.0 * (i + 1),
        }
        for i, p in enumerate(PEOPLE)
    ]
    records = [
        {"source": "crm", "source_id": f"r{i}", "ingested_at": NOW, "name": p[0], "email": p[1], "phone": p[2]}
        for i, p in enumerate(PEOPLE)
    ]
    with lake.load("tests.pii") as load:
        load.write("silver.customers", customers, batch=BatchKey("tests/pii/customers"))
        load.write("silver.customer_records", records, batch=BatchKey("tests/pii/records"))
    svc = QueryService(lake, EngineOptions(threads=1))
    yield svc
    svc.close()


QUERIES = [
    "SELECT * FROM silver.customers",
    "SELECT email AS contact, name AS who FROM silver.customers",
    "SELECT lower(email), upper(name), email || '!', substr(phone, 1, 5), reverse(address) FROM silver.customers",
    "SELECT c.email FROM silver.customers c",
    "SELECT customers.email FROM silver.customers",
    "WITH x AS (SELECT email, name FROM silver.customers) SELECT * FROM x",
    "SELECT r.email, c.name FROM silver.customer_records r JOIN silver.customers c ON r.email = c.email",
    "SELECT string_agg(email, ',') AS e, list(phone) AS p FROM silver.customers",
    "SELECT email FROM silver.customers UNION ALL SELECT email FROM silver.customer_records",
    "SELECT * FROM (SELECT name, birth_date FROM silver.customers) q",
    "SELECT CAST(birth_date AS VARCHAR) AS b FROM silver.customers",
    "SELECT regexp_extract(email, '^([^@]+)', 1) AS user FROM silver.customers",
    "PIVOT (SELECT city, name FROM silver.customers) ON name USING count(*)",
    "SELECT email, count(*) FROM silver.customers GROUP BY email",
    "SELECT to_json(c) FROM silver.customers c",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_masked_for_keys_without_grant(service: QueryService, sql: str) -> None:
    out = service.run_sql(sql)
    body = orjson.dumps(out, default=str).decode()
    leaked = [v for v in RAW if v in body or v.lower() in body.lower()]
    assert leaked == [], (sql, leaked)
    assert out["pii_unmasked"] is False and out["pii_columns"]


def test_masking_keeps_joins_and_distinct_counts(service: QueryService) -> None:
    joined = service.run_sql(
        "SELECT count(*) FROM silver.customer_records r JOIN silver.customers c ON r.email = c.email"
    )
    assert joined["rows"] == [[2]]
    assert service.run_sql("SELECT count(DISTINCT email) FROM silver.customers")["rows"] == [[2]]
    values = service.run_sql("SELECT email FROM silver.customers ORDER BY 1")["rows"]
    assert all(v[0].startswith("pii:") for v in values)
    # non-personal columns are untouched
    assert service.run_sql("SELECT sum(lifetime_value) FROM silver.customers")["rows"] == [[30.0]]


@pytest.mark.parametrize("sql", QUERIES[:8])
def test_unmasked_with_grant(service: QueryService, sql: str) -> None:
    out = service.run_sql(sql, pii=True)
    body = orjson.dumps(out, default=str).decode()
    assert "ada@example.org" in body.lower() or "ada lovelace" in body.lower(), sql
    assert out["pii_unmasked"] is True


def test_raw_copies_cannot_be_named(service: QueryService) -> None:
    for sql in (
        "SELECT * FROM pii_raw_silver.customers",
        "SELECT * FROM memory.pii_raw_silver.customers",
        "SELECT * FROM query_table('pii_raw_silver.customers')",
        "SELECT * FROM query('SELECT * FROM pii_raw_silver.customers')",
    ):
        with pytest.raises(BlockedQueryError):
            service.run_sql(sql)
    other = service.run_sql("SELECT 1 AS one")
    assert "pii_unmasked" not in other  # no table with personal data read: nothing to say


def test_keys_carry_the_pii_grant(tmp_path) -> None:
    store = KeyStore(tmp_path / "keys.yaml")
    _, plain = store.create("analyst")
    _, granted = store.create("viewer", grants=("pii",))
    _, admin = store.create("admin")
    assert store.verify(plain).pii is False and store.verify(admin).pii is False
    assert store.verify(granted).pii is True and store.verify(granted).role == "viewer"
    assert KeyStore(tmp_path / "keys.yaml").verify(granted).pii  # survives a reload
    with pytest.raises(KeyStoreError, match="unknown grant"):
        store.create("viewer", grants=("root",))
