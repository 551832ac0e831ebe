"""Recorders of the GitHub and Notion fixtures (synthetic, with vega-datasets commit times for one repository)."""

from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jobs.ingest.recording._common import Route, iso, records_route, response, responses_route, sha, uuid_of

GH_RATE = {"limit": 5000, "window_s": 3600}
GH_PAGES = {"style": "link_header", "page_size": 30, "page_param": "page", "size_param": "per_page"}
NOTION_AUTH = {"bearer": "replay-notion-token"}
NOTION_RATE = {"limit": 30, "window_s": 10}


# ------------------------------------------------------------------------------------- GitHub
GITHUB_REPOS = [
    ("covary-demo", "pyflow", "Python", "Dataflow toolkit (synthetic demo repository)"),
    ("covary-demo", "rustdb", "Rust", "Embedded storage engine (synthetic demo repository)"),
    ("covary-demo", "webdash", "JavaScript", "Dashboard UI (synthetic demo repository)"),
]
GH_START, GH_END = date(2015, 1, 1), date(2015, 5, 31)


def _uid(login: str) -> int:
    return int(sha("user", login)[:7], 16)


def _gh_user(login: str) -> dict[str, Any]:
    uid = _uid(login)
    return {
        "login": login,
        "id": uid,
        "node_id": f"MDQ6VXNlcj{uid}",
        "type": "User",
        "site_admin": False,
        "html_url": f"https://github.com/{login}",
    }


def _commit_times(vega: Path, rng: random.Random, repo: str) -> list[datetime]:
    """pyflow: the hourly counts of vega's github.csv (itself simulated); others: seeded Poisson."""
    times: list[datetime] = []
    if repo == "pyflow":
        for row in csv.DictReader((vega / "github.csv").open()):
            hour = datetime.strptime(row["time"], "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
            times += [hour + timedelta(minutes=rng.randrange(60)) for _ in range(int(row["count"]))]
        return sorted(times)
    rate = {"rustdb": 2.0, "webdash": 3.0}[repo]
    day = GH_START
    while day <= GH_END:
        lam = rate * (0.35 if day.weekday() >= 5 else 1.0)
        n = sum(1 for _ in range(40) if rng.random() < lam / 40)
        base = datetime(day.year, day.month, day.day, tzinfo=UTC)
        times += [base + timedelta(minutes=rng.randrange(8 * 60, 22 * 60)) for _ in range(n)]
        day += timedelta(days=1)
    return sorted(times)


def build_github(vega: Path) -> tuple[list[Route], dict[str, Any]]:
    rng = random.Random(5)
    routes: list[Route] = []
    repo_route = responses_route("/repos/{owner}/{repo}", rate_limit=GH_RATE)
    graphql = responses_route("/graphql", method="POST")
    authors = [f"dev{i:02d}" for i in range(12)]
    for owner, name, language, desc in GITHUB_REPOS:
        full = f"{owner}/{name}"
        times = _commit_times(vega, rng, name)
        commits, nodes = [], []
        for i, ts in enumerate(reversed(times)):  # newest first, like the API
            oid = sha(full, i, ts)
            login = rng.choice(authors)
            actor = {"name": login.title(), "email": f"{login}@users.noreply.github.com", "date": iso(ts)}
            commits.append(
                {
                    "sha": oid,
                    "commit": {"author": actor, "committer": actor, "message": f"change {i}", "comment_count": 0},
                    "html_url": f"https://github.com/{full}/commit/{oid}",
                    "author": {"login": login, "id": _uid(login), "type": "User"},
                    "parents": [{"sha": sha(full, i + 1, "p")}],
                }
            )
            nodes.append(
                {
                    "oid": oid,
                    "committedDate": iso(ts),
                    "messageHeadline": f"change {i}",
                    "additions": int(rng.expovariate(1 / 40)) + 1,
                    "deletions": int(rng.expovariate(1 / 15)),
                    "changedFilesIfAvailable": rng.randint(1, 9),
                    "author": {"name": login.title(), "user": {"login": login}},
                }
            )
        created = datetime(2014, 3, 1, tzinfo=UTC) + timedelta(days=rng.randrange(200))
        stars = []
        t = datetime(2015, 1, 1, tzinfo=UTC)
        for k in range(rng.randint(180, 320)):
            t += timedelta(hours=rng.expovariate(1 / 11))
            stars.append({"starred_at": iso(t), "user": _gh_user(f"fan{name}{k}")})
        issues = []
        for number in range(1, rng.randint(60, 110)):
            opened = datetime(2015, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(150 * 24))
            closed = opened + timedelta(hours=rng.expovariate(1 / 90)) if rng.random() < 0.7 else None
            issue = {
                "id": int(sha(full, "issue", number)[:8], 16),
                "node_id": f"I_{sha(full, number)[:16]}",
                "number": number,
                "title": f"Issue {number}",
                "state": "closed" if closed else "open",
                "user": _gh_user(rng.choice(authors)),
                "labels": [{"id": 1, "name": rng.choice(["bug", "enhancement", "docs"]), "color": "d73a4a"}],
                "comments": rng.randrange(8),
                "created_at": iso(opened),
                "updated_at": iso(closed or opened),
                "closed_at": iso(closed) if closed else None,
            }
            if rng.random() < 0.3:
                issue["pull_request"] = {"url": f"https://api.github.com/repos/{full}/pulls/{number}"}
            issues.append(issue)
        issues.sort(key=lambda x: str(x["created_at"]), reverse=True)
        releases = []
        for k, month in enumerate(range(1, 6)):
            pub = datetime(2015, month, 10 + k, 12, tzinfo=UTC)
            releases.append(
                {
                    "id": int(sha(full, "rel", k)[:7], 16),
                    "node_id": f"RE_{sha(full, k)[:12]}",
                    "tag_name": f"v0.{k + 1}.0",
                    "name": f"{name} 0.{k + 1}",
                    "draft": False,
                    "prerelease": k == 0,
                    "author": _gh_user(authors[0]),
                    "created_at": iso(pub - timedelta(hours=2)),
                    "published_at": iso(pub),
                    "html_url": f"https://github.com/{full}/releases/tag/v0.{k + 1}.0",
                }
            )
        releases.reverse()
        repo = {
            "id": int(sha("repo", full)[:7], 16),
            "node_id": f"R_{sha(full)[:12]}",
            "name": name,
            "full_name": full,
            "owner": _gh_user(owner) | {"type": "Organization"},
            "private": False,
            "html_url": f"https://github.com/{full}",
            "description": desc,
            "fork": False,
            "language": language,
            "stargazers_count": len(stars),
            "watchers_count": len(stars),
            "forks_count": len(stars) // 9,
            "open_issues_count": sum(1 for i in issues if i["state"] == "open"),
            "default_branch": "main",
            "topics": ["demo", language.lower()],
            "license": {"key": "mit", "name": "MIT License", "spdx_id": "MIT"},
            "created_at": iso(created),
            "updated_at": iso(times[-1]),
            "pushed_at": iso(times[-1]),
        }
        response(repo_route, repo, path={"owner": owner, "repo": name})
        lists: tuple[tuple[str, list[Any], dict[str, Any]], ...] = (
            ("commits", commits, {}),
            ("issues", issues, {"filter": {"param": "since", "field": "updated_at"}}),
            ("releases", releases, {}),
            ("stargazers", stars, {}),
        )
        for endpoint, items, extra in lists:
            routes.append(
                records_route(f"/repos/{full}/{endpoint}", items, paginate=GH_PAGES, rate_limit=GH_RATE, **extra)
            )
        cursor = None
        for start in range(0, len(nodes), 100):
            chunk = nodes[start : start + 100]
            end_cursor = f"{chunk[-1]['oid']} {start + len(chunk) - 1}"
            history = {
                "totalCount": len(nodes),
                "pageInfo": {"hasNextPage": start + 100 < len(nodes), "endCursor": end_cursor},
                "nodes": chunk,
            }
            body = {"data": {"repository": {"defaultBranchRef": {"target": {"history": history}}}}}
            variables = {"owner": owner, "repo": name, "cursor": cursor}
            response(graphql, body, body_match={"variables": variables})
            cursor = end_cursor
    meta = {
        "provenance": "pyflow commit times: vega-datasets github.csv (simulated punchcard, BSD-3-Clause); "
        "everything else synthetic (seed 5)",
        "synthetic": True,
    }
    return [repo_route, *routes, graphql], meta


# ------------------------------------------------------------------------------------- Notion
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
