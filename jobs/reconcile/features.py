"""Turn raw customer/product records into normalised feature columns (numpy arrays) for blocking and scoring."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from jobs.reconcile import normalize as nz
from jobs.reconcile.errors import UnknownEntityError

EntityType = Literal["customers", "products"]
ENTITY_TYPES: tuple[EntityType, ...] = ("customers", "products")
RAW_FIELDS: dict[str, tuple[str, ...]] = {
    "customers": (
        "name", "email", "phone", "company", "address", "city", "postcode", "country", "birth_date", "lifetime_value",
    ),
    "products": ("sku", "title", "brand", "category", "size", "price", "launch_date"),
}  # fmt: skip


@dataclass
class Features:
    """Normalised columns of ``n`` records, aligned with ``keys`` (``source:source_id``)."""

    entity_type: EntityType
    keys: np.ndarray
    hashes: np.ndarray
    cols: dict[str, np.ndarray] = field(default_factory=dict)
    raw: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)


def record_key(record: dict[str, Any]) -> str:
    return f"{record['source']}:{record['source_id']}"


def record_hash(record: dict[str, Any], entity_type: EntityType) -> str:
    payload = json.dumps([record.get(f) for f in RAW_FIELDS[entity_type]], default=str)
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def build(records: list[dict[str, Any]], entity_type: EntityType) -> Features:
    """Normalise every record of one entity type."""
    if entity_type not in RAW_FIELDS:
        raise UnknownEntityError(f"unknown entity type {entity_type!r}", hint="use customers or products")
    keys = np.array([record_key(r) for r in records], dtype=object)
    hashes = np.array([record_hash(r, entity_type) for r in records], dtype=object)
    feats = Features(entity_type, keys, hashes, raw=records)
    cols: dict[str, list[Any]] = {}

    def put(name: str, value: Any) -> None:
        cols.setdefault(name, []).append(value)

    if entity_type == "customers":
        for r in records:
            full, first, last = nz.person_name(r.get("name"))
            put("name", full)
            put("first", first)
            put("last", last)
            put("email", nz.email(r.get("email")))
            put("phone", nz.phone(r.get("phone")))
            put("company", nz.company(r.get("company")))
            number, street = nz.address(r.get("address"))
            put("house", number)
            put("street", street)
            put("city", nz.city(r.get("city")))
            put("postcode", nz.postcode(r.get("postcode")))
            put("country", nz.country(r.get("country")))
            put("dob", nz.date_key(r.get("birth_date")))
    else:
        for r in records:
            put("sku", nz.sku(r.get("sku")))
            put("title", nz.title(r.get("title")))
            put("brand", nz.company(r.get("brand")))
            put("category", nz.fold(r.get("category")))
            size = nz.size(r.get("size")) or nz.size(r.get("title"))
            put("size_value", size[0] if size else np.nan)
            put("size_unit", size[1] if size else "")
            price = nz.money(r.get("price"))
            put("price", np.nan if price is None else price)
    for name, values in cols.items():
        dtype = float if name in ("size_value", "price") else object
        feats.cols[name] = np.array(values, dtype=dtype)
    if not records:
        names = (
            ("name", "first", "last", "email", "phone", "company", "house", "street", "city", "postcode", "country")
            if entity_type == "customers"
            else ("sku", "title", "brand", "category", "size_unit")
        )
        feats.cols = {n: np.array([], dtype=object) for n in names}
    return feats


__all__ = ["ENTITY_TYPES", "RAW_FIELDS", "EntityType", "Features", "build", "record_hash", "record_key"]
