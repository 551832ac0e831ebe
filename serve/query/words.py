"""Stage 1 of the translator: refuse what is not a question (empty, too long, SQL, injection, foreign),
split the question into words, and tell the words that need no data link (fillers, shape words)."""

from __future__ import annotations

import re

from serve.query.linking import (
    ABBREVIATIONS,
    ADJECTIVES,
    singular,
)
from serve.query.plan import (
    PlanError,
)
from serve.query.vocab import (
    _ASC,
    _DESC,
    _FOREIGN,
    _INJECTION_RE,
    _SQL_RE,
    FILLERS,
    GRAIN_WORDS,
    MAX_CHARS,
    STRUCTURAL,
    UNIT_WORDS,
)

_TOKEN_RE = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:[&'’][A-Za-z]+)?")


def _words(question: str) -> tuple[list[str], list[str]]:
    """(lower-case words, original words); abbreviations expanded, possessives dropped."""
    text = question
    for abbr, full in ABBREVIATIONS.items():
        if not abbr.isalnum():
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(abbr)}(?![A-Za-z0-9])", f" {full} ", text, flags=re.IGNORECASE)
    lower: list[str] = []
    orig: list[str] = []
    for raw in _TOKEN_RE.findall(text):
        token = raw.replace("’", "'")
        low = token.lower()
        if low.endswith("'s"):
            low, token = low[:-2], token[:-2]
        expansion = ABBREVIATIONS.get(low)
        if expansion and expansion != low:
            for part in expansion.split():
                lower.append(part)
                orig.append(part)
        else:
            lower.append(low)
            orig.append(token)
    return lower, orig


def check_question(question: str) -> None:
    """Refuse input that is not a question about the data: empty, too long, SQL, prompt injection, foreign."""
    text = (question or "").strip()
    if not text:
        raise PlanError("the question is empty", hint="ask about a measure, e.g. 'spend by platform in 2024'")
    if len(text) > MAX_CHARS:
        raise PlanError(
            f"the question is {len(text)} characters long; questions are at most {MAX_CHARS}",
            hint="ask one short question at a time",
        )
    if _SQL_RE.search(text):
        raise PlanError(
            "this looks like SQL, not a question; /v1/query does not run SQL",
            hint="analysts can send SQL to /v1/sql (or `covary sql`); viewers ask in plain words",
        )
    if _INJECTION_RE.search(text):
        raise PlanError(
            "the question contains instructions to the system, not a question about the data",
            hint="ask about a measure in the lake; nothing was run",
        )
    words = re.findall(r"[^\W\d_]+", text.lower())
    foreign = sum(1 for w in words if w in _FOREIGN)
    non_ascii = sum(1 for ch in text if ord(ch) > 127 and ch.isalpha())
    if words and (foreign >= 2 or foreign / len(words) > 0.25 or non_ascii > max(3, len(text) // 8) or "¿" in text):
        raise PlanError(
            "the question is not in English: covary understands one language, English",
            hint="ask in English, e.g. 'support tickets by channel in 2024'",
        )


def _contiguous(run: tuple[str, ...], order: tuple[str, ...]) -> int:
    """Length of the longest stretch of ``run`` that appears in ``order`` in the same sequence."""
    best = 0
    for i in range(len(run)):
        for j in range(len(order)):
            k = 0
            while i + k < len(run) and j + k < len(order) and run[i + k] == order[j + k]:
                k += 1
            best = max(best, k)
    return best


def _generic(word: str, words: list[str], i: int) -> bool:
    """Words that need no data link: fillers, structure, shapes, numbers used by rankings."""
    if word in FILLERS or word in STRUCTURAL or word in _DESC or word in _ASC:
        return True
    if word in GRAIN_WORDS or singular(word) in UNIT_WORDS:
        return True
    if word in (
        "top",
        "bottom",
        "share",
        "proportion",
        "percentage",
        "percent",
        "running",
        "cumulative",
        "cumulated",
        "median",
        "trend",
        "trends",
        "evolution",
        "history",
        "timeline",
        "vs",
        "versus",
        "compare",
        "compared",
        "excluding",
        "except",
        "not",
        "without",
        "non",
        "exclude",
        "over",
        "previous",
        "change",
        "growth",
        "difference",
        "changes",
    ):
        return True
    if word.isdigit() and len(word) <= 3:
        return True
    return word in ADJECTIVES
