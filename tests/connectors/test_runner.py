"""Runs against the faulty replay server: exactly once, quarantine with reasons, Retry-After waits, drift, resume."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from connectors.core import FakeClock, RunOptions, make_client, parse_spec, read_state, run_endpoint, run_source
from connectors.replay import FaultPlan


def _records(lake, endpoint: str = "things") -> list[dict]:
    rows = lake.read("bronze.api_records", columns=["endpoint", "record"]).to_pylist()
    return [orjson.loads(r["record"]) for r in rows if r["endpoint"] == endpoint]


def _spec(base: str, **endpoint) -> object:
    ep = {
        "name": "things",
        "path": "/things",
        "paginator": {"type": "page_number", "size": 25},
        "records": "results",
        "primary_key": "id",
        "fields": {"id": "int", "name": "str", "score": "float", "updated_at": "datetime"},
    } | endpoint
    return parse_spec(
        {
            "name": "api",
            "base_url": base,
            "timeout_s": 0.15,
            "commit_every": 100,
            "retry": {"max_attempts": 10},
            "endpoints": [ep],
        }
    )


def test_thirty_percent_faults_exactly_once_quarantine_and_retry_after(serve, lake, make_items) -> None:
    data = make_items(400)
    data[7]["score"] = "NaN-ish"  # planted bad records
    data[123]["id"] = None
    data[300] = "not an object"
    planted = {8, 124, 301}  # ids (1-based positions) of the planted bad records
    plan = FaultPlan(rate=0.3, seed=3, retry_after_s=(1, 9), slow_s=0.25, drift_rate=0.3)
    clock = FakeClock()
    server = serve(
        [
            {
                "path": "/things",
                "records": "t.json",
                "drift": {"field": "score"},
                "paginate": {"style": "page_number", "page_size": 10, "envelope": "results"},
            }
        ],
        {"t.json": data},
        faults=plan,
    )
    spec = _spec(server.base_url("api"), paginator={"type": "page_number", "size": 10, "stop_on_short_page": False})
    options = RunOptions(clock=clock, seed=3, retry_budget=500)
    client = make_client(spec, options)
    summary = run_endpoint(lake, spec, "things", options=options, client=client)

    kinds = Counter(e.kind for e in server.events())
    assert set(kinds) >= {"429", "500", "503", "slow", "truncated", "drift"}, kinds
    transient = sum(v for k, v in kinds.items() if k != "drift")
    assert 0.2 <= transient / len(server.requests) <= 0.4  # ~30% of requests failed
    drift_changed = {i for e in server.events("drift") for i in e.changed}
    assert drift_changed

    landed = _records(lake)
    ids = [r["id"] for r in landed]
    assert len(ids) == len(set(ids)), "a record landed twice"
    expected = {i for i in range(1, 401) if i not in planted and i not in drift_changed}
    assert set(ids) == expected
    assert summary.rows == len(expected) and summary.pages == 41

    q = lake.read("ops.quarantine").to_pylist()
    assert len(q) == len(planted) + len(drift_changed) == summary.quarantined
    reasons = [r["reason"] for r in q]
    assert sum("score" in r and "valid number" in r for r in reasons) == len(drift_changed) + 1
    assert any("primary key" in r for r in reasons) and any("not an object" in r for r in reasons)
    assert all("page" in r["location"] for r in q)
    # schema drift's new field is kept (evolve contract) and reported, never silent
    assert "drift_extra" in summary.new_fields
    assert any("drift_extra" in r for r in landed)
    # every 429 was waited out for exactly its Retry-After, in order (fake clock: no real waiting)
    waited = [w.seconds for w in client.waits if w.reason == "retry-after"]
    assert waited == [e.retry_after_s for e in server.events("429")]
    assert all(w in clock.sleeps for w in waited)
    assert summary.retries == transient


def test_type_change_is_quarantined_and_new_field_follows_contract(serve, lake, make_items) -> None:
    data = make_items(6)
    data[1]["score"] = "12.5"  # numeric string: strict types reject it instead of coercing silently
    data[2]["brand_new"] = True
    server = serve(
        [
            {
                "path": "/things",
                "records": "t.json",
                "paginate": {"style": "none", "envelope": "results"},
                "faults": False,
            }
        ],
        {"t.json": data},
    )
    for contract, kept_new in (("evolve", True), ("discard_value", False)):
        spec = _spec(server.base_url("api"), paginator=None, contract=contract, name=f"t_{contract}")
        run_endpoint(lake, spec, f"t_{contract}")
        landed = {r["id"]: r for r in _records(lake, f"t_{contract}")}
        assert 2 not in landed and len(landed) == 5
        assert ("brand_new" in landed[3]) is kept_new
    spec = _spec(server.base_url("api"), paginator=None, contract="freeze", name="t_freeze")
    summary = run_endpoint(lake, spec, "t_freeze")
    assert summary.rows == 4 and summary.quarantined == 2
    reasons = lake.read("ops.quarantine").column("reason").to_pylist()
    assert any("brand_new" in r and "freeze" in r for r in reasons)


def test_crash_resume_lands_every_page_exactly_once(serve, lake, make_items) -> None:
    server = serve(
        [
            {
                "path": "/things",
                "records": "t.json",
                "paginate": {"style": "page_number", "page_size": 25, "envelope": "results"},
            }
        ],
        {"t.json": make_items(300)},
    )
    spec = _spec(server.base_url("api"))

    def crash(first_index: int) -> None:
        if first_index >= 4:
            raise KeyboardInterrupt("simulated crash after a commit")

    with pytest.raises(KeyboardInterrupt):
        run_endpoint(lake, spec, "things", options=RunOptions(on_commit=crash))
    assert not lake.exists("bronze.api_records") or _records(lake) == []  # the failed load is invisible
    before = len(server.requests)
    summary = run_endpoint(lake, spec, "things")
    assert summary.resumed and summary.resumed_pages == 8 and summary.run_seq == 1
    assert len(server.requests) - before == 5  # only the pages not committed before the crash
    ids = [r["id"] for r in _records(lake)]
    assert sorted(ids) == list(range(1, 301))
    assert summary.rows == 300 and summary.pages == 13
    again = run_endpoint(lake, spec, "things")  # a new run is a new snapshot (run_seq 2), not a resume
    assert again.run_seq == 2 and not again.resumed


def test_incremental_cursor_advances_only_after_commit(serve, lake, make_items) -> None:
    data = make_items(60)
    server = serve(
        [
            {
                "path": "/things",
                "records": "t.json",
                "filter": {"param": "since", "field": "updated_at"},
                "paginate": {"style": "page_number", "page_size": 25, "envelope": "results"},
                "faults": False,
            }
        ],
        {"t.json": data},
    )
    inc = {"cursor_field": "updated_at", "param": "since", "initial_value": "2024-01-01T00:00:00Z"}
    spec = _spec(server.base_url("api"), incremental=inc)

    def crash(first_index: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_endpoint(lake, spec, "things", options=RunOptions(on_commit=crash))
    assert read_state(lake, "api", "things", "{}").cursor_value is None  # not advanced: data not committed
    first = run_endpoint(lake, spec, "things")
    top = max(r["updated_at"] for r in data)
    assert first.cursor_to == top and read_state(lake, "api", "things", "{}").cursor_value == top
    second = run_endpoint(lake, spec, "things")
    assert second.cursor_from == top and second.rows == 0  # boundary records are not loaded twice
    assert any(f"since={top}" in q.replace("%3A", ":") for _, _, q in server.requests)
    ids = [r["id"] for r in _records(lake)]
    assert sorted(ids) == list(range(1, 61))


def test_child_endpoints_take_parent_fields(serve, lake) -> None:
    parents = [{"id": i, "slug": f"p{i}"} for i in (1, 2, 3)]
    children = [{"cid": f"{p}-{j}", "parent_slug": f"p{p}"} for p in (1, 2, 3) for j in range(p)]
    server = serve(
        [
            {"path": "/parents", "records": "p.json", "faults": False},
            {
                "path": "/parents/{slug}/children",
                "records": "c.json",
                "path_filter": {"slug": "parent_slug"},
                "faults": False,
            },
        ],
        {"p.json": parents, "c.json": children},
    )
    spec = parse_spec(
        {
            "name": "api",
            "base_url": server.base_url("api"),
            "endpoints": [
                {"name": "parents", "path": "/parents", "primary_key": "id"},
                {
                    "name": "children",
                    "path": "/parents/{slug}/children",
                    "primary_key": "cid",
                    "parent": {"endpoint": "parents", "fields": {"slug": "slug"}},
                },
            ],
        }
    )
    out = run_source(lake, spec)
    assert [s.partition for s in out if s.endpoint == "children"] == [{"slug": "p1"}, {"slug": "p2"}, {"slug": "p3"}]
    assert sorted(r["cid"] for r in _records(lake, "children")) == sorted(c["cid"] for c in children)


def test_run_partition_in_a_ray_task_commits_once(serve, lake, make_items, ray_local) -> None:
    import ray

    from connectors.core import run_partition

    server = serve(
        [
            {
                "path": "/days/{day}",
                "records": "t.json",
                "faults": False,
                "paginate": {"style": "page_number", "page_size": 10, "envelope": "results"},
            }
        ],
        {"t.json": make_items(25)},
    )
    spec = {
        "name": "api",
        "base_url": server.base_url("api"),
        "endpoints": [
            {
                "name": "days",
                "path": "/days/{day}",
                "records": "results",
                "primary_key": "id",
                "paginator": {"type": "page_number", "size": 10},
            }
        ],
    }
    task = ray.remote(run_partition)
    out = ray.get([task.remote(spec, "days", partition={"day": d}, lake_root=lake.root) for d in ("d1", "d2")])
    assert [o["rows"] for o in out] == [25, 25] and {o["partition"]["day"] for o in out} == {"d1", "d2"}
    assert all(set(o) >= {"rows", "pages", "quarantined", "retries", "load_id"} for o in out)
    assert lake.read("bronze.api_records").num_rows == 50
