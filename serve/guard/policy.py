"""The SQL guard: one read-only SELECT over allow-listed tables and functions, with a LIMIT."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from covary import metrics
from serve.guard.errors import BlockedQueryError
from serve.guard.functions import ALLOWED_FUNCTIONS, ALLOWED_NODES, DENIED_FUNCTIONS, DENIED_NODES, DENIED_SCHEMAS

MAX_SQL_CHARS = 20_000
MAX_NODES = 5_000
# A DuckDB ``PIVOT t ON col USING agg(x)`` statement is a read-only query (its tables and functions are walked too).
ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.Paren, exp.Pivot)


@dataclass(frozen=True)
class GuardPolicy:
    """What the guard lets through: the tables (``layer.table``), and the LIMIT it enforces."""

    tables: frozenset[str]
    max_limit: int = 1000
    extra_functions: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_tables(cls, tables: Iterable[str], *, max_limit: int = 1000) -> GuardPolicy:
        return cls(tables=frozenset(t.lower() for t in tables), max_limit=max_limit)


@dataclass(frozen=True)
class GuardedSQL:
    """A statement that passed the guard: the SQL to run (regenerated from the checked tree).

    ``sql`` carries the LIMIT shown to callers; ``probe_sql`` is the same statement with one extra row
    (``limit + 1``) where the guard imposed or lowered the LIMIT, so the engine can tell that rows were cut
    (``truncated: true``) rather than guess from a full page.
    """

    original: str
    sql: str
    tables: tuple[str, ...]
    limit: int
    query_hash: str
    probe_sql: str = ""

    @property
    def run_sql(self) -> str:
        return self.probe_sql or self.sql


def query_hash(sql: str) -> str:
    """A short stable hash of a statement (whitespace-normalised), for audit and caching."""
    return hashlib.sha256(" ".join(sql.split()).encode()).hexdigest()[:16]


def _block(reason: str, message: str) -> BlockedQueryError:
    metrics.inc("covary_blocked_queries", reason=reason)
    return BlockedQueryError(message, reason=reason)


def _function_names(node: exp.Func) -> set[str]:
    names = {type(node).key.lower(), *(n.lower() for n in type(node).sql_names())}
    if isinstance(node, exp.Anonymous):
        names = {str(node.name).lower()}
    return names


def _check_function(node: exp.Func, policy: GuardPolicy) -> None:
    names = _function_names(node)
    denied = names & DENIED_FUNCTIONS
    if denied or any(n.startswith(("read_", "duckdb_", "pragma_", "parquet_", "sqlite_", "postgres_")) for n in names):
        shown = sorted(denied or names)[0]
        raise _block("function", f"function {shown}() is not allowed: it reads files, URLs or engine internals")
    if not names & (ALLOWED_FUNCTIONS | policy.extra_functions):
        shown = sorted(names)[0]
        raise _block("function", f"function {shown}() is not on the allow-list of read-only functions")


def _check_table(node: exp.Table, policy: GuardPolicy, ctes: set[str]) -> str | None:
    inner = node.this
    if isinstance(inner, exp.Func):  # table function: range(...), unnest(...), read_csv(...)
        _check_function(inner, policy)
        return None
    if not isinstance(inner, exp.Identifier):
        raise _block("table", f"{node.sql(dialect='duckdb')!r} is not a table name")
    if node.args.get("catalog") is not None:
        raise _block("table", f"table {node.sql(dialect='duckdb')}: catalog-qualified names are not allowed")
    name, schema = inner.name.lower(), node.db.lower()
    if not schema:
        if name in ctes:
            return None
        raise _block("table", f"table {name!r} must be qualified as layer.table (e.g. gold.series_values)")
    full = f"{schema}.{name}"
    if schema in DENIED_SCHEMAS or full not in policy.tables:
        raise _block("table", f"table {full} is not allowed; allowed tables: {', '.join(sorted(policy.tables))}")
    return full


def _user_limit(tree: exp.Expression, max_limit: int) -> int | None:
    """The statement's own literal LIMIT when it is within ``max_limit`` (then the guard changes nothing)."""
    limit = tree.args.get("limit")
    if isinstance(limit, exp.Limit):
        value = limit.expression
        if isinstance(value, exp.Literal) and value.is_int and 0 <= int(value.this) <= max_limit:
            return int(value.this)
    return None


def _enforce_limit(tree: exp.Expression, max_limit: int) -> tuple[exp.Expression, int]:
    """Keep a literal LIMIT <= max_limit; otherwise cap the outermost result at max_limit."""
    limit = tree.args.get("limit")
    own = _user_limit(tree, max_limit)
    if own is not None:
        return tree, own
    if isinstance(tree, exp.Select) and not isinstance(limit, exp.Fetch):
        return tree.limit(max_limit, copy=False), max_limit
    wrapped = exp.select("*").from_(exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("q"))))
    return wrapped.limit(max_limit, copy=False), max_limit


def check_sql(sql: str, policy: GuardPolicy) -> GuardedSQL:
    """Parse ``sql`` (DuckDB dialect) and return it guarded, or raise :class:`BlockedQueryError`.

    Exactly one statement; the root must be a SELECT/WITH/UNION tree; every node is walked: no
    statement nodes (sqlglot's generic ``Command`` included), no data-modifying CTEs, only
    allow-listed tables and functions, and a LIMIT of at most ``policy.max_limit``.
    """
    if not sql or not sql.strip():
        raise _block("empty", "empty statement")
    if len(sql) > MAX_SQL_CHARS:
        raise _block("too_long", f"statement is {len(sql)} characters; the limit is {MAX_SQL_CHARS}")
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0][:200]
        raise _block("parse_error", f"cannot parse the statement as DuckDB SQL: {first}") from exc
    except RecursionError as exc:
        raise _block("parse_error", "statement nests too deeply") from exc
    if len(statements) != 1:
        raise _block("multiple_statements", f"exactly one statement is allowed, got {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, ROOTS):
        reason = DENIED_NODES.get(type(tree).__name__, "not_select")
        raise _block(reason, f"only SELECT/WITH/UNION queries are allowed, not {type(tree).__name__.upper()}")

    ctes = {str(c.alias).lower() for c in tree.find_all(exp.CTE)}
    tables: set[str] = set()
    count = 0
    for node in tree.walk():
        count += 1
        if count > MAX_NODES:
            raise _block("too_complex", f"statement has more than {MAX_NODES} syntax nodes")
        kind = type(node).__name__
        if kind in DENIED_NODES:
            raise _block(DENIED_NODES[kind], f"{kind.upper()} is not allowed: the service is read-only")
        if isinstance(node, exp.Table):
            found = _check_table(node, policy, ctes)
            if found:
                tables.add(found)
        elif isinstance(node, ALLOWED_NODES) and not isinstance(node, exp.Anonymous):
            continue
        elif isinstance(node, exp.Func):
            _check_function(node, policy)
        else:
            raise _block("node", f"SQL construct {kind} is not allowed in read-only queries")
    for select in tree.find_all(exp.Select):
        if not select.expressions:
            raise _block("parse_error", "a SELECT needs at least one column")
    probe = ""
    if _user_limit(tree, policy.max_limit) is None:  # the guard cuts: run one row more to know whether it did
        probe = _enforce_limit(tree.copy(), policy.max_limit + 1)[0].sql(dialect="duckdb")
        _round_trip(probe)
    guarded, limit = _enforce_limit(tree, policy.max_limit)
    out = guarded.sql(dialect="duckdb")
    _round_trip(out)
    return GuardedSQL(
        original=sql,
        sql=out,
        tables=tuple(sorted(tables)),
        limit=limit,
        query_hash=query_hash(sql),
        probe_sql=probe,
    )


def _round_trip(out: str) -> None:
    """What runs must be exactly what was checked: the regenerated text must parse back to one query."""
    try:
        reparsed = [s for s in sqlglot.parse(out, read="duckdb") if s is not None]
    except (ParseError, TokenError):
        reparsed = []
    if len(reparsed) != 1 or not isinstance(reparsed[0], ROOTS):
        raise _block("parse_error", "the statement does not round-trip as one DuckDB SELECT")


__all__ = ["GuardPolicy", "GuardedSQL", "check_sql", "query_hash"]
