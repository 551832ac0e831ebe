"""The locked executor: a read-only DuckDB snapshot of the lakehouse, no external access, timeouts, row cap."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson

from serve.guard.errors import QueryFailedError, QueryTimeoutError

log = logging.getLogger(__name__)

LOCKED_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "lock_configuration": True,
}


@dataclass(frozen=True)
class EngineLimits:
    """Per-statement limits: wall time (execution, fetch and JSON conversion), rows and bytes returned,
    DuckDB memory and threads."""

    timeout_s: float = 5.0
    max_rows: int = 1000
    memory_limit: str = "1GB"
    threads: int = 2
    max_result_bytes: int = 8 * 1024 * 1024


@dataclass
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool
    elapsed_ms: float
    snapshot: str = ""
    truncated_by: str | None = None  # "max_rows" or "max_result_bytes" when rows were cut

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "types": self.types,
            "rows": self.rows,
            "row_count": self.row_count,
            "truncated": self.truncated,
            **({"truncated_by": self.truncated_by} if self.truncated_by else {}),
            "elapsed_ms": round(self.elapsed_ms, 2),
        }


def json_value(value: Any) -> Any:
    """A DuckDB value as plain JSON (dates ISO, decimals/NaN as float/None, bytes hex)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


RAW_PREFIX = "pii_raw_"
"""Schema prefix of the unmasked copies of tables with personal data (``pii_raw_silver.customers``); the guard
never lets user SQL name them, only :func:`unmask_sql` rewrites to them for keys with a ``pii`` grant."""


def mask_columns(table: Any, columns: list[str], key: bytes) -> Any:
    """``table`` with ``columns`` replaced by keyed hashes (``pii:<12 hex>``, strings; null stays null).

    Equal values hash equally within one engine, so joins, GROUP BY and COUNT(DISTINCT) still work, but
    the values (and their length or format) are gone; the key is random per engine replica."""
    import hmac

    import pyarrow as pa

    for name in columns:
        if name not in table.column_names:
            continue
        values = table.column(name).to_pylist()
        masked = [
            None if v is None else "pii:" + hmac.new(key, str(v).encode(), "sha256").hexdigest()[:12] for v in values
        ]
        index = table.column_names.index(name)
        table = table.set_column(index, pa.field(name, pa.string()), pa.array(masked, pa.string()))
    return table


def unmask_sql(sql: str, pii_tables: Iterable[str]) -> str:
    """Point the references to tables with personal data at their unmasked copies (keys with a ``pii`` grant).

    Each ``silver.customers`` becomes ``pii_raw_silver.customers AS customers`` (its own alias is kept), so
    ``customers.email`` and unqualified columns resolve as before."""
    import sqlglot
    from sqlglot import exp

    wanted = {t.lower() for t in pii_tables}
    tree = sqlglot.parse_one(sql, read="duckdb")
    for node in list(tree.find_all(exp.Table)):
        full = f"{node.db}.{node.name}".lower()
        if node.db and full in wanted:
            if not node.alias:
                node.set("alias", exp.TableAlias(this=exp.to_identifier(node.name)))
            node.set("db", exp.to_identifier(RAW_PREFIX + node.db))
    return tree.sql(dialect="duckdb")


def build_snapshot(tables: dict[str, Any], path: Path) -> Path:
    """Write ``{"layer.table": arrow_table}`` into a new DuckDB file at ``path`` (tables under layer schemas)."""
    tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
    con = duckdb.connect(str(tmp))
    try:
        for name, data in tables.items():
            layer, short = name.split(".", 1)
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{layer}"')
            con.register("__incoming", data)
            con.execute(f'CREATE TABLE "{layer}"."{short}" AS SELECT * FROM __incoming')
            con.unregister("__incoming")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp.replace(path)
    return path


class LockedEngine:
    """Runs statements on a read-only DuckDB file opened with external access off and config locked.

    The guard is the first line of defence; this is the second: writes fail (read-only database),
    files/URLs/extensions fail (external access off), ``SET``/``PRAGMA x=`` fail (config locked).
    Each statement gets its own cursor, an interrupt timer and a row cap.
    """

    def __init__(self, path: Path, *, limits: EngineLimits | None = None, label: str = "") -> None:
        self.path = Path(path)
        self.limits = limits or EngineLimits()
        self.label = label or self.path.stem
        config = dict(LOCKED_CONFIG)
        config["memory_limit"] = self.limits.memory_limit
        config["threads"] = str(self.limits.threads)
        self._con = duckdb.connect(str(self.path), read_only=True, config=config)

    def close(self) -> None:
        self._con.close()

    def execute(
        self,
        sql: str,
        *,
        timeout_s: float | None = None,
        max_rows: int | None = None,
        max_bytes: int | None = None,
    ) -> QueryResult:
        """Run one statement; return at most ``max_rows`` rows and about ``max_bytes`` of JSON.

        One deadline (``timeout_s``) covers execution, fetching and conversion to JSON values: DuckDB is
        interrupted when it passes, and the conversion loop checks it between chunks. Rows beyond either
        cap are cut and ``truncated`` says so (with ``truncated_by`` naming the cap).
        """
        timeout = self.limits.timeout_s if timeout_s is None else timeout_s
        cap = self.limits.max_rows if max_rows is None else max_rows
        byte_cap = self.limits.max_result_bytes if max_bytes is None else max_bytes
        started = time.perf_counter()
        deadline = started + timeout
        cursor = self._con.cursor()
        timer = threading.Timer(timeout, cursor.interrupt)
        timer.daemon = True
        timer.start()
        rows: list[list[Any]] = []
        truncated_by: str | None = None
        size, batch = 2, 16  # small first chunks (wide rows hit the byte cap early), doubling to 1024
        try:
            relation = cursor.execute(sql)
            description = relation.description or []
            while description and truncated_by is None:
                chunk = relation.fetchmany(min(batch, cap + 1 - len(rows)) or 1)
                batch = min(batch * 2, 1024)
                if not chunk:
                    break
                for raw in chunk:
                    if len(rows) >= cap:
                        truncated_by = "max_rows"
                        break
                    row = [json_value(v) for v in raw]
                    size += _json_size(row) + 1
                    if size > byte_cap:
                        truncated_by = "max_result_bytes"
                        break
                    rows.append(row)
                if time.perf_counter() > deadline:
                    raise duckdb.InterruptException("deadline")
        except duckdb.InterruptException as exc:
            raise QueryTimeoutError(
                f"query interrupted after {timeout:.1f}s",
                hint="add filters or aggregate earlier; the service stops statements (and reading their results) "
                "that run too long",
            ) from exc
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0][:300]
            raise QueryFailedError(
                f"query failed: {message}", hint="check table and column names at /v1/tables"
            ) from exc
        finally:
            timer.cancel()
            cursor.close()
        return QueryResult(
            columns=[d[0] for d in description],
            types=[str(d[1]) for d in description],
            rows=rows,
            truncated=truncated_by is not None,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            snapshot=self.label,
            truncated_by=truncated_by,
        )


def _json_size(row: list[Any]) -> int:
    """Bytes ``row`` takes in the JSON body (orjson is what the response writer uses too)."""
    try:
        return len(orjson.dumps(row))
    except TypeError:
        return len(repr(row))


@dataclass
class LakeSnapshots:
    """Keeps a :class:`LockedEngine` over the current lakehouse contents, rebuilt when a table changes.

    ``tables`` are the registry names to expose; the fingerprint is their Delta versions plus the
    load ledger's version, checked at most every ``refresh_s`` seconds.
    """

    lake: Any
    tables: list[str]
    limits: EngineLimits = field(default_factory=EngineLimits)
    refresh_s: float = 30.0
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: LockedEngine | None = None
        self._fingerprint: str | None = None
        self._checked = 0.0
        self._present: list[str] = []
        self._pii: dict[str, list[str]] = {}
        self._mask_key = os.urandom(32)
        self._dir = Path(self.cache_dir or tempfile.mkdtemp(prefix="covary-sql-"))
        self._dir.mkdir(parents=True, exist_ok=True)

    def _versions(self) -> dict[str, int]:
        from deltalake import DeltaTable

        versions: dict[str, int] = {}
        for name in [*self.tables, "ops.loads"]:
            if self.lake.exists(name):
                versions[name] = DeltaTable(
                    self.lake.uri(name), storage_options=self.lake.storage_options or None
                ).version()
        return versions

    def _read(self, name: str) -> Any:
        """The visible rows of ``name`` for a new snapshot (a subclass may reuse one ledger state)."""
        return self.lake.read(name)

    def engine(self, *, force: bool = False) -> LockedEngine:
        """The engine for the current data (rebuilding the snapshot if tables changed)."""
        now = time.monotonic()
        with self._lock:
            if self._engine is not None and not force and now - self._checked < self.refresh_s:
                return self._engine
            versions = self._versions()
            fingerprint = hashlib.sha256(repr(sorted(versions.items())).encode()).hexdigest()[:16]
            self._checked = now
            if self._engine is not None and fingerprint == self._fingerprint:
                return self._engine
            started = time.perf_counter()
            present = [t for t in self.tables if t in versions]
            data: dict[str, Any] = {}
            pii: dict[str, list[str]] = {}
            for name in present:  # tables with personal data: masked under their name, raw in pii_raw_<layer>
                table = self._read(name)
                cols = _pii_columns(name)
                if cols:
                    pii[name] = cols
                    data[RAW_PREFIX + name] = table
                    table = mask_columns(table, cols, self._mask_key)
                data[name] = table
            path = build_snapshot(data, self._dir / f"lake-{fingerprint}-{uuid.uuid4().hex[:6]}.duckdb")
            old = self._engine
            self._engine = LockedEngine(path, limits=self.limits, label=fingerprint)
            self._fingerprint = fingerprint
            self._present = present
            self._pii = pii
            log.info(
                "SQL snapshot %s built in %.0f ms (%d tables)",
                fingerprint,
                (time.perf_counter() - started) * 1000,
                len(present),
            )
            if old is not None:
                _retire(old)
            return self._engine

    @property
    def present_tables(self) -> list[str]:
        return list(self._present)

    @property
    def pii_tables(self) -> dict[str, list[str]]:
        """``{table: [personal-data columns]}`` of the present tables (masked unless unmasked explicitly)."""
        return dict(self._pii)

    @property
    def fingerprint(self) -> str | None:
        return self._fingerprint

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
        shutil.rmtree(self._dir, ignore_errors=True)


def _pii_columns(name: str) -> list[str]:
    from lakehouse import get_spec

    try:
        return get_spec(name).pii_columns
    except Exception:  # a table the registry does not know has no tags
        return []


def _retire(engine: LockedEngine) -> None:
    """Close an old engine after in-flight statements had time to finish, then delete its file."""

    def later() -> None:
        engine.close()
        for p in engine.path.parent.glob(engine.path.name + "*"):
            p.unlink(missing_ok=True)

    timer = threading.Timer(max(engine.limits.timeout_s * 2, 5.0), later)
    timer.daemon = True
    timer.start()


def snapshot_from_tables(
    tables: Iterable[tuple[str, Any]], directory: Path, *, limits: EngineLimits | None = None
) -> LockedEngine:
    """A locked engine over explicit Arrow tables (tests, CLI one-offs)."""
    path = build_snapshot(dict(tables), Path(directory) / f"adhoc-{uuid.uuid4().hex[:8]}.duckdb")
    return LockedEngine(path, limits=limits)


__all__ = [
    "LOCKED_CONFIG",
    "RAW_PREFIX",
    "EngineLimits",
    "LakeSnapshots",
    "LockedEngine",
    "QueryResult",
    "build_snapshot",
    "json_value",
    "mask_columns",
    "snapshot_from_tables",
    "unmask_sql",
]
