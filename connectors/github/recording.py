"""Recorder of the GitHub fixture (synthetic, with vega-datasets commit times for one repository)."""

from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.replay.recording import Route, iso, records_route, response, responses_route, sha
from connectors.synth.public import GITHUB_REPOS as PUBLIC_REPOS
from connectors.synth.public import recording_window

GH_RATE = {"limit": 5000, "window_s": 3600}
GH_PAGES = {"style": "link_header", "page_size": 30, "page_param": "page", "size_param": "per_page"}


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
            login = rng.choice(authors)
            author = {"login": login, "id": _uid(login), "type": "User"}
            commit, node = _commit(rng, full, sha(full, i, ts), ts, login, f"change {i}", author, sha(full, i + 1, "p"))
            commits.append(commit)
            nodes.append(node)
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
        repo = _repo(
            full,
            stars=stars,
            issues=issues,
            description=desc,
            language=language,
            forks_per_star=9,
            topics=["demo", language.lower()],
            license={"key": "mit", "name": "MIT License", "spdx_id": "MIT"},
            created_at=iso(created),
            pushed_at=iso(times[-1]),
        )
        routes += _repo_pages(repo_route, graphql, repo, commits, nodes, issues=issues, releases=releases, stars=stars)
    public_routes = _public_window(repo_route, graphql)
    meta = {
        "provenance": "pyflow commit times: vega-datasets github.csv (simulated punchcard, BSD-3-Clause); "
        "everything else synthetic (seed 5); covary-public/* 2023-2024 synthetic from connectors/synth/public.py",
        "synthetic": True,
        "windows": [
            {
                "window": "2015-01-01..2015-05-31",
                "synthetic": True,
                "data": "covary-demo/* repositories: commits, issues, releases, stargazers, history",
                "source": "pyflow commit times from vega-datasets 3.2.1 github.csv (itself simulated); rest seed 5",
                "licence": "BSD-3-Clause (vega-datasets); CC0-1.0 (synthetic, generated by covary)",
            },
            recording_window(
                f"{', '.join(PUBLIC_REPOS)}: commits, issues, releases, stargazers, history; one repository has "
                "no topics and unlabelled issues, as real repositories often do",
                "weekday rhythm, growth and release cadence; PLANTED: London rain -> next-day commits of "
                f"{PUBLIC_REPOS[0]}, and issue bursts in the week after its releases",
            ),
        ],
    }
    return [repo_route, *routes, graphql, *public_routes], meta


def _public_window(repo_route: Route, graphql: Route) -> list[Route]:
    """The public clock's 2023-24 activity of ``covary-public/*`` (appended, so older fixture files keep names)."""
    from connectors.synth.public import public_clock

    clock = public_clock()
    routes: list[Route] = []
    for r, full in enumerate(PUBLIC_REPOS):
        name = full.split("/")[1]
        activity = clock.github[full]
        rng = random.Random(f"github-public-{full}")
        authors = [f"{name}-dev{i:02d}" for i in range(8)]
        times: list[datetime] = []
        for day, n in zip(clock.dates, activity.commits, strict=True):
            base = datetime(day.year, day.month, day.day, tzinfo=UTC)
            times += sorted(base + timedelta(minutes=rng.randrange(7 * 60, 23 * 60)) for _ in range(int(n)))
        commits, nodes = [], []
        for i, ts in enumerate(reversed(times)):  # newest first, like the API
            login = rng.choice(authors)
            message = rng.choice(["fix: ", "feat: ", "docs: ", "refactor: ", "test: "]) + f"change {len(times) - i}"
            author = None if rng.random() < 0.05 else {"login": login, "id": _uid(login), "type": "User"}
            oid, parent = sha(full, "public", i, ts), sha(full, "public", i + 1, "p")
            commit, node = _commit(rng, full, oid, ts, login, message, author, parent)
            commits.append(commit)
            nodes.append(node)
        issues = []
        number = 0
        for day, n in zip(clock.dates, activity.issues, strict=True):
            for _ in range(int(n)):
                number += 1
                opened = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=rng.randrange(1440))
                closed = opened + timedelta(hours=rng.expovariate(1 / 120)) if rng.random() < 0.75 else None
                labels = (
                    [] if r == 1 else [{"id": 1, "name": rng.choice(["bug", "bug", "enhancement"]), "color": "d73a4a"}]
                )
                issue = {
                    "id": int(sha(full, "issue", number)[:8], 16),
                    "node_id": f"I_{sha(full, 'public', number)[:16]}",
                    "number": number,
                    "title": f"Issue {number}",
                    "state": "closed" if closed else "open",
                    "user": _gh_user(rng.choice(authors)),
                    "labels": labels,
                    "comments": rng.randrange(8),
                    "created_at": iso(opened),
                    "updated_at": iso(closed or opened),
                    "closed_at": iso(closed) if closed else None,
                }
                issues.append(issue)
        issues.sort(key=lambda x: str(x["created_at"]), reverse=True)
        releases = []
        for k, d in enumerate(np_days(clock.dates, activity.releases)):
            pub = datetime(d.year, d.month, d.day, 15, tzinfo=UTC)
            tag = f"v1.{k}.0"
            releases.append(
                {
                    "id": int(sha(full, "public-rel", k)[:7], 16),
                    "node_id": f"RE_{sha(full, 'public', k)[:12]}",
                    "tag_name": tag,
                    "name": None if rng.random() < 0.2 else f"{name} {tag[1:]}",
                    "draft": False,
                    "prerelease": False,
                    "author": _gh_user(authors[0]),
                    "created_at": iso(pub - timedelta(hours=3)),
                    "published_at": iso(pub),
                    "html_url": f"https://github.com/{full}/releases/tag/{tag}",
                }
            )
        releases.reverse()
        stars = []
        t = datetime(2023, 1, 1, tzinfo=UTC)
        for k in range(rng.randint(120, 180)):
            t += timedelta(hours=rng.expovariate(1 / 100))
            if t.year > 2024:
                break
            stars.append({"starred_at": iso(t), "user": _gh_user(f"fan-{name}-{k}")})
        repo = _repo(
            full,
            stars=stars,
            issues=issues,
            description=None if r == 1 else "Tide-gauge data toolkit (synthetic public-window repository)",
            language=("Go", "TypeScript")[r % 2],  # languages no covary-demo repository uses
            forks_per_star=7,
            topics=[] if r == 1 else ["oceanography", "go"],
            license=None if r == 1 else {"key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0"},
            created_at="2022-06-01T10:00:00Z",
            pushed_at=iso(times[-1]),
        )
        routes += _repo_pages(repo_route, graphql, repo, commits, nodes, issues=issues, releases=releases, stars=stars)
    return routes


def _commit(
    rng: random.Random,
    full: str,
    oid: str,
    ts: datetime,
    login: str,
    message: str,
    author: dict[str, Any] | None,
    parent: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One commit as the REST API lists it and as the GraphQL history pages it (line statistics drawn from ``rng``)."""
    actor = {"name": login.title(), "email": f"{login}@users.noreply.github.com", "date": iso(ts)}
    commit = {
        "sha": oid,
        "commit": {"author": actor, "committer": actor, "message": message, "comment_count": 0},
        "html_url": f"https://github.com/{full}/commit/{oid}",
        "author": author,
        "parents": [{"sha": parent}],
    }
    node = {
        "oid": oid,
        "committedDate": iso(ts),
        "messageHeadline": message,
        "additions": int(rng.expovariate(1 / 40)) + 1,
        "deletions": int(rng.expovariate(1 / 15)),
        "changedFilesIfAvailable": rng.randint(1, 9),
        "author": {"name": login.title(), "user": {"login": login}},
    }
    return commit, node


def _repo(
    full: str,
    *,
    stars: list[Any],
    issues: list[dict[str, Any]],
    description: str | None,
    language: str,
    forks_per_star: int,
    topics: list[str],
    license: dict[str, str] | None,
    created_at: str,
    pushed_at: str,
) -> dict[str, Any]:
    """``GET /repos/{owner}/{repo}``'s answer."""
    owner, name = full.split("/")
    return {
        "id": int(sha("repo", full)[:7], 16),
        "node_id": f"R_{sha(full)[:12]}",
        "name": name,
        "full_name": full,
        "owner": _gh_user(owner) | {"type": "Organization"},
        "private": False,
        "html_url": f"https://github.com/{full}",
        "description": description,
        "fork": False,
        "language": language,
        "stargazers_count": len(stars),
        "watchers_count": len(stars),
        "forks_count": len(stars) // forks_per_star,
        "open_issues_count": sum(1 for i in issues if i["state"] == "open"),
        "default_branch": "main",
        "topics": topics,
        "license": license,
        "created_at": created_at,
        "updated_at": pushed_at,
        "pushed_at": pushed_at,
    }


def _repo_pages(
    repo_route: Route,
    graphql: Route,
    repo: dict[str, Any],
    commits: list[Any],
    nodes: list[dict[str, Any]],
    *,
    issues: list[Any],
    releases: list[Any],
    stars: list[Any],
) -> list[Route]:
    """Record the repository's answer and its GraphQL history (pages of 100 chained by ``endCursor``); return its
    REST list routes (the replay server pages those itself, with Link headers)."""
    full = str(repo["full_name"])
    owner, name = full.split("/")
    response(repo_route, repo, path={"owner": owner, "repo": name})
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
        response(graphql, body, body_match={"variables": {"owner": owner, "repo": name, "cursor": cursor}})
        cursor = end_cursor
    lists: tuple[tuple[str, list[Any], dict[str, Any]], ...] = (
        ("commits", commits, {}),
        ("issues", issues, {"filter": {"param": "since", "field": "updated_at"}}),
        ("releases", releases, {}),
        ("stargazers", stars, {}),
    )
    return [
        records_route(f"/repos/{full}/{endpoint}", items, paginate=GH_PAGES, rate_limit=GH_RATE, **extra)
        for endpoint, items, extra in lists
    ]


def np_days(dates: tuple[date, ...], flags: Any) -> list[date]:
    """The dates whose flag is set."""
    return [d for d, f in zip(dates, flags, strict=True) if f]
