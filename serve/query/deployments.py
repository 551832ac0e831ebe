"""The small deployments behind the ingress: SqlEngine (guard + locked DuckDB), Translator, AuditWriter."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from covary.errors import CovaryError, TransientError
from covary.settings import get_settings
from serve.query.semantic import SemanticLayer, build_layer
from serve.query.service import EngineOptions, QueryService, translate
from serve.query.translator import Translation

log = logging.getLogger(__name__)


@dataclass
class Failure:
    """An expected error (blocked SQL, unanswerable question, ...) returned by value, not raised across handles,
    so replicas do not log a traceback for a user mistake. ``unwrap`` re-raises it in the ingress."""

    error: CovaryError


def unwrap(value: Any) -> Any:
    if isinstance(value, Failure):
        raise value.error
    return value


def _expected(fn: Any) -> Any:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except CovaryError as exc:
                return Failure(exc)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CovaryError as exc:
            return Failure(exc)

    return wrapper


def _lake(lake_root: str | None) -> Any:
    from lakehouse import Lakehouse

    settings = get_settings()
    if lake_root:
        return Lakehouse(lake_root, storage_options=settings.lake.storage_options)
    return Lakehouse.from_settings(settings)


@serve.deployment(name="SqlEngine")
class SqlEngine:
    """Runs guarded SQL on a locked, read-only DuckDB snapshot of the lakehouse; serves data routes."""

    def __init__(self, options: dict[str, Any], lake_root: str | None = None) -> None:
        self.service = QueryService(_lake(lake_root), EngineOptions(**options))
        self.service.snapshots.engine()

    @_expected
    def run_sql(self, sql: str, max_rows: int | None = None) -> dict[str, Any]:
        return self.service.run_sql(sql, max_rows=max_rows)

    def profile(self) -> tuple[str | None, dict[str, Any]]:
        return self.service.profile()

    @_expected
    def call(self, method: str, kwargs: dict[str, Any]) -> Any:
        """Data routes: tables, series_list, series_values, findings, finding, kpis, kpi, health."""
        if method not in {"tables", "series_list", "series_values", "findings", "finding", "kpis", "kpi", "health"}:
            raise ValueError(f"unknown engine call {method!r}")
        return getattr(self.service, method)(**kwargs)

    def __del__(self) -> None:
        service = getattr(self, "service", None)
        if service is not None:
            service.close()


@serve.deployment(name="Translator")
class Translator:
    """NL -> SQL over the semantic layer (refreshed from the engine's profile when the data changes)."""

    def __init__(self, engine: DeploymentHandle, options: dict[str, Any]) -> None:
        self.engine = engine
        self.options = EngineOptions(**options)
        self._layer: SemanticLayer | None = None
        self._fingerprint: str | None = None
        self._checked = 0.0
        self._lock = asyncio.Lock()

    async def layer(self) -> SemanticLayer:
        async with self._lock:
            if self._layer is None or time.monotonic() - self._checked > max(self.options.refresh_s, 1.0):
                fingerprint, profile = await self.engine.profile.remote()
                if fingerprint != self._fingerprint or self._layer is None:
                    self._layer = build_layer(profile, layers=tuple(self.options.layers))
                    self._fingerprint = fingerprint
                self._checked = time.monotonic()
            return self._layer

    @_expected
    async def translate(self, question: str) -> Translation:
        layer = await self.layer()
        return await asyncio.to_thread(translate, question, layer, self.options.llm_mode)


@serve.deployment(name="AuditWriter", max_ongoing_requests=1000)
class AuditWriter:
    """Buffers audit events and appends them to ``ops.audit`` in batches (every ``flush_s`` or ``batch`` rows)."""

    def __init__(self, lake_root: str | None = None, flush_s: float = 2.0, batch: int = 500) -> None:
        self.lake = _lake(lake_root)
        self.flush_s = flush_s
        self.batch = batch
        self.buffer: list[dict[str, Any]] = []
        self.written = 0
        self.failures = 0
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def _ensure_loop(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            await self.flush()

    async def record(self, event: dict[str, Any]) -> None:
        self._ensure_loop()
        self.buffer.append(event)
        if len(self.buffer) >= self.batch:
            await self.flush()

    async def flush(self) -> int:
        """Write buffered events now; returns how many were written."""
        async with self._lock:
            rows, self.buffer = self.buffer, []
            if not rows:
                return 0
            try:
                await asyncio.to_thread(self._write, rows)
            except Exception as exc:  # keep serving; retry transient failures at the next flush
                self.failures += 1
                if isinstance(exc, TransientError):
                    self.buffer = rows + self.buffer
                else:
                    self.dropped += len(rows)
                log.error("audit flush of %d rows failed (attempt %d): %s", len(rows), self.failures, exc)
                return 0
            self.written += len(rows)
            return len(rows)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa

        from lakehouse import get_spec

        schema = pa.schema([f for f in get_spec("ops.audit").schema])
        self.lake.write("ops.audit", pa.Table.from_pylist(rows, schema=schema), mode="append")

    def stats(self) -> dict[str, Any]:
        return {
            "buffered": len(self.buffer),
            "written": self.written,
            "failures": self.failures,
            "dropped": self.dropped,
        }

    def __del__(self) -> None:
        if getattr(self, "buffer", None):
            try:
                self._write(self.buffer)
            except Exception as exc:
                log.error("audit rows lost at shutdown: %s", exc)


__all__ = ["AuditWriter", "Failure", "SqlEngine", "Translator", "unwrap"]
