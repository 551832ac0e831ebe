"""Suggest how an uploaded table's columns map onto a target entity schema, with a confidence per column."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from connectors.mapping.errors import MappingFileError, UnmappedRequiredError
from connectors.mapping.profile import GENERIC_KINDS, ColumnProfile, normalise_header, profile
from connectors.mapping.schema import TargetSchema

log = logging.getLogger(__name__)

ABBREVIATIONS = {
    "fname": "first name", "lname": "last name", "tel": "telephone", "ph": "phone", "addr": "address",
    "desc": "description", "cat": "category", "dt": "date", "no": "number", "nr": "number", "num": "number",
    "cust": "customer", "prod": "product", "amt": "amount", "qty": "quantity", "mob": "mobile", "org": "organisation",
    "co": "company", "zipcode": "zip code", "postleitzahl": "plz", "str": "street", "eml": "email",
    "mfr": "manufacturer", "brnd": "brand", "ttl": "title", "prc": "price", "sz": "size", "ctry": "country",
    "cty": "city", "bdate": "birth date", "birthdate": "birth date", "emailaddress": "email address",
}  # fmt: skip
MIN_SCORE = 0.42
"""Below this combined score a column is left unmapped (reported, never guessed)."""


@dataclass
class ColumnMapping:
    source_column: str
    target: str | None
    confidence: float
    method: str = "suggested"
    """suggested | llm | saved | edited"""
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    reason: str = ""


@dataclass
class MappingSuggestion:
    entity: str
    columns: list[ColumnMapping]
    unmapped_required: list[str]
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def mapping(self) -> dict[str, str | None]:
        return {c.source_column: c.target for c in self.columns}

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "columns": [asdict(c) for c in self.columns],
            "unmapped_required": self.unmapped_required,
        }

    def to_yaml(self, source: str) -> str:
        """A reviewable mapping file: ``column: field`` (``null`` = ignore), confidence as comments."""
        lines = [
            f"# covary mapping for source {source!r} onto {self.entity}; edit, then apply with",
            f"#   covary source map {source} --entity {self.entity} --apply THIS_FILE",
            f"source: {source}",
            f"entity: {self.entity}",
            "columns:",
        ]
        for c in self.columns:
            target = c.target if c.target else "null"
            lines.append(f"  {_yaml_key(c.source_column)}: {target}  # {c.method}, confidence {c.confidence:.2f}")
        if self.unmapped_required:
            lines.append(f"# REQUIRED BUT UNMAPPED: {', '.join(self.unmapped_required)}")
        return "\n".join(lines) + "\n"


def _yaml_key(name: str) -> str:
    import json

    return json.dumps(name, ensure_ascii=False)


class HeaderEmbedder:
    """all-MiniLM-L6-v2 (bundled, offline) embeddings of headers and field descriptions, cached."""

    def __init__(self) -> None:
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}

    def vectors(self, texts: list[str]) -> list[np.ndarray]:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            if self._model is None:
                from covary.embedding import load_embedder

                self._model = load_embedder()
            encoded = self._model.encode(todo, normalize_embeddings=True, batch_size=64)
            self._cache.update(zip(todo, np.asarray(encoded, dtype=np.float32), strict=True))
        return [self._cache[t] for t in texts]


def _expand(header: str) -> str:
    return " ".join(ABBREVIATIONS.get(tok, tok) for tok in header.split())


def name_similarity(header: str, aliases: list[str]) -> float:
    """1.0 for an alias, 0.85 when an alias' words all appear, else a scaled fuzzy ratio."""
    h = _expand(normalise_header(header))
    compact = h.replace(" ", "")
    best = 0.0
    for alias in aliases:
        a = normalise_header(alias)
        if h == a or compact == a.replace(" ", ""):
            return 1.0
        h_tokens, a_tokens = set(h.split()), set(a.split())
        if a_tokens and a_tokens <= h_tokens:
            best = max(best, 0.85 - 0.05 * (len(h_tokens) - len(a_tokens)))
        best = max(best, 0.8 * max(fuzz.ratio(h, a), fuzz.ratio(compact, a.replace(" ", ""))) / 100)
    return best


def suggest(
    table: pa.Table,
    schema: TargetSchema,
    *,
    saved: dict[str, str | None] | None = None,
    embedder: HeaderEmbedder | None = None,
    refine: Any = None,
) -> MappingSuggestion:
    """Suggest a mapping of ``table``'s columns onto ``schema``.

    ``saved`` (a previously applied mapping for the same source) is reused for the columns it names;
    ``embedder`` adds header/description embedding similarity; ``refine(columns, profiles, schema,
    suggestion)`` (e.g. :func:`connectors.mapping.llm.refine`) may revise the result.
    """
    columns = list(table.column_names)
    profiles: dict[str, ColumnProfile] = {c: profile(c, table.column(c).to_pylist()) for c in columns}
    saved = {k: v for k, v in (saved or {}).items() if k in profiles}
    fields = [f for f in schema.fields if f.name not in {v for v in saved.values() if v}]
    todo = [c for c in columns if c not in saved]
    scores = np.zeros((len(todo), len(fields)))
    parts: dict[tuple[int, int], tuple[float, float, float]] = {}
    emb = None
    if embedder is not None and todo and fields:
        heads = embedder.vectors([_expand(normalise_header(c)) for c in todo])
        descs = embedder.vectors([f"{f.name.replace('_', ' ')}: {f.description}" for f in fields])
        emb = np.clip(np.array(heads) @ np.array(descs).T, 0, 1)
    for r, col in enumerate(todo):
        prof = profiles[col]
        for k, f in enumerate(fields):
            n = name_similarity(col, [f.name.replace("_", " "), *f.aliases])
            v = prof.kinds.get(f.kind, 0.0) if prof.non_null else 0.0
            v *= 0.5 if f.kind in GENERIC_KINDS else 1.0
            e = float(emb[r, k]) if emb is not None else None
            score = 0.5 * n + 0.3 * v + 0.2 * e if e is not None else 0.6 * n + 0.4 * v
            scores[r, k] = score
            parts[(r, k)] = (n, v, e if e is not None else float("nan"))
    result: list[ColumnMapping] = [
        ColumnMapping(c, t, 1.0, "saved", [], "reused from the mapping applied to this source before")
        for c, t in saved.items()
    ]
    chosen: dict[int, int] = {}
    if todo and fields:
        rows, cols = linear_sum_assignment(-scores)
        chosen = {int(r): int(k) for r, k in zip(rows, cols, strict=True) if scores[r, k] >= MIN_SCORE}
    for r, col in enumerate(todo):
        order: list[int] = [int(x) for x in np.argsort(-scores[r])] if fields else []
        alts = [(fields[k].name, round(float(scores[r, k]), 3)) for k in order[:3]]
        if r in chosen:
            k = chosen[r]
            n, v, e = parts[(r, k)]
            runner_up = max((scores[r, x] for x in range(len(fields)) if x != k), default=0.0)
            confidence = float(np.clip(scores[r, k] * (0.75 + 0.25 * min(1.0, (scores[r, k] - runner_up) * 4)), 0, 1))
            reason = f"name {n:.2f}, values look like {fields[k].kind} {v:.2f}" + (
                f", embedding {e:.2f}" if not np.isnan(e) else ""
            )
            result.append(ColumnMapping(col, fields[k].name, round(confidence, 3), "suggested", alts, reason))
        else:
            best = alts[0] if alts else ("-", 0.0)
            result.append(
                ColumnMapping(col, None, 0.0, "suggested", alts, f"no confident match (best {best[0]} {best[1]:.2f})")
            )
    result.sort(key=lambda c: columns.index(c.source_column))
    suggestion = MappingSuggestion(schema.entity, result, [], {c: asdict(p) for c, p in profiles.items()})
    if refine is not None:
        suggestion = refine(table, schema, suggestion)
    suggestion.unmapped_required = missing_required(suggestion.mapping, schema)
    return suggestion


def missing_required(mapping: dict[str, str | None], schema: TargetSchema) -> list[str]:
    mapped = {t for t in mapping.values() if t}
    return [f for f in schema.required if f not in mapped]


def validate(mapping: dict[str, str | None], schema: TargetSchema, columns: list[str]) -> None:
    """Raise if the mapping names unknown columns/fields, maps two columns to one field, or misses required ones."""
    known = {f.name for f in schema.fields}
    bad_cols = [c for c in mapping if c not in columns]
    bad_fields = [t for t in mapping.values() if t and t not in known]
    if bad_cols or bad_fields:
        raise MappingFileError(
            f"mapping names unknown columns {bad_cols} or fields {bad_fields}",
            hint=f"columns in the file: {columns}; fields of {schema.entity}: {sorted(known)}",
        )
    targets = [t for t in mapping.values() if t]
    dupes = sorted({t for t in targets if targets.count(t) > 1})
    if dupes:
        raise MappingFileError(f"several columns map to {dupes}", hint="map each field from one column only")
    missing = missing_required(mapping, schema)
    if missing:
        raise UnmappedRequiredError(
            f"required {schema.entity} field(s) {missing} have no column",
            missing=missing,
            hint="add `COLUMN: FIELD` lines for them to the mapping file (covary never guesses required fields)",
        )


def apply_mapping(
    table: pa.Table, mapping: dict[str, str | None], schema: TargetSchema, *, source: str
) -> list[dict[str, Any]]:
    """Rows of ``table`` in the target schema (strings, as written), each with ``source``."""
    validate(mapping, schema, list(table.column_names))
    names = [f.name for f in schema.fields]
    renamed = {t: table.column(c).to_pylist() for c, t in mapping.items() if t}
    out = []
    for x in range(table.num_rows):
        row: dict[str, Any] = {"source": source}
        for name in names:
            value = renamed[name][x] if name in renamed else None
            row[name] = None if value is None or str(value).strip() == "" else str(value).strip()
        out.append(row)
    return out


__all__ = [
    "MIN_SCORE",
    "ColumnMapping",
    "HeaderEmbedder",
    "MappingSuggestion",
    "apply_mapping",
    "missing_required",
    "name_similarity",
    "suggest",
    "validate",
]
