"""Field comparisons of candidate pairs into discrete agreement levels (rapidfuzz + sentence embeddings)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import distance, fuzz, process

from jobs.reconcile.features import Features

log = logging.getLogger(__name__)

NULL = -1
WORKERS = 1


@dataclass(frozen=True)
class Comparison:
    """One comparison: its name, level labels (index = level) and how it was computed."""

    name: str
    levels: tuple[str, ...]
    method: str


CUSTOMER_COMPARISONS = (
    Comparison(
        "name",
        ("different", "similar (first JW>=0.8 or initial, last JW>=0.85)", "close (first and last JW>=0.92)", "exact"),
        "Jaro-Winkler on first and last name",
    ),
    Comparison("email", ("different", "typo (Levenshtein sim>=0.9)", "exact"), "Levenshtein"),
    Comparison("phone", ("different", "same last 7 digits", "exact"), "digits"),
    Comparison("address", ("different", "same number or similar street", "same number and street"), "token set"),
    Comparison("postcode", ("different", "exact"), "exact"),
    Comparison("city", ("different", "exact"), "exact"),
    Comparison("birth_date", ("different", "same date (day/month order-insensitive)"), "exact"),
    Comparison("company", ("different", "similar (JW>=0.9)", "exact without legal suffix"), "Jaro-Winkler"),
)
PRODUCT_COMPARISONS = (
    Comparison("sku", ("different", "same digits", "exact"), "normalised SKU"),
    Comparison("title", ("different", "token set>=70", "token set>=85", "token set>=95"), "token set ratio"),
    Comparison("title_semantic", ("different", "cosine>=0.70", "cosine>=0.85"), "all-MiniLM-L6-v2 cosine"),
    Comparison("brand", ("different", "exact without legal suffix"), "exact"),
    Comparison("size", ("different", "same within 3% after unit conversion"), "unit conversion"),
    Comparison("price", ("different", "within 10%", "within 0.5%"), "relative difference"),
    Comparison("category", ("different", "exact"), "exact"),
)


def comparisons_for(entity_type: str) -> tuple[Comparison, ...]:
    return CUSTOMER_COMPARISONS if entity_type == "customers" else PRODUCT_COMPARISONS


@dataclass
class Embedder:
    """Sentence embeddings of free-form text (all-MiniLM-L6-v2, bundled, offline), cached per text.

    ``max_texts`` bounds the texts embedded per run (CPU cost); pairs whose texts were not embedded
    get a null (neutral) semantic comparison.
    """

    max_texts: int = 4000
    batch_size: int = 128
    cache: dict[str, np.ndarray] = field(default_factory=dict)
    _model: Any = None
    embedded: int = 0

    def model(self) -> Any:
        if self._model is None:
            from covary.embedding import load_embedder

            self._model = load_embedder()
        return self._model

    def encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache][: max(0, self.max_texts - self.embedded)]
        if todo:
            vectors = self.model().encode(todo, batch_size=self.batch_size, normalize_embeddings=True)
            self.cache.update(zip(todo, np.asarray(vectors, dtype=np.float32), strict=True))
            self.embedded += len(todo)
        return self.cache


def _pairwise(a: np.ndarray, b: np.ndarray, scorer: Any) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(process.cpdist(list(a), list(b), scorer=scorer, workers=WORKERS), dtype=np.float64)


def _levels(null: np.ndarray, *conditions: np.ndarray) -> np.ndarray:
    """Level = number of satisfied (nested) conditions; NULL where either side is missing."""
    out = np.zeros(len(null), dtype=np.int8)
    for cond in conditions:
        out += cond.astype(np.int8)
    out[null] = NULL
    return out


def compare(f: Features, i: np.ndarray, j: np.ndarray, *, embedder: Embedder | None = None) -> np.ndarray:
    """Agreement levels, shape ``(pairs, comparisons)``, ``-1`` where a value is missing."""
    c = f.cols
    if f.entity_type == "customers":
        return np.column_stack(_compare_customers(c, i, j)) if len(i) else np.zeros((0, 8), np.int8)
    return np.column_stack(_compare_products(c, i, j, embedder)) if len(i) else np.zeros((0, 7), np.int8)


def _empty(x: np.ndarray) -> np.ndarray:
    return x == ""


def _compare_customers(c: dict[str, np.ndarray], i: np.ndarray, j: np.ndarray) -> list[np.ndarray]:
    out = []
    a, b = c["name"][i], c["name"][j]
    fa, fb, la, lb = c["first"][i], c["first"][j], c["last"][i], c["last"][j]
    first_jw = _pairwise(fa, fb, distance.JaroWinkler.normalized_similarity)
    last_jw = _pairwise(la, lb, distance.JaroWinkler.normalized_similarity)
    initial = np.array(
        [(len(x) == 1 or len(y) == 1) and x[:1] == y[:1] for x, y in zip(fa, fb, strict=True)], dtype=bool
    )
    similar = ((first_jw >= 0.8) | initial) & (last_jw >= 0.85)
    close = (first_jw >= 0.92) & (last_jw >= 0.92)
    out.append(_levels(_empty(a) | _empty(b), similar | close, close, a == b))
    a, b = c["email"][i], c["email"][j]
    lev = _pairwise(a, b, distance.Levenshtein.normalized_similarity)
    out.append(_levels(_empty(a) | _empty(b), lev >= 0.9, a == b))
    a, b = c["phone"][i], c["phone"][j]
    last7 = np.array([x[-7:] == y[-7:] for x, y in zip(a, b, strict=True)], dtype=bool)
    out.append(_levels(_empty(a) | _empty(b), last7, a == b))
    ha, hb, sa, sb = c["house"][i], c["house"][j], c["street"][i], c["street"][j]
    street = _pairwise(sa, sb, fuzz.token_set_ratio) / 100.0
    same_house = (ha == hb) & ~_empty(ha)
    null = (_empty(ha) & _empty(sa)) | (_empty(hb) & _empty(sb))
    out.append(_levels(null, same_house | (street >= 0.85), same_house & (street >= 0.85)))
    for name in ("postcode", "city", "dob"):
        a, b = c[name][i], c[name][j]
        out.append(_levels(_empty(a) | _empty(b), a == b))
    a, b = c["company"][i], c["company"][j]
    cjw = _pairwise(a, b, distance.JaroWinkler.normalized_similarity)
    out.append(_levels(_empty(a) | _empty(b), cjw >= 0.9, a == b))
    return out


def _compare_products(
    c: dict[str, np.ndarray], i: np.ndarray, j: np.ndarray, embedder: Embedder | None
) -> list[np.ndarray]:
    out = []
    a, b = c["sku"][i], c["sku"][j]
    digits_a = np.array(["".join(ch for ch in s if ch.isdigit()) for s in a], dtype=object)
    digits_b = np.array(["".join(ch for ch in s if ch.isdigit()) for s in b], dtype=object)
    out.append(_levels(_empty(a) | _empty(b), (digits_a == digits_b) & ~_empty(digits_a), a == b))
    ta, tb = c["title"][i], c["title"][j]
    ts = _pairwise(ta, tb, fuzz.token_set_ratio)
    null_title = _empty(ta) | _empty(tb)
    out.append(_levels(null_title, ts >= 70, ts >= 85, ts >= 95))
    semantic = np.full(len(i), NULL, dtype=np.int8)
    if embedder is not None and embedder.max_texts > 0:
        # Embeddings where token overlap is inconclusive: reordered, abbreviated or re-phrased titles.
        ambiguous = np.flatnonzero(~null_title & (ts >= 60) & (ts < 95))
        if len(ambiguous):
            cache = embedder.encode([*ta[ambiguous], *tb[ambiguous]])
            for k in ambiguous:
                va, vb = cache.get(ta[k]), cache.get(tb[k])
                if va is not None and vb is not None:
                    cos = float(va @ vb)
                    semantic[k] = 2 if cos >= 0.85 else (1 if cos >= 0.70 else 0)
    out.append(semantic)
    a, b = c["brand"][i], c["brand"][j]
    out.append(_levels(_empty(a) | _empty(b), a == b))
    va, vb = c["size_value"][i], c["size_value"][j]
    ua, ub = c["size_unit"][i], c["size_unit"][j]
    null = np.isnan(va) | np.isnan(vb)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(va - vb) / np.maximum(np.abs(va), np.abs(vb))
        out.append(_levels(null, (ua == ub) & (rel <= 0.03)))
        pa_, pb_ = c["price"][i], c["price"][j]
        prel = np.abs(pa_ - pb_) / np.maximum(np.abs(pa_), np.abs(pb_))
        out.append(_levels(np.isnan(pa_) | np.isnan(pb_), prel <= 0.10, prel <= 0.005))
    a, b = c["category"][i], c["category"][j]
    out.append(_levels(_empty(a) | _empty(b), a == b))
    return out


__all__ = [
    "CUSTOMER_COMPARISONS",
    "NULL",
    "PRODUCT_COMPARISONS",
    "Comparison",
    "Embedder",
    "compare",
    "comparisons_for",
]
