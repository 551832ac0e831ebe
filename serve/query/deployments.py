"""The small deployments behind the ingress: SqlEngine (guard + locked DuckDB), Translator, AuditWriter."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from dataclasses import dataclass
from pathlib import Path
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
        return Lakehouse.from_settings(settings, root=lake_root)  # keeps storage options and secrets
    return Lakehouse.from_settings(settings)


@serve.deployment(name="SqlEngine")
class SqlEngine:
    """Runs guarded SQL on a locked, read-only DuckDB snapshot of the lakehouse; serves data routes."""

    def __init__(self, options: dict[str, Any], lake_root: str | None = None) -> None:
        self.service = QueryService(_lake(lake_root), EngineOptions(**options))
        self.service.snapshots.engine()

    @_expected
    def run_sql(self, sql: str, max_rows: int | None = None, pii: bool = False) -> dict[str, Any]:
        """Guarded SQL; ``pii=True`` (keys with a ``pii`` grant only) reads personal-data columns unmasked."""
        return self.service.run_sql(sql, max_rows=max_rows, pii=pii)

    def profile(self) -> tuple[str | None, dict[str, Any]]:
        return self.service.profile()

    @_expected
    def call(self, method: str, kwargs: dict[str, Any]) -> Any:
        """Data routes: tables, series_list, series_values, findings, finding, kpis, kpi, health, intent and
        check_answer."""
        allowed = {
            *("tables", "series_list", "series_values", "findings", "finding", "kpis", "kpi", "health", "intent"),
            "check_answer",  # an empty answer over a period: a note, or a refusal (serve.query.no_data)
        }
        if method not in allowed:
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
    """Buffers audit events and appends them to ``ops.audit`` in batches (every ``flush_s`` or ``batch`` rows).

    Every event is first appended to this replica's spool file (JSON lines under ``spool_dir``, default
    ``COVARY_HOME/audit-spool/<lake hash>``) and only then buffered, so a replica that is killed loses
    nothing: its replacement (on the same machine) adopts spool files whose writer is gone (an ``flock``
    marks the live ones) and commits them. Each flushed batch is one Delta transaction with its own
    ``BatchKey``, so replaying a batch that was committed just before a crash writes it once.
    """

    def __init__(
        self, lake_root: str | None = None, flush_s: float = 2.0, batch: int = 500, spool_dir: str | None = None
    ) -> None:
        import hashlib
        import uuid

        self.lake = _lake(lake_root)
        self.flush_s = flush_s
        self.batch = batch
        self.buffer: list[dict[str, Any]] = []
        self.written = 0
        self.failures = 0
        self.dropped = 0
        self.recovered = 0
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        tag = hashlib.sha256(str(self.lake.root).encode()).hexdigest()[:12]
        self.spool_dir = Path(spool_dir) if spool_dir else get_settings().home.resolve() / "audit-spool" / tag
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._id = uuid.uuid4().hex[:12]
        self._seq = 0
        self._spool = self._open_spool()
        self._recover()

    # ------------------------------------------------------------------------------- spool
    def _open_spool(self) -> Any:
        import fcntl

        self._seq += 1
        path = self.spool_dir / f"{self._id}.{self._seq:06d}.jsonl"
        fh = path.open("ab")
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while this replica lives
        return fh

    def _append_spool(self, event: dict[str, Any]) -> None:
        import orjson

        line = orjson.dumps(event, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
        self._spool.write(line + b"\n")
        self._spool.flush()  # in the OS page cache: survives the process being killed

    def _recover(self) -> None:
        """Commit spool files left by dead replicas (their lock is free), oldest first."""
        import fcntl

        import orjson

        for path in sorted(self.spool_dir.glob("*.jsonl")):
            if path.name.startswith(self._id + "."):
                continue
            with path.open("rb") as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live replica's spool
                rows = [_from_json(orjson.loads(line)) for line in fh.read().splitlines() if line.strip()]
                if rows:
                    try:
                        self._write(rows, batch_id=path.stem)
                    except Exception as exc:  # keep the file for the next replica; serve anyway
                        log.error("audit spool %s not recovered yet: %s", path.name, exc)
                        continue
                    self.recovered += len(rows)
                    log.warning("recovered %d audit events from %s", len(rows), path.name)
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------------------------- loop
    def _ensure_loop(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            await self.flush()

    async def record(self, event: dict[str, Any]) -> None:
        self._ensure_loop()
        self._append_spool(event)
        self.buffer.append(event)
        if len(self.buffer) >= self.batch:
            await self.flush()

    async def flush(self) -> int:
        """Write buffered events now; returns how many were written."""
        async with self._lock:
            rows, self.buffer = self.buffer, []
            if not rows:
                return 0
            done, self._spool = self._spool, self._open_spool()  # new events go to a fresh file
            batch_id = Path(done.name).stem
            try:
                await asyncio.to_thread(self._write, rows, batch_id=batch_id)
            except Exception as exc:  # keep serving; retry transient failures at the next flush
                self.failures += 1
                if isinstance(exc, TransientError):
                    self.buffer = rows + self.buffer
                    self._spool.close()
                    self._spool = done  # still holds them; keep appending there
                else:
                    self.dropped += len(rows)
                    done.close()
                    Path(done.name).unlink(missing_ok=True)
                log.error("audit flush of %d rows failed (attempt %d): %s", len(rows), self.failures, exc)
                return 0
            done.close()
            Path(done.name).unlink(missing_ok=True)
            self.written += len(rows)
            return len(rows)

    def _write(self, rows: list[dict[str, Any]], *, batch_id: str | None = None) -> None:
        import pyarrow as pa

        from lakehouse import BatchKey, get_spec

        schema = pa.schema([f for f in get_spec("ops.audit").schema])
        batch = BatchKey(f"audit/{batch_id}") if batch_id else None
        self.lake.write("ops.audit", pa.Table.from_pylist(rows, schema=schema), mode="append", batch=batch)

    def stats(self) -> dict[str, Any]:
        return {
            "buffered": len(self.buffer),
            "written": self.written,
            "failures": self.failures,
            "dropped": self.dropped,
            "recovered": self.recovered,
        }

    def __del__(self) -> None:
        if getattr(self, "buffer", None):
            try:
                self._write(self.buffer, batch_id=Path(self._spool.name).stem)
                self._spool.close()
                Path(self._spool.name).unlink(missing_ok=True)
            except Exception as exc:
                log.error("audit rows left in the spool at shutdown (the next replica commits them): %s", exc)


def _json_default(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, dt.datetime):
        return {"__dt__": value.isoformat()}
    if isinstance(value, dt.date):
        return {"__d__": value.isoformat()}
    return str(value)


def _from_json(row: dict[str, Any]) -> dict[str, Any]:
    import datetime as dt

    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dict) and "__dt__" in v:
            out[k] = dt.datetime.fromisoformat(v["__dt__"])
        elif isinstance(v, dict) and "__d__" in v:
            out[k] = dt.date.fromisoformat(v["__d__"])
        else:
            out[k] = v
    return out


__all__ = ["AuditWriter", "Failure", "SqlEngine", "Translator", "unwrap"]
