"""Record validation: typed field schemas compiled to pydantic models, schema contracts, quarantine reasons."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

from connectors.core.selectors import get_path

_TYPES: dict[str, Any] = {
    "str": StrictStr,
    "int": StrictInt,
    "float": StrictFloat,
    "bool": StrictBool,
    "date": dt.date,
    "datetime": dt.datetime,
    "json": Any,
    "list[str]": list[StrictStr],
    "list[int]": list[StrictInt],
    "list[float]": list[StrictFloat],
}


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


@lru_cache(maxsize=256)
def _compile(name: str, items: tuple[tuple[str, str], ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for field, type_ in items:
        optional = type_.endswith("?")
        base = _TYPES[type_.rstrip("?")]
        fields[field] = (base | None, Field(None)) if optional else (base, ...)
    return create_model(name, __base__=_Record, **fields)


def compile_fields(name: str, fields: dict[str, str]) -> type[BaseModel]:
    """A pydantic model from ``{field: type}`` (``int``, ``str?`` ...). Scalars are strict: a string where an
    int is declared is rejected, not coerced, so a type change in the source is never silent."""
    return _compile(name, tuple(sorted(fields.items())))


@dataclass
class Rejected:
    index: int
    reason: str
    raw: Any


@dataclass
class Checked:
    valid: list[tuple[int, dict[str, Any]]]
    rejected: list[Rejected]
    new_fields: set[str]


class RecordValidator:
    """Validates the records of a page against a model and the endpoint's schema contract.

    ``evolve`` keeps fields the model does not declare (and reports them), ``discard_value`` drops
    them, ``freeze`` quarantines records that carry them. Records missing a primary key value are
    quarantined. A valid record is kept as received (minus discarded fields).
    """

    def __init__(
        self,
        model: type[BaseModel] | None,
        *,
        contract: str = "evolve",
        primary_key: list[str] | None = None,
    ) -> None:
        self.model = model
        self.contract = contract
        self.primary_key = primary_key or []
        self.known: set[str] | None = None
        if model is not None:
            self.known = set()
            for name, info in model.model_fields.items():
                self.known.add(name)
                if info.alias:
                    self.known.add(info.alias)

    def check(self, records: list[Any]) -> Checked:
        valid: list[tuple[int, dict[str, Any]]] = []
        rejected: list[Rejected] = []
        new_fields: set[str] = set()
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                rejected.append(Rejected(i, f"record is a JSON {type(rec).__name__}, not an object", rec))
                continue
            missing = [k for k in self.primary_key if (rec.get(k) if "." not in k else get_path(rec, k)) in (None, "")]
            if missing:
                rejected.append(Rejected(i, f"primary key field(s) {missing} missing or empty", rec))
                continue
            extra: set[str] = set()
            if self.known is not None:
                extra = set(rec) - self.known
                if extra and self.contract == "freeze":
                    rejected.append(
                        Rejected(i, f"new field(s) {sorted(extra)} not in the schema (contract: freeze)", rec)
                    )
                    continue
            if self.model is not None:
                try:
                    self.model.model_validate(rec)
                except ValidationError as exc:
                    rejected.append(Rejected(i, describe_errors(exc), rec))
                    continue
            if extra and self.contract == "discard_value":
                valid.append((i, {k: v for k, v in rec.items() if k not in extra}))
                continue
            new_fields |= extra
            valid.append((i, rec))
        return Checked(valid, rejected, new_fields)


def describe_errors(exc: ValidationError, limit: int = 5) -> str:
    """``field 'x': Input should be a valid integer (got 'abc')`` for each problem, joined by '; '."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "<record>"
        got = err.get("input")
        shown = orjson.dumps(got, default=str).decode()[:60] if err["type"] != "missing" else None
        parts.append(f"field {loc!r}: {err['msg']}" + (f" (got {shown})" if shown is not None else ""))
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


__all__ = ["Checked", "RecordValidator", "Rejected", "compile_fields", "describe_errors"]
