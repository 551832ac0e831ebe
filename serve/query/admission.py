"""Isolation between callers: separate engine pools for catalogue/data routes and user SQL, per-key
concurrency limits, and admission of user SQL by estimated cost.

* ``ctx.engine`` is an :class:`EngineRouter`: ``call``/``profile`` (catalogue, series, findings, KPIs)
  go to the ``CatalogEngine`` deployment, ``run_sql`` (user and NL SQL) to ``SqlEngine``; a flood of slow
  SQL queues only on SqlEngine.
* ``run_sql`` is admitted by a static cost estimate of the statement (:func:`estimate_cost`): statements
  above ``heavy_cost`` share ``heavy_slots`` in-flight slots per ingress replica; past them the caller
  gets 503 with Retry-After at once instead of a queue position behind other slow statements.
* :class:`KeySlots` caps the requests one API key has in flight on the expensive routes (429 past it).
"""

from __future__ import annotations

import asyncio
import math
import threading
from dataclasses import dataclass, field
from typing import Any

from covary.errors import TransientError
from serve.errors import ServeError

EXPENSIVE_ROUTES = ("/v1/sql", "/v1/query", "/v1/ask", "/v1/ask/stream", "/v1/upload", "/v1/kpi/")


class AdmissionError(ServeError, TransientError):
    """The engine is at capacity for statements of this cost (HTTP 503 with Retry-After)."""


TABLE_ROWS = 100_000.0
"""Rows assumed for a lakehouse table (the estimate is syntactic; it does not look at the data)."""


def estimate_cost(sql: str) -> float:
    """A static estimate of a statement's work in millions of rows scanned or produced: a table counts
    ``TABLE_ROWS``, ``range(n)``/``generate_series`` counts n, sources joined without a condition (comma or
    CROSS joins) multiply, joined with one add; each subquery/CTE adds its own; window functions, DISTINCT
    and regex functions add 10 % each. A cheap bound that needs no engine round trip; it orders statements,
    it does not time them."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except Exception:  # the guard reports parse errors; admission treats them as cheap
        return 0.0
    if tree is None:
        return 0.0
    rows = 0.0
    for select in tree.find_all(exp.Select):
        sources: list[float] = []
        from_ = select.args.get("from_") or select.args.get("from")
        if from_ is not None:
            sources.append(_source_rows(from_.this))
        cross = 1.0
        for join in select.args.get("joins") or []:
            size = _source_rows(join.this)
            if join.args.get("on") is None and join.args.get("using") is None:
                cross *= max(size, 1.0)
            else:
                sources.append(size)
        rows += (sum(sources) or 1.0) * cross
    factor = 1.0
    factor += 0.1 * sum(1 for _ in tree.find_all(exp.Window))
    factor += 0.1 * sum(1 for _ in tree.find_all(exp.Distinct))
    factor += 0.1 * sum(1 for f in tree.find_all(exp.Func) if "regexp" in (type(f).key or ""))
    return round(rows * factor / 1e6, 4)


def _source_rows(node: Any) -> float:
    from sqlglot import exp

    if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
        numbers = [int(n.this) for n in node.this.find_all(exp.Literal) if n.is_int]
        if not numbers:
            return TABLE_ROWS
        if len(numbers) >= 2:
            return float(abs(numbers[1] - numbers[0]))
        return float(numbers[0])
    if isinstance(node, exp.Subquery):
        return 1.0  # its SELECT is counted on its own
    return TABLE_ROWS


@dataclass
class CostGate:
    """Per-ingress admission: statements above ``heavy_cost`` take one of ``heavy_slots``."""

    heavy_cost: float = 5.0
    heavy_slots: int = 2
    retry_after_s: float = 1.0
    _heavy: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, cost: float) -> bool:
        if cost < self.heavy_cost:
            return False
        with self._lock:
            if self._heavy >= self.heavy_slots:
                raise AdmissionError(
                    f"the SQL engine is at capacity for expensive statements (estimated cost {cost:g}, "
                    f"{self.heavy_slots} at a time); retry shortly",
                    hint="filter or aggregate earlier (fewer joins, smaller ranges) so the statement is cheaper",
                )
            self._heavy += 1
        return True

    def release(self) -> None:
        with self._lock:
            self._heavy = max(0, self._heavy - 1)


class _AdmittedRunSql:
    """``router.run_sql.remote(sql, ...)``: an awaitable that admits, runs on SqlEngine and releases."""

    def __init__(self, router: EngineRouter) -> None:
        self.router = router

    def remote(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return self.router._run_sql(sql, *args, **kwargs)


class EngineRouter:
    """Looks like the SqlEngine handle to routes; sends catalogue/data calls to the catalogue pool."""

    CATALOG_METHODS = frozenset({"call", "profile"})

    def __init__(self, sql: Any, catalog: Any, gate: CostGate | None = None) -> None:
        self.sql = sql
        self.catalog = catalog
        self.gate = gate or CostGate()
        self.run_sql = _AdmittedRunSql(self)

    def __getattr__(self, name: str) -> Any:
        if name in self.CATALOG_METHODS:
            return getattr(self.catalog, name)
        return getattr(self.sql, name)

    async def _run_sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        heavy = self.gate.admit(estimate_cost(sql))
        try:
            return await self.sql.run_sql.remote(sql, *args, **kwargs)
        finally:
            if heavy:
                self.gate.release()


class KeySlots:
    """In-flight requests per API key on the expensive routes; ``acquire`` is False past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._inflight: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, key_id: str) -> bool:
        if self.limit <= 0:
            return True
        async with self._lock:
            n = self._inflight.get(key_id, 0)
            if n >= self.limit:
                return False
            self._inflight[key_id] = n + 1
            return True

    async def release(self, key_id: str) -> None:
        if self.limit <= 0:
            return
        async with self._lock:
            n = self._inflight.get(key_id, 0) - 1
            if n <= 0:
                self._inflight.pop(key_id, None)
            else:
                self._inflight[key_id] = n

    def retry_after(self) -> str:
        return str(max(1, math.ceil(1.0)))


def is_expensive(path: str) -> bool:
    return any(path == r or (r.endswith("/") and path.startswith(r)) for r in EXPENSIVE_ROUTES)


__all__ = [
    "EXPENSIVE_ROUTES",
    "AdmissionError",
    "CostGate",
    "EngineRouter",
    "KeySlots",
    "estimate_cost",
    "is_expensive",
]
