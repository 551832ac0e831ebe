"""GitHub source: REST repository, commits, issues, releases, stargazers (with timestamps) and GraphQL history."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Partition, SourcePlan
from connectors.github.models import HISTORY_QUERY, Commit, HistoryNode, Issue, Release, Repository, Stargazer

API_VERSION = "2022-11-28"
HISTORY = "data.repository.defaultBranchRef.target.history"
REPLAY_AUTH = None  # the recording answers anonymous requests, like api.github.com does (60/h)


def _auth() -> dict[str, Any] | None:
    from covary.settings import get_settings

    token = get_settings().connectors.github_token
    return {"type": "bearer", "token": "setting:github_token"} if token else None


def _rest(name: str, path: str, model: type, key: str, **extra: Any) -> dict[str, Any]:
    params = {"per_page": 100} | extra.pop("params", {})
    return {
        "name": name,
        "path": path,
        "params": params,
        "paginator": "link_header",
        "records": "$",
        "primary_key": key,
        "model": model,
        **extra,
    }


def build_source() -> dict[str, Any]:
    """The declarative spec. Partitions are repositories: ``{"owner": ..., "repo": ...}``."""
    return {
        "name": "github",
        "description": "GitHub repositories: metadata, commits, issues, releases, stargazers, commit history.",
        "base_url": "https://api.github.com",
        "auth": _auth(),
        "headers": {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION},
        # primary limit 5000 requests/hour with a token; X-RateLimit-* and Retry-After are obeyed too
        "rate_limit": {"requests_per_second": 1.39, "burst": 100},
        "endpoints": [
            {
                "name": "repo",
                "path": "/repos/{owner}/{repo}",
                "records": "$",
                "primary_key": "full_name",
                "model": Repository,
            },
            _rest(
                "commits",
                "/repos/{owner}/{repo}/commits",
                Commit,
                "sha",
                incremental={"cursor_field": "commit.author.date", "param": "since"},
            ),
            _rest(
                "issues",
                "/repos/{owner}/{repo}/issues",
                Issue,
                "id",
                params={"state": "all", "sort": "updated", "direction": "asc"},
                incremental={"cursor_field": "updated_at", "param": "since"},
            ),
            _rest("releases", "/repos/{owner}/{repo}/releases", Release, "id"),
            _rest(
                "stargazers",
                "/repos/{owner}/{repo}/stargazers",
                Stargazer,
                "user.login",
                headers={"Accept": "application/vnd.github.star+json"},
                incremental={"cursor_field": "starred_at"},
            ),
            {
                "name": "history",
                "method": "POST",
                "path": "/graphql",
                "graphql": {"query": HISTORY_QUERY, "variables": {"cursor": None}},
                "records": f"{HISTORY}.nodes",
                "paginator": {"type": "graphql", "page_info_path": f"{HISTORY}.pageInfo", "cursor_variable": "cursor"},
                "primary_key": "oid",
                "model": HistoryNode,
                "incremental": {"cursor_field": "committedDate", "param": "since", "location": "variable"},
            },
        ],
    }


def repository(full_name: str) -> dict[str, str]:
    """The partition of one repository, from ``owner/name``."""
    owner, _, name = full_name.partition("/")
    return {"owner": owner, "repo": name}


DEFAULTS: dict[str, Any] = {
    "repos": ["covary-demo/pyflow", "covary-demo/rustdb", "covary-demo/webdash"],
    "also": [{"repos": ["covary-public/tidewater", "covary-public/lumen"]}],  # the 2023-24 public window
}
ENDPOINTS = ("repo", "commits", "issues", "releases", "stargazers", "history")


def first_stage(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    """One partition per repository and endpoint."""
    return [Partition("github", ep, repository(r)) for r in opts["repos"] for ep in ENDPOINTS]


PLAN = SourcePlan(defaults=DEFAULTS, first=first_stage, max_in_flight=3, replay_auth=REPLAY_AUTH)


__all__ = ["DEFAULTS", "PLAN", "REPLAY_AUTH", "build_source", "first_stage", "repository"]
