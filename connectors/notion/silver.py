"""Notion database pages -> silver.notion_pages + silver.notion_page_numbers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.connector import parse_records as _parse
from connectors.core.connector import utc as _utc
from connectors.notion import models as notion


def notion_pages(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    pages, numbers = [], []
    for p in _parse(notion.Page, records, rej, "notion/pages"):
        if p.archived or p.in_trash:
            continue
        plain = {name: v.plain() for name, v in p.properties.items()}
        title = next((plain[n] for n, v in p.properties.items() if v.type == "title"), None)
        first_date = next((v.date.start for v in p.properties.values() if v.type == "date" and v.date), None)
        day = first_date.date() if isinstance(first_date, datetime) else first_date
        created = _utc(p.created_time)
        assert created is not None
        day = day or created.date()
        tags = [t for v in p.properties.values() if v.type == "multi_select" for t in v.plain()]
        pages.append(
            {
                "page_id": p.id,
                "database_id": p.parent.database_id,
                "title": title,
                "date": day,
                "tags": tags,
                "created_time": created,
                "last_edited_time": _utc(p.last_edited_time),
                "properties": json.dumps(plain, default=str, sort_keys=True),
                "url": p.url,
            }
        )
        numbers += [
            {"page_id": p.id, "property": n, "database_id": p.parent.database_id, "date": day, "value": v.number}
            for n, v in p.properties.items()
            if v.type == "number" and v.number is not None
        ]
    return {"silver.notion_pages": pages, "silver.notion_page_numbers": numbers}


TRANSFORMS: dict[str, Transform] = {
    "pages": notion_pages,
}

__all__ = ["TRANSFORMS", "notion_pages"]
