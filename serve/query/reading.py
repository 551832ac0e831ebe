"""Stage 2 of the translator: one table's placement of the question's words (:class:`Reading`) from
that table's profile-built vocabulary, and the ranking that picks the table placing the most."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from serve.query.linking import (
    ADJECTIVES,
    Entry,
    Vocabulary,
    norm_words,
    singular,
)
from serve.query.semantic import DETAIL_OF, SERIES_VALUES, Measure, SemanticLayer
from serve.query.vocab import (
    _ASC,
    _DESC,
    FILLERS,
    GROUP_CUES,
    STRUCTURAL,
)
from serve.query.words import _contiguous, _generic


@dataclass
class Placed:
    first: int
    last: int
    role: str
    entry: Entry | None = None
    value: Any = None
    alts: list[Entry] = field(default_factory=list)


@dataclass
class Reading:
    """One table's placement of the question's words."""

    table: str
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[int] = field(default_factory=list)
    strength: float = 0.0
    has_measure: bool = False
    misfit: int = 0  # periods the table cannot answer (no time column, or outside its range)
    ambiguous: list[str] = field(default_factory=list)  # series the words fit equally well
    cue_subjects: int = 0  # words after 'by'/'per' read as the table's subject (a dimension elsewhere fits better)

    def by_role(self, role: str) -> list[Placed]:
        return [p for p in self.placed if p.role == role]


class ReadingStage:
    """Reading the question against each table's vocabulary (mixed into the translator)."""

    layer: SemanticLayer
    vocab: Vocabulary
    default_limit: int
    _multi: bool
    _readings: list[Reading]

    _STRONG = frozenset(
        [
            "why",
            "forecast",
            "forecasts",
            "predict",
            "prediction",
            "monitor",
            "affect",
            "affects",
            "impact",
            "impacts",
            "correlate",
            "correlation",
            "correlated",
            "anomaly",
            "anomalies",
            "outlier",
            "outliers",
        ]
    )

    def _is_vocab_word(self, word: str) -> bool:
        """Intent words that are also data words stay data words (strong intent words never do)."""
        if word in self._STRONG:
            return False
        stem = singular(word)
        return any((stem,) in tv.phrases for tv in self.vocab.tables.values())

    # --------------------------------------------------------------------------- reading
    def _read(self, table: str, words: list[str], orig: list[str], taken: dict[int, tuple[str, Any]]) -> Reading:
        tv = self.vocab.tables[table]
        stems = [singular(w) for w in words]
        r = Reading(table)
        i = 0
        n = len(words)
        while i < n:
            if i in taken:
                i += 1
                continue
            hit = None
            for length in range(min(7, n - i), 0, -1):
                span = list(range(i, i + length))
                if any(j in taken for j in span):
                    continue
                phrase = tuple(stems[i : i + length])
                entries = tv.phrases.get(phrase)
                if entries:
                    entries = [e for e in entries if self._case_ok(e, orig[i : i + length], phrase)]
                subject_only = entries and length > 1 and all(e.role == "table" for e in entries)
                if subject_only and any(e.role == "measure" for w in phrase for e in tv.phrases.get((w,), [])):
                    entries = None  # a subject phrase made of measure names ('budget vs actual'): word by word
                if entries:
                    hit = (length, entries)
                    break
                adj = " ".join(words[i : i + length])
                if adj in ADJECTIVES:
                    hit = (length, [Entry("adjective", table, ADJECTIVES[adj], 1.0, phrase)])
                    break
            if hit is None and words[i] not in FILLERS and words[i] not in _DESC | _ASC:
                fz = tv.phrases and self.vocab.fuzzy(table, stems[i])
                if fz:
                    hit = (1, fz)
            if hit is None:
                i += 1
                continue
            length, entries = hit
            cue = i > 0 and words[i - 1] in GROUP_CUES
            entry = self._choose(entries, prefer_dimension=cue)
            entry = _exact_spelling(entry, entries, words[i]) if length == 1 else entry
            placed = Placed(i, i + length - 1, entry.role, entry, entry.target)
            if cue and entry.role == "table":
                r.cue_subjects += 1
            placed.alts = entries
            r.placed.append(placed)
            content = sum(1 for j in range(i, i + length) if not _generic(words[j], words, j))
            r.strength += entry.strength * max(content, 0.5 if entry.role != "source" else 0.0)
            if entry.role == "measure":
                r.has_measure = True
            elif entry.role == "adjective" and self._adjective_measure(table, entry):
                r.has_measure = True
                r.strength += 0.5
            i += length
        covered = {j for p in r.placed for j in range(p.first, p.last + 1)}
        if tv.bags:
            self._bag_match(tv, words, stems, taken, covered, r)
            r.placed.sort(key=lambda p: p.first)
            r.strength = 0.0
            for p in r.placed:
                content = sum(1 for j in range(p.first, p.last + 1) if not _generic(words[j], words, j))
                weight = p.entry.strength if p.entry else 0.7
                r.strength += weight * max(content, 0.5 if p.role != "source" else 0.0)
        for j, w in enumerate(words):
            if j in taken or j in covered:
                continue
            if not _generic(w, words, j):
                r.unplaced.append(j)
        return r

    def _bag_match(
        self, tv: Any, words: list[str], stems: list[str], taken: dict, covered: set[int], r: Reading
    ) -> None:
        """Series named by words of their description in any order ('real investment' for 'Real gross
        private domestic investment'): the most specific series containing every word of a run."""
        runs: list[list[int]] = []
        measure_tokens = {j for p in r.placed if p.role == "measure" for j in range(p.first, p.last + 1)}
        last = -2
        for j, w in enumerate(words):
            free = j not in taken and (j not in covered or j in measure_tokens) and w not in FILLERS
            free = free and w not in STRUCTURAL
            if free and not _generic(w, words, j):
                joined = last == j - 2 and words[j - 1] in ("in", "of", "for", "at")  # "precipitation in Seattle"
                if runs and (last == j - 1 or joined):
                    runs[-1].append(j)
                else:
                    runs.append([j])
                last = j
        for run in runs:
            if all(j in measure_tokens for j in run):
                continue
            if measure_tokens and not any(j in measure_tokens for j in run) and not self._multi:
                continue  # a measure is already named; other words are not a second series
            want = {stems[j] for j in run}
            run_words = tuple(stems[j] for j in run)
            fits = [
                (-_contiguous(run_words, order), len(bag), len(m.description), m.name, m, bag)
                for bag, m, order in tv.bags
                if want <= bag
            ]
            if not fits:
                continue
            fits.sort(key=lambda x: x[:4])
            if len(fits) > 1 and fits[0][:2] == fits[1][:2] and fits[0][5] != fits[1][5]:
                tied = [f for f in fits if f[:2] == fits[0][:2]]
                named = [_id_overlap(f[3], run_words) for f in tied]
                if named.count(max(named)) == 1:  # the series id abbreviates the words ('realinv')
                    fits = [tied[named.index(max(named))]]
                else:
                    # ambiguous: they differ by words the question does not say (album / single / EP)
                    r.ambiguous = [f[3] for f in tied][:6]
                    continue
            m = fits[0][4]
            r.placed = [p for p in r.placed if not (p.role == "measure" and p.first >= run[0] and p.last <= run[-1])]
            span = list(range(run[0], run[-1] + 1))
            entry = Entry("measure", tv.table, m, 0.7, tuple(stems[j] for j in span))
            placed = Placed(run[0], run[-1], "measure", entry, m)
            r.placed.append(placed)
            r.strength += 0.7 * sum(1 for j in run if words[j] not in STRUCTURAL)
            r.has_measure = True
            covered.update(run)

    @staticmethod
    def _case_ok(entry: Entry, orig: list[str], phrase: tuple[str, ...]) -> bool:
        """Two-letter values/aliases ('US', 'DE', 'GB') must be written in capitals, so 'us' stays a pronoun."""
        if entry.role == "value" and len(phrase) == 1 and len(phrase[0]) <= 2:
            return orig[0].isupper()
        return True

    def _adjective_measure(self, table: str, entry: Entry) -> Entry | None:
        for w in entry.target[0]:
            hits = [e for e in self.vocab.tables[table].phrases.get(norm_words(w), []) if e.role == "measure"]
            if hits:
                return self._choose(hits)
        return None

    @staticmethod
    def _choose(entries: list[Entry], prefer_dimension: bool = False) -> Entry:
        order = {"value": 0, "measure": 1, "flag": 2, "dimension": 3, "table": 4, "adjective": 5, "source": 6}
        if prefer_dimension and any(e.role == "dimension" for e in entries):
            entries = [e for e in entries if e.role == "dimension"]
        elif any(e.role == "measure" and e.strength >= 0.75 for e in entries):
            entries = [e for e in entries if e.role != "table"]  # 'precipitation' the measure, not the table

        def key(e: Entry) -> tuple:
            m = e.target if e.role == "measure" else None
            kind_rank = 0 if isinstance(m, Measure) and m.kind == "kpi" else 1
            return (-e.strength, order.get(e.role, 9), kind_rank)

        return sorted(entries, key=key)[0]

    def _rank(self, r: Reading) -> tuple:
        has_subject = any(p.role in ("table", "value", "flag") for p in r.placed)
        kpis = sum(1 for p in r.placed if p.role == "measure" and getattr(p.value, "kind", "") == "kpi")
        layer = r.table.split(".", 1)[0]
        return (
            len(r.unplaced) + r.misfit,
            not (r.has_measure or has_subject),
            -round(r.strength, 3),
            r.cue_subjects,
            not r.has_measure,
            -kpis,
            {"silver": 0, "gold": 2}.get(layer, 3) - (1 if r.table == SERIES_VALUES else 0),
            r.table in DETAIL_OF,  # the same words placed: the aggregate answers (same numbers, fewer rows)
            r.table,
        )

    @staticmethod
    def _source_series(tv: Any, placed: Placed, words: list[str], source: str) -> Measure | None:
        """The series of ``source`` whose description reads the placed words in order ('beta unemployment
        rate' -> beta's 'Seasonally adjusted unemployment rate'); the most specific (shortest) one."""
        run = tuple(
            singular(words[j]) for j in range(placed.first, placed.last + 1) if not _generic(words[j], words, j)
        )
        if not run:
            return None
        fits = [
            (len(bag), m.name, m)
            for bag, m, order in tv.bags
            if m.name.startswith(source + ".") and _contiguous(run, order) == len(run)
        ]
        return min(fits, key=lambda f: f[:2])[2] if fits else None


def _exact_spelling(chosen: Entry, entries: list[Entry], word: str) -> Entry:
    """A measure spelled exactly as the question writes the word beats one reached by singularising: the
    uncountable 'conversion' is the conversion-rate KPI's declared name, 'conversions' the count's."""
    if chosen.role != "measure" or not isinstance(chosen.target, Measure) or word in chosen.target.names:
        return chosen
    exact = [
        e
        for e in entries
        if e.role == "measure" and isinstance(e.target, Measure) and word in e.target.names and e.strength >= 0.9
    ]
    return exact[0] if len(exact) == 1 else chosen


def _id_overlap(name: str, words: tuple[str, ...]) -> int:
    """How many of ``words`` the series id spells or abbreviates (first 3+ letters): 'realinv' has 'real'
    and 'inv'(estment), 'realgovt' only 'real'."""
    ident = re.sub(r"[^a-z0-9]", "", name.split(".", 1)[-1].lower())
    return sum(1 for w in words if len(w) >= 3 and w[:3] in ident)
