"""GitHub records -> silver rows (repositories, commits, commit stats, issues, releases, stargazers)."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.connector import parse_records as _parse
from connectors.core.connector import utc as _utc
from connectors.github import models as gh


def github_repos(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = [
        {
            "repo": r.full_name,
            "repo_id": r.id,
            "owner": r.owner.login,
            "language": r.language,
            "description": r.description,
            "stars": r.stargazers_count,
            "forks": r.forks_count,
            "open_issues": r.open_issues_count,
            "license": r.license.spdx_id if r.license else None,
            "topics": r.topics,
            "created_at": _utc(r.created_at),
            "pushed_at": _utc(r.pushed_at),
        }
        for r in _parse(gh.Repository, records, rej, "github/repo")
    ]
    return {"silver.github_repos": rows}


def _repo(ctx: dict[str, Any]) -> str:
    """``owner/name`` of a GitHub partition (``{"owner": ..., "repo": ...}``)."""
    return f"{ctx['owner']}/{ctx['repo']}" if "owner" in ctx else str(ctx["repo"])


def github_commits(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for c in _parse(gh.Commit, records, rej, f"github/{repo}/commits"):
        ts = _utc(c.commit.author.date)
        assert ts is not None
        rows.append(
            {
                "repo": repo,
                "sha": c.sha,
                "committed_at": ts,
                "date": ts.date(),
                "author_login": c.author.login if c.author else None,
                "author_name": c.commit.author.name,
                "message_headline": c.commit.message.splitlines()[0] if c.commit.message else "",
            }
        )
    return {"silver.github_commits": rows}


def github_history(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for n in _parse(gh.HistoryNode, records, rej, f"github/{repo}/history"):
        ts = _utc(n.committed_date)
        assert ts is not None
        rows.append(
            {
                "repo": repo,
                "sha": n.oid,
                "committed_at": ts,
                "date": ts.date(),
                "additions": n.additions,
                "deletions": n.deletions,
                "changed_files": n.changed_files,
                "author_login": n.author.user.login if n.author and n.author.user else None,
            }
        )
    return {"silver.github_commit_stats": rows}


def github_issues(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for i in _parse(gh.Issue, records, rej, f"github/{repo}/issues"):
        created = _utc(i.created_at)
        assert created is not None
        rows.append(
            {
                "repo": repo,
                "number": i.number,
                "issue_id": i.id,
                "title": i.title,
                "state": i.state,
                "is_pull_request": i.pull_request is not None,
                "author_login": i.user.login if i.user else None,
                "labels": [label.name for label in i.labels],
                "comments": i.comments,
                "created_at": created,
                "date": created.date(),
                "closed_at": _utc(i.closed_at),
                "updated_at": _utc(i.updated_at),
            }
        )
    return {"silver.github_issues": rows}


def github_releases(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for r in _parse(gh.Release, records, rej, f"github/{repo}/releases"):
        if r.draft:
            continue
        published = _utc(r.published_at or r.created_at)
        assert published is not None
        rows.append(
            {
                "repo": repo,
                "release_id": r.id,
                "tag": r.tag_name,
                "name": r.name,
                "prerelease": r.prerelease,
                "published_at": published,
                "date": published.date(),
            }
        )
    return {"silver.github_releases": rows}


def github_stargazers(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    repo = _repo(ctx)
    rows = []
    for s in _parse(gh.Stargazer, records, rej, f"github/{repo}/stargazers"):
        ts = _utc(s.starred_at)
        assert ts is not None
        rows.append({"repo": repo, "user_login": s.user.login, "starred_at": ts, "date": ts.date()})
    return {"silver.github_stargazers": rows}


TRANSFORMS: dict[str, Transform] = {
    "repo": github_repos,
    "commits": github_commits,
    "history": github_history,
    "issues": github_issues,
    "releases": github_releases,
    "stargazers": github_stargazers,
}

__all__ = [
    "TRANSFORMS",
    "github_commits",
    "github_history",
    "github_issues",
    "github_releases",
    "github_repos",
    "github_stargazers",
]
