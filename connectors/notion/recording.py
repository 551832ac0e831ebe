"""Recorder of the Notion fixture (synthetic team journal)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.replay.recording import Route, iso, records_route, response, responses_route, uuid_of

NOTION_AUTH = {"bearer": "replay-notion-token"}
NOTION_RATE = {"limit": 30, "window_s": 10}


NOTION_DB = "5f3e0c1a-7b2d-4c9e-8a1f-2b3c4d5e6f70"


def build_notion(_: Path) -> tuple[list[Route], dict[str, Any]]:
    rng = random.Random(25)
    user = {"object": "user", "id": uuid_of("notion-user")}
    pages = []
    day = date(2015, 1, 5)
    while day <= date(2015, 5, 29):
        if day.weekday() < 5 and rng.random() < 0.55:
            pid = uuid_of("notion", day)
            edited = datetime(day.year, day.month, day.day, 17, rng.randrange(60), tzinfo=UTC)
            props = {
                "Name": {
                    "id": "title",
                    "type": "title",
                    "title": [
                        {
                            "type": "text",
                            "text": {"content": f"Standup {day.isoformat()}", "link": None},
                            "annotations": {"bold": False},
                            "plain_text": f"Standup {day.isoformat()}",
                            "href": None,
                        }
                    ],
                },
                "Date": {
                    "id": "%3AdT",
                    "type": "date",
                    "date": {"start": day.isoformat(), "end": None, "time_zone": None},
                },
                "Mood": {"id": "m%3F", "type": "number", "number": rng.randint(1, 5)},
                "Incidents": {"id": "inc", "type": "number", "number": rng.choice([0, 0, 0, 1, 2])},
                "Tags": {
                    "id": "tg",
                    "type": "multi_select",
                    "multi_select": [
                        {"id": "t1", "name": rng.choice(["release", "planning", "oncall"]), "color": "blue"}
                    ],
                },
            }
            pages.append(
                {
                    "object": "page",
                    "id": pid,
                    "created_time": iso(edited - timedelta(hours=8)),
                    "last_edited_time": iso(edited),
                    "created_by": user,
                    "last_edited_by": user,
                    "cover": None,
                    "icon": None,
                    "parent": {"type": "database_id", "database_id": NOTION_DB},
                    "archived": False,
                    "in_trash": False,
                    "properties": props,
                    "url": f"https://www.notion.so/{pid.replace('-', '')}",
                    "public_url": None,
                }
            )
        day += timedelta(days=1)
    database = {
        "object": "database",
        "id": NOTION_DB,
        "title": [{"type": "text", "text": {"content": "Team journal", "link": None}, "plain_text": "Team journal"}],
        "created_time": "2015-01-02T09:00:00.000Z",
        "last_edited_time": pages[-1]["last_edited_time"],
        "properties": {
            "Name": {"id": "title", "name": "Name", "type": "title", "title": {}},
            "Date": {"id": "%3AdT", "name": "Date", "type": "date", "date": {}},
            "Mood": {"id": "m%3F", "name": "Mood", "type": "number", "number": {"format": "number"}},
            "Incidents": {"id": "inc", "name": "Incidents", "type": "number", "number": {}},
            "Tags": {"id": "tg", "name": "Tags", "type": "multi_select", "multi_select": {}},
        },
        "url": f"https://www.notion.so/{NOTION_DB.replace('-', '')}",
    }
    db_route = responses_route("/v1/databases/{database_id}", auth=NOTION_AUTH, rate_limit=NOTION_RATE)
    response(db_route, database, path={"database_id": NOTION_DB})
    query = records_route(
        f"/v1/databases/{NOTION_DB}/query",
        pages,
        method="POST",
        auth=NOTION_AUTH,
        rate_limit=NOTION_RATE,
        paginate={
            "style": "cursor",
            "page_size": 25,
            "cursor_param": "start_cursor",
            "envelope": "results",
            "next_path": "next_cursor",
            "has_more_path": "has_more",
        },
    )
    created = dict(pages[-1]) | {"id": "{created-page-id}", "url": "https://www.notion.so/created"}
    create = responses_route("/v1/pages", method="POST", auth=NOTION_AUTH, rate_limit=NOTION_RATE, faults=False)
    response(create, created)
    meta = {
        "provenance": "synthetic (seed 25): a team-journal database with one page per working day",
        "synthetic": True,
    }
    return [db_route, query, create], meta
