"""Messy exports and their cleaning, shared by every record table of the synthetic systems.

``mess`` turns a clean frame into what a system really delivers (re-exported duplicates a day later,
corrupted copies, one export with another name for a column); ``clean`` turns that back into typed,
deduplicated silver rows and quarantines what does not parse, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

DUPLICATE_RATE, CORRUPT_RATE = 0.004, 0.0015
Rename = tuple[str, Any, str, str]
"""(filter column, value, silver name, exported name): the rows whose filter column has that value are exported
with the column under its other name."""
RENAMED_EXPORT: dict[str, Rename] = {
    "campaigns": ("platform", "tiktok_ads", "spend", "cost"),
    "tickets": ("channel", "chat", "opened_at", "created_at"),
}
"""One export per table uses another name for a column (the ledger's is per fiscal period: see ledger.py)."""


@dataclass
class Export:
    """A raw export: frames as the systems deliver them (one with a renamed column) plus corrupted rows."""

    frames: list[pl.DataFrame]
    corrupted: list[dict[str, Any]]
    renamed: tuple[str, str] | None = None
    """(silver name, exported name) of the column one of the frames calls otherwise."""


def mess(
    name: str, frame: pl.DataFrame, key: tuple[str, ...], rng: np.random.Generator, renamed: Rename | None = None
) -> Export:
    """The raw export: re-exported duplicates (a day later), corrupted copies, one export with a renamed column
    (``renamed``, default ``RENAMED_EXPORT[name]``)."""
    n = frame.height
    dup = frame[np.flatnonzero(rng.random(n) < DUPLICATE_RATE).tolist()]
    if "exported_at" in dup.columns:
        dup = dup.with_columns(pl.col("exported_at") + pl.duration(days=1))
    victim = next(c for c, t in frame.schema.items() if c not in key and t != pl.String and c != "exported_at")
    corrupted = [r | {victim: "#N/A"} for r in frame[np.flatnonzero(rng.random(n) < CORRUPT_RATE).tolist()].to_dicts()]
    full = pl.concat([frame, dup])
    rule = renamed or RENAMED_EXPORT.get(name)
    if not rule:
        return Export([full], corrupted)
    dim, which, silver_name, exported = rule
    frames = [full.filter(pl.col(dim) != which), full.filter(pl.col(dim) == which).rename({silver_name: exported})]
    return Export(frames, corrupted, (silver_name, exported))


def clean(
    name: str, raw: Export, schema: dict[str, Any], key: tuple[str, ...]
) -> tuple[pl.DataFrame, list[dict[str, Any]], dict[str, int]]:
    """Typed, deduplicated rows (the latest export of a key wins), quarantined rows with reasons, and counts."""
    parts, renamed_rows = [], 0
    for part in raw.frames:
        f = part
        if raw.renamed and raw.renamed[1] in f.columns:
            f = f.rename({raw.renamed[1]: raw.renamed[0]})
            renamed_rows += f.height
        parts.append(f.select(list(schema)).cast(schema))  # type: ignore[arg-type]
    bad = []
    for r in raw.corrupted:
        wrong = [c for c, t in schema.items() if not _fits(r.get(c), t)]
        if not wrong:  # pragma: no cover - a corrupted copy always has one wrong field
            continue
        bad.append(
            {
                "reason": f"{name}: column {wrong[0]} is {r.get(wrong[0])!r}, expected {schema[wrong[0]]}",
                "raw": repr({k: str(v) for k, v in r.items()}),
                "location": "/".join(str(r.get(k)) for k in key),
            }
        )
    frame = pl.concat(parts)
    before = frame.height
    order = ["exported_at"] if "exported_at" in frame.columns else list(key)
    frame = frame.sort(order).unique(subset=list(key), keep="last").sort(list(key))
    exported = before + len(raw.corrupted)
    return (
        frame,
        bad,
        {"exported": exported, "renamed": renamed_rows, "quarantined": len(bad), "duplicates": before - frame.height},
    )


def clean_export(
    name: str, frame: pl.DataFrame, key: tuple[str, ...], rng: np.random.Generator, renamed: Rename | None = None
) -> tuple[pl.DataFrame, list[dict[str, Any]], dict[str, int]]:
    """``clean(mess(frame))``: what the lake gets from a system that exports ``frame``."""
    return clean(name, mess(name, frame, key, rng, renamed), dict(frame.schema), key)


def _fits(value: Any, dtype: Any) -> bool:
    if value is None:
        return False
    if dtype == pl.String:
        return isinstance(value, str)
    if dtype == pl.Int64:
        return isinstance(value, int | np.integer) and not isinstance(value, bool)
    if dtype == pl.Float64:
        return isinstance(value, float | int | np.floating) and not isinstance(value, bool)
    if dtype == pl.Date:
        return isinstance(value, date) and not isinstance(value, datetime)
    return isinstance(value, datetime)


__all__ = ["CORRUPT_RATE", "DUPLICATE_RATE", "RENAMED_EXPORT", "Export", "clean", "clean_export", "mess"]
