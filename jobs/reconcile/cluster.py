"""Clustering with stable canonical ids: new records join existing entities; merges and splits are audited.

The rule that keeps ids stable: an *unchanged* record keeps its entity. Only edges that touch a new
or changed record can link things together, so data that matches nothing existing never moves an
id. When a new record links two existing entities they merge (the one with more records survives,
the other is marked ``merged``); when a changed record no longer holds an entity together, the
entity splits (the largest part keeps the id). Every decision becomes an audit event with a reason.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class PriorState:
    """What earlier runs decided: record -> entity, record -> content hash, entity -> status."""

    assignment: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)


@dataclass
class Assignment:
    entity_of: dict[str, str]
    best_p: dict[str, float | None]
    events: list[dict[str, Any]]
    changed_records: set[str]
    changed_entities: set[str]
    statuses: dict[str, tuple[str, str | None]]
    """entity -> (status, merged_into) for every entity this run touched."""

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for e in self.events:
            out[e["event"]] += 1
        return dict(out)


class _DSU:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def new_entity_id(prefix: str, founder_key: str, taken: set[str]) -> str:
    """Deterministic id from the founding record; suffixed if that id was ever used before."""
    base = f"{prefix}_{hashlib.sha1(founder_key.encode()).hexdigest()[:12]}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def assign(
    keys: np.ndarray,
    hashes: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    p: np.ndarray,
    prior: PriorState,
    *,
    threshold: float = 0.5,
    prefix: str = "ent",
) -> Assignment:
    """Assign every current record to an entity, keeping earlier decisions for unchanged records."""
    n = len(keys)
    key_list = [str(k) for k in keys]
    prev = [prior.assignment.get(k) for k in key_list]
    settled = np.array(
        [prev[x] is not None and prior.hashes.get(key_list[x]) == hashes[x] for x in range(n)], dtype=bool
    )
    strong = p >= threshold
    si, sj, sp = i[strong], j[strong], p[strong]
    taken = set(prior.statuses) | set(prior.assignment.values())
    events: list[dict[str, Any]] = []
    statuses: dict[str, tuple[str, str | None]] = {}

    # 1. entities touched by a changed/vanished record: do their settled members still hang together?
    current = set(key_list)
    touched = {prev[x] for x in range(n) if prev[x] is not None and not settled[x]}
    touched |= {e for k, e in prior.assignment.items() if k not in current}
    entity_now = [prev[x] if settled[x] else None for x in range(n)]
    for ent in sorted(t for t in touched if t):
        members = [x for x in range(n) if entity_now[x] == ent]
        if len(members) < 2:
            continue
        local = {x: k for k, x in enumerate(members)}
        dsu = _DSU(len(members))
        for a, b in zip(si, sj, strict=True):
            if a in local and b in local:
                dsu.union(local[a], local[b])
        parts: dict[int, list[int]] = defaultdict(list)
        for x in members:
            parts[dsu.find(local[x])].append(x)
        if len(parts) < 2:
            continue
        ordered = sorted(parts.values(), key=lambda g: (-len(g), min(key_list[x] for x in g)))
        for part in ordered[1:]:
            new_id = new_entity_id(prefix, min(key_list[x] for x in part), taken)
            for x in part:
                entity_now[x] = new_id
            statuses[new_id] = ("active", None)
            events.append(
                {
                    "event": "split",
                    "entity_id": ent,
                    "other_entity_id": new_id,
                    "records": sorted(key_list[x] for x in part),
                    "probability": None,
                    "reason": (
                        f"a member of {ent} changed or disappeared and these {len(part)} record(s) no longer "
                        f"match the remaining {len(ordered[0])} at p>={threshold}; they became {new_id}"
                    ),
                }
            )
        statuses[ent] = ("active", None)

    # 2. union: settled records by entity, then every strong edge that touches a free record
    dsu = _DSU(n)
    first_of: dict[str, int] = {}
    for x in range(n):
        e = entity_now[x]
        if e is not None:
            if e in first_of:
                dsu.union(first_of[e], x)
            else:
                first_of[e] = x
    free = np.array([e is None for e in entity_now], dtype=bool)
    bridge = free[si] | free[sj]
    for a, b in zip(si[bridge], sj[bridge], strict=True):
        dsu.union(int(a), int(b))
    best_edge: dict[int, float] = defaultdict(float)
    for a, b, q in zip(si, sj, sp, strict=True):
        best_edge[int(a)] = max(best_edge[int(a)], float(q))
        best_edge[int(b)] = max(best_edge[int(b)], float(q))

    components: dict[int, list[int]] = defaultdict(list)
    for x in range(n):
        components[dsu.find(x)].append(x)
    final: list[str] = [""] * n
    for members in components.values():
        ents: dict[str, list[int]] = defaultdict(list)
        for x in members:
            if entity_now[x] is not None:
                ents[entity_now[x]].append(x)  # type: ignore[index]
        newcomers = [x for x in members if entity_now[x] is None]
        if not ents:
            ent = new_entity_id(prefix, min(key_list[x] for x in members), taken)
            statuses[ent] = ("active", None)
            events.append(
                {
                    "event": "create",
                    "entity_id": ent,
                    "other_entity_id": None,
                    "records": sorted(key_list[x] for x in members),
                    "probability": max((best_edge.get(x, 0.0) for x in members), default=None) or None,
                    "reason": f"{len(members)} record(s) matched no existing entity",
                }
            )
        else:
            ranked = sorted(ents, key=lambda e: (-len(ents[e]), e))
            ent = ranked[0]
            for other in ranked[1:]:
                bridges = sorted(key_list[x] for x in newcomers)
                statuses[other] = ("merged", ent)
                events.append(
                    {
                        "event": "merge",
                        "entity_id": ent,
                        "other_entity_id": other,
                        "records": bridges + sorted(key_list[x] for x in ents[other]),
                        "probability": max((best_edge.get(x, 0.0) for x in newcomers), default=None) or None,
                        "reason": (
                            f"new/changed record(s) {', '.join(bridges[:3])} match records of both {ent} "
                            f"({len(ents[ent])} records) and {other} ({len(ents[other])} records)"
                        ),
                    }
                )
            if newcomers or len(ranked) > 1:
                statuses.setdefault(ent, ("active", None))
            for x in newcomers:
                before = prev[x]
                if before == ent:
                    continue  # a changed record that still belongs where it was
                events.append(
                    {
                        "event": "move" if before else "join",
                        "entity_id": ent,
                        "other_entity_id": before,
                        "records": [key_list[x]],
                        "probability": best_edge.get(x) or None,
                        "reason": (
                            f"record changed and now matches {ent} (p={best_edge.get(x, 0.0):.3f})"
                            if before
                            else f"matches existing members of {ent} (p={best_edge.get(x, 0.0):.3f})"
                        ),
                    }
                )
        for x in members:
            final[x] = ent

    # 3. entities left without records are retired
    alive = set(final)
    for ent, status in prior.statuses.items():
        if status == "active" and ent not in alive and ent not in statuses:
            statuses[ent] = ("retired", None)
            events.append(
                {
                    "event": "retire",
                    "entity_id": ent,
                    "other_entity_id": None,
                    "records": sorted(k for k, e in prior.assignment.items() if e == ent),
                    "probability": None,
                    "reason": "all of its records changed and moved to other entities or disappeared",
                }
            )
    for ent in {e for e in prior.assignment.values() if e not in alive} - set(statuses):
        statuses[ent] = ("retired", None)

    entity_of = dict(zip(key_list, final, strict=True))
    changed_records = {k for x, k in enumerate(key_list) if not settled[x] or final[x] != prev[x]}
    # best probability to a fellow member (for the crosswalk)
    best_p: dict[str, float | None] = {}
    for a, b, q in zip(si, sj, sp, strict=True):
        if final[a] == final[b]:
            for x in (int(a), int(b)):
                k = key_list[x]
                best_p[k] = max(best_p.get(k) or 0.0, float(q))
    changed_entities = set(statuses) | {entity_of[k] for k in changed_records}
    for k in changed_records:
        before = prior.assignment.get(k)
        if before:
            changed_entities.add(before)
    return Assignment(entity_of, best_p, events, changed_records, changed_entities, statuses)


__all__ = ["Assignment", "PriorState", "assign", "new_entity_id"]
