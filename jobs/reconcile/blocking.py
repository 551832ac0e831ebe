"""Blocking: candidate pairs from several cheap keys, so comparisons grow near-linearly with the records."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from jobs.reconcile.features import Features


@dataclass(frozen=True)
class BlockingStats:
    rules: dict[str, int]
    """Candidate pairs contributed by each rule (before de-duplication)."""
    oversized_blocks: int
    """Blocks larger than ``max_block``; compared within a sorted window instead of all pairs."""
    pairs: int


def blocking_keys(f: Features) -> dict[str, np.ndarray]:
    """One key array per rule ("" = record not blocked by that rule)."""
    c = f.cols
    n = len(f)
    if n == 0:
        return {}
    if f.entity_type == "customers":
        last3 = np.array([s[:3] for s in c["last"]], dtype=object)
        first2 = np.array([s[:2] for s in c["first"]], dtype=object)
        street1 = np.array([s.split(" ", 1)[0] if s else "" for s in c["street"]], dtype=object)
        phone7 = np.array([p[-7:] for p in c["phone"]], dtype=object)
        return {
            "email": c["email"],
            "phone": phone7,
            "postcode+last3": _join(c["postcode"], last3),
            "postcode+dob": _join(c["postcode"], c["dob"]),
            "house+street+city": _join(c["house"], street1, c["city"]),
            "first2+last3+dob": _join(first2, last3, c["dob"]),
        }
    size = np.array(["" if np.isnan(v) else f"{v:.0f}" for v in c["size_value"]], dtype=object)
    tokens = [t.split() for t in c["title"]]
    counts: dict[str, int] = {}
    for toks in tokens:
        for t in set(toks):
            counts[t] = counts.get(t, 0) + 1
    rare2 = np.array(
        [
            " ".join(sorted(sorted(set(t for t in toks if len(t) > 2), key=lambda t: (counts[t], t))[:2]))
            for toks in tokens
        ],
        dtype=object,
    )
    brand1 = np.array([b.split(" ", 1)[0] if b else "" for b in c["brand"]], dtype=object)
    sku_digits = np.array(
        [s.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") if len(s) > 5 else "" for s in c["sku"]], dtype=object
    )
    return {
        "sku": c["sku"],
        "sku digits": sku_digits,
        "brand+size": _join(brand1, size),
        "brand+size+rare2": _join(brand1, size, rare2),
        "size+rare2": _join(size, rare2),
        "brand+rare2": _join(brand1, rare2),
    }


def _join(*parts: np.ndarray) -> np.ndarray:
    """Concatenate key parts with '|'; empty when any part is empty."""
    out = np.empty(len(parts[0]), dtype=object)
    for i, values in enumerate(zip(*parts, strict=True)):
        out[i] = "" if any(v == "" for v in values) else "|".join(values)
    return out


def candidate_pairs(
    f: Features, *, max_block: int = 60, window: int = 8, only: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, BlockingStats]:
    """Unique candidate pairs ``(i, j)`` with ``i < j``.

    Blocks up to ``max_block`` records yield all their pairs; larger blocks (common keys) are
    sorted by name/title and each record is paired with its next ``window`` neighbours, so no block
    makes the cost quadratic. With ``only`` (a boolean mask), only pairs touching a masked record
    are kept (incremental runs).
    """
    keys = blocking_keys(f)
    frames = []
    per_rule: dict[str, int] = {}
    oversized = 0
    sort_col = f.cols["name"] if f.entity_type == "customers" else f.cols["title"]
    for rule, key in keys.items():
        df = pl.DataFrame({"i": np.arange(len(f), dtype=np.int64), "k": key.astype(str), "s": sort_col.astype(str)})
        df = df.filter(pl.col("k") != "")
        sizes = df.group_by("k").agg(pl.len().alias("n"))
        df = df.join(sizes, on="k")
        small = df.filter((pl.col("n") > 1) & (pl.col("n") <= max_block)).select("i", "k")
        pairs = small.join(small, on="k", suffix="_r").filter(pl.col("i") < pl.col("i_r")).select("i", "i_r")
        big = df.filter(pl.col("n") > max_block).sort(["k", "s", "i"])
        oversized += big.select(pl.col("k").n_unique()).item() if big.height else 0
        if big.height:
            win = []
            for w in range(1, window + 1):
                shifted = big.select(
                    pl.col("i"),
                    pl.col("i").shift(-w).alias("i_r"),
                    (pl.col("k") == pl.col("k").shift(-w)).alias("same"),
                ).filter(pl.col("same"))
                win.append(
                    shifted.select(pl.min_horizontal("i", "i_r").alias("i"), pl.max_horizontal("i", "i_r").alias("i_r"))
                )
            pairs = pl.concat([pairs, *win])
        per_rule[rule] = pairs.height
        frames.append(pairs)
    if not frames:
        empty = np.array([], dtype=np.int64)
        return empty, empty, BlockingStats(per_rule, oversized, 0)
    allp = pl.concat(frames).unique()
    if only is not None:
        mask = pl.Series(only)
        allp = allp.filter(mask.gather(allp["i"]) | mask.gather(allp["i_r"]))
    allp = allp.sort(["i", "i_r"])
    i = allp["i"].to_numpy().astype(np.int64)
    j = allp["i_r"].to_numpy().astype(np.int64)
    return i, j, BlockingStats(per_rule, oversized, len(i))


__all__ = ["BlockingStats", "blocking_keys", "candidate_pairs"]
