"""Real-shaped payloads (empty lists, all-null optional fields, empty endpoints) land through the ingest job.

A GitHub-shaped recording as api.github.com answers for a quiet repository: no topics, issues without
labels, null optional fields, and endpoints that return ``[]``. It is replayed through the real ingest
job (Ray, rate-limiter actor, framework run, bronze -> silver -> gold) into a real Delta lake.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from lakehouse import Lakehouse

OWNER, REPO = "octo-quiet", "plain"
FULL = f"{OWNER}/{REPO}"
USER = {"login": "alice", "id": 7, "node_id": None, "type": "User", "site_admin": False, "html_url": None}


def _repo_payload() -> dict[str, Any]:
    return {
        "id": 101,
        "node_id": "R_1",
        "name": REPO,
        "full_name": FULL,
        "owner": USER,
        "private": False,
        "html_url": f"https://github.com/{FULL}",
        "description": None,
        "fork": False,
        "language": None,
        "stargazers_count": 0,
        "watchers_count": 0,
        "forks_count": 0,
        "open_issues_count": 2,
        "default_branch": "main",
        "topics": [],
        "license": None,
        "created_at": "2015-01-02T03:04:05Z",
        "updated_at": "2015-03-01T00:00:00Z",
        "pushed_at": None,
    }


def _issue(number: int, day: int, *, user: dict[str, Any] | None) -> dict[str, Any]:
    ts = f"2015-02-{day:02d}T10:00:00Z"
    return {
        "id": 9000 + number,
        "node_id": None,
        "number": number,
        "title": f"Issue ünïcødé {number} 🚀",
        "state": "open",
        "user": user,
        "labels": [],
        "comments": 0,
        "created_at": ts,
        "updated_at": ts,
        "closed_at": None,
    }


def _commit(sha: str, day: int) -> dict[str, Any]:
    actor = {"name": None, "email": None, "date": f"2015-02-{day:02d}T12:00:00Z"}
    return {"sha": sha, "commit": {"author": actor, "committer": actor, "message": ""}, "author": None}


def _recording(root: Path) -> Path:
    """A fixture directory in the replay server's format (manifest + record files)."""
    root.mkdir(parents=True)
    (root / "records").mkdir()
    issues = [_issue(1, 3, user=USER), _issue(2, 5, user=None)]
    commits = [_commit("a" * 40, 3), _commit("b" * 40, 4)]
    (root / "records" / "issues.json").write_text(json.dumps(issues))
    (root / "records" / "commits.json").write_text(json.dumps(commits))
    (root / "records" / "empty.json").write_text("[]")
    paginate = {"style": "link_header", "page_size": 30, "page_param": "page", "size_param": "per_page"}
    empty_history = {
        "data": {
            "repository": {
                "defaultBranchRef": {
                    "target": {"history": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}
                }
            }
        }
    }
    base = f"/repos/{OWNER}/{REPO}"
    manifest = {
        "routes": [
            {"path": base, "method": "GET", "responses": [{"status": 200, "body": _repo_payload()}]},
            {"path": f"{base}/commits", "method": "GET", "paginate": paginate, "records": "records/commits.json"},
            {"path": f"{base}/issues", "method": "GET", "paginate": paginate, "records": "records/issues.json"},
            {"path": f"{base}/releases", "method": "GET", "paginate": paginate, "records": "records/empty.json"},
            {"path": f"{base}/stargazers", "method": "GET", "paginate": paginate, "records": "records/empty.json"},
            {"path": "/graphql", "method": "POST", "responses": [{"status": 200, "body": empty_history}]},
        ]
    }
    (root / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return root


@pytest.fixture
def quiet_github(tmp_path: Path) -> Any:
    from connectors.replay import ReplayServer

    with ReplayServer({"github": _recording(tmp_path / "rec-github")}) as server:
        yield server


@pytest.fixture
def home_lake(covary_home: Path) -> Lakehouse:
    from covary.settings import get_settings

    return Lakehouse.from_settings(get_settings())


def test_quiet_repository_lands_bronze_silver_gold(ray_local: None, home_lake: Lakehouse, quiet_github: Any) -> None:
    from jobs.ingest import main

    result = main(
        {
            "sources": ["github"],
            "base_urls": {"github": quiet_github.base_url("github")},
            "options": {"github": {"repos": [FULL]}},
        }
    )
    per = result["sources"]["github"]
    assert per["partitions"] == 6 and per["records"] == 1 + 2 + 2  # repo + commits + issues; the rest are []
    lake = home_lake
    repos = lake.read("silver.github_repos").to_pylist()
    assert len(repos) == 1 and repos[0]["topics"] == [] and repos[0]["language"] is None
    assert repos[0]["license"] is None and repos[0]["pushed_at"] is None
    assert lake.read("silver.github_repos").schema.field("topics").type == pa.list_(pa.string())
    issues = sorted(lake.read("silver.github_issues").to_pylist(), key=lambda r: r["number"])
    assert [i["labels"] for i in issues] == [[], []]
    assert [i["author_login"] for i in issues] == ["alice", None]
    assert issues[0]["title"] == "Issue ünïcødé 1 🚀"
    commits = lake.read("silver.github_commits").to_pylist()
    assert sorted(c["sha"] for c in commits) == ["a" * 40, "b" * 40]
    assert all(c["author_name"] is None and c["author_login"] is None for c in commits)
    # the empty endpoints finished (ledger 'done') and landed nothing
    ledger = lake.read("ops.ingest_partitions").to_pylist()
    done = {r["endpoint"]: r for r in ledger if r["event"] == "done" and r["source"] == "github"}
    assert set(done) == {"repo", "commits", "issues", "releases", "stargazers", "history"}
    assert done["releases"]["records"] == 0 and done["history"]["silver_rows"] == 0
    # gold: the issue and commit series of the quiet repository (language unknown)
    catalog = {r["series_id"] for r in lake.read("gold.series_catalog").to_pylist()}
    assert any(s.startswith("github.commits.") and s.endswith(".daily") for s in catalog), catalog
    assert result["finalize"]["gold"]["series"] > 0


def test_empty_endpoint_on_fresh_lake_finishes_with_zero_rows(
    ray_local: None, home_lake: Lakehouse, quiet_github: Any
) -> None:
    import ray

    from connectors.github.source import repository
    from jobs.ingest.limiter import limiter_actor
    from jobs.ingest.plan import Partition, rate_of, source_spec
    from jobs.ingest.tasks import PartitionJob, run_partition_job

    lake = home_lake
    spec = source_spec("github")
    namespace = ray.get_runtime_context().namespace
    actor = limiter_actor("github", *rate_of(spec), namespace=namespace)  # kept referenced while the job runs
    ray.get(actor.stats.remote())
    part = Partition("github", "releases", repository(FULL))
    job = PartitionJob("run-empty", part, spec, lake.root, quiet_github.base_url("github"), namespace)
    assert not lake.exists("bronze.api_records")  # a fresh lake
    out = run_partition_job(job)
    assert (out["records"], out["silver_rows"], out["skipped"]) == (0, 0, False)
    events = [r["event"] for r in lake.read("ops.ingest_partitions").to_pylist() if r["run_key"] == "run-empty"]
    assert events.count("done") == 1
    again = run_partition_job(job)  # a finished partition is skipped, also when it landed nothing
    assert again["skipped"] and again["records"] == 0


def test_a_value_the_schema_cannot_hold_is_quarantined_and_the_rest_lands(lake: Lakehouse) -> None:
    from connectors.github.source import repository
    from jobs.ingest.plan import Partition
    from jobs.ingest.tasks import write_silver

    huge = _issue(3, 6, user=USER) | {"number": 2**63}  # valid JSON and a valid int, but beyond int64
    part = Partition("github", "issues", repository(FULL))
    written, quarantined = write_silver(lake, "run-q", part, [_issue(1, 3, user=None), huge], dict(part.partition))
    assert (written, quarantined) == (1, 1)
    issues = lake.read("silver.github_issues").to_pylist()
    assert [(i["number"], i["labels"]) for i in issues] == [(1, [])]
    reasons = [r["reason"] for r in lake.read("ops.quarantine").to_pylist()]
    assert len(reasons) == 1 and "'number'" in reasons[0] and "int64" in reasons[0]


def test_gold_catalogue_of_daily_series_only_keeps_its_list_type() -> None:
    from jobs.ingest.silver import declared_batch

    rows = [
        {"series_id": "x.daily", "description": "d", "frequency": "D", "aggregation": "sum", "source": "s"}
        | {"derived_from": []}
    ]
    batch, unfit = declared_batch("gold.series_catalog", rows)
    assert not unfit and batch.schema.field("derived_from").type == pa.list_(pa.string())
    assert batch.column("derived_from").to_pylist() == [[]]
