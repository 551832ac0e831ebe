"""The query service as a library: guarded SQL, NL->SQL, data dictionary, series, findings, KPIs."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from lakehouse import Lakehouse, all_specs, get_spec
from serve.guard import EngineLimits, GuardPolicy, LakeSnapshots, QueryResult, check_sql
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
    refresh_s: float = Field(30.0, ge=0, description="How often to check the lakehouse for new table versions.")
    cache_dir: str | None = Field(None, description="Where snapshots are written; default a temp dir per replica.")
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
            self.options.timeout_s, self.options.max_rows, self.options.memory_limit, self.options.threads
        )
        self.snapshots = LakeSnapshots(
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

    def run_sql(self, sql: str, *, max_rows: int | None = None, guard: bool = True) -> dict[str, Any]:
        """Guard ``sql`` (BlockedQueryError, nothing runs) then execute it on the locked engine."""
        engine = self.snapshots.engine()
        cap = min(max_rows or self.options.max_rows, self.options.max_rows)
        if guard:
            guarded = check_sql(sql, GuardPolicy.for_tables(self.snapshots.present_tables, max_limit=cap))
            result = engine.execute(guarded.sql, max_rows=cap)
            return {"sql": guarded.sql, "query_hash": guarded.query_hash, "tables": list(guarded.tables)} | (
                result.as_dict()
            )
        result = engine.execute(sql, max_rows=cap)
        return {"sql": sql, "query_hash": query_hash(sql), "tables": []} | result.as_dict()

    def _internal(self, sql: str, max_rows: int = 100_000) -> QueryResult:
        """Trusted SQL written by this module (still on the locked engine, never user text)."""
        return self.snapshots.engine().execute(sql, max_rows=max_rows, timeout_s=max(30.0, self.options.timeout_s))

    # ------------------------------------------------------------------------------- profile
    def profile(self) -> tuple[str | None, dict[str, Any]]:
        """(snapshot fingerprint, data profile): time ranges, row counts, small-cardinality values, series."""
        self.snapshots.engine()
        fp = self.snapshots.fingerprint
        if self._profile and self._profile[0] == fp:
            return self._profile
        started = time.perf_counter()
        out: dict[str, Any] = {"tables": {}, "series": []}
        for name in self.snapshots.present_tables:
            spec = get_spec(name)
            entry: dict[str, Any] = {"values": {}}
            entry["rows"] = self._internal(f"SELECT COUNT(*) FROM {name}").rows[0][0]
            from serve.query.semantic import _time_column

            tcol = _time_column(spec)
            if tcol:
                lo, hi = self._internal(f'SELECT MIN("{tcol}"), MAX("{tcol}") FROM {name}').rows[0]
                entry["min_time"], entry["max_time"] = lo, hi
            for c in spec.columns:
                if str(c.type) in ("string", "large_string", "bool"):
                    res = self._internal(
                        f'SELECT DISTINCT "{c.name}" FROM {name} WHERE "{c.name}" IS NOT NULL LIMIT {MAX_DISTINCT + 1}'
                    )
                    if res.row_count <= MAX_DISTINCT:
                        entry["values"][c.name] = sorted(str(r[0]) for r in res.rows)
            out["tables"][name] = entry
        if SERIES_CATALOG in out["tables"]:
            res = self._internal(f"SELECT * FROM {SERIES_CATALOG} ORDER BY series_id")
            out["series"] = [dict(zip(res.columns, r, strict=True)) for r in res.rows]
        log.info("profiled %d tables in %.0f ms", len(out["tables"]), (time.perf_counter() - started) * 1000)
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
        t = self.translate(question)
        result = self.run_sql(t.sql, max_rows=max_rows)
        return {"question": question, **t.as_dict(), **result, "sql": result["sql"]}

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


def translate(question: str, layer: SemanticLayer, llm_mode: str = "fallback") -> Translation:
    """Deterministic first (or only); the LLM when configured and asked for."""
    from covary.settings import get_settings

    llm = get_settings().llm
    use_llm = llm_mode != "off" and bool(llm.base_url)
    if use_llm and llm_mode == "always":
        return _llm(layer, llm).translate(question)
    try:
        return DeterministicTranslator(layer).translate(question)
    except CannotAnswerError:
        if not use_llm:
            raise
        try:
            return _llm(layer, llm).translate(question)
        except LLMUnavailableError as exc:
            log.warning("LLM fallback failed: %s", exc)
            raise


def _llm(layer: SemanticLayer, llm: Any) -> Any:
    from serve.query.llm import LLMTranslator

    return LLMTranslator(
        base_url=llm.base_url,
        model=llm.model or "default",
        layer=layer,
        api_key=llm.api_key.get_secret_value() if llm.api_key else None,
        timeout_s=llm.timeout_s,
    )


__all__ = ["EngineOptions", "QueryService", "translate"]
