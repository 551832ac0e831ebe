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

__all__ = ["NO_ANSWER", "Answer", "Source", "caveat_for", "extractive_answer", "tokens"]
