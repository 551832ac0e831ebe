"""The reconcile engine without I/O: normalise, block, compare, fit Fellegi–Sunter, assign stable ids, golden rows."""

from __future__ import annotations

import logging
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jobs.reconcile import blocking, compare, features, scoring
from jobs.reconcile import normalize as nz
from jobs.reconcile.cluster import Assignment, PriorState, assign
from jobs.reconcile.errors import NoRecordsError
from jobs.reconcile.features import EntityType, Features

log = logging.getLogger(__name__)
PREFIX = {"customers": "cus", "products": "prd"}


@dataclass(frozen=True)
class EngineConfig:
    """Knobs of one run (defaults are what the tests and the bench use)."""

    threshold: float = 0.5
    """Posterior match probability at or above which two records are linked."""
    max_block: int = 60
    window: int = 8
    random_pairs: int = 200_000
    """Random record pairs compared to initialise u probabilities."""
    embed_max_texts: int = 2000
    """Free-form product titles embedded per run (all-MiniLM-L6-v2 on CPU); 0 disables embeddings."""
    seed: int = 0


@dataclass
class EngineResult:
    entity_type: EntityType
    features: Features
    i: np.ndarray
    j: np.ndarray
    p: np.ndarray
    model: scoring.FSModel
    assignment: Assignment
    blocking: blocking.BlockingStats
    timings: dict[str, float] = field(default_factory=dict)
    embedded_texts: int = 0
    threshold: float = 0.5

    def summary(self) -> dict[str, Any]:
        entities = len(set(self.assignment.entity_of.values()))
        return {
            "entity_type": self.entity_type,
            "records": len(self.features),
            "candidate_pairs": len(self.i),
            "links": int((self.p >= self.threshold).sum()),
            "entities": entities,
            "events": self.assignment.counts(),
            "changed_records": len(self.assignment.changed_records),
            "embedded_texts": self.embedded_texts,
            "oversized_blocks": self.blocking.oversized_blocks,
            "em": {"prior": round(self.model.prior, 5), "iterations": self.model.iterations},
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
        }


def run(
    records: list[dict[str, Any]],
    entity_type: EntityType,
    prior: PriorState | None = None,
    *,
    config: EngineConfig | None = None,
    embedder: compare.Embedder | None = None,
) -> EngineResult:
    """Reconcile ``records`` (all current records of one entity type) against ``prior`` decisions."""
    cfg = config or EngineConfig()
    prior = prior or PriorState()
    if not records:
        raise NoRecordsError(
            f"no {entity_type} records to reconcile",
            hint=f"load some first: `covary source map NAME --entity {entity_type} --apply mapping.yaml` "
            "or `covary demo`",
        )
    timings: dict[str, float] = {}
    t = time.perf_counter()
    feats = features.build(records, entity_type)
    timings["normalise"] = time.perf_counter() - t
    t = time.perf_counter()
    i, j, stats = blocking.candidate_pairs(feats, max_block=cfg.max_block, window=cfg.window)
    timings["block"] = time.perf_counter() - t
    if entity_type == "products" and embedder is None and cfg.embed_max_texts > 0:
        embedder = compare.Embedder(max_texts=cfg.embed_max_texts)
    t = time.perf_counter()
    gamma = compare.compare(feats, i, j, embedder=embedder)
    timings["compare"] = time.perf_counter() - t
    t = time.perf_counter()
    comps = compare.comparisons_for(entity_type)
    ri, rj = scoring.random_pairs(len(feats), cfg.random_pairs, cfg.seed)
    u0 = scoring.estimate_u(comps, compare.compare(feats, ri, rj, embedder=None))
    model = scoring.fit(comps, gamma, u_init=u0)
    p = model.probability(gamma)
    timings["fit"] = time.perf_counter() - t
    t = time.perf_counter()
    assignment = assign(feats.keys, feats.hashes, i, j, p, prior, threshold=cfg.threshold, prefix=PREFIX[entity_type])
    timings["assign"] = time.perf_counter() - t
    return EngineResult(
        entity_type,
        feats,
        i,
        j,
        p,
        model,
        assignment,
        stats,
        timings,
        embedder.embedded if embedder else 0,
        cfg.threshold,
    )


def golden_rows(result: EngineResult, entity_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Golden values of ``entity_ids`` from their member records (most frequent normalised value)."""
    members: dict[str, list[int]] = defaultdict(list)
    for x, key in enumerate(result.features.keys):
        ent = result.assignment.entity_of[str(key)]
        if ent in entity_ids:
            members[ent].append(x)
    c = result.features.cols
    raw = result.features.raw
    out: dict[str, dict[str, Any]] = {}
    for ent, xs in members.items():
        row: dict[str, Any] = {
            "record_count": len(xs),
            "sources": sorted({str(raw[x]["source"]) for x in xs}),
        }
        if result.entity_type == "customers":
            names = [c["name"][x] for x in xs if c["name"][x]]
            full = _mode([n for n in names if len(n.split()[0]) > 1] or names)
            row["name"] = full.title() if full else None
            row["email"] = _mode([c["email"][x] for x in xs])
            row["phone"] = _mode([c["phone"][x] for x in xs])
            row["company"] = (_mode([c["company"][x] for x in xs]) or "").title() or None
            houses = [f"{c['house'][x]} {c['street'][x]}".strip() for x in xs]
            row["address"] = _mode(houses)
            row["city"] = (_mode([c["city"][x] for x in xs]) or "").title() or None
            row["postcode"] = _mode([c["postcode"][x] for x in xs])
            row["country"] = _mode([c["country"][x] for x in xs])
            dates = [nz.parse_date(raw[x].get("birth_date")) for x in xs]
            row["birth_date"] = _mode([d for d in dates if d is not None])
            values = {v for x in xs if (v := nz.money(raw[x].get("lifetime_value"))) is not None}
            row["lifetime_value"] = max(values) if values else None
        else:
            row["sku"] = _mode([c["sku"][x] for x in xs])
            titles = [str(raw[x].get("title") or "").strip() for x in xs]
            row["title"] = _mode(titles)
            row["brand"] = (_mode([c["brand"][x] for x in xs]) or "").title() or None
            row["category"] = _mode([c["category"][x] for x in xs])
            sizes = [(c["size_value"][x], c["size_unit"][x]) for x in xs if c["size_value"][x] == c["size_value"][x]]
            if sizes:
                unit = Counter(u for _, u in sizes).most_common(1)[0][0]
                row["size_value"] = float(statistics.median(v for v, u in sizes if u == unit))
                row["size_unit"] = unit
            else:
                row["size_value"], row["size_unit"] = None, None
            prices = [float(c["price"][x]) for x in xs if c["price"][x] == c["price"][x]]
            row["price"] = float(statistics.median(prices)) if prices else None
        out[ent] = row
    return out


def _mode(values: list[Any]) -> Any:
    values = [v for v in values if v not in ("", None)]
    if not values:
        return None
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def pairwise_scores(entity_of: dict[str, str], truth: dict[str, str]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the true entity of each record."""

    def pairs(labels: dict[str, str]) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for k, lab in labels.items():
            groups[lab].append(k)
        out: set[tuple[str, str]] = set()
        for ks in groups.values():
            ks.sort()
            out.update((a, b) for n, a in enumerate(ks) for b in ks[n + 1 :])
        return out

    common = {k: v for k, v in entity_of.items() if k in truth}
    predicted, actual = pairs(common), pairs({k: truth[k] for k in common})
    hit = len(predicted & actual)
    precision = hit / len(predicted) if predicted else 1.0
    recall = hit / len(actual) if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "predicted_pairs": len(predicted),
        "true_pairs": len(actual),
    }


__all__ = ["PREFIX", "EngineConfig", "EngineResult", "golden_rows", "pairwise_scores", "run"]
