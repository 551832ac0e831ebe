"""The semantic layer: measures, dimensions and time columns derived from the table registry, KPIs and data."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from jobs.kpi import definitions as kpi_defs
from lakehouse.registry import TableSpec, all_specs

log = logging.getLogger(__name__)

SERIES_VALUES, SERIES_CATALOG = "gold.series_values", "gold.series_catalog"
_SUM_HINTS = re.compile(
    r"\b(count|number of|total|amount|spend|spent|cost|revenue|sales|clicks?|impressions?|conversions?|"
    r"installs?|signups?|orders?|visits?|sessions?|downloads?|plays?|streams?|views?|stars?|commits?|"
    r"events?|units|budget|precipitation|rain|volume|quantity|leads?|deals?|tickets?|cases|defect\w*|"
    r"failures?|hires?|leaving|leavers|absent|absences?|kwh|energy used|hours logged|expenses?|lines|tracks|forks|"
    r"comments)\b"
)
_AVG_HINTS = re.compile(r"\b(rate|ratio|average|mean|percent|share|index|level|price|temperature|score|per)\b")
_ID_LIKE = re.compile(r"(^id$|_id$|^year$|^month$|^day$|^quarter$|_key$|hash|version)")
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "for",
        "by",
        "per",
        "to",
        "from",
        "with",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "what",
        "which",
        "who",
        "how",
        "many",
        "much",
        "show",
        "me",
        "give",
        "list",
        "tell",
        "get",
        "find",
        "display",
        "please",
        "over",
        "across",
        "each",
        "all",
        "does",
        "do",
        "did",
        "i",
        "we",
        "our",
        "my",
        "their",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "vs",
        "versus",
        "than",
        "into",
        "value",
        "values",
        "data",
        "number",
        "numbers",
        "total",
    ]
)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9_.\-]*[a-z0-9]|[a-z0-9]", text.lower())


def acronyms(text: str) -> set[str]:
    """Initials of 2-4 consecutive words: 'gross domestic product' -> 'gdp', 'consumer price index' -> 'cpi'."""
    ws = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in STOP]
    out = set()
    for n in (2, 3, 4):
        for i in range(len(ws) - n + 1):
            out.add("".join(w[0] for w in ws[i : i + n]))
    return out


@dataclass(frozen=True)
class Dimension:
    """A column to group or filter by; ``values`` are its distinct values when there are few."""

    table: str
    column: str
    description: str
    synonyms: tuple[str, ...] = ()
    values: tuple[str, ...] = ()

    @property
    def names(self) -> set[str]:
        base = {self.column.lower(), self.column.lower().replace("_", " ")}
        if self.column.endswith("_id"):
            base.add(self.column[:-3])
        return base | {s.lower() for s in self.synonyms}


@dataclass(frozen=True)
class Measure:
    """An aggregate over a table, optionally restricted by ``where`` (e.g. one series of gold.series_values)."""

    name: str
    table: str
    expr: str
    description: str
    synonyms: tuple[str, ...] = ()
    where: str | None = None
    unit: str | None = None
    kind: str = "column"  # column | series | kpi
    time_column: str | None = None

    @property
    def own_names(self) -> set[str]:
        short = self.name.rsplit(".", 1)[-1].lower()
        return {self.name.lower(), short, short.replace("_", " ")}

    @property
    def names(self) -> set[str]:
        return self.own_names | {s.lower() for s in self.synonyms}


@dataclass(frozen=True)
class TableInfo:
    name: str
    description: str
    synonyms: tuple[str, ...]
    time_column: str | None
    min_time: str | None = None
    max_time: str | None = None
    rows: int = 0


@dataclass
class SemanticLayer:
    """Everything the translators know: tables with time ranges, measures, dimensions (with values)."""

    tables: dict[str, TableInfo] = field(default_factory=dict)
    measures: list[Measure] = field(default_factory=list)
    dimensions: dict[str, list[Dimension]] = field(default_factory=dict)
    findings_table: str | None = None
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    findings_has_r: bool = False
    # per series of gold.series_values: {"min_time", "max_time", "step"}; per table: the data's time step
    series_ranges: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)
    empty_columns: dict[str, set[str]] = field(default_factory=dict)  # numeric columns with no value at all

    def dims_of(self, table: str) -> list[Dimension]:
        return self.dimensions.get(table, [])

    def describe(self) -> dict[str, Any]:
        return {
            "tables": {n: t.__dict__ for n, t in self.tables.items()},
            "measures": [
                {
                    "name": m.name,
                    "table": m.table,
                    "expr": m.expr,
                    "where": m.where,
                    "kind": m.kind,
                    "unit": m.unit,
                    "description": m.description,
                }
                for m in self.measures
            ],
            "dimensions": {t: [d.column for d in ds] for t, ds in self.dimensions.items()},
        }

    def schema_text(self, tables: list[str] | None = None) -> str:
        """The schema as compact text for an LLM prompt (tables, columns with descriptions, measures)."""
        lines = []
        for spec in all_specs():
            if spec.name not in self.tables or (tables and spec.name not in tables):
                continue
            info = self.tables[spec.name]
            span = f" [{info.min_time} .. {info.max_time}]" if info.min_time else ""
            lines.append(f"TABLE {spec.name}{span}: {spec.description}")
            for c in spec.columns:
                dim = next((d for d in self.dims_of(spec.name) if d.column == c.name), None)
                sample = f" values: {', '.join(dim.values[:12])}" if dim and dim.values else ""
                lines.append(f"  {c.name} {c.type}: {c.description}{sample}")
        for m in self.measures:
            if m.kind != "column":
                where = f" WHERE {m.where}" if m.where else ""
                lines.append(f"MEASURE {m.name} = {m.expr} FROM {m.table}{where} -- {m.description}")
        return "\n".join(lines)


def _time_column(spec: TableSpec) -> str | None:
    for c in spec.columns:
        is_time = pa.types.is_date(c.type) or pa.types.is_timestamp(c.type)
        if is_time and (
            c.name in ("ts", "date", "day", "period", "week", "month") or c.name.endswith(("_date", "_day"))
        ):
            return c.name
    for c in spec.columns:
        if pa.types.is_date(c.type) or pa.types.is_timestamp(c.type):
            return c.name
    return None


def ident(name: str) -> str:
    """``name`` as a SQL identifier: bare when it is a plain lower-case name, else double-quoted."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def daily_mean(column: str, time_column: str) -> str:
    """The mean over days of each day's total: right for a level kept per department or site, and for
    "average daily X" of an additive X, however many rows a day has."""
    return f"SUM({ident(column)}) / NULLIF(COUNT(DISTINCT {ident(time_column)}), 0)"


def default_agg(name: str, description: str) -> str:
    text = f"{name.replace('_', ' ')} {description}".lower()
    if _AVG_HINTS.search(text) and not re.search(r"\b(count|number of)\b", text):
        return "AVG"
    return "SUM" if _SUM_HINTS.search(text) else "AVG"


# the KPIs' source columns under other names in record-level tables that hold the same facts in more detail
# (the campaign rows that silver.synth_marketing sums, with their region): the same formulas, renamed
KPI_COLUMNS: dict[str, dict[str, str]] = {
    kpi_defs.SOURCE_TABLE: {},
    "silver.synth_campaigns": {
        "spend": "spend_usd",
        "impressions": "impression_count",
        "clicks": "click_count",
        "conversions": "conversion_count",
        "revenue": "revenue_usd",
    },
}
# record-level tables whose facts an aggregate table also answers: on a tie the aggregate is read
DETAIL_OF: dict[str, str] = {
    "silver.synth_campaigns": kpi_defs.SOURCE_TABLE,
    "silver.synth_tickets": "silver.synth_support",
    "silver.synth_employees": "silver.synth_hr",
}
# record tables whose rows are events dated by the table's time column: their count has an event name
# (an employee record is a hire on its hire_date); only where that date is the table's time column
EVENT_COUNTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "silver.synth_employees": ("hires", "hire_date", ("hire", "people hired", "hired")),
}


def kpi_expression(kpi_id: str, table: str) -> str:
    """The SQL of KPI ``kpi_id`` over ``table`` (its columns renamed as :data:`KPI_COLUMNS` says)."""
    expr = kpi_defs.sql_expression(kpi_id)
    for src, dst in KPI_COLUMNS.get(table, {}).items():
        expr = re.sub(rf"\b{src}\b", dst, expr)
    return expr


def _kpi_measures(specs: dict[str, TableSpec]) -> list[Measure]:
    """The marketing KPIs of ``jobs.kpi.definitions`` (issue 6) as measures over their source table, and over
    the record tables of :data:`KPI_COLUMNS` that have every column the KPI needs."""
    out = []
    for table, renames in KPI_COLUMNS.items():
        if table not in specs:
            continue
        spec = specs[table]
        for kpi in kpi_defs.KPIS.values():
            needed = [c for c in (kpi.numerator, kpi.denominator) if c]
            if any(renames.get(c, c) not in spec.column_names for c in needed):
                continue
            synonyms = tuple(kpi.synonyms) + ((kpi.name.lower(),) if kpi.name != kpi.id else ())
            out.append(
                Measure(
                    name=kpi.id,
                    table=table,
                    expr=kpi_expression(kpi.id, table),
                    description=f"{kpi.name}: {kpi.description}".strip(": "),
                    synonyms=synonyms,
                    where=None,
                    unit=kpi.unit,
                    kind="kpi",
                    time_column=_time_column(spec),
                )
            )
    return out


def build_layer(profile: dict[str, Any], *, layers: tuple[str, ...] = ("silver", "gold")) -> SemanticLayer:
    """Build the layer from the registry plus a data ``profile`` (see ``SqlEngine.profile``)."""
    specs = {s.name: s for s in all_specs() if s.layer in layers and s.name in profile.get("tables", {})}
    layer = SemanticLayer()
    for name, spec in specs.items():
        prof = profile["tables"][name]
        tcol = _time_column(spec)
        layer.tables[name] = TableInfo(
            name, spec.description, spec.synonyms, tcol, prof.get("min_time"), prof.get("max_time"), prof.get("rows", 0)
        )
        dims = []
        for c in spec.columns:
            if pa.types.is_string(c.type) or pa.types.is_large_string(c.type) or pa.types.is_boolean(c.type):
                values = tuple(str(v) for v in prof.get("values", {}).get(c.name, []) if v is not None)
                dims.append(Dimension(name, c.name, c.description, c.synonyms, values))
            elif (pa.types.is_integer(c.type) or pa.types.is_floating(c.type) or pa.types.is_decimal(c.type)) and (
                not _ID_LIKE.search(c.name) and c.name not in spec.keys and name != SERIES_VALUES
            ):
                if c.stock and tcol:  # a level: the day's total across rows, averaged over days
                    expr = daily_mean(c.name, tcol)
                elif c.name == "value" and any(k in ("series", "series_id") for k in spec.keys):
                    expr = "AVG(value)"  # long format (series, time, value): observations of levels and rates
                else:
                    expr = f"{default_agg(c.name, c.description)}({c.name})"
                layer.measures.append(Measure(c.name, name, expr, c.description, c.synonyms, time_column=tcol))
        layer.dimensions[name] = dims
        layer.keys[name] = spec.keys
        layer.measures.append(
            Measure(
                f"count of {spec.short_name}",
                name,
                "COUNT(*)",
                f"number of rows of {name}: {spec.description}",
                (spec.short_name.replace("_", " "), *spec.synonyms, *(f"{s}s" for s in spec.synonyms)),
                kind="count",
                time_column=tcol,
            )
        )
        event = EVENT_COUNTS.get(name)
        if event is not None and event[1] == tcol:
            layer.measures.append(
                Measure(event[0], name, "COUNT(*)", f"{event[0]}: rows of {name} by {tcol}", event[2], time_column=tcol)
            )
        if "finding" in spec.short_name and layer.findings_table is None:
            layer.findings_table = name
            layer.findings_has_r = "r" in spec.column_names
    if SERIES_VALUES in specs:
        for row in profile.get("series", []):
            sid = str(row["series_id"])
            agg = "SUM" if str(row.get("aggregation", "mean")).lower() == "sum" else "AVG"
            desc = str(row.get("description") or sid)
            code = sid.rsplit(".", 1)[-1]
            syn = {code, desc.lower(), *(a for a in acronyms(desc) if len(a) >= 3)}
            layer.measures.append(
                Measure(
                    name=sid,
                    table=SERIES_VALUES,
                    expr=f"{agg}(value)",
                    description=desc,
                    synonyms=tuple(sorted(syn)),
                    where=f"series_id = '{sid.replace(chr(39), chr(39) * 2)}'",
                    unit=row.get("unit"),
                    kind="series",
                    time_column="ts",
                )
            )
    layer.measures.extend(_kpi_measures(specs))
    layer.series_ranges = dict(profile.get("series_ranges", {}))
    layer.steps = {n: str(t["step"]) for n, t in profile.get("tables", {}).items() if t.get("step")}
    layer.empty_columns = {n: set(t.get("empty_columns") or ()) for n, t in profile.get("tables", {}).items()}
    return layer


__all__ = [
    "DETAIL_OF",
    "EVENT_COUNTS",
    "KPI_COLUMNS",
    "Dimension",
    "Measure",
    "SemanticLayer",
    "TableInfo",
    "acronyms",
    "build_layer",
    "daily_mean",
    "default_agg",
    "ident",
    "kpi_expression",
    "words",
]
