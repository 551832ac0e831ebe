"""Sources, citations and the default grounded extractive answerer (every sentence quoted from a cited source)."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from jobs.index.chunking import split_sentences
from serve.rag.safety import CAVEAT, looks_like_instruction, sanitize

STOP = set(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "over",
        "show",
        "tell",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "into",
        "than",
        "between",
        "vs",
        "versus",
        "much",
        "many",
        "any",
        "can",
        "could",
        "should",
        "please",
        "give",
        "list",
    ]
)
TOKEN = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")


@dataclass
class Source:
    """A numbered source of an answer: the retrieved passage(s) of one document and where they come from."""

    n: int
    doc_id: str
    kind: str
    title: str
    text: str
    source_table: str = ""
    source_version: int = -1
    finding_id: str = ""
    score: float = 0.0
    chunk_ids: list[str] = field(default_factory=list)
    sql: str | None = None

    def citation(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("text")
        data["label"] = self.label
        return data

    @property
    def label(self) -> str:
        where = self.source_table or self.doc_id
        if self.source_table and self.source_version >= 0:
            where += f" v{self.source_version}"
        if self.finding_id:
            where += f", finding {self.finding_id}"
        elif self.kind in ("readme", "user", "report"):
            where = f"document {self.doc_id}"
        return f"[{self.n}] {self.title} ({where})"


@dataclass
class Answer:
    question: str
    answer: str
    citations: list[dict[str, Any]]
    causal: bool
    caveat: str | None
    backend: str
    grounded: bool = True
    unverified_numbers: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0
    evidence: bool = True  # False: retrieval confidence was low, the answer says "no evidence in the lake"
    confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def tokens(text: str) -> list[str]:
    out = []
    for t in TOKEN.findall(text.lower()):
        if t in STOP or len(t) < 2:
            continue
        out.append(t[:-1] if len(t) > 4 and t.endswith("s") and not t.endswith("ss") else t)
        if "." in t or "_" in t:  # series ids like macro.realgdp also match their parts
            out.extend(p for p in re.split(r"[._]", t) if len(p) > 1 and p not in STOP)
    return out


def extractive_answer(
    question: str,
    sources: list[Source],
    *,
    max_sentences: int = 6,
    min_share: float = 0.2,
    lead_findings: int = 0,
) -> str:
    """Quote the sentences of the sources that best match the question, each followed by its citation."""
    if not sources:
        return ""
    q = set(tokens(question))
    sentences: list[tuple[int, int, str, set[str]]] = []
    for src in sources:
        for pos, sent in enumerate(split_sentences(sanitize(src.text))):
            if not looks_like_instruction(sent):  # retrieved text is data: never relay commands to the reader
                sentences.append((src.n, pos, sent, set(tokens(sent))))
    df: dict[str, int] = {}
    for *_, toks in sentences:
        for t in toks & q:
            df[t] = df.get(t, 0) + 1
    total = max(len(sentences), 1)
    idf = {t: math.log(1 + total / (1 + c)) for t, c in df.items()}
    per_source_cap = {s.n: (4 if i == 0 else 2 if i == 1 else 1) for i, s in enumerate(sources)}
    kinds = {s.n: s.kind for s in sources}
    pool = []
    for n, pos, sent, toks in sentences:
        if toks & q:
            pool.append((n, pos, sent, toks & q))
    chosen: list[tuple[int, int, str]] = []
    used: dict[int, int] = {}
    covered: set[str] = set()
    best_total = 0.0

    def value(item: tuple[int, int, str, set[str]], covered: set[str]) -> float:
        n, pos, _, hit = item
        gain = sum(idf.get(t, 0.0) for t in hit - covered)
        total = sum(idf.get(t, 0.0) for t in hit)
        return (gain + 0.25 * total) / (1.0 + 0.35 * (n - 1)) + (0.15 if pos == 0 else 0.0)

    def acceptable(item: tuple[int, int, str, set[str]], covered: set[str], best_total: float) -> bool:
        new_terms = bool(item[3] - covered)
        if not (new_terms or used.get(item[0])):
            return False
        top_source = item[0] == sources[0].n and new_terms  # the best source may always add new terms
        return top_source or value(item, covered) >= min_share * best_total

    while pool and len(chosen) < max_sentences:
        pool = [p for p in pool if used.get(p[0], 0) < per_source_cap[p[0]]]

        ok = [p for p in pool if acceptable(p, covered, best_total)]
        if not ok:
            break
        item = max(ok, key=lambda it: value(it, covered))
        best_total = max(best_total, value(item, covered))
        pool.remove(item)
        n, pos, sent, hit = item
        chosen.append((n, pos, sent))
        used[n] = used.get(n, 0) + 1
        covered |= hit
    for n, pos, sent in list(chosen):  # a list heading ("Columns of x:") brings its items
        if sent.endswith(":"):
            items = [x for x in sentences if x[0] == n and pos < x[1] <= pos + 12 and x[2].startswith("- ")]
            chosen += [(m, p, t) for m, p, t, _ in items if (m, p, t) not in chosen]
    leads = [s.n for s in sources if s.kind == "finding" and s.finding_id][:lead_findings]
    for n in leads:  # causal questions: the strongest findings are the answer (the caveat follows)
        for _, pos, sent, _t in (x for x in sentences if x[0] == n):
            if sent.startswith(("Correlation finding", "Best lag")) and (n, pos, sent) not in chosen:
                chosen.append((n, pos, sent))
    for n in {c[0] for c in chosen}:  # a cited finding always shows its key statistics
        if kinds[n] == "finding":
            for _, pos, sent, _t in (x for x in sentences if x[0] == n):
                if sent.startswith("Adjusted correlation") and (n, pos, sent) not in chosen:
                    chosen.append((n, pos, sent))
    if not chosen:  # nothing overlaps: quote the opening of the best source rather than nothing
        first = split_sentences(sanitize(sources[0].text))[:2]
        chosen = [(sources[0].n, i, s) for i, s in enumerate(first)]
    chosen.sort(key=lambda c: (c[0], c[1]))
    parts: list[str] = []
    for n in sorted({c[0] for c in chosen}):
        quoted = "".join(("\n" if s.startswith("- ") else " ") + s.rstrip() for m, _, s in chosen if m == n).strip()
        parts.append(f"{quoted} [{n}]")
    return "\n".join(parts)


def caveat_for(sources: list[Source]) -> str:
    """The causation caveat plus each cited finding's confounder hints, warnings and precedence (verbatim)."""
    lines = [CAVEAT]
    for src in sources:
        if src.kind != "finding" or not src.finding_id:
            continue
        hints = [
            s
            for s in split_sentences(src.text)
            if s.startswith(("Possible confounder", "Warnings:", "Precedence:", "Partial r controlling"))
        ]
        if hints:
            lines.append(f"{src.title} [{src.n}]: " + " ".join(hints))
    return "\n".join(lines)


NO_ANSWER = "I found nothing in the indexed sources that answers this. Try naming a table, series or KPI."
NO_EVIDENCE = (
    "No evidence in the lake: none of the indexed sources (tables, series, findings, KPIs, forecasts, anomalies, "
    "reports, documents) is about this question, so there is nothing to answer from."
)
COMPOSED_KINDS = ("finding", "forecast", "kpi", "anomaly", "alert")


# ------------------------------------------------------------------------------- composed answers
def _n(value: Any) -> str:
    """Numbers written exactly as the indexed documents write them (so every number can be checked)."""
    from jobs.index.documents import _fmt

    return _fmt(value)


def _lead(a: str, b: str, lag: int) -> str:
    if lag > 0:
        return f"{a} leads {b} by {lag} step(s)"
    if lag < 0:
        return f"{b} leads {a} by {-lag} step(s)"
    return "no lead or lag (same period)"


def compose_finding(f: dict[str, Any]) -> str:
    lag = int(f.get("lag") or 0)
    status = "significant" if f.get("significant") else "not significant"
    text = (
        f"{f['a']} and {f['b']} move together with adjusted r = {_n(f.get('r'))} (raw r = {_n(f.get('r_raw'))}, "
        f"95% CI {_n(f.get('ci_low'))} to {_n(f.get('ci_high'))}) at lag {lag}: {_lead(f['a'], f['b'], lag)}; "
        f"q = {_n(f.get('q'))}, p = {_n(f.get('p'))}, n = {_n(f.get('n'))}, effective n = {_n(f.get('n_eff'))}; "
        f"{status} in run {f.get('run_id')} ({f.get('change') or 'n/a'} vs the previous run)."
    )
    warnings = [w for w in (f.get("warnings") or []) if w]
    if warnings:
        text += " Warnings: " + "; ".join(warnings) + "."
    if f.get("third_series"):
        text += f" {f['third_series']} moves with both (partial r controlling for it = {_n(f.get('partial_r_third'))})."
    return text


def compose_forecast(rows: list[dict[str, Any]]) -> str:
    first, last = rows[0], rows[-1]
    text = (
        f"The {first['model']} forecast of {first['series_id']} made from {first['origin']} puts {first['ts']} at "
        f"{_n(first.get('mean'))} (80% interval {_n(first.get('lo80'))} to {_n(first.get('hi80'))})"
    )
    if last is not first:
        text += (
            f" and {last['ts']} at {_n(last.get('mean'))} (80% interval {_n(last.get('lo80'))} to "
            f"{_n(last.get('hi80'))}; 95% interval {_n(last.get('lo95'))} to {_n(last.get('hi95'))})"
        )
    return text + f", {len(rows)} steps in all."


def compose_kpi(rows: list[dict[str, Any]]) -> str:
    metric = rows[0]["metric"]
    parts = []
    for period in ("week", "month", "quarter"):
        latest = sorted((r for r in rows if r["period"] == period), key=lambda r: r["period_start"])[-1:]
        for r in latest:
            parts.append(
                f"the {period} starting {r['period_start']} {_n(r.get('value'))} (previous {period} "
                f"{_n(r.get('previous_value'))}, change {_n(r.get('previous_change_pct'))}%; a year ago "
                f"{_n(r.get('year_ago_value'))}, change {_n(r.get('year_ago_change_pct'))}%)"
            )
    return f"KPI {metric} across all platforms and countries: " + "; ".join(parts) + "."


def compose_anomalies(rows: list[dict[str, Any]]) -> str:
    top = sorted(rows, key=lambda r: -abs(r.get("score") or 0.0))[:3]
    items = [
        f"{r['ts']} {r['kind']} {r['direction']}, value {_n(r.get('value'))} vs expected {_n(r.get('expected'))} "
        f"(robust score {_n(r.get('score'))})"
        for r in top
    ]
    return f"{len(rows)} anomalies were detected in {rows[0]['series_id']}; the strongest: " + "; ".join(items) + "."


def compose_alert(r: dict[str, Any]) -> str:
    return (
        f"Alert {r['alert_id']}: {r['source_series']} had an anomaly on {r['source_ts']} and {r['target_series']} "
        f"followed on {r['target_ts']} ({r['lag_days']} days later; typical lag {_n(r.get('expected_lag_days'))}, "
        f"residual correlation {_n(r.get('correlation'))})."
    )


COMPOSERS: dict[str, Any] = {
    "finding": compose_finding,
    "forecast": compose_forecast,
    "kpi": compose_kpi,
    "anomaly": compose_anomalies,
    "alert": compose_alert,
}


def relevance(question: str, src: Source) -> float:
    """How much of the question a source is about: shared terms, identifiers (series ids, metrics) x3."""
    q = set(tokens(question))
    have = set(tokens(src.title + " " + src.text))
    return sum(3.0 if ("." in t or "_" in t) else 1.0 for t in q & have)


def composed_answer(
    question: str,
    sources: list[Source],
    records: dict[int, Any],
    *,
    max_sources: int = 3,
    lead_findings: int = 0,
) -> str:
    """Sentences written from the structured records (findings, forecasts, KPIs, anomalies, alerts) behind
    the most relevant sources, each with its citation; other kinds (tables, series, documents) are quoted.

    ``records[n]`` is source ``n``'s record (a dict, or a list of rows) read from the lake at the cited
    version; a source without one is quoted like any document."""
    if not sources:
        return ""
    scores = {s.n: relevance(question, s) for s in sources}
    best = max(scores.values())
    keep = [s for s in sources if best == 0 or scores[s.n] >= 0.5 * best][:max_sources]
    leads = [s for s in sources if s.kind == "finding" and s.finding_id][:lead_findings]
    keep += [s for s in leads if s not in keep]
    parts = []
    for src in sorted(keep, key=lambda s: s.n):
        record = records.get(src.n)
        composer = COMPOSERS.get(src.kind)
        if composer is not None and record:
            parts.append(f"{composer(record)} [{src.n}]")
        else:
            quoted = extractive_answer(question, [src], max_sentences=4)
            if quoted:
                parts.append(quoted)
    return "\n".join(parts) if parts else extractive_answer(question, sources)


__all__ = [
    "COMPOSED_KINDS",
    "NO_ANSWER",
    "NO_EVIDENCE",
    "Answer",
    "Source",
    "caveat_for",
    "composed_answer",
    "extractive_answer",
    "relevance",
    "tokens",
]
