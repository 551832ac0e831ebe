"""Writing to Notion: create a page (title, properties, blocks) in a database, in batches of 100 blocks."""

from __future__ import annotations

from typing import Any

from connectors.core import HttpClient, RunOptions, make_client, parse_spec
from connectors.notion.models import NewPage, Page
from connectors.notion.source import build_source

MAX_CHILDREN = 100  # Notion accepts at most 100 blocks per request


def notion_client(options: RunOptions | None = None, *, auth: dict[str, Any] | None = None) -> HttpClient:
    """An HTTP client for the Notion API (settings' token, rate limit and retries)."""
    spec = build_source()
    if auth is not None:
        spec["auth"] = auth
    return make_client(parse_spec(spec, origin="connectors.notion"), options)


def create_page(client: HttpClient, page: NewPage) -> Page:
    """Create ``page``; blocks beyond the first 100 are appended with ``PATCH /v1/blocks/{id}/children``."""
    body = page.body()
    first, rest = body["children"][:MAX_CHILDREN], body["children"][MAX_CHILDREN:]
    response = client.request("POST", "/v1/pages", json=body | {"children": first}, context="create_page")
    created = Page.model_validate(response.data)
    for start in range(0, len(rest), MAX_CHILDREN):
        chunk = rest[start : start + MAX_CHILDREN]
        client.request("PATCH", f"/v1/blocks/{created.id}/children", json={"children": chunk}, context="append")
    return created


__all__ = ["MAX_CHILDREN", "create_page", "notion_client"]
