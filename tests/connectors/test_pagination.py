"""Every paginator against the replay server: all records once, no page twice, each stop condition, loops caught."""

from __future__ import annotations

import orjson
import pytest

from connectors.core import RunOptions, parse_spec, run_endpoint
from connectors.errors import PaginationError


def _spec(base: str, endpoint: dict) -> object:
    return parse_spec({"name": "api", "base_url": base, "endpoints": [endpoint | {"name": "things"}]})


def _landed(lake) -> list[int]:
    if not lake.exists("bronze.api_records"):
        return []
    rows = lake.read("bronze.api_records", columns=["record"]).column("record").to_pylist()
    return sorted(orjson.loads(r)["id"] for r in rows)


CASES = {
    "page_number_short_page": (
        {"style": "page_number", "page_size": 10, "envelope": "results"},
        {"paginator": {"type": "page_number", "size": 10}, "records": "results"},
    ),
    "page_number_total_pages": (
        {"style": "page_number", "page_size": 10, "envelope": "results", "total_path": "total"},
        {"paginator": {"type": "page_number", "stop_on_short_page": False}, "records": "results"},
    ),
    "offset_total": (
        {"style": "offset", "page_size": 10, "envelope": "items", "total_path": "total"},
        {
            "paginator": {"type": "offset", "limit": 10, "total_path": "total", "stop_on_short_page": False},
            "records": "items",
        },
    ),
    "offset_has_more": (
        {"style": "offset", "page_size": 10, "envelope": "items", "has_more_path": "has_more"},
        {
            "paginator": {"type": "offset", "limit": 10, "has_more_path": "has_more", "stop_on_short_page": False},
            "records": "items",
        },
    ),
    "cursor": (
        {"style": "cursor", "page_size": 10, "envelope": "data", "next_path": "meta.next"},
        {"paginator": {"type": "cursor", "cursor_path": "meta.next"}, "records": "data"},
    ),
    "link_header": (
        {"style": "link_header", "page_size": 10},
        {"paginator": "link_header"},
    ),
    "next_url": (
        {"style": "next_url", "page_size": 10, "envelope": "results", "next_path": "next"},
        {"paginator": {"type": "next_url", "next_url_path": "next"}, "records": "results"},
    ),
}


@pytest.mark.parametrize("n", [0, 20, 23])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_record_once_no_page_twice(serve, lake, make_items, case, n) -> None:
    server_p, client_p = CASES[case]
    server = serve([{"path": "/things", "records": "t.json", "paginate": server_p}], {"t.json": make_items(n)})
    # the page_number+total case needs the total pages: derive it from total records
    if case == "page_number_total_pages":
        server_p["total_path"] = "total"
    summary = run_endpoint(lake, _spec(server.base_url("api"), {"path": "/things"} | client_p), "things")
    assert _landed(lake) == list(range(1, n + 1))
    paths = [q for _, p, q in server.requests if p.endswith("/things")]
    assert len(paths) == len(set(paths)), "a page was fetched twice"
    assert summary.rows == n
    pages = lake.read("bronze.api_pages", columns=["page_index"]).column("page_index").to_pylist()
    assert sorted(pages) == list(range(len(pages)))  # no page skipped


def test_page_number_total_pages_path(serve, lake, make_items) -> None:
    server = serve(
        [
            {
                "path": "/things",
                "responses": [
                    {
                        "match": {"query": {"page": str(p)}},
                        "body": {"results": make_items(5, start=5 * p - 4), "total_pages": 3},
                    }
                    for p in (1, 2, 3, 4)
                ],
            }
        ]
    )
    spec = _spec(
        server.base_url("api"),
        {
            "path": "/things",
            "records": "results",
            "paginator": {"type": "page_number", "total_pages_path": "total_pages", "stop_on_short_page": False},
        },
    )
    run_endpoint(lake, spec, "things")
    assert _landed(lake) == list(range(1, 16))  # page 4 exists on the server but total_pages=3 stops before it
    assert not any("page=4" in q for _, _, q in server.requests)


def test_max_pages_stops(serve, lake, make_items) -> None:
    server = serve(
        [{"path": "/things", "records": "t.json", "paginate": {"style": "page_number", "page_size": 10}}],
        {"t.json": make_items(100)},
    )
    spec = _spec(server.base_url("api"), {"path": "/things", "paginator": "page_number", "max_pages": 3})
    summary = run_endpoint(lake, spec, "things")
    assert summary.pages == 3 and _landed(lake) == list(range(1, 31))


def test_empty_page_stops(serve, lake, make_items) -> None:
    server = serve(
        [{"path": "/things", "records": "t.json", "paginate": {"style": "page_number", "page_size": 10}}],
        {"t.json": make_items(20)},
    )
    spec = _spec(
        server.base_url("api"), {"path": "/things", "paginator": {"type": "page_number", "stop_on_short_page": False}}
    )
    summary = run_endpoint(lake, spec, "things")
    assert summary.pages == 3 and summary.rows == 20  # page 3 was empty: stop


def test_repeated_cursor_is_detected(serve, lake, make_items) -> None:
    server = serve(
        [
            {
                "path": "/things",
                "records": "t.json",
                "paginate": {"style": "cursor", "page_size": 10, "envelope": "data", "repeat_cursor_at": 3},
            }
        ],
        {"t.json": make_items(100)},
    )
    spec = _spec(server.base_url("api"), {"path": "/things", "paginator": {"type": "cursor"}, "records": "data"})
    with pytest.raises(PaginationError, match="again"):
        run_endpoint(lake, spec, "things")
    assert len(server.requests) == 3  # stopped at the first repeat instead of looping


def test_repeated_link_is_detected(serve, lake, make_items) -> None:
    loop = '<{base}/things?page=1>; rel="next"'
    server = serve(
        [{"path": "/things", "responses": [{"match": {}, "body": make_items(3), "headers": {"Link": loop}}]}]
    )
    spec = _spec(server.base_url("api"), {"path": "/things", "params": {"page": 1}, "paginator": "link_header"})
    with pytest.raises(PaginationError, match="already fetched"):
        run_endpoint(lake, spec, "things")
    assert len(server.requests) == 1


def test_graphql_page_info(serve, lake, make_items) -> None:
    server = serve(
        [
            {
                "path": "/graphql",
                "method": "POST",
                "records": "t.json",
                "paginate": {"style": "graphql", "page_size": 7, "envelope": "data.repository.issues"},
            }
        ],
        {"t.json": make_items(30)},
    )
    spec = _spec(
        server.base_url("api"),
        {
            "path": "/graphql",
            "method": "POST",
            "graphql": {
                "query": "query($after: String, $first: Int) { repository { issues(first: $first, after: $after)"
                " { nodes { id } pageInfo { hasNextPage endCursor } } } }",
                "variables": {"first": 7},
            },
            "records": "data.repository.issues.nodes",
            "paginator": {"type": "graphql", "page_info_path": "data.repository.issues.pageInfo"},
        },
    )
    summary = run_endpoint(lake, spec, "things")
    assert _landed(lake) == list(range(1, 31)) and summary.pages == 5


def test_missing_record_path_is_an_error_not_silence(serve, lake, make_items) -> None:
    server = serve([{"path": "/things", "responses": [{"match": {}, "body": {"rows": make_items(2)}}]}])
    spec = _spec(server.base_url("api"), {"path": "/things", "records": "results"})
    with pytest.raises(PaginationError, match="rows"):
        run_endpoint(lake, spec, "things", options=RunOptions())
