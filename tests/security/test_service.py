"""Issue 16 over HTTP on a real Serve app: upload caps (413, nothing committed, ingress memory flat), bad
file names (400), x-request-id validation, PII masking by key grant with audit, isolation under overload,
admission by cost, and an audit writer killed mid-buffer losing nothing."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse import Lakehouse, TableNotFoundError


def h(app: dict, who: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {app['tokens'][who]}", **extra}


def flush(app: dict) -> None:
    r = httpx.post(f"{app['url']}/v1/admin/audit/flush", headers=h(app, "admin"), timeout=60)
    assert r.status_code == 200, r.text


def audit_rows(app: dict) -> list[dict[str, Any]]:
    flush(app)
    try:
        return Lakehouse(app["lake"].root).read("ops.audit").to_pylist()
    except TableNotFoundError:
        return []


def _replica_pids(label: str) -> list[int]:
    """Pids of this session's Serve replica processes (process title ``ray::ServeReplica:<app>:<deployment>``)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"ServeReplica:{label}" in cmdline:
            pids.append(int(proc.name))
    return pids


def _rss_kb(label: str) -> int:
    total = 0
    for pid in _replica_pids(label):
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    return total


def _bomb(rows: int) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"a": pa.array(["same"] * rows)}), buf, compression="zstd", row_group_size=rows)
    return buf.getvalue()


def test_upload_bomb_is_413_and_ingress_memory_stays_flat(secure_app: dict) -> None:
    url = f"{secure_app['url']}/v1/upload"
    before = _rss_kb("security:QueryIngress")
    started = time.perf_counter()
    r = httpx.post(
        url, files={"file": ("bomb.parquet", _bomb(2_000_000))}, headers=h(secure_app, "analyst"), timeout=120
    )
    assert r.status_code == 413, r.text
    assert r.json()["cap"] == "upload_max_rows" and "upload_max_rows" in r.json()["error"]
    # a file under the caps is parsed too, in a worker process: the ingress does not decode it
    ok = httpx.post(
        url,
        files={"file": ("fine.parquet", _bomb(300_000))},
        data={"name": "fine"},
        headers=h(secure_app, "analyst"),
        timeout=120,
    )
    assert ok.status_code == 200 and ok.json()["rows_loaded"] == 300_000, ok.text
    growth_mb = (_rss_kb("security:QueryIngress") - before) / 1024
    assert growth_mb < 40, f"ingress grew by {growth_mb:.0f} MB"
    assert time.perf_counter() - started < 60
    big = httpx.post(
        url, files={"file": ("big.csv", b"a\n" + b"1\n" * 3_000_000)}, headers=h(secure_app, "analyst"), timeout=120
    )
    assert big.status_code == 413 and "max_upload_mb" in big.text
    rows = Lakehouse(secure_app["lake"].root).read("bronze.upload_rows")
    assert set(rows.column("upload").to_pylist()) == {"fine"}  # nothing of the refused files committed


@pytest.mark.parametrize("name", [".", "..", "x" * 300])
def test_bad_upload_names_are_400(secure_app: dict, name: str) -> None:
    r = httpx.post(
        f"{secure_app['url']}/v1/upload",
        files={"file": (name, b"a\n1\n")},
        headers=h(secure_app, "analyst"),
        timeout=120,
    )
    assert r.status_code == 400, r.text
    assert "not allowed" in r.json()["error"] and r.json()["hint"]


def test_empty_upload_says_no_rows(secure_app: dict) -> None:
    r = httpx.post(
        f"{secure_app['url']}/v1/upload",
        files={"file": ("e.csv", b"a,b\n")},
        headers=h(secure_app, "analyst"),
        timeout=120,
    )
    assert r.status_code == 400 and "no rows" in r.json()["error"]


def test_request_ids_are_validated(secure_app: dict) -> None:
    hostile = "x" * 4000
    r = httpx.get(f"{secure_app['url']}/v1/tables", headers={"x-request-id": hostile})  # unauthenticated
    # the app's id comes first (Ray Serve's proxy appends the caller's value to the response header)
    ours = r.headers.get_list("x-request-id")[0]
    assert r.status_code == 401 and ours != hostile and len(ours) <= 128
    weird = httpx.get(f"{secure_app['url']}/v1/tables", headers={"x-request-id": "a b<script>"})
    assert weird.headers.get_list("x-request-id")[0] != "a b<script>"
    good = httpx.get(
        f"{secure_app['url']}/v1/tables", headers=h(secure_app, "viewer", **{"x-request-id": "req-42.a:b"})
    )
    assert good.headers.get_list("x-request-id")[0] == "req-42.a:b"
    ids = {row["request_id"] for row in audit_rows(secure_app)}
    assert "req-42.a:b" in ids and hostile not in ids and max(len(i) for i in ids) <= 128


def test_pii_masked_unless_granted_and_unmasked_reads_audited(secure_app: dict) -> None:
    sql = {"sql": "SELECT c.email AS e, upper(name) AS n FROM silver.customers c ORDER BY 1"}
    for who in ("analyst", "admin"):
        r = httpx.post(f"{secure_app['url']}/v1/sql", json=sql, headers=h(secure_app, who), timeout=60)
        assert r.status_code == 200, r.text
        assert "example.org" not in r.text and "LOVELACE" not in r.text and r.json()["pii_unmasked"] is False
        assert "silver.customers.email" in r.json()["pii_columns"]
    r = httpx.post(
        f"{secure_app['url']}/v1/sql", json=sql, headers=h(secure_app, "analyst_pii", **{"x-request-id": "pii-1"})
    )
    assert r.status_code == 200 and r.json()["rows"][0] == ["ada@example.org", "ADA LOVELACE"]
    rows = {row["request_id"]: row for row in audit_rows(secure_app)}
    assert rows["pii-1"]["pii_unmasked"] is True
    assert not any(row["pii_unmasked"] for rid, row in rows.items() if rid != "pii-1")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def test_callers_do_not_starve_each_other(secure_app: dict) -> None:
    """2x overload of user SQL (4 callers for 2 engine slots): catalogue calls are never 503'd and the
    admitted statements keep p95 within 2x of idle (the rest are refused fast with 503/429)."""
    url = secure_app["url"]
    sql = {"sql": "SELECT count(*) FROM range(4000000) t(i) WHERE i % 7 = 3"}
    with httpx.Client(timeout=60) as client:
        client.post(f"{url}/v1/sql", json=sql, headers=h(secure_app, "analyst"))  # warm
        idle = []
        for _ in range(8):
            t = time.perf_counter()
            assert client.post(f"{url}/v1/sql", json=sql, headers=h(secure_app, "analyst")).status_code == 200
            idle.append(time.perf_counter() - t)
    admitted: list[float] = []
    refused: list[int] = []
    catalog: list[int] = []
    stop = time.monotonic() + 10

    def flood(who: str) -> None:
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = client.post(f"{url}/v1/sql", json=sql, headers=h(secure_app, who))
                if r.status_code == 200:
                    admitted.append(time.perf_counter() - t)
                else:
                    refused.append(r.status_code)
                    time.sleep(0.05)

    def browse() -> None:
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < stop:
                catalog.append(client.get(f"{url}/v1/tables", headers=h(secure_app, "viewer")).status_code)
                time.sleep(0.1)

    threads = [threading.Thread(target=flood, args=(w,)) for w in ("analyst", "flood", "admin", "analyst_pii")]
    threads.append(threading.Thread(target=browse))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert catalog and set(catalog) == {200}, catalog
    assert len(admitted) >= 8 and set(refused) <= {503, 429}
    assert _p95(admitted) <= 2 * _p95(idle) + 0.15, (round(_p95(admitted), 3), round(_p95(idle), 3))


def test_per_key_concurrency_limit(secure_app: dict) -> None:
    url = secure_app["url"]
    slow = {"sql": "SELECT count(*) FROM range(4000000) t(i) WHERE md5(i::VARCHAR) LIKE 'a%'"}  # cheap by estimate
    codes: list[int] = []

    def one() -> None:
        codes.append(httpx.post(f"{url}/v1/sql", json=slow, headers=h(secure_app, "flood"), timeout=60).status_code)

    threads = [threading.Thread(target=one) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 429 in codes  # the key's 4th and 5th concurrent statement (limit 3)


def test_expensive_statements_are_admitted_by_cost(secure_app: dict) -> None:
    from serve.query.admission import estimate_cost

    cheap = "SELECT count(*) FROM gold.series_values"
    heavy = "SELECT count(*) FROM range(3000) a, range(3000) b, range(300) c"
    assert estimate_cost(cheap) < 5 <= estimate_cost(heavy)
    assert estimate_cost("SELECT * FROM gold.series_values a JOIN gold.series_values b ON a.ts = b.ts") < 5
    codes: list[int] = []

    def one(who: str) -> None:
        r = httpx.post(f"{secure_app['url']}/v1/sql", json={"sql": heavy}, headers=h(secure_app, who), timeout=60)
        codes.append(r.status_code)

    threads = [threading.Thread(target=one, args=(w,)) for w in ("analyst", "admin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 503 in codes  # one heavy slot: the second heavy statement is refused at once, not queued


def test_killed_audit_replica_loses_no_events(secure_app: dict) -> None:
    import os
    import signal

    url = secure_app["url"]
    flush(secure_app)
    ids = [f"kill-{i}" for i in range(12)]
    for rid in ids:
        httpx.get(f"{url}/v1/tables", headers=h(secure_app, "viewer", **{"x-request-id": rid}), timeout=30)
    time.sleep(0.2)  # the events are in the writer's buffer (flush_s is long in this app)
    (pid,) = _replica_pids("security:AuditWriter")
    os.kill(pid, signal.SIGKILL)  # the replica process dies with the events in its buffer
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:  # Serve replaces the replica
        try:
            if httpx.post(f"{url}/v1/admin/audit/flush", headers=h(secure_app, "admin"), timeout=10).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    rows = [r for r in audit_rows(secure_app) if r["request_id"].startswith("kill-")]
    assert sorted(r["request_id"] for r in rows) == sorted(ids)  # every event, exactly once
