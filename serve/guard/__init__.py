"""The SQL guard: sqlglot policy check (first line) and a locked read-only DuckDB executor (second line)."""

from __future__ import annotations

from serve.guard.engine import EngineLimits, LakeSnapshots, LockedEngine, QueryResult, build_snapshot, json_value
from serve.guard.errors import BlockedQueryError, QueryFailedError, QueryTimeoutError
from serve.guard.policy import GuardedSQL, GuardPolicy, check_sql, query_hash

__all__ = [
    "BlockedQueryError",
    "EngineLimits",
    "GuardPolicy",
    "GuardedSQL",
    "LakeSnapshots",
    "LockedEngine",
    "QueryFailedError",
    "QueryResult",
    "QueryTimeoutError",
    "build_snapshot",
    "check_sql",
    "json_value",
    "query_hash",
]
