"""Pydantic models of the GitHub REST v3 and GraphQL v4 payloads covary reads."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Payload(BaseModel):
    """Base: unknown fields are kept (GitHub adds fields often), known ones are typed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class SimpleUser(_Payload):
    login: str
    id: int
    node_id: str | None = None
    type: str | None = None
    site_admin: bool | None = None
    html_url: str | None = None


class License(_Payload):
    key: str
    name: str | None = None
    spdx_id: str | None = None


class Repository(_Payload):
    """``GET /repos/{owner}/{repo}`` (full repository)."""

    id: int
    node_id: str | None = None
    name: str
    full_name: str
    owner: SimpleUser
    private: bool = False
    html_url: str
    description: str | None = None
    fork: bool = False
    language: str | None = None
    stargazers_count: int
    watchers_count: int | None = None
    forks_count: int
    open_issues_count: int
    default_branch: str = "main"
    topics: list[str] = Field(default_factory=list)
    license: License | None = None
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime | None = None


class GitActor(_Payload):
    name: str | None = None
    email: str | None = None
    date: datetime


class CommitDetail(_Payload):
    author: GitActor
    committer: GitActor
    message: str
    comment_count: int = 0


class CommitParent(_Payload):
    sha: str
    url: str | None = None


class Commit(_Payload):
    """One item of ``GET /repos/{owner}/{repo}/commits`` (Link-header pagination, ``since``)."""

    sha: str
    node_id: str | None = None
    commit: CommitDetail
    html_url: str | None = None
    author: SimpleUser | None = None
    committer: SimpleUser | None = None
    parents: list[CommitParent] = Field(default_factory=list)


class Label(_Payload):
    id: int | None = None
    name: str
    color: str | None = None


class Issue(_Payload):
    """One item of ``GET /repos/{owner}/{repo}/issues?state=all`` (pull requests carry ``pull_request``)."""

    id: int
    node_id: str | None = None
    number: int
    title: str
    state: str
    user: SimpleUser | None = None
    labels: list[Label] = Field(default_factory=list)
    comments: int = 0
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    pull_request: dict[str, object] | None = None


class Release(_Payload):
    """One item of ``GET /repos/{owner}/{repo}/releases``."""

    id: int
    node_id: str | None = None
    tag_name: str
    name: str | None = None
    draft: bool = False
    prerelease: bool = False
    author: SimpleUser | None = None
    created_at: datetime
    published_at: datetime | None = None
    html_url: str | None = None


class Stargazer(_Payload):
    """One item of ``GET /repos/{owner}/{repo}/stargazers`` with ``Accept: application/vnd.github.star+json``."""

    starred_at: datetime
    user: SimpleUser


# ---------------------------------------------------------------------------------------- GraphQL
class PageInfo(_Payload):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: str | None = Field(None, alias="endCursor")


class GraphQLUser(_Payload):
    login: str


class GraphQLCommitAuthor(_Payload):
    name: str | None = None
    email: str | None = None
    date: datetime | None = None
    user: GraphQLUser | None = None


class HistoryNode(_Payload):
    """A commit in ``repository.defaultBranchRef.target.history`` (GraphQL ``Commit``)."""

    oid: str
    committed_date: datetime = Field(alias="committedDate")
    message_headline: str | None = Field(None, alias="messageHeadline")
    additions: int
    deletions: int
    changed_files: int | None = Field(None, alias="changedFilesIfAvailable")
    author: GraphQLCommitAuthor | None = None


class History(_Payload):
    total_count: int = Field(alias="totalCount")
    page_info: PageInfo = Field(alias="pageInfo")
    nodes: list[HistoryNode]


HISTORY_QUERY = """
query($owner: String!, $repo: String!, $since: GitTimestamp, $cursor: String) {
  repository(owner: $owner, name: $repo) {
    defaultBranchRef {
      target {
        ... on Commit {
          history(first: 100, since: $since, after: $cursor) {
            totalCount
            pageInfo { hasNextPage endCursor }
            nodes {
              oid committedDate messageHeadline additions deletions changedFilesIfAvailable
              author { name email date user { login } }
            }
          }
        }
      }
    }
  }
}
""".strip()


def history_of(response: dict[str, object]) -> History:
    """The ``history`` connection out of a GraphQL response body (``data.repository...``)."""
    data = response["data"]
    assert isinstance(data, dict)
    target = data["repository"]["defaultBranchRef"]["target"]
    return History.model_validate(target["history"])


__all__ = [
    "HISTORY_QUERY",
    "Commit",
    "History",
    "HistoryNode",
    "Issue",
    "Release",
    "Repository",
    "SimpleUser",
    "Stargazer",
    "history_of",
]
