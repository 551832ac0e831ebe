"""The Lakehouse facade: open, write (exactly-once), read (finished loads only), time travel, history."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError
from deltalake.exceptions import TableNotFoundError as DeltaTableNotFound

from lakehouse._arrow import conform, dedupe_last, quote_ident, sql_literal, to_arrow
from lakehouse.errors import CommitConflictError, SchemaMismatchError, TableNotFoundError
from lakehouse.loads import Load, LoadLedger
from lakehouse.model import BatchKey, LogSnapshot, WriteResult
from lakehouse.registry import LOAD_ID, TableSpec, WriteMode, all_specs, get_spec

if TYPE_CHECKING:
    import polars as pl

    from covary.settings import Settings

# Small append-only bookkeeping tables that every partition of an ingest reads (load ledger, cursors, ingest
# ledger). They grow by one tiny file per commit, so a full scan costs ~1.4 ms per file ever written; instead
# each process keeps their rows and reads only the files added since (Delta files are immutable, so the rows
# of the files of a version are exact). A compaction (files removed) or a schema change re-reads the table.
LOG_TABLES = frozenset({"ops.loads", "ops.cursors", "ops.ingest_partitions"})


_LOGS: dict[tuple[str, str], LogSnapshot] = {}
_HANDLES: dict[tuple[str, str], DeltaTable] = {}
_FILESYSTEMS: dict[tuple[str, str], Any] = {}
_LOG_LOCK = threading.RLock()
_EPOCHS = iter(range(1, 1 << 62))

log = logging.getLogger(__name__)


class Lakehouse:
    """All reads and writes of covary's Delta tables go through one of these."""

    def __init__(
        self,
        root: str | Path,
        *,
        storage_options: dict[str, str] | None = None,
        commit_retries: int = 8,
        min_vacuum_retention_hours: int = 1,
        single_writer: bool = False,
    ) -> None:
        self.root = str(root).rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.commit_retries = commit_retries
        self.min_vacuum_retention_hours = min_vacuum_retention_hours
        self.single_writer = single_writer
        self._commit_safety_checked = False
        self._ledger: LoadLedger | None = None
        self._open_tables: dict[str, DeltaTable] = {}
        self._batch_index: dict[str, tuple[int, dict[str, str]]] = {}
        if "://" not in self.root:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, root: str | None = None) -> Lakehouse:
        """The lake of ``settings`` (storage options, secrets included, come from the settings).

        ``root`` overrides the location but keeps the storage options: use it in Ray tasks, which get
        the root as an argument and the credentials from their own settings (never as an argument).
        """
        if settings is None:
            from covary.settings import get_settings

            settings = get_settings()
        return cls(
            root or settings.lake_root,
            storage_options=settings.lake_storage_options(),
            commit_retries=settings.lake.commit_retries,
            min_vacuum_retention_hours=settings.lake.min_vacuum_retention_hours,
            single_writer=settings.lake.single_writer,
        )

    def __repr__(self) -> str:
        return f"Lakehouse({self.root!r})"

    def verify_storage(self) -> None:
        """Before the first commit of this handle: refuse object storage that would lose concurrent commits."""
        if self._commit_safety_checked:
            return
        from lakehouse.storage import verify_commit_safety

        verify_commit_safety(self.root, self.storage_options, single_writer=self.single_writer)
        self._commit_safety_checked = True

    # ------------------------------------------------------------------------------- locations
    def uri(self, name: str) -> str:
        spec = get_spec(name)
        return f"{self.root}/{spec.layer}/{spec.short_name}"

    def exists(self, name: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(name), storage_options=self.storage_options or None)

    def table(self, name: str, *, version: int | str | datetime | None = None) -> DeltaTable:
        """The Delta table ``name``, at ``version`` (int or timestamp) if given."""
        try:
            dt = DeltaTable(self.uri(name), storage_options=self.storage_options or None)
        except DeltaTableNotFound as exc:
            raise TableNotFoundError(
                f"table {name} has no data yet at {self.uri(name)}",
                hint="run the job or connector that writes it (e.g. `covary demo`)",
            ) from exc
        if version is not None:
            try:
                dt.load_as_version(version)
            except Exception as exc:  # delta-rs raises generic errors for unknown versions
                raise TableNotFoundError(f"table {name} has no version {version!r}: {exc}") from exc
        return dt

    def ensure(self, name: str) -> DeltaTable:
        """Create the table from its spec if it does not exist yet; return it at its latest version."""
        spec = get_spec(name)
        uri = self.uri(name)
        self.verify_storage()
        cached = self._open_tables.get(uri)
        if cached is not None:
            cached.update_incremental()
            return cached
        try:
            dt = DeltaTable(uri, storage_options=self.storage_options or None)
        except DeltaTableNotFound:
            dt = self._create(spec, uri)
        self._open_tables[uri] = dt
        return dt

    def _create(self, spec: TableSpec, uri: str) -> DeltaTable:
        try:
            return DeltaTable.create(
                uri,
                spec.schema,
                mode="ignore",
                partition_by=list(spec.partition_by) or None,
                name=spec.name,
                description=spec.description,
                configuration=spec.configuration or None,
                storage_options=self.storage_options or None,
            )
        except Exception:  # lost a creation race: the winner's table is there now
            return DeltaTable(uri, storage_options=self.storage_options or None)

    def committed(self, name: str, batch: BatchKey) -> bool:
        """Whether ``batch`` was committed to ``name``: its transaction marker, read from the Delta log (no data
        is read, so a writer can ask before each unit of work at the cost of a log update)."""
        if self.uri(name) not in self._open_tables and not self.exists(name):
            return False
        committed = self.ensure(name).transaction_version(batch.app_id)
        return committed is not None and committed >= batch.version

    # ----------------------------------------------------------------------------------- loads
    @property
    def loads(self) -> LoadLedger:
        if self._ledger is None:
            self._ledger = LoadLedger(self)
        return self._ledger

    def load(self, source: str, *, load_id: str | None = None, announce: bool = True) -> Load:
        """Context manager for one load: ``with lake.load("github") as ld: ld.write(...)``.

        ``announce=False``: no 'running' event; the load's one ledger commit is its 'finished' event."""
        return Load(self, source, load_id=load_id, announce=announce)

    # ----------------------------------------------------------------------------------- write
    def write(
        self,
        name: str,
        data: Any,
        *,
        load_id: str | None = None,
        batch: BatchKey | None = None,
        mode: WriteMode | None = None,
        replace_where: str | None = None,
    ) -> WriteResult:
        """Write ``data`` to table ``name`` in one atomic commit.

        ``mode`` defaults to the table's declared write mode: ``append``, ``merge`` (upsert on the
        table's keys; the batch is de-duplicated on keys, last row wins) or ``overwrite_partitions``
        (replace the partitions present in the batch, or ``replace_where``). Load-tracked tables
        need ``load_id``. With ``batch``, a batch that was committed before is skipped (0 rows).
        """
        spec = get_spec(name)
        mode = mode or spec.write_mode
        table = to_arrow(data)
        if spec.track_loads:
            if not load_id:
                raise ValueError(f"{name} is load-tracked: pass load_id (use `with lake.load(...)`)")
            table = table.drop_columns([LOAD_ID]) if LOAD_ID in table.column_names else table
            table = table.append_column(
                pa.field(LOAD_ID, pa.string(), nullable=False), pa.nulls(table.num_rows, pa.string()).fill_null(load_id)
            )
        if mode == "merge":
            self._check_keys(spec, table)
            table = dedupe_last(table, spec.keys)
        custom: dict[str, Any] = {"covary.table": name}
        if load_id:
            custom["covary.load_id"] = load_id
        if batch:
            custom["covary.batch"] = batch.tag
        attempt = 0
        while True:
            dt = self.ensure(name)
            if batch is not None:
                committed = dt.transaction_version(batch.app_id)
                if committed is not None and committed >= batch.version:
                    return WriteResult(
                        name, dt.version(), 0, 0, skipped=True, committed_by_load=self._load_of_batch(dt, batch)
                    )
            current = pa.schema(dt.schema().to_arrow())
            conformed, added = conform(table, current, table_name=name)
            if added and mode != "merge":
                log.info("%s: adding column(s) %s", name, [f.name for f in added])
            props = CommitProperties(
                custom_metadata=custom,
                app_transactions=[Transaction(batch.app_id, batch.version)] if batch else None,
            )
            try:
                self._commit(dt, spec, conformed, mode, props, added=bool(added), replace_where=replace_where)
            except CommitFailedError as exc:
                attempt += 1
                if attempt > self.commit_retries:
                    raise CommitConflictError(
                        f"{name}: commit kept conflicting with concurrent writers after {attempt} tries; "
                        f"nothing of this batch was committed ({exc})",
                        hint="retry the load; if it persists, check for two jobs writing the same partitions",
                    ) from exc
                time.sleep(min(2.0, 0.02 * 2**attempt) * (0.5 + random.random()))
                continue
            dt.update_incremental()
            return WriteResult(name, dt.version(), conformed.num_rows, conformed.nbytes)

    def _commit(
        self,
        dt: DeltaTable,
        spec: TableSpec,
        data: pa.Table,
        mode: WriteMode,
        props: CommitProperties,
        *,
        added: bool,
        replace_where: str | None,
    ) -> None:
        schema_mode: Literal["merge"] | None = "merge" if added else None
        if mode == "append":
            write_deltalake(dt, data, mode="append", schema_mode=schema_mode, commit_properties=props)
        elif mode == "merge":
            predicate = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in spec.keys)
            (
                dt.merge(
                    data, predicate, source_alias="s", target_alias="t", merge_schema=added, commit_properties=props
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        elif mode == "overwrite_partitions":
            predicate = replace_where or self._partition_predicate(spec, data)
            write_deltalake(
                dt, data, mode="overwrite", predicate=predicate, schema_mode=schema_mode, commit_properties=props
            )
        else:  # pragma: no cover - Literal guards this
            raise ValueError(f"unknown write mode {mode!r}")

    @staticmethod
    def _partition_predicate(spec: TableSpec, data: pa.Table) -> str:
        if not spec.partition_by:
            raise SchemaMismatchError(f"{spec.name} is not partitioned: overwrite_partitions needs replace_where")
        combos = data.select(list(spec.partition_by)).group_by(list(spec.partition_by)).aggregate([])
        clauses = []
        for row in combos.to_pylist():
            parts = [
                f"{quote_ident(k)} IS NULL" if v is None else f"{quote_ident(k)} = {sql_literal(_plain(v))}"
                for k, v in row.items()
            ]
            clauses.append("(" + " AND ".join(parts) + ")")
        return " OR ".join(clauses) if clauses else "false"

    @staticmethod
    def _check_keys(spec: TableSpec, table: pa.Table) -> None:
        for key in spec.keys:
            if key not in table.column_names:
                raise SchemaMismatchError(
                    f"{spec.name}: merge key column {key!r} is missing from the batch; nothing was committed"
                )
            if table.column(key).null_count:
                raise SchemaMismatchError(
                    f"{spec.name}: merge key column {key!r} has {table.column(key).null_count} null(s)"
                )

    def _load_of_batch(self, dt: DeltaTable, batch: BatchKey) -> str | None:
        """The load that committed ``batch`` (from commit metadata), indexed incrementally per table."""
        uri = dt.table_uri
        seen_version, index = self._batch_index.get(uri, (-1, {}))
        version = dt.version()
        if version > seen_version:
            for commit in dt.history(limit=min(version - seen_version, 100_000)):
                tag = commit.get("covary.batch")
                if tag is not None and commit.get("covary.load_id") is not None:
                    index.setdefault(str(tag), str(commit["covary.load_id"]))
            self._batch_index[uri] = (version, index)
        return index.get(batch.tag)

    # ------------------------------------------------------------------------------------ logs
    def log_snapshot(self, name: str) -> LogSnapshot | None:
        """All rows of the append-only log table ``name`` (one of ``LOG_TABLES``), read incrementally.

        Shared by every handle of this process on the same table: a new version costs only its new files.
        None when the table does not exist yet.
        """
        if name not in LOG_TABLES:
            raise ValueError(f"{name} is not a log table ({', '.join(sorted(LOG_TABLES))})")
        key = (self.uri(name), json.dumps(self.storage_options, sort_keys=True))
        with _LOG_LOCK:
            dt = _HANDLES.get(key)
            if dt is None:
                if not self.exists(name):
                    return None
                dt = self.table(name)
                _HANDLES[key] = dt
            else:
                dt.update_incremental()
            version = dt.version()
            snap = _LOGS.get(key)
            if snap is not None and snap.version == version:
                return snap
            paths = pa.table(dt.get_add_actions(flatten=True))["path"].to_pylist()
            schema = _normalised_schema(pa.schema(dt.schema().to_arrow()))
            current = set(paths)
            if snap is None or snap.table.schema != schema or not snap.files <= current:
                snap = LogSnapshot(version, next(_EPOCHS), schema.empty_table(), set())
            new = current - snap.files
            table = snap.table
            if new:
                fs = _log_filesystem(key, dt)
                parts = [_conform_log(pq.read_table(p, filesystem=fs), schema) for p in paths if p in new]
                table = pa.concat_tables([table, *parts])
                if table.num_rows and len(table.column(0).chunks) > 64:
                    table = table.combine_chunks()
            snap = LogSnapshot(version, snap.epoch, table, snap.files | new)
            _LOGS[key] = snap
            return snap

    # ------------------------------------------------------------------------------------ read
    def read(
        self,
        name: str,
        *,
        version: int | str | datetime | None = None,
        columns: list[str] | None = None,
        filter: pc.Expression | None = None,
        include_unfinished: bool = False,
        include_system: bool = False,
        finished_ids: set[str] | None = None,
    ) -> pa.Table:
        """Rows of ``name`` (at ``version`` if given) written by finished loads only.

        ``finished_ids``: the finished load ids to filter by, when the caller already has them (a query
        snapshot reads many tables against one ledger state); default: the ledger's current ones."""
        spec = get_spec(name)
        if name in LOG_TABLES and version is None and not spec.track_loads:
            snap = self.log_snapshot(name)
            if snap is None:
                self.table(name)  # raises TableNotFoundError with its hint
                raise AssertionError("unreachable")  # pragma: no cover
            table = snap.table if filter is None else snap.table.filter(filter)
            return table.select(columns) if columns is not None else table
        dt = self.table(name, version=version)
        dataset = dt.to_pyarrow_dataset()
        expr = filter
        if spec.track_loads and not include_unfinished:
            done = self.loads.finished_ids() if finished_ids is None else finished_ids
            dataset, needs_row_filter = _visible_fragments(dt, dataset, done)
            if needs_row_filter:
                id_type = dataset.schema.field(LOAD_ID).type  # string or string_view, whatever the files hold
                finished = pa.array(sorted(done), pa.string()).cast(id_type)
                visible = pc.field(LOAD_ID).isin(finished)
                expr = visible if expr is None else (expr & visible)
        wanted = columns
        if wanted is None and not include_system:
            wanted = [n for n in dataset.schema.names if n != LOAD_ID]
        try:
            return dataset.to_table(columns=wanted, filter=expr)
        except pa.ArrowNotImplementedError:
            # Files written by merges may store strings as string_view; pyarrow evaluates the filter on the
            # physical type before casting to the table schema. Read, normalise the types, then filter.
            table = _normalise_views(dataset.to_table())
            table = table.filter(expr) if expr is not None else table
            return table.select(wanted) if wanted is not None else table

    def read_polars(self, name: str, **kwargs: Any) -> pl.DataFrame:
        import polars as pl

        frame = pl.from_arrow(self.read(name, **kwargs))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def history(self, name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        return [_jsonable(h) for h in self.table(name).history(limit=limit)]

    def stats(self, name: str) -> dict[str, Any]:
        """Cheap facts from the Delta log (no data scan): version, files, rows, bytes."""
        spec = get_spec(name)
        info: dict[str, Any] = {
            "table": name,
            "layer": spec.layer,
            "description": spec.description,
            "uri": self.uri(name),
        }
        if not self.exists(name):
            return info | {"exists": False, "version": None, "files": 0, "rows": 0, "bytes": 0}
        dt = self.table(name)
        adds = pa.table(dt.get_add_actions(flatten=True))
        rows = pc.sum(adds["num_records"]).as_py() if adds.num_rows else 0
        size = pc.sum(adds["size_bytes"]).as_py() if adds.num_rows else 0
        return info | {
            "exists": True,
            "version": dt.version(),
            "files": adds.num_rows,
            "rows": rows or 0,
            "bytes": size or 0,
        }

    def list_tables(self) -> list[dict[str, Any]]:
        return [self.stats(spec.name) for spec in all_specs()]


def _log_filesystem(key: tuple[str, str], dt: DeltaTable) -> Any:
    """A pyarrow filesystem rooted at the table (local or object store, the table's storage options)."""
    fs = _FILESYSTEMS.get(key)
    if fs is None:
        import pyarrow.fs as pa_fs
        from deltalake.fs import DeltaStorageHandler

        fs = _FILESYSTEMS[key] = pa_fs.PyFileSystem(DeltaStorageHandler(dt.table_uri, _key_options(key)))
    return fs


def _key_options(key: tuple[str, str]) -> dict[str, str] | None:
    return json.loads(key[1]) or None


def _conform_log(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """One log file's rows in the table's current schema (columns added later are null in older files)."""
    table = _normalise_views(table)
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _normalised_schema(schema: pa.Schema) -> pa.Schema:
    return _normalise_views(schema.empty_table()).schema


def _normalise_views(table: pa.Table) -> pa.Table:
    fields = []
    for field in table.schema:
        if pa.types.is_string_view(field.type) or pa.types.is_large_string(field.type):
            fields.append(field.with_type(pa.string()))
        elif pa.types.is_binary_view(field.type):
            fields.append(field.with_type(pa.binary()))
        else:
            fields.append(field)
    return table.cast(pa.schema(fields))


def _visible_fragments(dt: DeltaTable, dataset: ds.FileSystemDataset, finished: set[str]) -> tuple[Any, bool]:
    """Keep whole files of finished loads, drop files of unfinished ones, using the log's min/max stats.

    Every file is written by one load, so its ``_load_id`` min equals max and no row filter is needed;
    only files without such stats (or mixed ones) fall back to a row filter.
    """
    adds = pa.table(dt.get_add_actions(flatten=True))
    lo, hi = f"min.{LOAD_ID}", f"max.{LOAD_ID}"
    if lo not in adds.column_names:
        return dataset, True
    keep: set[str] = set()
    mixed = False
    for path, low, high in zip(adds["path"].to_pylist(), adds[lo].to_pylist(), adds[hi].to_pylist(), strict=True):
        if low is not None and low == high:
            if low in finished:
                keep.add(path)
        else:
            keep.add(path)
            mixed = True
    fragments = [f for f in dataset.get_fragments() if _rel(f.path, dt) in keep]
    subset = ds.FileSystemDataset(fragments, dataset.schema, dataset.format, dataset.filesystem)
    return subset, mixed


def _rel(path: str, dt: DeltaTable) -> str:
    root = dt.table_uri.rstrip("/").removeprefix("file://")
    return path[len(root) + 1 :] if path.startswith(root + "/") else path


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


__all__ = ["LOG_TABLES", "BatchKey", "Lakehouse", "LogSnapshot", "WriteResult"]
