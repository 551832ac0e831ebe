"""Each built-in connector against the replay server: pagination, rate limiting, Retry-After, incremental cursors.

One connector's own specials live in ``tests/connectors/<name>/``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.core import FakeClock, RunOptions, TokenBucket, run_endpoint
from connectors.replay import FaultPlan, ReplayServer
from jobs.ingest.plan import source_spec

GH = {"owner": "covary-demo", "repo": "rustdb"}
NOTION_DB = {"database_id": "5f3e0c1a-7b2d-4c9e-8a1f-2b3c4d5e6f70"}

# connector, endpoint, partition, expected records, minimum pages (pagination must really happen)
CASES: list[tuple[str, str, dict[str, Any], int, int]] = [
    ("github", "commits", GH, 250, 3),
    ("github", "stargazers", GH, 236, 3),
    ("github", "history", GH, 250, 3),
    ("tmdb", "discover", {"primary_release_date.gte": "2010-01-01", "primary_release_date.lte": "2010-12-31"}, 92, 5),
    (
        "weather",
        "archive",
        {"latitude": 47.6062, "longitude": -122.3321, "start_date": "2012-01-01", "end_date": "2012-12-31"},
        1,
        1,
    ),
    ("pokeapi", "pokemon_list", {}, 151, 8),
    ("musicbrainz", "recordings", {"query": "firstreleasedate:[2015-01-01 TO 2015-01-31]"}, None, 2),  # type: ignore[list-item]
    ("spotify", "albums", {"q": "year:2015", "market": "GB"}, None, 2),  # type: ignore[list-item]
    ("fred", "observations", {"series_id": "GDPC1"}, 203, 3),
    ("notion", "pages", NOTION_DB, 63, 3),
]


def _recorded_total(replay: ReplayServer, name: str, endpoint: str, partition: dict[str, Any]) -> int:
    """What the recording says the total is (count/total fields), read over plain HTTP."""
    if name == "musicbrainz":
        body = httpx.get(
            f"{replay.base_url(name)}/ws/2/recording", params=partition | {"fmt": "json", "limit": 100, "offset": 0}
        ).json()
        return int(body["count"])
    auth = httpx.post(
        f"{replay.base_url(name)}/api/token",
        data={"grant_type": "client_credentials"},
        auth=("replay-client-id", "replay-client-secret"),
    ).json()["access_token"]
    body = httpx.get(
        f"{replay.base_url(name)}/v1/search",
        headers={"Authorization": f"Bearer {auth}"},
        params=partition | {"type": "album", "offset": 0, "limit": 50},
    ).json()
    return int(body["albums"]["total"])


@pytest.mark.parametrize(
    ("name", "endpoint", "partition", "expected", "min_pages"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_pagination_lands_every_record_once(
    lake: Any,
    replay: ReplayServer,
    spec_for: Any,
    name: str,
    endpoint: str,
    partition: dict[str, Any],
    expected: int | None,
    min_pages: int,
) -> None:
    spec = spec_for(name, rate_limit={})
    summary = run_endpoint(
        lake, spec, endpoint, partition=partition, options=RunOptions(base_url=replay.base_url(name))
    )
    expected = expected if expected is not None else _recorded_total(replay, name, endpoint, partition)
    assert summary.rows == expected and summary.quarantined == 0
    assert summary.pages >= min_pages and summary.requests == summary.pages
    keys = lake.read("bronze.api_records", columns=["record_key"]).column("record_key").to_pylist()
    assert len(keys) == len(set(keys)) == expected


@pytest.mark.parametrize("name", ["github", "tmdb", "pokeapi", "musicbrainz", "spotify", "fred", "notion", "weather"])
def test_declared_rate_limit_is_enforced(lake: Any, replay: ReplayServer, spec_for: Any, name: str) -> None:
    """The connector's documented rate (token bucket) paces requests against the replay server."""
    spec = spec_for(name)
    case = next(c for c in CASES if c[0] == name)
    clock = FakeClock()
    rate, burst = (
        spec.rate_limit.requests_per_second,
        spec.rate_limit.burst or max(1.0, spec.rate_limit.requests_per_second),
    )
    limiter = TokenBucket(rate, burst=burst, clock=clock)
    summary = run_endpoint(
        lake,
        spec,
        case[1],
        partition=case[2],
        options=RunOptions(base_url=replay.base_url(name), clock=clock, limiter=limiter),
    )
    paced = max(0.0, (summary.requests - burst) / rate)
    assert sum(clock.sleeps) == pytest.approx(paced, abs=1.0 / rate + 1e-6)
    if name == "musicbrainz":
        assert rate == 1 and burst == 1 and sum(clock.sleeps) >= summary.requests - 1.01  # 1 request/s


@pytest.mark.parametrize("name", ["github", "tmdb", "musicbrainz", "spotify", "fred", "notion"])
def test_server_429_retry_after_is_obeyed(lake: Any, name: str) -> None:
    case = next(c for c in CASES if c[0] == name)
    plan = FaultPlan(rate=0.5, seed=4, weights={"429": 1.0}, retry_after_s=(2, 9))
    with ReplayServer([name], faults=plan) as server:
        clock = FakeClock()
        from connectors.core import parse_spec

        spec = parse_spec(source_spec(name, replay_url=server.base_url(name)) | {"rate_limit": {}})
        summary = run_endpoint(
            lake,
            spec,
            case[1],
            partition=case[2],
            options=RunOptions(base_url=server.base_url(name), clock=clock, seed=1),
        )
        told = sorted(e.retry_after_s for e in server.events("429"))
    assert told, "the fault plan injected no 429"
    waited = sorted(round(s) for s in clock.sleeps if s >= 1)
    assert waited == told  # every Retry-After honoured exactly, nothing else slept that long
    assert summary.retries == len(told) and summary.quarantined == 0


@pytest.mark.parametrize(
    ("name", "endpoint", "partition"),
    [
        ("github", "commits", GH),
        ("github", "issues", GH),
        ("github", "history", GH),
        ("fred", "observations", {"series_id": "UNRATE"}),
        ("notion", "pages", NOTION_DB),
    ],
)
def test_incremental_cursor_second_run_adds_nothing(
    lake: Any, replay: ReplayServer, spec_for: Any, name: str, endpoint: str, partition: dict[str, Any]
) -> None:
    spec = spec_for(name, rate_limit={})
    options = RunOptions(base_url=replay.base_url(name))
    first = run_endpoint(lake, spec, endpoint, partition=partition, options=options)
    second = run_endpoint(lake, spec, endpoint, partition=partition, options=options)
    assert first.rows > 0 and first.cursor_to is not None
    assert second.cursor_from == first.cursor_to and second.rows == 0 and second.skipped_old > 0
