"""The query service as a library: guarded SQL, NL->SQL, data dictionary, series, findings, KPIs."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, Field

from lakehouse import Lakehouse, all_specs, get_spec
from serve.guard import EngineLimits, GuardPolicy, LakeSnapshots, QueryResult, check_sql
from serve.guard.engine import unmask_sql
from serve.guard.policy import query_hash
from serve.query.errors import CannotAnswerError, LLMUnavailableError, NotFoundError
from serve.query.semantic import SERIES_CATALOG, SERIES_VALUES, SemanticLayer, build_layer
from serve.query.translator import DeterministicTranslator, Translation, q

log = logging.getLogger(__name__)
MAX_DISTINCT = 200


class EngineOptions(BaseModel):
    """Limits of the locked SQL engine."""

    layers: list[Literal["bronze", "silver", "gold", "ops"]] = Field(
        default_factory=lambda: ["silver", "gold"], description="Layers whose tables SQL may read."
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
            out = {"sql": guarded.sql, "query_hash": guarded.query_hash, "tables": list(guarded.tables)}
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
        values, series catalogue and ranges. Computed with a few statements per table on one engine, kept
        in memory and (when a COVARY_HOME is set) on disk keyed by the table versions, so it is rebuilt only
        when a table changes."""
        if self.options.one_shot and self._profile is not None:
            return self._profile  # one question: no refresh
        if self.options.one_shot:
            fp: str | None = fingerprint_of(table_versions(self.lake, [*self.snapshots.tables, "ops.loads"]))
            cached = _read_profile_cache(self.lake, fp)
            if cached is not None:
                self._profile = (fp, cached)
                return self._profile
        engine = self.snapshots.engine()
        fp = self.snapshots.fingerprint
        if self._profile and self._profile[0] == fp:
            return self._profile
        cached = _read_profile_cache(self.lake, fp)
        if cached is not None:
            self._profile = (fp, cached)
            return self._profile
        started = time.perf_counter()
        out = compute_profile(engine, self.snapshots.present_tables)
        log.info("profiled %d tables in %.0f ms", len(out["tables"]), (time.perf_counter() - started) * 1000)
        _write_profile_cache(self.lake, fp, out)
        self._profile = (fp, out)
        return self._profile

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
        return {"question": question, **t.as_dict(), **result, "sql": result["sql"]}

    def _narrow(self, tables: list[str]) -> None:
        """One-shot use: expose only ``tables`` (a small snapshot instead of the whole lake)."""
        old = self.snapshots
        self.snapshots = FastSnapshots(
            self.lake, tables, limits=old.limits, refresh_s=old.refresh_s, cache_dir=old.cache_dir
        )
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
            if m.kind in ("kpi", "series")
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

    def _versions(self) -> dict[str, int]:
        return table_versions(self.lake, [*self.tables, "ops.loads"])


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


def compute_profile(engine: Any, tables: list[str]) -> dict[str, Any]:
    """The data profile of ``tables`` on one locked engine: two or three statements per table."""
    from serve.query.semantic import _time_column

    out: dict[str, Any] = {"tables": {}, "series": [], "series_ranges": {}}

    def run(sql: str) -> QueryResult:
        return engine.execute(sql, max_rows=100_000, timeout_s=60.0)

    present: dict[str, set[str]] = defaultdict(set)
    info = run("SELECT table_schema, table_name, column_name FROM information_schema.columns")
    for schema, table, column in info.rows:
        present[f"{schema}.{table}"].add(str(column))
    for name in tables:
        spec = get_spec(name)
        have = present.get(name, set())
        entry: dict[str, Any] = {"values": {}}
        tcol = _time_column(spec)
        if tcol not in have:
            tcol = None
        cats = [c.name for c in spec.columns if str(c.type) in ("string", "large_string", "bool") and c.name in have]
        select = ["COUNT(*)"]
        if tcol:
            select += [f'MIN("{tcol}")', f'MAX("{tcol}")', f'COUNT(DISTINCT "{tcol}")']
        select += [f'COUNT(DISTINCT "{c}")' for c in cats]
        nums = [
            c.name
            for c in spec.columns
            if c.name in have and (pa.types.is_integer(c.type) or pa.types.is_floating(c.type))
        ]
        select += [f'COUNT("{c}")' for c in nums]
        row = run(f"SELECT {', '.join(select)} FROM {name}").rows[0]
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
                + f" FROM {name}"
            ).rows[0]
            for c, values in zip(small, lists, strict=True):
                entry["values"][c] = sorted(str(v) for v in (values or []))
        out["tables"][name] = entry
    if SERIES_CATALOG in out["tables"]:
        res = run(f"SELECT * FROM {SERIES_CATALOG} ORDER BY series_id")
        out["series"] = [dict(zip(res.columns, r, strict=True)) for r in res.rows]
    if SERIES_VALUES in out["tables"]:
        freq = {str(r["series_id"]): str(r.get("frequency") or "") for r in out["series"]}
        res = run(f"SELECT series_id, MIN(ts), MAX(ts), COUNT(DISTINCT ts) FROM {SERIES_VALUES} GROUP BY 1")
        for sid, lo, hi, n in res.rows:
            step = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "A": "year", "Y": "year"}.get(
                freq.get(str(sid), ""), _step(lo, hi, n)
            )
            out["series_ranges"][str(sid)] = {"min_time": lo, "max_time": hi, "step": step}
    return out


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


PROFILE_VERSION = 5


def _profile_cache_path(lake: Lakehouse, fingerprint: str | None) -> Path | None:
    home = os.environ.get("COVARY_HOME")
    if not home or not fingerprint:
        return None
    key = hashlib.sha256(f"{PROFILE_VERSION}:{lake.root}".encode()).hexdigest()[:12]
    return Path(home) / "cache" / "query-profile" / f"{key}-{fingerprint}.json"


def _read_profile_cache(lake: Lakehouse, fingerprint: str | None) -> dict[str, Any] | None:
    path = _profile_cache_path(lake, fingerprint)
    if path is None or not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_profile_cache(lake: Lakehouse, fingerprint: str | None, profile: dict[str, Any]) -> None:
    path = _profile_cache_path(lake, fingerprint)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*.json"):
            old.unlink(missing_ok=True)  # only the current versions are kept
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(profile, default=str))
        tmp.replace(path)
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


__all__ = ["EngineOptions", "QueryService", "translate"]
