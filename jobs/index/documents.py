"""The documents the index holds, built from the lakehouse, reports, connector READMEs and user uploads."""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse import Lakehouse, all_specs

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
FINDINGS, RUNS = "gold.correlation_findings", "gold.correlation_runs"
KINDS = ("table", "series", "finding", "kpi", "forecast", "anomaly", "alert", "dq", "report", "readme", "user")


@dataclass(frozen=True)
class Document:
    """One indexable document; ``doc_id`` is stable across runs so changes are detected by content hash."""

    doc_id: str
    kind: str
    title: str
    text: str
    source_table: str = ""
    source_version: int = -1
    finding_id: str = ""

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.kind}\x1f{self.title}\x1f{self.text}".encode()).hexdigest()


def _version(lake: Lakehouse, name: str) -> int:
    return int(lake.table(name).version()) if lake.exists(name) else -1


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.1f}"
        return f"{value:.{digits}g}"
    return str(value)


def _rows(lake: Lakehouse, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    return lake.read(name, **kwargs).to_pylist() if lake.exists(name) else []


# ----------------------------------------------------------------------------------- builders
def dictionary_docs(lake: Lakehouse) -> list[Document]:
    """One document per declared table: description, keys and every column with its description."""
    docs = []
    for spec in all_specs():
        cols = "\n".join(
            f"- {c.name} ({c.type}): {c.description}"
            + (f" Also called: {', '.join(c.synonyms)}." if c.synonyms else "")
            for c in spec.columns
        )
        text = (
            f"Table {spec.name} ({spec.layer} layer): {spec.description}\n"
            + (f"Also called: {', '.join(spec.synonyms)}.\n" if spec.synonyms else "")
            + (f"Keys: {', '.join(spec.keys)}.\n" if spec.keys else "")
            + f"\nColumns of {spec.name}:\n{cols}"
        )
        docs.append(
            Document(f"table:{spec.name}", "table", f"Table {spec.name}", text, spec.name, _version(lake, spec.name))
        )
    return docs


def series_docs(lake: Lakehouse) -> list[Document]:
    """One document per catalogued series: meaning, unit, frequency, lineage and a summary of its values."""
    catalog = _rows(lake, "gold.series_catalog")
    if not catalog:
        return []
    stats: dict[str, dict[str, Any]] = {}
    version = _version(lake, "gold.series_values")
    if lake.exists("gold.series_values"):
        import duckdb

        values = lake.read("gold.series_values", columns=["series_id", "ts", "value"])
        con = duckdb.connect(":memory:")
        con.register("v", values)
        query = (
            "SELECT series_id, count(*), min(ts), max(ts), min(value), max(value), avg(value), "
            "arg_max(value, ts) FROM v GROUP BY series_id"
        )
        for sid, n, lo, hi, vmin, vmax, mean, last in con.execute(query).fetchall():
            stats[sid] = {"n": n, "first": lo, "last": hi, "min": vmin, "max": vmax, "mean": mean, "latest": last}
        con.close()
    docs = []
    for row in catalog:
        sid = row["series_id"]
        text = (
            f"Series {sid}: {row['description']}. Unit: {row.get('unit') or 'n/a'}. "
            f"Frequency: {row['frequency']}; aggregation when resampled: {row['aggregation']}. "
            f"Domain: {row.get('domain') or 'n/a'}. Produced by: {row['source']}."
            + (f" Lineage: {row['lineage']}." if row.get("lineage") else "")
        )
        s = stats.get(sid)
        if s:
            text += (
                f"\nValues of {sid} in gold.series_values (version {version}): {s['n']} observations from "
                f"{s['first']} to {s['last']}; latest value {_fmt(s['latest'])} on {s['last']}; "
                f"minimum {_fmt(s['min'])}, maximum {_fmt(s['max'])}, mean {_fmt(s['mean'])}."
            )
        docs.append(Document(f"series:{sid}", "series", f"Series {sid}", text, "gold.series_catalog", version))
    return docs


def latest_run(lake: Lakehouse) -> dict[str, Any] | None:
    runs = _rows(lake, RUNS)
    return max(runs, key=lambda r: r["finished_at"]) if runs else None


def finding_text(f: dict[str, Any], run: dict[str, Any] | None, version: int) -> str:
    """The finding in words with every statistic and caveat (what the answerer quotes)."""
    a, b, lag = f["a"], f["b"], int(f.get("lag") or 0)
    lead = (
        f"{a} leads {b} by {lag} step(s)"
        if lag > 0
        else f"{b} leads {a} by {-lag} step(s)"
        if lag < 0
        else ("no lead or lag (same period)")
    )
    change = f.get("change") or "n/a"
    parts = [
        f"Correlation finding {f['finding_id']} between {a} and {b} (run {f['run_id']}, "
        f"gold.correlation_findings version {version}).",
        f"Status: {'significant' if f.get('significant') else 'not significant'}; change vs the previous run: "
        f"{change}.",
        f"Adjusted correlation r = {_fmt(f.get('r'))} (raw r = {_fmt(f.get('r_raw'))}), 95% CI "
        f"[{_fmt(f.get('ci_low'))}, {_fmt(f.get('ci_high'))}], n = {_fmt(f.get('n'))}, effective n = "
        f"{_fmt(f.get('n_eff'))}, p = {_fmt(f.get('p'))}, q = {_fmt(f.get('q'))} ({f.get('correction') or 'n/a'} "
        f"correction, {f.get('null') or 'n/a'} null, {f.get('method') or 'n/a'}).",
        f"Best lag: {lag}; {lead}.",
    ]
    if f.get("r_previous") is not None:
        parts.append(f"In the previous run r was {_fmt(f['r_previous'])} and q was {_fmt(f.get('q_previous'))}.")
    warnings = [w for w in (f.get("warnings") or []) if w]
    if warnings:
        parts.append("Warnings: " + "; ".join(warnings) + ".")
    if f.get("third_series"):
        parts.append(
            f"Possible confounder: {f['third_series']} moves with both; partial r controlling for it = "
            f"{_fmt(f.get('partial_r_third'))}."
        )
    if f.get("partial_r_calendar") is not None:
        parts.append(f"Partial r controlling for calendar and trend = {_fmt(f['partial_r_calendar'])}.")
    if f.get("granger_p_ab") is not None or f.get("granger_p_ba") is not None:
        parts.append(
            f"Granger p ({a} helps predict {b}) = {_fmt(f.get('granger_p_ab'))}; Granger p ({b} helps predict {a}) "
            f"= {_fmt(f.get('granger_p_ba'))}."
        )
    if f.get("precedence"):
        parts.append(f"Precedence: {f['precedence']}.")
    parts.append(f"Caveat: {f.get('caveat') or 'correlation is not causation.'}")
    return "\n".join(parts)


def finding_docs(lake: Lakehouse) -> list[Document]:
    """The latest discovery run's significant and vanished findings, and the run itself."""
    run = latest_run(lake)
    if run is None or not lake.exists(FINDINGS):
        return []
    import pyarrow.compute as pc

    version = _version(lake, FINDINGS)
    rows = lake.read(FINDINGS, filter=pc.field("run_id") == run["run_id"]).to_pylist()
    docs = [
        Document(
            f"finding:{f['finding_id']}",
            "finding",
            f"Finding {f['a']} ~ {f['b']}",
            finding_text(f, run, version),
            FINDINGS,
            version,
            f["finding_id"],
        )
        for f in rows
        if f.get("significant") or f.get("change") == "vanished"
    ]
    top = sorted((f for f in rows if f.get("significant")), key=lambda f: f.get("q") or 1.0)[:10]
    summary = (
        f"Correlation discovery run {run['run_id']} (scope {run['scope']}) finished {run['finished_at']}: "
        f"{run.get('series')} series, {run.get('pairs')} pairs, {run.get('tested')} pair-lags tested, "
        f"{run.get('significant')} significant findings. Compared with run {run.get('compared_to') or 'none'}: "
        f"new {run.get('new')}, strengthened {run.get('strengthened')}, weakened {run.get('weakened')}, "
        f"vanished {run.get('vanished')}.\nStrongest findings (lowest q): "
        + "; ".join(f"{f['a']} ~ {f['b']} r = {_fmt(f.get('r'))}, q = {_fmt(f.get('q'))}" for f in top)
        + "\nCorrelation is not causation: lead/lag and Granger tests show temporal precedence only."
    )
    docs.append(Document("run:latest", "finding", "Latest correlation run", summary, RUNS, _version(lake, RUNS)))
    return docs


def kpi_docs(lake: Lakehouse) -> list[Document]:
    """Per KPI: the latest week, month and quarter overall with period-over-period and year-ago changes."""
    name = "gold.marketing_kpis"
    rows = [r for r in _rows(lake, name) if r["platform"] == "*" and r["country"] == "*"]
    if not rows:
        return []
    version = _version(lake, name)
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_metric.setdefault(r["metric"], []).append(r)
    docs = []
    for metric, items in sorted(by_metric.items()):
        lines = [f"KPI {metric} (gold.marketing_kpis version {version}), all platforms and countries:"]
        for period in ("week", "month", "quarter"):
            latest = sorted((r for r in items if r["period"] == period), key=lambda r: r["period_start"])[-1:]
            for r in latest:
                pct = r.get("previous_change_pct")
                yoy = r.get("year_ago_change_pct")
                lines.append(
                    f"- {period} starting {r['period_start']}: {metric} = {_fmt(r.get('value'))} (previous {period} "
                    f"{_fmt(r.get('previous_value'))}, change {_fmt(pct)}%; a year ago {_fmt(r.get('year_ago_value'))}"
                    f", change {_fmt(yoy)}%)."
                )
        docs.append(Document(f"kpi:{metric}", "kpi", f"KPI {metric}", "\n".join(lines), name, version))
    return docs


def forecast_docs(lake: Lakehouse) -> list[Document]:
    """Per series: the latest forecast's horizon with 80%/95% intervals and the winning model."""
    name = "gold.forecasts"
    rows = _rows(lake, name)
    if not rows:
        return []
    version = _version(lake, name)
    by_series: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_series.setdefault(r["series_id"], []).append(r)
    docs = []
    for sid, items in sorted(by_series.items()):
        origin = max(r["origin"] for r in items)
        steps = sorted((r for r in items if r["origin"] == origin), key=lambda r: r["step"])
        first, last = steps[0], steps[-1]
        text = (
            f"Forecast of {sid} (gold.forecasts version {version}) made from {origin} by the {first['model']} model"
            f" ({len(steps)} steps). Day {first['ts']}: {_fmt(first.get('mean'))} (80% interval "
            f"{_fmt(first.get('lo80'))} to {_fmt(first.get('hi80'))}). Day {last['ts']}: {_fmt(last.get('mean'))} "
            f"(80% interval {_fmt(last.get('lo80'))} to {_fmt(last.get('hi80'))}; 95% interval "
            f"{_fmt(last.get('lo95'))} to {_fmt(last.get('hi95'))})."
        )
        docs.append(Document(f"forecast:{sid}", "forecast", f"Forecast {sid}", text, name, version))
    return docs


def anomaly_docs(lake: Lakehouse) -> list[Document]:
    """Per series: the strongest anomalies; one document per cross-source alert."""
    docs: list[Document] = []
    rows = _rows(lake, "gold.anomalies")
    version = _version(lake, "gold.anomalies")
    by_series: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_series.setdefault(r["series_id"], []).append(r)
    for sid, items in sorted(by_series.items()):
        top = sorted(items, key=lambda r: -abs(r.get("score") or 0.0))[:8]
        lines = [f"Anomalies in {sid} (gold.anomalies version {version}): {len(items)} detected."]
        lines += [
            f"- {r['ts']}: {r['kind']} {r['direction']}, value {_fmt(r.get('value'))} vs expected "
            f"{_fmt(r.get('expected'))} (robust score {_fmt(r.get('score'))})."
            for r in sorted(top, key=lambda r: r["ts"])
        ]
        docs.append(
            Document(f"anomaly:{sid}", "anomaly", f"Anomalies {sid}", "\n".join(lines), "gold.anomalies", version)
        )
    alerts = _rows(lake, "gold.anomaly_alerts")
    aversion = _version(lake, "gold.anomaly_alerts")
    for r in sorted(alerts, key=lambda r: r["alert_id"])[:500]:
        text = (
            f"Alert {r['alert_id']} (gold.anomaly_alerts version {aversion}): {r['message']} "
            f"Source {r['source_series']} on {r['source_ts']}, then {r['target_series']} on {r['target_ts']} "
            f"({r['lag_days']} days later; typical lag {_fmt(r.get('expected_lag_days'))}, residual correlation "
            f"{_fmt(r.get('correlation'))})."
        )
        docs.append(
            Document(
                f"alert:{r['alert_id']}",
                "alert",
                f"Alert {r['source_series']} -> {r['target_series']}",
                text,
                "gold.anomaly_alerts",
                aversion,
            )
        )
    return docs


def dq_docs(lake: Lakehouse) -> list[Document]:
    """Per table: the latest data-quality run's warnings and failures."""
    rows = _rows(lake, "gold.dq_results")
    if not rows:
        return []
    version = _version(lake, "gold.dq_results")
    last = max(r["checked_at"] for r in rows)
    run_ids = {r["run_id"] for r in rows if r["checked_at"] == last}
    latest = [r for r in rows if r["run_id"] in run_ids]
    by_table: dict[str, list[dict[str, Any]]] = {}
    for r in latest:
        by_table.setdefault(r["table_name"], []).append(r)
    docs = []
    for table, items in sorted(by_table.items()):
        bad = [r for r in items if r["status"] != "pass"]
        lines = [
            f"Data quality of {table} (gold.dq_results version {version}, run {items[0]['run_id']}): "
            f"{len(items)} checks, {sum(r['status'] == 'fail' for r in items)} failed, "
            f"{sum(r['status'] == 'warn' for r in items)} warnings."
        ]
        lines += [
            f"- {r['status']}: {r['check']}{' on ' + r['column_name'] if r.get('column_name') else ''} = "
            f"{_fmt(r.get('value'))} (threshold {_fmt(r.get('threshold'))}). {r.get('detail') or ''}".strip()
            for r in bad[:20]
        ]
        docs.append(
            Document(f"dq:{table}", "dq", f"Data quality {table}", "\n".join(lines), "gold.dq_results", version)
        )
    return docs


def report_docs(reports_dir: Path, *, keep: int = 4) -> list[Document]:
    """The latest Markdown insight reports."""
    if not reports_dir.is_dir():
        return []
    files = sorted(reports_dir.glob("*.md"), key=lambda p: p.name)[-keep:]
    return [Document(f"report:{p.stem}", "report", f"Report {p.stem}", p.read_text(encoding="utf-8")) for p in files]


def readme_docs(root: Path = REPO_ROOT) -> list[Document]:
    """Connector READMEs (``connectors/*/README.md``) and the connector framework guide."""
    paths = sorted(root.glob("connectors/*/README.md"))
    if (root / "connectors" / "FRAMEWORK.md").is_file():
        paths.append(root / "connectors" / "FRAMEWORK.md")
    docs = []
    for p in paths:
        rel = p.relative_to(root).as_posix()
        docs.append(
            Document(
                f"readme:{rel}", "readme", _title(p.read_text(encoding="utf-8"), rel), p.read_text(encoding="utf-8")
            )
        )
    return docs


def user_docs(lake: Lakehouse) -> list[Document]:
    name = "silver.user_documents"
    version = _version(lake, name)
    return [Document(r["doc_id"], "user", r["title"], r["text"], name, version) for r in _rows(lake, name)]


def _title(text: str, fallback: str) -> str:
    m = re.search(r"^#\s+(.+)$", text, flags=re.M)
    return m.group(1).strip() if m else fallback


BUILDERS: dict[str, Callable[[Lakehouse, Path], list[Document]]] = {
    "table": lambda lake, _: dictionary_docs(lake),
    "series": lambda lake, _: series_docs(lake),
    "finding": lambda lake, _: finding_docs(lake),
    "kpi": lambda lake, _: kpi_docs(lake),
    "forecast": lambda lake, _: forecast_docs(lake),
    "anomaly": lambda lake, _: anomaly_docs(lake),
    "dq": lambda lake, _: dq_docs(lake),
    "report": lambda _, reports: report_docs(reports),
    "readme": lambda _lake, _r: readme_docs(),
    "user": lambda lake, _: user_docs(lake),
}
# which builder produces documents of each kind (alerts come with anomalies)
BUILDER_OF = {k: ("anomaly" if k == "alert" else k) for k in KINDS}


def build_documents(lake: Lakehouse, reports_dir: Path, *, kinds: Iterable[str] | None = None) -> list[Document]:
    """Every document of ``kinds`` (default all), de-duplicated by id (first wins)."""
    wanted = set(kinds or KINDS)
    builders = sorted({BUILDER_OF[k] for k in wanted})
    seen: dict[str, Document] = {}
    for name in builders:
        for doc in BUILDERS[name](lake, reports_dir):
            if doc.kind in wanted and doc.text.strip():
                seen.setdefault(doc.doc_id, doc)
    return list(seen.values())


__all__ = ["BUILDERS", "KINDS", "Document", "build_documents", "finding_text", "latest_run"]
