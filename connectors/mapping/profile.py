"""Column profiles: how well a column's values look like each value kind (e-mail, phone, date, money, ...)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^[+(]?[\d\s().\-/]{7,20}$")
_DATE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}([T ].*)?|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}\s+[A-Za-zé]{3,9}\.?\s+\d{4}"
    r"|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4})$"
)
_MONEY = re.compile(r"^([$€£]|EUR|USD|GBP|CHF)?\s*-?\d{1,3}([.,' ]?\d{3})*([.,]\d{1,2})?\s*([$€£]|EUR|USD|GBP|CHF)?$")
_SIZE = re.compile(r"\d+(?:[.,]\d+)?\s*(ml|cl|dl|l|fl\.?\s?oz|oz|kg|g|lbs?|liters?|litres?)\b", re.I)
_POSTCODE = re.compile(r"^(?=.*\d)[A-Z0-9][A-Z0-9 \-]{2,8}$", re.I)
_SKU = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9][A-Za-z0-9\- _/.]{2,20}$")
_ADDRESS = re.compile(
    r"(^\d+\s+\w+)|(\w+\s+\d+\w?$)|\b(street|st|str|road|rd|ave|avenue|lane|ln|strasse|straße|rue|calle|weg|platz)\b",
    re.I,
)
_HONORIFIC = re.compile(r"^(mr|mrs|ms|miss|dr|prof|herr|frau|mme|m|sr|sra)\.?\s", re.I)
_SUFFIX = re.compile(r"\b(inc|llc|ltd|gmbh|corp|corporation|limited|plc|sa|ag|bv|co)\b\.?", re.I)
COUNTRY_WORDS = {
    "us", "usa", "u.s.a.", "united states", "ca", "canada", "gb", "uk", "united kingdom", "great britain", "de",
    "germany", "deutschland", "fr", "france", "es", "spain", "espana", "españa", "nl", "netherlands", "holland",
    "it", "italy", "at", "austria", "ch", "switzerland", "can", "deu", "fra", "esp", "gbr", "nld",
}  # fmt: skip


BOOLEAN_WORDS = {"yes", "no", "true", "false", "y", "n", "0", "1", "ja", "nein", "oui", "non", "si", "x", ""}
GENERIC_KINDS = frozenset({"category", "label", "city", "text", "id"})
"""Kinds many unrelated columns look like: their value evidence counts half."""


@dataclass
class ColumnProfile:
    name: str
    non_null: int
    null_rate: float
    distinct_ratio: float
    mean_length: float
    kinds: dict[str, float] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)


def _frac(values: list[str], test: Callable[[str], object]) -> float:
    if not values:
        return 0.0
    return sum(1 for v in values if test(v)) / len(values)


def _is_person(v: str) -> bool:
    text = _HONORIFIC.sub("", v.strip())
    if "," in text:
        text = " ".join(reversed(text.split(",", 1)))
    words = text.split()
    return (
        2 <= len(words) <= 4
        and all(w.replace(".", "").replace("-", "").replace("'", "").isalpha() for w in words)
        and not _SUFFIX.search(v)
    )


def profile(name: str, values: list[object], *, sample: int = 200) -> ColumnProfile:
    """Profile one column from (up to ``sample``) of its values."""
    texts = [str(v).strip() for v in values if v is not None and str(v).strip() != ""]
    null_rate = 1 - len(texts) / len(values) if values else 1.0
    head = texts[:sample]
    distinct = len(set(texts)) / len(texts) if texts else 0.0
    mean_len = sum(len(t) for t in head) / len(head) if head else 0.0
    words = [len(t.split()) for t in head]
    mean_words = sum(words) / len(words) if words else 0.0
    kinds = {
        "email": _frac(head, _EMAIL.match),
        "phone": _frac(head, lambda v: bool(_PHONE.match(v)) and sum(c.isdigit() for c in v) >= 7),
        "date": _frac(head, _DATE.match),
        "money": _frac(head, lambda v: bool(_MONEY.match(v)) and not _DATE.match(v)),
        "size": _frac(head, _SIZE.search) * (1.0 if mean_words <= 3 else 0.2),
        "postcode": _frac(head, lambda v: bool(_POSTCODE.match(v)) and len(v) <= 9),
        "country": _frac(head, lambda v: v.lower().strip() in COUNTRY_WORDS),
        "person_name": _frac(head, _is_person),
        "company": _frac(head, _SUFFIX.search),
        "address": _frac(head, lambda v: bool(_ADDRESS.search(v)) and any(c.isalpha() for c in v) and " " in v),
        "sku": _frac(head, _SKU.match) * (1.0 if distinct > 0.3 else 0.3),
        "id": (1.0 if distinct > 0.95 else 0.0) * _frac(head, lambda v: " " not in v and len(v) <= 24),
        "text": min(1.0, mean_words / 5.0) * (1.0 if distinct > 0.5 else 0.3),
        "category": (1.0 if distinct < 0.2 and mean_words <= 3 else 0.0),
        "city": (
            _frac(head, lambda v: all(w.isalpha() for w in v.replace("-", " ").split()) and len(v.split()) <= 3)
            * (1.0 if 0.005 < distinct < 0.6 else 0.3)
        ),
    }
    kinds["label"] = _frac(head, lambda v: len(v.split()) <= 3 and sum(c.isalpha() for c in v) >= 0.6 * len(v))
    if head and {v.lower() for v in head} <= BOOLEAN_WORDS:
        kinds = dict.fromkeys(kinds, 0.0) | {"boolean": 1.0}
    return ColumnProfile(name, len(texts), null_rate, distinct, mean_len, kinds, head[:5])


def normalise_header(name: str) -> str:
    """``KundenNr.`` -> ``kunden nr``; ``e_mail_address`` -> ``e mail address`` (accents folded)."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9]+", " ", text)).strip()


__all__ = ["BOOLEAN_WORDS", "GENERIC_KINDS", "ColumnProfile", "normalise_header", "profile"]
