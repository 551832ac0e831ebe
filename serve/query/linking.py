"""Linking question words to the data: a vocabulary per table built from the registry and the data profile.

Every phrase a question may use for a table - its subject nouns, measure names and synonyms, dimension
names, and the categorical values that occur in its columns (with aliases: country names and adjectives
for ISO codes, the distinctive pieces of values such as ``meta`` for ``meta_ads`` or ``north`` for
``plant-north``) - is normalised to a tuple of word stems and kept in a per-table phrase index. The
translator places each span of the question by looking it up there (exact, then fuzzy for typos).
Nothing here is specific to one question; all of it comes from the registry, the profile and the small
built-in tables below.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from lakehouse.registry import all_specs
from serve.query.semantic import SERIES_VALUES, Measure, SemanticLayer, acronyms

# ------------------------------------------------------------------------------------ built-in tables
# ISO 3166-1 alpha-2 -> names and adjectives people use (small, no dependency)
COUNTRIES: dict[str, tuple[str, ...]] = {
    "US": (
        "united states",
        "united states of america",
        "usa",
        "u s",
        "u s a",
        "america",
        "american",
        "americans",
        "the states",
        "us",
    ),
    "GB": ("united kingdom", "uk", "u k", "britain", "great britain", "british", "england", "english", "gb", "brits"),
    "DE": ("germany", "german", "germans", "deutschland", "de"),
    "FR": ("france", "french"),
    "ES": ("spain", "spanish", "espana"),
    "IT": ("italy", "italian"),
    "NL": ("netherlands", "dutch", "holland"),
    "CA": ("canada", "canadian"),
    "JP": ("japan", "japanese"),
    "CN": ("china", "chinese"),
    "IN": ("india", "indian"),
    "BR": ("brazil", "brazilian"),
    "AU": ("australia", "australian"),
    "MX": ("mexico", "mexican"),
    "SE": ("sweden", "swedish"),
    "CH": ("switzerland", "swiss"),
    "AT": ("austria", "austrian"),
    "BE": ("belgium", "belgian"),
    "PL": ("poland", "polish"),
    "IE": ("ireland", "irish"),
    "KR": ("south korea", "korea", "korean"),
    "NO": ("norway", "norwegian"),
    "DK": ("denmark", "danish"),
    "FI": ("finland", "finnish"),
    "PT": ("portugal", "portuguese"),
    "NZ": ("new zealand",),
}
COUNTRY_NAMES: dict[str, str] = {}
for _code, _names in COUNTRIES.items():
    for _n in _names:
        COUNTRY_NAMES.setdefault(_n, _code)
# abbreviations business users type, expanded before matching (generic, not per question)
ABBREVIATIONS: dict[str, str] = {
    "t-bill": "treasury bill",
    "t-bills": "treasury bills",
    "tbill": "treasury bill",
    "s&p": "s p",
    "sp500": "s p 500",
    "qty": "quantity",
    "rev": "revenue",
    "repos": "repositories",
    "repo": "repository",
    "avg": "average",
    "no.": "number",
    "#": "number",
    "hr": "hr",
    "yoy": "year over year",
    "mom": "month over month",
    "qoq": "quarter over quarter",
    "wow": "week over week",
    "ytd": "year to date",
}
# superlative/comparative adjectives that name a measure and a direction
ADJECTIVES: dict[str, tuple[tuple[str, ...], str]] = {
    "heaviest": (("weight",), "desc"),
    "lightest": (("weight",), "asc"),
    "tallest": (("height",), "desc"),
    "shortest": (("height", "runtime", "length", "duration"), "asc"),
    "fastest": (("speed",), "desc"),
    "slowest": (("speed", "response time"), "desc"),
    "hottest": (("max temperature", "temperature"), "desc"),
    "warmest": (("max temperature", "temperature"), "desc"),
    "coldest": (("min temperature", "temperature"), "asc"),
    "wettest": (("precipitation",), "desc"),
    "rainiest": (("precipitation",), "desc"),
    "driest": (("precipitation",), "asc"),
    "windiest": (("wind",), "desc"),
    "windier": (("wind",), "desc"),
    "longest": (("runtime", "length", "duration"), "desc"),
    "strongest": (("attack",), "desc"),
    "busiest": ((), "desc"),
    "quietest": ((), "asc"),
    "most popular": (("popularity",), "desc"),
    "least popular": (("popularity",), "asc"),
    "best rated": (("rating",), "desc"),
    "highest rated": (("rating",), "desc"),
    "worst rated": (("rating",), "asc"),
    "lowest rated": (("rating",), "asc"),
    "most expensive": (("budget", "price", "cost"), "desc"),
    "cheapest": (("price", "cost"), "asc"),
}
GRAIN_TERMS = frozenset(
    [
        "daily",
        "weekly",
        "monthly",
        "quarterly",
        "yearly",
        "annual",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "quarter",
        "quarters",
        "year",
        "years",
        "date",
        "time",
        "all",
    ]
)
FILLER_TERMS = frozenset(
    [
        "the",
        "of",
        "a",
        "an",
        "and",
        "or",
        "to",
        "in",
        "per",
        "by",
        "for",
        "all",
        "number",
        "total",
        "value",
        "is",
        "whose",
    ]
)
UNIT_PIECES = frozenset(
    ["usd", "pct", "kwh", "min", "ms", "mm", "kg", "m", "c", "h", "id", "count", "date", "day", "days", "time", "at"]
)
GENERIC_PIECES = frozenset(
    {
        "ads",
        "ad",
        "plant",
        "demo",
        "covary",
        "generation",
        "the",
        "of",
        "and",
        "inc",
        "ltd",
        "per",
        "for",
        "with",
        "from",
    }
)
TABLE_PRIORITY = {"silver": 0, "gold": 2}
# tables people never mean by a plain business question (bookkeeping, ground truth, run logs)
# ...and tables answered by the intents (anomalies, forecasts, findings) or pre-aggregated cubes whose rows
# overlap ('*' totals in gold.marketing_kpis; its KPIs are computed from the source table instead)
NOT_QUESTION_TARGETS = re.compile(
    r"(_runs|_audit|_alerts|crosswalk|marketing_kpis|gold\.anomalies|gold\.forecasts|correlation_findings|synth_truth|dq_results|backtests|user_documents|_records|entity_links|notion_page_numbers)$"
)


_KEEP_S = frozenset(["has", "was", "yes", "gas", "bus", "its", "his", "les", "des", "vs"])


def singular(word: str) -> str:
    if len(word) == 3 and word.endswith("s") and word not in _KEEP_S and word[1] not in "aeiou":
        return word[:-1]  # ads -> ad, eps -> ep
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def norm_words(text: str) -> tuple[str, ...]:
    """``text`` as a tuple of lower-case singular word stems (punctuation splits words)."""
    return tuple(singular(w) for w in re.findall(r"[a-z0-9]+", text.lower().replace("'s", "")))


@dataclass(frozen=True)
class Entry:
    """What a phrase means in one table: role (measure, dimension, value, table, adjective) and target."""

    role: str
    table: str
    target: Any  # Measure | column name | (column, value) | table name | (measure words, direction)
    strength: float = 1.0  # own name 1.0, synonym 0.9, piece/alias 0.8, description 0.7
    phrase: tuple[str, ...] = ()


@dataclass
class TableVocab:
    table: str
    phrases: dict[tuple[str, ...], list[Entry]] = field(default_factory=lambda: defaultdict(list))
    single_words: list[str] = field(default_factory=list)  # for fuzzy lookup
    label: str | None = None  # the entity's name column (pokemon name, movie title)
    entity: bool = False  # one row per entity (single non-time key)
    daily_keyed: bool = False  # the time column is part of the key (one row per day and breakdown)
    bags: list[tuple[frozenset[str], Any, tuple[str, ...]]] = field(default_factory=list)  # series: description words

    def add(self, phrase: tuple[str, ...], entry: Entry) -> None:
        if not phrase or len(phrase) > 7:
            return
        if entry.role in ("measure", "table", "dimension") and all(
            w in GRAIN_TERMS or w in FILLER_TERMS for w in phrase
        ):
            return  # 'daily', 'all', 'number of' never name a measure or a table on their own
        expanded = tuple(w for word in phrase for w in norm_words(ABBREVIATIONS.get(word, word)))
        if expanded != phrase and all(w.isalnum() for w in phrase):
            self.add(expanded, entry)  # questions are read with abbreviations expanded ('repo' -> 'repository')
        entry = Entry(entry.role, entry.table, entry.target, entry.strength, phrase)
        bucket = self.phrases[phrase]
        if not any(e.role == entry.role and e.target == entry.target for e in bucket):
            bucket.append(entry)


@dataclass
class Vocabulary:
    tables: dict[str, TableVocab]
    max_len: int = 7

    def lookup(self, table: str, phrase: tuple[str, ...]) -> list[Entry]:
        tv = self.tables.get(table)
        return list(tv.phrases.get(phrase, ())) if tv else []

    def fuzzy(self, table: str, word: str, cutoff: float = 88.0) -> list[Entry]:
        """Entries of a single word close to ``word`` (typos), only for words of 5+ letters."""
        tv = self.tables.get(table)
        if tv is None or len(word) < 5 or word.isdigit():
            return []
        found = process.extractOne(word, tv.single_words, scorer=fuzz.ratio, score_cutoff=cutoff)
        if not found:
            return []
        return [Entry(e.role, e.table, e.target, e.strength * 0.9, e.phrase) for e in tv.phrases[(found[0],)]]


def _value_pieces(values: list[str]) -> dict[str, list[str]]:
    """Distinctive single words of each value: a word that occurs in exactly one value of the column and
    is not generic ('meta' for meta_ads, 'north' for plant-north, 'pyflow' for covary-demo/pyflow)."""
    owners: dict[str, set[str]] = defaultdict(set)
    for v in values:
        for w in norm_words(v):
            owners[w].add(v)
    out: dict[str, list[str]] = defaultdict(list)
    for w, vs in owners.items():
        if len(vs) == 1 and w not in GENERIC_PIECES and not w.isdigit() and len(w) >= 3:
            out[next(iter(vs))].append(w)
    return out


def _desc_phrases(description: str) -> list[tuple[str, ...]]:
    """The first clause of a column description as phrases, when short ('Units produced', 'Booked revenue',
    'first response time' from 'Mean first-response time in hours')."""
    first = re.split(
        r"[,.;:(]| in usd| usd| in percent| 0-| in hours| in minutes| at | in kilograms| in metres",
        description.lower(),
        maxsplit=1,
    )[0]
    words = norm_words(first)
    out = []
    if 1 <= len(words) <= 5:
        out.append(words)
    trimmed = tuple(w for w in words if w not in ("mean", "average", "total", "number", "of", "new", "the"))
    if trimmed != words and 1 <= len(trimmed) <= 5:
        out.append(trimmed)
    return out


def _series_phrases(measure: Measure) -> set[tuple[str, ...]]:
    desc = re.sub(r"\(.*?\)", " ", measure.description)
    base = norm_words(desc)
    out = {base, norm_words(measure.description)}
    parts = measure.name.split(".")
    src = parts[0] if len(parts) > 1 else ""
    core = [p for p in parts[1:] if p not in ("daily", "weekly", "monthly", "quarterly", "all")]
    if core:
        out.add(norm_words(" ".join(core)))
        if src not in ("synth",):
            out.add(norm_words(core[0]))
    words = [w for w in base if w not in FILLER_TERMS and w not in ("day", "end", "quarter")]
    if words:
        out.add(tuple(words))
    # acronym variants of short descriptions: 'real gross domestic product' -> 'real gdp', 'cpi'
    if len(words) <= 5:
        for n in (3, 4):
            for i in range(len(words) - n + 1):
                acr = "".join(w[0] for w in words[i : i + n])
                out.add((*words[:i], acr, *words[i + n :]))
                out.add((acr,))
    for syn in measure.synonyms:
        if syn.lower() not in GRAIN_TERMS:
            out.add(norm_words(syn))
    core_metric = [p for p in parts[1:2] if p not in ("synth",)]
    if len(parts) > 2 and parts[0] == "synth":
        out.add(norm_words(parts[-1]))  # synth.finance.revenue -> revenue
    del core_metric
    if src:
        out |= {(src, *p) for p in list(out) if p}
    return {p for p in out if p and len(p) <= 7}


def build_vocabulary(layer: SemanticLayer) -> Vocabulary:
    specs = {s.name: s for s in all_specs()}
    tables: dict[str, TableVocab] = {}
    for name, info in layer.tables.items():
        spec = specs.get(name)
        if spec is None or NOT_QUESTION_TARGETS.search(name) or not info.rows:
            continue
        tv = TableVocab(name)
        tables[name] = tv
        keys = [k for k in spec.keys if k != info.time_column]
        tv.daily_keyed = bool(info.time_column and info.time_column in spec.keys)
        tv.entity = len(spec.keys) == 1 and not tv.daily_keyed
        cols = set(spec.column_names)
        tv.label = next((c for c in ("name", "title") if c in cols), keys[0] if tv.entity and keys else None)
        # subject nouns
        short = spec.short_name
        nouns = {short.replace("_", " "), *spec.synonyms}
        pieces = [p for p in short.split("_") if p not in ("synth", "silver", "gold")]
        if pieces and pieces[-1] not in GRAIN_TERMS:
            nouns.add(pieces[-1])
        if pieces:
            nouns.add(" ".join(p for p in pieces if p not in GRAIN_TERMS))
        for noun in nouns:
            tv.add(norm_words(noun), Entry("table", name, name, 1.0))
        # measures
        empty = layer.empty_columns.get(name, set())
        for m in layer.measures:
            if m.table != name:
                continue
            if m.kind == "count" or (m.kind == "column" and m.name in empty):
                continue  # a column without a single value answers nothing (Spotify audio features)
            if m.kind == "series":
                for p in _series_phrases(m):
                    tv.add(p, Entry("measure", name, m, 0.9))
                src = m.name.split(".", 1)[0]
                if src and src not in ("synth",):
                    tv.add((src,), Entry("source", name, src, 0.5))
                continue
            short_name = m.name.rsplit(".", 1)[-1]
            tv.add(norm_words(short_name), Entry("measure", name, m, 1.0))
            for syn in m.synonyms:
                tv.add(norm_words(syn), Entry("measure", name, m, 0.9 if m.kind != "kpi" else 0.95))
            if m.kind == "column":
                parts = short_name.split("_")
                unitless = [p for p in parts if p not in ("usd", "pct", "kwh", "min", "ms", "mm", "kg", "m", "c", "h")]
                if unitless and unitless != parts:
                    tv.add(norm_words(" ".join(unitless)), Entry("measure", name, m, 0.95))
                if len(parts) > 1 and parts[-1] == "count":
                    tv.add(norm_words(parts[0] + "s"), Entry("measure", name, m, 0.85))
                if len(parts) > 1 and parts[0] not in ("is", "has") and parts[-1] not in UNIT_PIECES:
                    tv.add((singular(parts[-1]),), Entry("measure", name, m, 0.75))
                for dp in _desc_phrases(m.description):
                    tv.add(dp, Entry("measure", name, m, 0.8))
        # dimensions and their values
        for dim in layer.dims_of(name):
            col = dim.column
            if col == "lineage" or (name == SERIES_VALUES and col == "series_id"):
                continue
            ctype = str(spec.column(col).type) if hasattr(spec, "column") else ""
            if ctype == "bool":
                phrase = norm_words(col.removeprefix("is_").removeprefix("has_"))
                tv.add(phrase, Entry("flag", name, col, 1.0))
                continue
            names = {col.replace("_", " "), *dim.synonyms}
            parts = col.split("_")
            if col.endswith("_id"):
                names.add(col[:-3].replace("_", " "))
            if len(parts) > 1 and parts[0] in ("primary", "main"):
                names.add(" ".join(parts[1:]))
            if len(parts) > 1 and parts[-1] in ("code", "login", "name"):
                names.add(" ".join(parts[:-1]))
            for n in names:
                tv.add(norm_words(n), Entry("dimension", name, col, 1.0 if n == col.replace("_", " ") else 0.9))
            values = list(dim.values)
            rows = layer.tables[name].rows or 0
            unique = rows > 1 and len(values) >= rows
            if not values or len(values) > 200 or unique or (rows >= 5 and len(values) > 0.5 * rows):
                continue  # identifiers and titles (nearly one value per row) are not categories
            pieces_of = _value_pieces(values)
            is_country = "country" in col or "iso 3166" in dim.description.lower()
            for v in values:
                tv.add(norm_words(v), Entry("value", name, (col, v), 1.0))
                for piece in pieces_of.get(v, []):
                    tv.add((piece,), Entry("value", name, (col, v), 0.8))
                    rest = [w for w in norm_words(v) if w != piece]
                    if rest:  # "north plant" for plant-north
                        tv.add((piece, *rest), Entry("value", name, (col, v), 0.9))
                # a country column, or an ISO code among other values (a region column: Northeast ... GB, DE)
                if is_country or (len(v) == 2 and v.isupper() and v in COUNTRIES):
                    code = v.upper() if len(v) == 2 else COUNTRY_NAMES.get(v.lower())
                    for alias in COUNTRIES.get(code or "", ()):
                        tv.add(norm_words(alias), Entry("value", name, (col, v), 0.9))
        tv.single_words = sorted({p[0] for p in tv.phrases if len(p) == 1 and len(p[0]) >= 5})
        if name == SERIES_VALUES:
            for m in layer.measures:
                if m.table == name and m.kind == "series":
                    bag = set(norm_words(re.sub(r"\(.*?\)", " ", m.description))) - FILLER_TERMS
                    order = tuple(
                        w for w in norm_words(re.sub(r"\(.*?\)", " ", m.description)) if w not in FILLER_TERMS
                    )
                    tv.bags.append((frozenset(bag), m, order))
    return Vocabulary(tables)


_CACHE: dict[int, tuple[SemanticLayer, Vocabulary]] = {}


def vocabulary(layer: SemanticLayer) -> Vocabulary:
    """The vocabulary of ``layer`` (built once per layer object)."""
    hit = _CACHE.get(id(layer))
    if hit is not None and hit[0] is layer:
        return hit[1]
    vocab = build_vocabulary(layer)
    if len(_CACHE) > 8:
        _CACHE.clear()
    _CACHE[id(layer)] = (layer, vocab)
    return vocab


__all__ = [
    "ABBREVIATIONS",
    "ADJECTIVES",
    "COUNTRIES",
    "Entry",
    "TableVocab",
    "Vocabulary",
    "acronyms",
    "build_vocabulary",
    "norm_words",
    "singular",
    "vocabulary",
]
