"""Normalisers for messy entity fields: names, companies, e-mails, phones, addresses, dates, money, units, SKUs."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

HONORIFICS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "madam",
        "dame",
        "herr",
        "frau",
        "fr",
        "hr",
        "mme",
        "mlle",
        "m",
        "sr",
        "sra",
        "srta",
        "dott",
        "ing",
    ]
)
COMPANY_SUFFIXES = frozenset(
    [
        "inc",
        "incorporated",
        "llc",
        "llp",
        "ltd",
        "limited",
        "gmbh",
        "corp",
        "corporation",
        "co",
        "company",
        "plc",
        "sa",
        "sas",
        "sarl",
        "ag",
        "bv",
        "nv",
        "kg",
        "ohg",
        "pty",
        "oy",
        "ab",
        "as",
        "spa",
        "srl",
        "kk",
    ]
)
STREET_TYPES = {
    "street": "st", "st": "st", "str": "st", "strasse": "st", "straße": "st",
    "avenue": "ave", "ave": "ave", "av": "ave",
    "road": "rd", "rd": "rd",
    "lane": "ln", "ln": "ln",
    "drive": "dr", "dr": "dr",
    "boulevard": "blvd", "blvd": "blvd",
    "court": "ct", "ct": "ct",
    "place": "pl", "pl": "pl",
}  # fmt: skip
COUNTRIES = {
    "us": "US", "usa": "US", "united states": "US", "united states of america": "US", "america": "US",
    "ca": "CA", "can": "CA", "canada": "CA",
    "gb": "GB", "uk": "GB", "united kingdom": "GB", "great britain": "GB", "england": "GB", "gbr": "GB",
    "de": "DE", "deu": "DE", "germany": "DE", "deutschland": "DE",
    "fr": "FR", "fra": "FR", "france": "FR",
    "es": "ES", "esp": "ES", "spain": "ES", "espana": "ES",
    "nl": "NL", "nld": "NL", "netherlands": "NL", "holland": "NL", "the netherlands": "NL",
    "it": "IT", "ita": "IT", "italy": "IT", "italia": "IT",
    "at": "AT", "austria": "AT", "osterreich": "AT", "ch": "CH", "switzerland": "CH", "schweiz": "CH",
}  # fmt: skip
MONTHS = {
    m: i + 1 for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
}
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_EMAIL = re.compile(r"^[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}$")
_NUMBER = re.compile(r"[-+]?\d[\d.,' ]*")
_SIZE = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(ml|millilit(?:er|re)s?|cl|dl|l|lit(?:er|re)s?|fl\.?\s?oz|oz|kg|g|gr|grams?|lbs?)\b"
)

# unit -> (base unit, factor to the base unit)
UNITS: dict[str, tuple[str, float]] = {
    "ml": ("ml", 1.0), "cl": ("ml", 10.0), "dl": ("ml", 100.0), "l": ("ml", 1000.0),
    "floz": ("ml", 29.5735), "g": ("g", 1.0), "gr": ("g", 1.0), "kg": ("g", 1000.0),
    "lb": ("g", 453.592), "oz": ("g", 28.3495),
}  # fmt: skip


def fold(text: str | None) -> str:
    """Lower case, accents removed (ß -> ss, ø -> o), punctuation to spaces, single spaces."""
    if not text:
        return ""
    text = text.replace("ß", "ss").replace("ø", "o").replace("Ø", "o").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()


@lru_cache(maxsize=200_000)
def person_name(raw: str | None) -> tuple[str, str, str]:
    """``(full, first, last)`` without honorifics; ``"Last, First"`` is turned around."""
    if not raw or not raw.strip():
        return "", "", ""
    text = raw.strip()
    if "," in text:
        last, _, first = text.partition(",")
        text = f"{first} {last}"
    tokens = [t for t in fold(text).split() if t not in HONORIFICS]
    if not tokens:
        return "", "", ""
    first, last = tokens[0], tokens[-1] if len(tokens) > 1 else ""
    return " ".join(tokens), first, last


@lru_cache(maxsize=200_000)
def company(raw: str | None) -> str:
    """Company name without legal suffixes (Inc., L.L.C., GmbH, ...)."""
    if not raw:
        return ""
    text = fold(raw.replace(".", ""))
    tokens = [t for t in text.split() if t not in COMPANY_SUFFIXES]
    return " ".join(tokens)


def email(raw: str | None) -> str:
    """Lower-cased e-mail, or "" when it is not an address."""
    if not raw:
        return ""
    text = raw.strip().lower()
    return text if _EMAIL.match(text) else ""


def phone(raw: str | None) -> str:
    """Digits of the national number: ``+1 (547) 308-9456`` and ``0015473089456`` -> ``5473089456``."""
    if not raw:
        return ""
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("00"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) >= 7 else ""


@lru_cache(maxsize=200_000)
def address(raw: str | None) -> tuple[str, str]:
    """``(house number, street)`` with street types unified: ``Pine Ave 6705`` -> ``("6705", "pine ave")``."""
    if not raw:
        return "", ""
    tokens = fold(raw).split()
    numbers = [t for t in tokens if t.isdigit()]
    words = [STREET_TYPES.get(t, t) for t in tokens if not t.isdigit()]
    return (numbers[0] if numbers else ""), " ".join(words)


def postcode(raw: str | None) -> str:
    return re.sub(r"\s", "", raw).upper() if raw else ""


def country(raw: str | None) -> str:
    """ISO 3166-1 alpha-2 code for common spellings; otherwise the folded text upper-cased."""
    if not raw:
        return ""
    key = fold(raw)
    return COUNTRIES.get(key, COUNTRIES.get(key.replace(" ", ""), key.upper()))


def city(raw: str | None) -> str:
    return fold(raw)


@lru_cache(maxsize=100_000)
def parse_date(raw: str | None, *, day_first: bool = False) -> date | None:
    """Dates in ISO, ``m/d/Y`` (``d/m/Y`` when the day is > 12 or ``day_first``), ``d.m.Y`` and ``d Mon Y``."""
    if not raw:
        return None
    text = raw.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?", text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})", text):
            a, b, y = int(m[1]), int(m[2]), int(m[3])
            if a > 12 or (day_first and b <= 12):
                return date(y, b, a)
            return date(y, a, b)
        if m := re.fullmatch(r"(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})", text):
            return date(int(m[3]), MONTHS[m[2].lower()], int(m[1]))
        if m := re.fullmatch(r"([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})", text):
            return date(int(m[3]), MONTHS[m[1].lower()], int(m[2]))
    except (ValueError, KeyError):
        return None
    return None


def date_key(raw: str | None) -> str:
    """Order-insensitive date key ``Y-lo-hi`` so ``06/01/1954`` and ``1 Jun 1954`` compare equal."""
    d = parse_date(raw)
    if d is None:
        return ""
    lo, hi = sorted((d.month, d.day))
    return f"{d.year:04d}-{lo:02d}-{hi:02d}"


def money(raw: str | None) -> float | None:
    """``1.234,50`` / ``1,234.50`` / ``$507.49`` / ``EUR 55,14`` -> float (decimal separator inferred)."""
    if raw is None:
        return None
    m = _NUMBER.search(str(raw))
    if not m:
        return None
    text = m.group(0).strip().replace(" ", "").replace("'", "")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = text.replace(",", ".") if len(tail) != 3 or "," in head else text.replace(",", "")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        return float(text)
    except ValueError:
        return None


def size(raw: str | None) -> tuple[float, str] | None:
    """Pack size in the base unit: ``0.75 L`` / ``75cl`` / ``25.4 fl oz`` -> ``(750.0, "ml")``."""
    if not raw:
        return None
    m = _SIZE.search(raw.lower())
    if not m:
        return None
    value = float(m[1].replace(",", "."))
    unit = re.sub(r"[\s.]", "", m[2])
    unit = {"liter": "l", "litre": "l", "liters": "l", "litres": "l", "lbs": "lb", "grams": "g", "gram": "g"}.get(
        unit, unit
    )
    unit = "ml" if unit.startswith("millilit") else unit
    base, factor = UNITS.get(unit, ("", 0.0))
    if not base:
        return None
    return round(value * factor, 1), base


def sku(raw: str | None) -> str:
    """``ss-054663`` / ``SS 54663`` -> ``SS54663`` (upper case, no separators, no leading zeros)."""
    if not raw:
        return ""
    text = re.sub(r"[^A-Za-z0-9]", "", raw).upper()
    return re.sub(r"(?<=[A-Z])0+(?=\d)", "", text)


def title(raw: str | None) -> str:
    """Free-form product title folded, with pack sizes removed (they are compared separately)."""
    if not raw:
        return ""
    return fold(_SIZE.sub(" ", raw.lower()).replace(",", " "))


__all__ = [
    "address",
    "city",
    "company",
    "country",
    "date_key",
    "email",
    "fold",
    "money",
    "parse_date",
    "person_name",
    "phone",
    "postcode",
    "size",
    "sku",
    "title",
]
