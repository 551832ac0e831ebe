"""The whole lakehouse on an S3-compatible server (moto, on loopback), configured the way README says.

Settings come from COVARY_LAKE__ROOT / COVARY_LAKE__STORAGE_OPTIONS (non-secret) and the 0600 secrets file
(the secret key), never from ambient AWS_* variables; cloud metadata lookups are disabled.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from covary.settings import reset_settings
from lakehouse import BatchKey, Lakehouse, UnsafeStorageError, register
from lakehouse.maintenance import checkpoint, optimize, vacuum
from lakehouse.registry import TableSpec, col
from lakehouse.storage import commit_coordination, reset_verified
from tests._cluster.s3 import HeaderDroppingProxy, S3Server

EVENTS = register(
    TableSpec(
        name="bronze.test_s3_events",
        description="Test table on object storage: one row per (writer, seq).",
        columns=(
            col("writer", pa.string(), "Writer process.", nullable=False),
            col("seq", pa.int64(), "Batch number within the writer.", nullable=False),
            col("value", pa.float64(), "Payload."),
        ),
    )
)
WRITERS, BATCHES = 4, 20


def configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3: S3Server, root: str, endpoint: str | None = None):
    """Point covary's settings at ``root`` on ``s3`` as an admin would: env for options, secrets file for the key."""
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"COVARY_LAKE__SECRET_STORAGE_OPTIONS__AWS_SECRET_ACCESS_KEY={s3.secret_key}\n")
    secrets.chmod(0o600)
    for key in [k for k in os.environ if k.startswith("AWS_") and k != "AWS_EC2_METADATA_DISABLED"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("COVARY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COVARY_LAKE__ROOT", root)
    monkeypatch.setenv("COVARY_LAKE__STORAGE_OPTIONS", json.dumps(s3.public_options(endpoint)))
    monkeypatch.setenv("COVARY_SECRETS_FILE", str(secrets))
    reset_settings()
    reset_verified()


@pytest.fixture
def s3_lake(s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bucket = s3_server.bucket()
    configure(monkeypatch, tmp_path, s3_server, f"s3://{bucket}/lake")
    yield Lakehouse.from_settings(), bucket
    reset_settings()
    reset_verified()


def _keys(table: pa.Table) -> list[tuple[str, int]]:
    return list(zip(table.column("writer").to_pylist(), table.column("seq").to_pylist(), strict=True))


def test_settings_carry_the_secret_from_the_secrets_file_only(s3_lake, s3_server: S3Server) -> None:
    lake, _ = s3_lake
    assert lake.storage_options["aws_secret_access_key"] == s3_server.secret_key
    assert s3_server.secret_key not in os.environ.get("COVARY_LAKE__STORAGE_OPTIONS", "")
    again = Lakehouse.from_settings(root=lake.root + "-other")  # how Ray tasks open the lake
    assert again.storage_options == lake.storage_options


def test_exactly_once_replays_on_s3(s3_lake) -> None:
    lake, _ = s3_lake
    rows = [{"writer": "a", "seq": i, "value": float(i)} for i in range(5)]
    with lake.load("s3-test") as load:
        first = load.write("bronze.test_s3_events", rows, batch=BatchKey("s3/a", 1))
        again = load.write("bronze.test_s3_events", rows, batch=BatchKey("s3/a", 1))
    assert first.rows == 5 and not first.skipped
    assert again.skipped and again.rows == 0
    assert lake.read("bronze.test_s3_events").num_rows == 5


def _append_many(env: dict[str, str], writer: int) -> None:
    os.environ.update(env)
    import tests.cluster.test_lake_s3  # noqa: F401  (registers the test table in the child)

    lake = Lakehouse.from_settings()
    lake.commit_retries = 60
    with lake.load(f"writer-{writer}", load_id=f"s3-load-{writer}") as load:
        for seq in range(BATCHES):
            rows = [{"writer": f"w{writer}", "seq": seq, "value": float(seq)}]
            load.write("bronze.test_s3_events", rows, batch=BatchKey(f"w{writer}", seq + 1))
            if seq % 5 == 0:  # a replayed batch (a retried task) must add nothing
                assert load.write("bronze.test_s3_events", rows, batch=BatchKey(f"w{writer}", seq + 1)).skipped


def test_four_processes_twenty_batches_each_exactly_once(s3_lake) -> None:
    lake, _ = s3_lake
    lake.ensure("bronze.test_s3_events")
    env = {k: v for k, v in os.environ.items() if k.startswith(("COVARY_", "AWS_"))}
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(env, w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    keys = _keys(lake.read("bronze.test_s3_events"))
    assert len(keys) == WRITERS * BATCHES, "rows lost or duplicated"
    assert set(keys) == {(f"w{w}", s) for w in range(WRITERS) for s in range(BATCHES)}
    versions = sorted(h["version"] for h in lake.history("bronze.test_s3_events"))
    assert versions == list(range(WRITERS * BATCHES + 1)), "one commit per batch, none overwritten"


def test_header_dropping_proxy_is_refused_before_anything_is_written(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_server.bucket()
    with HeaderDroppingProxy(s3_server.endpoint) as proxy:
        configure(monkeypatch, tmp_path, s3_server, f"s3://{bucket}/lake", endpoint=proxy.endpoint)
        lake = Lakehouse.from_settings()
        with (
            pytest.raises(UnsafeStorageError, match="does not reject conflicting commits") as info,
            lake.load("through-proxy") as load,
        ):
            load.write("bronze.test_s3_events", [{"writer": "p", "seq": 1, "value": 1.0}])
        assert proxy.stripped >= 1, "the probe must have gone through the proxy"
        assert "COVARY_LAKE__SINGLE_WRITER" in (info.value.hint or "")
        assert "aws_s3_locking_provider" in (info.value.hint or "")
        assert s3_server.keys(bucket) == [], "nothing may be written to an unsafe store"
    reset_settings()
    reset_verified()


def test_unsafe_rename_is_refused_for_multiple_writers(s3_lake) -> None:
    lake, _ = s3_lake
    unsafe = Lakehouse(lake.root, storage_options=lake.storage_options | {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"})
    with pytest.raises(UnsafeStorageError, match="unsafe_rename"):
        unsafe.write("bronze.test_s3_events", [{"writer": "u", "seq": 1}], load_id="x")
    # a lake whose admin declares a single writer may proceed (with a warning)
    single = Lakehouse(lake.root, storage_options=unsafe.storage_options, single_writer=True)
    with single.load("single") as load:
        load.write("bronze.test_s3_events", [{"writer": "u", "seq": 1}])
    assert single.read("bronze.test_s3_events").num_rows == 1
    assert commit_coordination({"aws_s3_locking_provider": "dynamodb"}) == "dynamodb"
    assert commit_coordination({}) == "conditional-put"


def test_merge_overwrite_time_travel_and_maintenance_on_s3(s3_lake) -> None:
    lake, _ = s3_lake
    q = [date(2020, 1, 1), date(2020, 4, 1), date(2020, 7, 1)]
    with lake.load("macro") as load:
        load.write("silver.macro_observations", {"series": ["a"] * 3, "ts": q, "value": [1.0, 2.0, 3.0]})
    with lake.load("macro") as load:  # upsert: one changed, one new
        load.write(
            "silver.macro_observations", {"series": ["a", "a"], "ts": [q[2], date(2020, 10, 1)], "value": [30.0, 4.0]}
        )
    merged = lake.read("silver.macro_observations").sort_by("ts")
    assert merged.column("value").to_pylist() == [1.0, 2.0, 30.0, 4.0]
    versions = sorted(h["version"] for h in lake.history("silver.macro_observations"))
    assert versions == [0, 1, 2]  # create, first load, merge
    old = lake.read("silver.macro_observations", version=1).sort_by("ts")  # time travel
    assert old.column("value").to_pylist() == [1.0, 2.0, 3.0]

    def export(system: str, keys: list[str]) -> dict[str, list[object]]:
        now = pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py()
        return {
            "system": [system] * len(keys),
            "entity": ["e"] * len(keys),
            "record_key": keys,
            "payload": ["{}"] * len(keys),
            "content_hash": ["h"] * len(keys),
            "generated_at": [now] * len(keys),
        }

    table = "bronze.synth_records"
    with lake.load("synth") as load:
        load.write(
            table,
            {
                k: a + b
                for (k, a), b in zip(export("crm", ["1", "2"]).items(), export("hr", ["9"]).values(), strict=True)
            },
        )
    with lake.load("synth") as load:  # replaces the crm partition only
        load.write(table, export("crm", ["3"]))
    rows = sorted(zip(*[lake.read(table).column(c).to_pylist() for c in ("system", "record_key")], strict=True))
    assert rows == [("crm", "3"), ("hr", "9")]

    before = lake.read(table).num_rows
    assert optimize(lake, table)["version"] > 0
    assert checkpoint(lake, table)["checkpointed"]
    assert vacuum(lake, table, retention_hours=1, dry_run=False)["files"] == 0  # nothing inside retention goes
    reopened = Lakehouse.from_settings()
    assert reopened.read(table).num_rows == before
    assert reopened.table(table).version() == lake.table(table).version()


def test_duckdb_views_serve_snapshot_and_uploads_on_s3(s3_lake) -> None:
    from connectors.files.upload import read_upload, upload_bytes
    from lakehouse.sql import connect
    from serve.query.service import EngineOptions, QueryService

    lake, _ = s3_lake
    data = {"series_id": ["s", "s"], "ts": [date(2021, 1, 1), date(2021, 1, 2)], "value": [1.5, 2.5]}
    with lake.load("gold") as load:
        load.write("gold.series_values", data)
    con = connect(lake, ["gold.series_values"])
    assert con.execute("SELECT sum(value) FROM gold.series_values").fetchone()[0] == 4.0

    service = QueryService(Lakehouse.from_settings(), EngineOptions(refresh_s=0))
    result = service.run_sql("SELECT count(*) AS n, sum(value) AS total FROM gold.series_values")
    assert result["rows"] == [[2, 4.0]] or result["rows"] == [{"n": 2, "total": 4.0}]

    report = upload_bytes(lake, b"day,amount\n2021-01-01,3\n2021-01-02,4\n", file_name="sales.csv", name="sales")
    assert report["rows_loaded"] == 2
    assert read_upload(lake, "sales").num_rows == 2
