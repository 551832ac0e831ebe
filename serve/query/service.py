"""The query service as a library: guarded SQL, NL->SQL, data dictionary, series, findings, KPIs."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, Field

from lakehouse import Lakehouse, all_specs, get_spec
from lakehouse.registry import LOAD_ID
from serve.guard import EngineLimits, GuardPolicy, LakeSnapshots, QueryResult, check_sql
from serve.guard.engine import unmask_sql
from serve.guard.policy import query_hash
from serve.query.errors import CannotAnswerError, LLMUnavailableError, NotFoundError
from serve.query.semantic import DETAIL_OF, SERIES_CATALOG, SERIES_VALUES, SemanticLayer, build_layer
from serve.query.translator import DeterministicTranslator, Translation, q

log = logging.getLogger(__name__)
MAX_DISTINCT = 200


Layer = Literal["bronze", "silver", "gold", "ops"]


def _default_layers() -> list[Layer]:
    return ["silver", "gold"]


class EngineOptions(BaseModel):
    """Limits of the locked SQL engine."""

    layers: list[Layer] = Field(
        default_factory=_default_layers,
        description="Layers whose tables SQL may read.",
    )
    max_rows: int = Field(1000, ge=1, le=100_000, description="Row cap (and enforced LIMIT) per statement.")
    timeout_s: float = Field(5.0, gt=0, description="Statements are interrupted after this many seconds.")
    memory_limit: str = "1GB"
    threads: int = Field(2, ge=1)
    max_result_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Bytes of JSON rows per result; rows beyond are cut (truncated: true)."
    )
    refresh_s: float = Field(30.0, ge=0, description="How often to check the lakehouse for new table versions.")
    cache_dir: str | None = Field(None, description="Where snapshots are written; default a temp dir per replica.")
    one_shot: bool = Field(
        False,
        description="CLI: answer one question with a SQL snapshot of only the table it reads (the profile "
        "comes from the on-disk cache when the table versions are unchanged).",
    )
    llm_mode: Literal["off", "fallback", "always"] = Field(
        "fallback", description="fallback: deterministic first, LLM when it cannot answer (needs settings.llm)."
    )


class QueryService:
    """Plain-Python core shared by the Serve deployments and the CLI."""

    def __init__(self, lake: Lakehouse, options: EngineOptions | None = None) -> None:
        self.lake = lake
        self.options = options or EngineOptions()
        tables = [s.name for s in all_specs() if s.layer in self.options.layers]
        limits = EngineLimits(
            self.options.timeout_s,
            self.options.max_rows,
            self.options.memory_limit,
            self.options.threads,
            max_result_bytes=self.options.max_result_bytes,
        )
        self.snapshots = FastSnapshots(
            lake,
            tables,
            limits=limits,
            refresh_s=self.options.refresh_s,
            cache_dir=Path(self.options.cache_dir) if self.options.cache_dir else None,
        )
        self._profile: tuple[str | None, dict[str, Any]] | None = None
        self.profiled: list[str] = []  # the tables the last profile() computed (the rest came from the cache)
        self._layer: tuple[str | None, SemanticLayer] | None = None

    # ----------------------------------------------------------------------------------- SQL
    def policy(self) -> GuardPolicy:
        self.snapshots.engine()
        return GuardPolicy.for_tables(self.snapshots.present_tables, max_limit=self.options.max_rows)

    def run_sql(
        self, sql: str, *, max_rows: int | None = None, guard: bool = True, pii: bool = False
    ) -> dict[str, Any]:
        """Guard ``sql`` (BlockedQueryError, nothing runs) then execute it on the locked engine.

        Personal-data columns (``pii=True`` in the registry) are masked in the engine's tables, so any SQL
        over them (``SELECT *``, aliases, expressions, CTEs, joins) sees hashes; ``pii=True`` (a key with
        a ``pii`` grant) reads the unmasked copies instead and the result says ``pii_unmasked: true``.
        """
        engine = self.snapshots.engine()
        cap = min(max_rows or self.options.max_rows, self.options.max_rows)
        if guard:
            guarded = check_sql(sql, GuardPolicy.for_tables(self.snapshots.present_tables, max_limit=cap))
            sensitive = {t: cols for t, cols in self.snapshots.pii_tables.items() if t in guarded.tables}
            run = guarded.run_sql  # one row beyond the cap, so a cut result says truncated: true
            if pii and sensitive:
                run = unmask_sql(run, sensitive)
            result = engine.execute(run, max_rows=cap)
            out: dict[str, Any] = {"sql": guarded.sql, "query_hash": guarded.query_hash, "tables": list(guarded.tables)}
            if sensitive:
                out["pii_unmasked"] = bool(pii)
                out["pii_columns"] = sorted(f"{t}.{c}" for t, cols in sensitive.items() for c in cols)
            return out | result.as_dict()
        result = engine.execute(sql, max_rows=cap)
        return {"sql": sql, "query_hash": query_hash(sql), "tables": []} | result.as_dict()

    def _internal(self, sql: str, max_rows: int = 100_000) -> QueryResult:
        """Trusted SQL written by this module (still on the locked engine, never user text)."""
        return self.snapshots.engine().execute(sql, max_rows=max_rows, timeout_s=max(30.0, self.options.timeout_s))

    # ------------------------------------------------------------------------------- profile
    def profile(self) -> tuple[str | None, dict[str, Any]]:
        """(snapshot fingerprint, data profile): time ranges and steps, row counts, small-cardinality
        values, series catalogue and ranges. Kept in memory and (when a COVARY_HOME is set) on disk per table,
        keyed by each table's Delta version (and the loads its files wait for): only tables that changed are
        profiled again.

        One-shot use (the CLI) profiles changed tables straight from Delta, without building the SQL
        snapshot of the whole lake; the service profiles them on its snapshot's engine."""
        if self.options.one_shot and self._profile is not None:
            return self._profile  # one question: no refresh
        if self.options.one_shot:
            versions = table_versions(self.lake, [*self.snapshots.tables, "ops.loads"])
            present = [t for t in self.snapshots.tables if t in versions]
            cache = _read_profile_cache(self.lake)
            self.snapshots.built_versions = versions
            self.snapshots.finished_hint = _cached_finished(cache, versions)
            prof = self._profile_from(cache, versions, present, engine=None)
            self._profile = (fingerprint_of(versions), prof)
            return self._profile
        cache = _read_profile_cache(self.lake) if self._profile is None else {}
        if self.snapshots.finished is None and cache:
            loads = cache.get("loads") or {}
            self.snapshots.finished_hint = _cached_finished(cache, {"ops.loads": loads.get("version", -1)})
        engine = self.snapshots.engine()
        fp = self.snapshots.fingerprint
        if self._profile and self._profile[0] == fp:
            return self._profile
        cache = cache or _read_profile_cache(self.lake)
        prof = self._profile_from(cache, dict(self.snapshots.built_versions), self.snapshots.present_tables, engine)
        self._profile = (fp, prof)
        return self._profile

    def _profile_from(
        self, cache: dict[str, Any], versions: dict[str, int], present: list[str], engine: Any
    ) -> dict[str, Any]:
        """The profile of ``present``, reusing the ``cache`` entries that are still valid; the others are computed
        (on ``engine``, or from Delta when it is None) and the cache file is updated."""
        cached: dict[str, Any] = cache.get("tables", {})
        stale = [t for t in present if not self._entry_valid(cached.get(t), versions.get(t))]
        series_key = [versions.get(SERIES_CATALOG), versions.get(SERIES_VALUES)]
        series_stale = cache.get("series_key") != series_key or any(t in stale for t in (SERIES_CATALOG, SERIES_VALUES))
        loads_version = versions.get("ops.loads")
        loads_stale = loads_version is not None and (cache.get("loads") or {}).get("version") != loads_version
        self.profiled = list(stale) + (["<series>"] if series_stale else [])
        if not stale and not series_stale and not loads_stale:
            return _assemble(cache, present)
        started = time.perf_counter()
        finished = self.snapshots.finished_ids()
        if engine is not None:
            fresh = compute_profile(engine, stale, series=series_stale)
        else:
            fresh = _profile_from_delta(self.lake, stale, finished, series=series_stale, present=present)
        fresh = json.loads(json.dumps(fresh, default=str))
        if stale or series_stale:
            log.info(
                "profiled %d of %d tables in %.0f ms", len(stale), len(present), (time.perf_counter() - started) * 1000
            )
        out = dict(cache)
        out["tables"] = {t: e for t, e in cached.items() if t in versions and t not in stale} | {
            t: {"version": versions[t], "pending": _pending_loads(self.lake, t, finished), "entry": fresh["tables"][t]}
            for t in stale
        }
        if series_stale:
            out["series_key"] = series_key
            out["series"], out["series_ranges"] = fresh["series"], fresh["series_ranges"]
        if loads_version is not None and self.snapshots.finished is not None:
            out["loads"] = {"version": self.snapshots.finished[0], "finished": sorted(self.snapshots.finished[1])}
        _write_profile_cache(self.lake, out)
        return _assemble(out, present)

    def _entry_valid(self, meta: dict[str, Any] | None, version: int | None) -> bool:
        """A cached table profile holds while the table's version is unchanged and none of the loads its files
        waited for (unfinished when it was profiled) has finished since."""
        if not meta or meta.get("version") != version or "entry" not in meta:
            return False
        pending = meta.get("pending") or []
        return not pending or not (set(pending) & self.snapshots.finished_ids())

    def layer(self) -> SemanticLayer:
        fp, prof = self.profile()
        if self._layer is None or self._layer[0] != fp:
            self._layer = (fp, build_layer(prof, layers=tuple(self.options.layers)))
        return self._layer[1]

    # ----------------------------------------------------------------------------------- NL
    def translate(self, question: str) -> Translation:
        return translate(question, self.layer(), self.options.llm_mode)

    def ask(self, question: str, *, max_rows: int | None = None) -> dict[str, Any]:
        """Answer ``question``: rows of the compiled SQL, or the payload of its intent (why, relation, ...)."""
        t = self.translate(question)
        if t.intent != "sql":
            return {"question": question, **t.as_dict(), "answer": self.intent(t.plan or {})}
        table = (t.plan or {}).get("table")
        if self.options.one_shot and table and self.snapshots.fingerprint is None:
            self._narrow([table])
        result = self.run_sql(t.sql, max_rows=max_rows)
        result |= self.check_answer(t.plan or {}, result)
        return {"question": question, **t.as_dict(), **result, "sql": result["sql"]}

    def check_answer(self, plan: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        """An empty, all-NULL or zero answer over a period (``serve.query.no_data``): ``{}`` or a ``note``;
        PlanError (422) when the table has no rows in that period."""
        from serve.query.no_data import check_answer, needs_check
        from serve.query.plan import QueryPlan

        if not needs_check(plan, result):
            return {}
        return check_answer(QueryPlan.from_dict(plan), self.layer(), result, lambda sql: self._internal(sql).rows)

    def _narrow(self, tables: list[str]) -> None:
        """One-shot use: expose only ``tables`` (a small snapshot instead of the whole lake)."""
        old = self.snapshots
        self.snapshots = FastSnapshots(
            self.lake, tables, limits=old.limits, refresh_s=old.refresh_s, cache_dir=old.cache_dir
        )
        self.snapshots.finished_hint = old.finished or old.finished_hint  # no second ledger read
        old.close()

    def intent(self, plan: dict[str, Any]) -> dict[str, Any]:
        """The payload of a non-SQL plan (``serve.query.intents.run_intent``)."""
        from serve.query.intents import run_intent
        from serve.query.plan import QueryPlan

        return run_intent(QueryPlan.from_dict(plan), self)

    # ----------------------------------------------------------------------- data routes
    def tables(self) -> list[dict[str, Any]]:
        present = set(self.snapshots.present_tables)
        out = []
        for spec in all_specs():
            out.append(
                {
                    "table": spec.name,
                    "layer": spec.layer,
                    "description": spec.description,
                    "synonyms": list(spec.synonyms),
                    "keys": list(spec.keys),
                    "queryable": spec.name in present,
                    "columns": [
                        {
                            "name": c.name,
                            "type": str(c.type),
                            "nullable": c.nullable,
                            "description": c.description,
                            "synonyms": list(c.synonyms),
                        }
                        for c in spec.columns
                    ],
                }
            )
        return out

    def series_list(self, *, domain: str | None = None, search: str | None = None, limit: int = 200) -> dict[str, Any]:
        self._need(SERIES_CATALOG)
        where = []
        if domain:
            where.append(f"domain = {q(domain)}")
        if search:
            pattern = q(f"%{search.lower()}%")
            where.append(f"(lower(series_id) LIKE {pattern} OR lower(description) LIKE {pattern})")
        sql = f"SELECT * FROM {SERIES_CATALOG}{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY series_id"
        return self._internal(sql, max_rows=limit).as_dict()

    def series_values(
        self, series_id: str, *, start: str | None = None, end: str | None = None, limit: int = 5000
    ) -> dict[str, Any]:
        self._need(SERIES_VALUES)
        where = [f"series_id = {q(series_id)}"]
        for op, value in ((">=", start), ("<", end)):
            if value:
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                    raise CannotAnswerError(f"dates must be YYYY-MM-DD, got {value!r}")
                where.append(f"ts {op} DATE '{value}'")
        res = self._internal(
            f"SELECT ts, value FROM {SERIES_VALUES} WHERE {' AND '.join(where)} ORDER BY ts", max_rows=limit
        )
        if not res.rows and not start and not end:
            raise NotFoundError(f"no series {series_id!r}", hint="GET /v1/series lists the series ids")
        meta = None
        if SERIES_CATALOG in self.snapshots.present_tables:
            cat = self._internal(f"SELECT * FROM {SERIES_CATALOG} WHERE series_id = {q(series_id)}")
            meta = dict(zip(cat.columns, cat.rows[0], strict=True)) if cat.rows else None
        return {"series_id": series_id, "meta": meta, **res.as_dict()}

    def findings(self, *, filters: dict[str, str] | None = None, limit: int = 100) -> dict[str, Any]:
        table = self._findings_table()
        cols = set(get_spec(table).column_names)
        where = []
        for key, value in (filters or {}).items():
            if value is None:
                continue
            pair = next((p for p in (("series_a", "series_b"), ("a", "b")) if set(p) <= cols), None)
            if key == "series" and pair:
                where.append(f'("{pair[0]}" = {q(value)} OR "{pair[1]}" = {q(value)})')
            elif key == "min_abs_r":
                rcol = next((c for c in ("r", "correlation", "estimate", "coef") if c in cols), None)
                if rcol:
                    where.append(f'ABS("{rcol}") >= {float(value)}')
            elif key == "state" and "state" not in cols and "change" in cols:
                where.append(f"change = {q(str(value))}")
            elif key in cols:
                where.append(f'"{key}" = {q(str(value))}')
            else:
                raise CannotAnswerError(f"findings cannot be filtered by {key!r}", hint=f"columns: {sorted(cols)}")
        runs = "gold.correlation_runs"
        if "run_id" in cols and runs in self.snapshots.present_tables:  # the latest run only
            where.append(f"run_id = (SELECT run_id FROM {runs} ORDER BY finished_at DESC LIMIT 1)")
        order = next((f'ABS("{c}") DESC' for c in ("r", "correlation", "estimate") if c in cols), "1")
        sql = f"SELECT * FROM {table}{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order}"
        return {"table": table, **self._internal(sql, max_rows=limit).as_dict()}

    def finding(self, finding_id: str) -> dict[str, Any]:
        table = self._findings_table()
        spec = get_spec(table)
        names = spec.column_names
        key = "finding_id" if "finding_id" in names else (spec.keys[-1] if spec.keys else names[0])
        order = " ORDER BY run_id DESC" if "run_id" in names else ""
        res = self._internal(f'SELECT * FROM {table} WHERE CAST("{key}" AS VARCHAR) = {q(finding_id)}{order}')
        if not res.rows:
            raise NotFoundError(f"no finding {finding_id!r} in {table}", hint="GET /v1/findings lists them")
        record = dict(zip(res.columns, res.rows[0], strict=True))
        caveats = {k: v for k, v in record.items() if "caveat" in k or "warning" in k or "note" in k}
        return {
            "table": table,
            "finding": record,
            "caveats": caveats,
            "columns": {c.name: c.description for c in spec.columns},
        }

    def _findings_table(self) -> str:
        self.snapshots.engine()
        names = [s.name for s in all_specs() if "finding" in s.short_name and s.layer in ("gold", "silver")]
        present = [n for n in names if n in self.snapshots.present_tables]
        if not present:
            raise NotFoundError(
                "no findings yet" + ("" if names else " (no findings table is declared)"),
                hint="run the correlation job (`covary demo` runs it) to produce findings",
            )
        return sorted(present, key=lambda n: (not n.startswith("gold."), n))[0]

    def kpis(self) -> list[dict[str, Any]]:
        return [
            {
                "name": m.name,
                "table": m.table,
                "expr": m.expr,
                "where": m.where,
                "unit": m.unit,
                "description": m.description,
                "kind": m.kind,
            }
            for m in self.layer().measures
            if m.kind in ("kpi", "series") and m.table not in DETAIL_OF  # a KPI once, on its source table
        ]

    def kpi(
        self,
        name: str,
        *,
        grain: str | None = None,
        by: str | None = None,
        start: str | None = None,
        end: str | None = None,
        max_rows: int | None = None,
    ) -> dict[str, Any]:
        """A KPI (or series) computed over a period, optionally by time grain and one dimension."""
        layer = self.layer()
        measure = next((m for m in layer.measures if m.name == name and m.kind in ("kpi", "series")), None)
        if measure is None:
            raise NotFoundError(f"no KPI {name!r}", hint="GET /v1/kpi lists the KPIs")
        where = [measure.where] if measure.where else []
        tcol = measure.time_column
        for op, value in ((">=", start), ("<", end)):
            if value:
                if not tcol or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                    raise CannotAnswerError(f"cannot filter {name} by date {value!r}", hint="dates are YYYY-MM-DD")
                where.append(f"{tcol} {op} DATE '{value}'")
        select, group = [], []
        if grain:
            if grain not in ("day", "week", "month", "quarter", "year") or not tcol:
                raise CannotAnswerError(f"bad grain {grain!r}", hint="day, week, month, quarter or year")
            select.append(f"CAST(DATE_TRUNC('{grain}', {tcol}) AS DATE) AS period")
        if by:
            if by not in {d.column for d in layer.dims_of(measure.table)}:
                raise CannotAnswerError(
                    f"{name} cannot be split by {by!r}",
                    hint=f"dimensions: {[d.column for d in layer.dims_of(measure.table)]}",
                )
            select.append(f'"{by}"')
        group = [str(i + 1) for i in range(len(select))]
        alias = re.sub(r"[^a-z0-9_]", "_", name.rsplit(".", 1)[-1].lower())
        sql = (
            f"SELECT {', '.join([*select, f'{measure.expr} AS {alias}'])} FROM {measure.table}"
            f"{' WHERE ' + ' AND '.join(where) if where else ''}"
            f"{' GROUP BY ' + ', '.join(group) + ' ORDER BY ' + ', '.join(group) if group else ''}"
        )
        return {
            "kpi": name,
            "description": measure.description,
            "unit": measure.unit,
            **self.run_sql(sql, max_rows=max_rows),
        }

    def _need(self, table: str) -> None:
        self.snapshots.engine()
        if table not in self.snapshots.present_tables:
            raise NotFoundError(f"{table} has no data yet", hint="run `covary demo` or the job that writes it")

    def health(self) -> dict[str, Any]:
        self.snapshots.engine()
        return {
            "snapshot": self.snapshots.fingerprint,
            "tables": self.snapshots.present_tables,
            "limits": self.options.model_dump(),
        }

    def close(self) -> None:
        self.snapshots.close()


class FastSnapshots(LakeSnapshots):
    """LakeSnapshots whose version check lists each local table's ``_delta_log`` instead of opening every
    Delta table (a directory listing per table, well under a millisecond each)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.finished_hint: tuple[int, set[str]] | None = None  # (ops.loads version, finished ids) from disk
        self.finished: tuple[int, set[str]] | None = None  # the ledger state snapshots are read with
        self.built_versions: dict[str, int] = {}

    def _versions(self) -> dict[str, int]:
        self.built_versions = table_versions(self.lake, [*self.tables, "ops.loads"])
        return self.built_versions

    def finished_ids(self) -> set[str]:
        """The finished load ids at the ledger version last seen: read once per ledger version (or taken from
        the profile cache on disk, which records them by that version)."""
        version = self.built_versions.get("ops.loads", -1)
        if self.finished is None or self.finished[0] != version:
            hint = self.finished_hint
            if hint is not None and hint[0] == version:
                self.finished = hint
            else:
                self.finished = (version, self.lake.loads.finished_ids())
        return self.finished[1]

    def _read(self, name: str) -> Any:
        return self.lake.read(name, finished_ids=self.finished_ids())


def table_versions(lake: Lakehouse, names: list[str]) -> dict[str, int]:
    """Delta version of each existing table in ``names``: from the ``_delta_log`` file names when the lake
    is on a local disk, else from the Delta table itself."""
    from deltalake import DeltaTable

    out: dict[str, int] = {}
    for name in names:
        uri = lake.uri(name)
        local = uri[7:] if uri.startswith("file://") else (uri if "://" not in uri else None)
        if local is not None:
            log_dir = Path(local) / "_delta_log"
            try:
                entries = [e.name for e in log_dir.iterdir()]
            except OSError:
                continue
            versions = [int(e[:20]) for e in entries if len(e) >= 25 and e[:20].isdigit() and e.endswith(".json")]
            if versions:
                out[name] = max(versions)
            continue
        if lake.exists(name):
            out[name] = DeltaTable(uri, storage_options=lake.storage_options or None).version()
    return out


def fingerprint_of(versions: dict[str, int]) -> str:
    """The snapshot fingerprint of these table versions (as ``LakeSnapshots`` computes it)."""
    return hashlib.sha256(repr(sorted(versions.items())).encode()).hexdigest()[:16]


Runner = Callable[[str], tuple[list[str], list[list[Any]]]]


def compute_profile(engine: Any, tables: list[str], *, series: bool = True) -> dict[str, Any]:
    """The data profile of ``tables`` on one locked engine: one or two statements per table (plus the series
    catalogue and ranges when ``series``)."""

    def run(sql: str) -> tuple[list[str], list[list[Any]]]:
        res = engine.execute(sql, max_rows=100_000, timeout_s=60.0)
        return res.columns, res.rows

    have: dict[str, set[str]] = defaultdict(set)
    for schema, table, column in run("SELECT table_schema, table_name, column_name FROM information_schema.columns")[1]:
        have[f"{schema}.{table}"].add(str(column))
    out: dict[str, Any] = {"tables": {t: _table_profile(run, t, t, have.get(t, set())) for t in tables}}
    rels = {t: t for t in (SERIES_CATALOG, SERIES_VALUES) if t in have}
    out.update(_series_profile(run, rels) if series else {"series": [], "series_ranges": {}})
    return out


def _profile_from_delta(
    lake: Lakehouse, tables: list[str], finished: set[str], *, series: bool, present: list[str]
) -> dict[str, Any]:
    """:func:`compute_profile` without a SQL snapshot: each table is read from Delta (finished loads only) into
    an in-memory DuckDB that runs only this module's statements."""
    import duckdb

    from serve.guard.engine import json_value

    con = duckdb.connect(config={"threads": "2"})
    try:

        def run(sql: str) -> tuple[list[str], list[list[Any]]]:
            cur = con.execute(sql)
            cols = [d[0] for d in cur.description or []]
            return cols, [[json_value(v) for v in r] for r in cur.fetchall()]

        wanted = list(tables) + [t for t in (SERIES_CATALOG, SERIES_VALUES) if series and t in present]
        rels: dict[str, str] = {}
        have: dict[str, set[str]] = {}
        for i, name in enumerate(dict.fromkeys(wanted)):
            data = lake.read(name, finished_ids=finished)
            rels[name] = f"__t{i}"
            have[name] = set(data.column_names)
            con.register(rels[name], data)
        out: dict[str, Any] = {"tables": {t: _table_profile(run, t, rels[t], have[t]) for t in tables}}
        out.update(_series_profile(run, rels) if series else {"series": [], "series_ranges": {}})
        return out
    finally:
        con.close()


def _table_profile(run: Runner, name: str, rel: str, have: set[str]) -> dict[str, Any]:
    """Row count, time range and step, empty numeric columns and the values of small-cardinality text columns
    of one table (``rel`` is how SQL names it). Personal-data columns get no value lists."""
    from serve.query.semantic import _time_column

    spec = get_spec(name)
    entry: dict[str, Any] = {"values": {}}
    tcol = _time_column(spec)
    if tcol not in have:
        tcol = None
    pii = set(spec.pii_columns)
    cats = [
        c.name
        for c in spec.columns
        if str(c.type) in ("string", "large_string", "bool") and c.name in have and c.name not in pii
    ]
    select = ["COUNT(*)"]
    if tcol:
        select += [f'MIN("{tcol}")', f'MAX("{tcol}")', f'COUNT(DISTINCT "{tcol}")']
    select += [f'COUNT(DISTINCT "{c}")' for c in cats]
    nums = [
        c.name for c in spec.columns if c.name in have and (pa.types.is_integer(c.type) or pa.types.is_floating(c.type))
    ]
    select += [f'COUNT("{c}")' for c in nums]
    row = run(f"SELECT {', '.join(select)} FROM {rel}")[1][0]
    entry["empty_columns"] = [c for c, n in zip(nums, row[len(row) - len(nums) :], strict=True) if not n]
    row = row[: len(row) - len(nums)] if nums else row
    entry["rows"] = row[0]
    pos = 1
    if tcol:
        lo, hi, distinct = row[1], row[2], row[3]
        if not (_is_date(lo) and _is_date(hi)):
            lo = hi = None
        entry["min_time"], entry["max_time"] = lo, hi
        entry["step"] = _step(lo, hi, distinct)
        pos = 4
    small = [c for c, n in zip(cats, row[pos:], strict=True) if n and n <= MAX_DISTINCT]
    if small:
        lists = run(
            "SELECT "
            + ", ".join(f'list(DISTINCT "{c}") FILTER (WHERE "{c}" IS NOT NULL)' for c in small)
            + f" FROM {rel}"
        )[1][0]
        for c, values in zip(small, lists, strict=True):
            entry["values"][c] = sorted(str(v) for v in (values or []))
    return entry


def _series_profile(run: Runner, rels: dict[str, str]) -> dict[str, Any]:
    """The series catalogue and each series' time range and step."""
    out: dict[str, Any] = {"series": [], "series_ranges": {}}
    if SERIES_CATALOG in rels:
        cols, rows = run(f"SELECT * FROM {rels[SERIES_CATALOG]} ORDER BY series_id")
        out["series"] = [dict(zip(cols, r, strict=True)) for r in rows]
    if SERIES_VALUES in rels:
        freq = {str(r["series_id"]): str(r.get("frequency") or "") for r in out["series"]}
        _, rows = run(
            "SELECT series_id, MIN(ts), MAX(ts), COUNT(DISTINCT ts), AVG(value), STDDEV_POP(value) "
            f"FROM {rels[SERIES_VALUES]} GROUP BY 1"
        )
        for sid, lo, hi, n, mean, sd in rows:
            step = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "A": "year", "Y": "year"}.get(
                freq.get(str(sid), ""), _step(lo, hi, n)
            )
            # n/mean/sd fingerprint the values: the translator tells duplicate sources that agree (Q-LANG)
            out["series_ranges"][str(sid)] = {
                "min_time": lo,
                "max_time": hi,
                "step": step,
                "n": n,
                "mean": None if mean is None else float(mean),
                "sd": None if sd is None else float(sd),
            }
    return out


def _pending_loads(lake: Lakehouse, name: str, finished: set[str]) -> list[str]:
    """The unfinished loads whose files ``name`` holds ("*" when files carry no load-id stats): a cached profile
    of the table is stale once one of them finishes, even at the same table version."""
    try:
        if not get_spec(name).track_loads:
            return []
        adds = pa.table(lake.table(name).get_add_actions(flatten=True))
    except Exception:  # unreadable here means unreadable for the profile too: recheck next time
        return ["*"]
    lo, hi = f"min.{LOAD_ID}", f"max.{LOAD_ID}"
    if not adds.num_rows:
        return []
    if lo not in adds.column_names:
        return ["*"]
    pending: set[str] = set()
    for low, high in zip(adds[lo].to_pylist(), adds[hi].to_pylist(), strict=True):
        if low is None or low != high:
            return ["*"]
        if low not in finished:
            pending.add(low)
    return sorted(pending)


def _assemble(cache: dict[str, Any], present: list[str]) -> dict[str, Any]:
    tables = cache.get("tables", {})
    return {
        "tables": {t: tables[t]["entry"] for t in present if t in tables},
        "series": cache.get("series", []),
        "series_ranges": cache.get("series_ranges", {}),
    }


def _cached_finished(cache: dict[str, Any], versions: dict[str, int]) -> tuple[int, set[str]] | None:
    loads = cache.get("loads") or {}
    if "ops.loads" in versions and loads.get("version") == versions["ops.loads"]:
        return versions["ops.loads"], set(loads.get("finished") or [])
    return None


def _is_date(value: Any) -> bool:
    from datetime import date as _date

    try:
        _date.fromisoformat(str(value)[:10])
    except ValueError:
        return False
    return True


def _step(lo: Any, hi: Any, distinct: Any) -> str:
    """The data's time step from its span and number of distinct times."""
    try:
        from datetime import date as _date

        a, b = _date.fromisoformat(str(lo)[:10]), _date.fromisoformat(str(hi)[:10])
        gap = (b - a).days / max(int(distinct) - 1, 1)
    except (TypeError, ValueError):
        return "day"
    for unit, days in (("day", 2), ("week", 10), ("month", 40), ("quarter", 100)):
        if gap < days:
            return unit
    return "year"


PROFILE_VERSION = 7  # 7: series_ranges carry n/mean/sd (duplicate-source check)


def _profile_cache_path(lake: Lakehouse) -> Path | None:
    """``<home>/cache/query-profile/<lake key>.json``; None (no disk cache) when no home is set or exists."""
    from covary.settings import get_settings

    home = get_settings().home.resolve()
    if not (home.is_dir() or os.environ.get("COVARY_HOME")):
        return None
    key = hashlib.sha256(f"{PROFILE_VERSION}:{lake.root}".encode()).hexdigest()[:12]
    return home / "cache" / "query-profile" / f"{key}.json"


def _read_profile_cache(lake: Lakehouse) -> dict[str, Any]:
    """The per-table profile cache of this lake ({} when there is none or it cannot be read)."""
    path = _profile_cache_path(lake)
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == PROFILE_VERSION else {}


def _write_profile_cache(lake: Lakehouse, cache: dict[str, Any]) -> None:
    path = _profile_cache_path(lake)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache | {"format": PROFILE_VERSION}, default=str))
        tmp.replace(path)  # atomic: a concurrent reader sees the old or the new file
    except OSError as exc:  # a read-only home only costs the next cold start
        log.info("could not write the profile cache %s: %s", path, exc)


def translate(question: str, layer: SemanticLayer, llm_mode: str = "fallback") -> Translation:
    """Deterministic first (or only); the LLM when configured and asked for.

    The LLM proposes a plan, never SQL: covary validates it against ``layer`` and compiles it
    (``serve.query.llm``). In ``fallback`` mode a question neither path can answer gets the deterministic
    refusal (what was understood, what could not be placed) with the LLM's reason added."""
    from covary.settings import get_settings

    llm = get_settings().llm
    use_llm = llm_mode != "off" and bool(llm.base_url)
    if use_llm and llm_mode == "always":
        return _llm(layer, llm).translate(question)
    try:
        return DeterministicTranslator(layer).translate(question)
    except CannotAnswerError as refusal:
        if not use_llm:
            raise
        try:
            return _llm(layer, llm).translate(question)
        except (CannotAnswerError, LLMUnavailableError) as exc:
            log.warning("LLM fallback did not answer: %s", exc)
            understood = dict(refusal.understood) | {"llm": exc.message}
            raise CannotAnswerError(refusal.message, hint=refusal.hint, understood=understood) from exc


def _llm(layer: SemanticLayer, llm: Any) -> Any:
    """The plan-proposing LLM translator for ``settings.llm`` (an OpenAI-compatible endpoint)."""
    from serve.query.llm import LLMTranslator

    return LLMTranslator(
        base_url=llm.base_url,
        model=llm.model or "default",
        layer=layer,
        api_key=llm.api_key.get_secret_value() if llm.api_key else None,
        timeout_s=llm.timeout_s,
    )


def demo_step(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    """Demo step: profile the finished lake now, so the first ``covary query`` reads the profile from disk."""
    service = QueryService(lake, EngineOptions(llm_mode="off", one_shot=True))
    try:
        _, prof = service.profile()
        return {"tables": len(prof["tables"]), "profiled": len(service.profiled), "series": len(prof["series"])}
    finally:
        service.close()


__all__ = ["EngineOptions", "QueryService", "demo_step", "translate"]
