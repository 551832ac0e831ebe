"""A real Serve query app for the security tests (its own app name and route prefix, small engine pools)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from lakehouse import BatchKey, Lakehouse

NOW = datetime(2024, 1, 1, tzinfo=UTC)
PEOPLE = [
    ("Ada Lovelace", "ada@example.org", "441234567890"),
    ("Alan Turing", "alan@example.org", "441987654321"),
]


def _port() -> int:
    for port in range(9217, 9250):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_lake(lake: Lakehouse) -> None:
    values = [{"series_id": "s.a", "ts": date(2020, 1, 1 + i), "value": float(i)} for i in range(20)]
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
        }
        for i, p in enumerate(PEOPLE)
    ]
    with lake.load("tests.security") as load:
        load.write("gold.series_values", values, batch=BatchKey("tests/security/values"))
        load.write("silver.customers", customers, batch=BatchKey("tests/security/customers"))


@pytest.fixture(
    scope="package"
)  # package scope: a Serve instance started here is gone before tests/serve starts its own
def secure_app(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from ray import serve
    from ray.serve.context import _get_global_client

    from serve.auth import KeyStore
    from serve.query.app import build_app

    root = tmp_path_factory.mktemp("secure")
    lake = Lakehouse(root / "lake")
    write_lake(lake)
    keys_path = root / "keys.yaml"
    store = KeyStore(keys_path)
    tokens = {role: store.create(role, name=f"sec {role}")[1] for role in ("viewer", "analyst", "admin")}
    tokens["analyst_pii"] = store.create("analyst", name="sec pii", grants=("pii",))[1]
    tokens["flood"] = store.create("analyst", name="sec flood")[1]
    client = _get_global_client(raise_if_no_controller_running=False)
    started = client is None
    if started:
        port = _port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
    else:
        port = client.http_config.port
    args = {
        "lake_root": str(lake.root),
        "api_keys_path": str(keys_path),
        "audit_flush_s": 30.0,  # tests flush explicitly; events sit in the buffer (and spool) until then
        "audit_spool_dir": str(root / "spool"),
        "engine": {"timeout_s": 5.0, "max_rows": 1000, "threads": 1},
        "rate_limits": {"viewer": 0, "analyst": 0, "admin": 0},
        "sql_engine": {"num_replicas": 1, "max_ongoing_requests": 2, "max_queued_requests": 1},
        "catalog_engine": {"num_replicas": 1, "max_ongoing_requests": 8, "max_queued_requests": 32},
        "per_key_concurrency": 3,
        "heavy_cost": 5.0,
        "heavy_slots": 1,
        "max_upload_mb": 5,
    }
    serve.run(build_app(args), name="security", route_prefix="/security")
    yield {
        "url": f"http://127.0.0.1:{port}/security",
        "tokens": tokens,
        "lake": lake,
        "root": Path(root),
    }
    serve.delete("security")
    if started:
        serve.shutdown()
