"""GitHub gold series: commits and lines changed by language, stars and issues per repository."""

from __future__ import annotations

import polars as pl

from connectors.core.connector import Family, SeriesBuilder, count_by, read_frame
from lakehouse import Lakehouse


def _commit_lines(lake: Lakehouse) -> pl.DataFrame:
    stats = read_frame(lake, "silver.github_commit_stats", ["repo", "date", "additions", "deletions"])
    repos = read_frame(lake, "silver.github_repos", ["repo", "language"])
    if stats.is_empty() or repos.is_empty():
        return pl.DataFrame()
    joined = stats.join(repos, on="repo", how="left")
    return joined.group_by(pl.col("language").fill_null("unknown").alias("dim"), "date").agg(
        (pl.col("additions").fill_null(0) + pl.col("deletions").fill_null(0)).sum().cast(pl.Float64).alias("value")
    )


def _commits_by_language(lake: Lakehouse) -> pl.DataFrame:
    commits = read_frame(lake, "silver.github_commits", ["repo", "date"])
    repos = read_frame(lake, "silver.github_repos", ["repo", "language"])
    if commits.is_empty():
        return commits
    if repos.is_empty():
        repos = pl.DataFrame(schema={"repo": pl.String, "language": pl.String})
    joined = commits.join(repos, on="repo", how="left")
    return joined.group_by(pl.col("language").fill_null("unknown").alias("dim"), "date").agg(
        pl.len().cast(pl.Float64).alias("value")
    )


FAMILIES: tuple[Family, ...] = (
    Family(
        "github.commits",
        "Commits per day to repositories whose primary language is {dim}",
        "commits",
        "sum",
        "github",
        "silver.github_commits, silver.github_repos",
        "code",
        _commits_by_language,
    ),
    Family(
        "github.lines_changed",
        "Lines added + deleted per day in {dim} repositories (GraphQL history)",
        "lines",
        "sum",
        "github",
        "silver.github_commit_stats, silver.github_repos",
        "code",
        _commit_lines,
    ),
    Family(
        "github.stars",
        "New stars per day of repository {dim}",
        "stars",
        "sum",
        "github",
        "silver.github_stargazers",
        "code",
        count_by("silver.github_stargazers", "repo"),
    ),
    Family(
        "github.issues_opened",
        "Issues and pull requests opened per day in repository {dim}",
        "issues",
        "sum",
        "github",
        "silver.github_issues",
        "code",
        count_by("silver.github_issues", "repo"),
    ),
)
BUILDERS: tuple[SeriesBuilder, ...] = ()

__all__ = ["BUILDERS", "FAMILIES"]
