"""Notion source: a database and its pages (cursor pagination, incremental on last_edited_time)."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Partition, SourcePlan
from connectors.notion.models import NOTION_VERSION, Database, Page

REPLAY_AUTH = {"type": "bearer", "token": "replay-notion-token"}


def build_source() -> dict[str, Any]:
    """The declarative spec. Partitions are databases: ``{"database_id": "..."}``."""
    return {
        "name": "notion",
        "description": "Notion: a database's schema and pages (properties as plain values).",
        "base_url": "https://api.notion.com",
        "auth": {"type": "bearer", "token": "setting:notion_token"},
        "headers": {"Notion-Version": NOTION_VERSION},
        "rate_limit": {"requests_per_second": 3, "burst": 3},  # Notion: an average of 3 requests/s
        "endpoints": [
            {
                "name": "database",
                "path": "/v1/databases/{database_id}",
                "records": "$",
                "primary_key": "id",
                "model": Database,
            },
            {
                "name": "pages",
                "method": "POST",
                "path": "/v1/databases/{database_id}/query",
                "json": {"page_size": 25},
                "paginator": {
                    "type": "cursor",
                    "cursor_path": "next_cursor",
                    "cursor_param": "start_cursor",
                    "location": "body",
                    "has_more_path": "has_more",
                },
                "records": "results",
                "primary_key": "id",
                "model": Page,
                "incremental": {"cursor_field": "last_edited_time"},
            },
        ],
    }


DEFAULTS: dict[str, Any] = {"databases": ["5f3e0c1a-7b2d-4c9e-8a1f-2b3c4d5e6f70"]}


def first_stage(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    """Each database's schema and pages."""
    return [Partition("notion", ep, {"database_id": d}) for d in opts["databases"] for ep in ("database", "pages")]


PLAN = SourcePlan(defaults=DEFAULTS, first=first_stage, max_in_flight=1, replay_auth=REPLAY_AUTH)


__all__ = ["DEFAULTS", "PLAN", "REPLAY_AUTH", "build_source", "first_stage"]
