"""Notion source: a database and its pages (cursor pagination, incremental on last_edited_time)."""

from __future__ import annotations

from typing import Any

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


__all__ = ["REPLAY_AUTH", "build_source"]
