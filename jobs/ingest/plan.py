"""Ingest planning: which partitions (source x endpoint x key or date window) to run, in which stage.

What a partition of each source is comes from its connector (``connectors/<name>/source.py``'s
``SourcePlan``, bound in ``connectors.core.registry``); this module only applies the job config and
cuts child keys into detail partitions.
"""

from __future__ import annotations

from typing import Any

import orjson

from connectors.core.connector import Connector, Partition
from connectors.core.registry import CONNECTORS, get_connector
from connectors.errors import SourceNotFoundError, SpecError
from jobs.ingest.errors import IngestConfigError

SOURCES = tuple(CONNECTORS)  # every built-in connector a job config may name
DEFAULT_SOURCES = tuple(name for name, c in CONNECTORS.items() if c.plan.in_default_run)  # = ``sources: all``
CHUNK = 50  # ids per detail partition
# Derived from the connectors' plans: tasks of one source in flight at once; endpoints that have children
MAX_IN_FLIGHT: dict[str, int] = {name: c.plan.max_in_flight for name, c in CONNECTORS.items()}
PARENT_ENDPOINTS: frozenset[tuple[str, str]] = frozenset(
    (name, ep) for name, c in CONNECTORS.items() for ep in c.plan.parent_endpoints
)
FINALIZE_ONLY: frozenset[tuple[str, str]] = frozenset(
    (name, ep) for name, c in CONNECTORS.items() for ep in c.plan.finalize_only
)


def _connector(source: str) -> Connector:
    try:
        return get_connector(source)
    except SourceNotFoundError as exc:
        raise IngestConfigError(f"unknown source {source!r}", hint=f"built-in sources: {', '.join(SOURCES)}") from exc


def options_of(source: str, config: dict[str, Any]) -> dict[str, Any]:
    """The source's plan defaults overridden by the job config's ``options.<source>``.

    ``also`` lists further option groups planned on top (the bundled recordings' second window, e.g. the
    2023-24 public data); options given in the job config drop the defaults' ``also`` unless they name it.
    """
    defaults = dict(_connector(source).plan.defaults)
    given = dict((config.get("options") or {}).get(source) or {})
    if given and "also" not in given:
        defaults.pop("also", None)
    return defaults | given


def first_stage(source: str, config: dict[str, Any]) -> list[Partition]:
    """The partitions a source starts with (children are planned from what these land)."""
    connector = _connector(source)
    opts = options_of(source, config)
    also = opts.pop("also", None) or []
    try:
        parts = connector.plan.first(opts, config)
        for group in also:
            parts += connector.plan.first(opts | dict(group), config)
    except SpecError as exc:
        raise IngestConfigError(exc.message, hint=exc.hint) from exc
    return list({p.id: p for p in parts}.values())


def max_in_flight(source: str) -> int:
    """Tasks of one source in flight at once (on top of the source's cluster-wide request rate)."""
    return int(_connector(source).plan.max_in_flight)


def children_of(source: str, endpoint: str, records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Keys for child endpoints found in a partition's records: ``{child endpoint: [keys]}``."""
    return _connector(source).plan.children(endpoint, records)


def is_parent(source: str, endpoint: str) -> bool:
    """Whether children are planned from this endpoint's records."""
    return endpoint in _connector(source).plan.parent_endpoints


def child_partitions(source: str, keys: dict[str, list[str]], stage: int) -> list[Partition]:
    """Detail partitions of ``CHUNK`` ids each (the ``id_list`` paginator fetches one id per request)."""
    placeholders = _connector(source).plan.placeholders
    out = []
    for endpoint, values in sorted(keys.items()):
        unique = list(dict.fromkeys(values))
        name = placeholders.get(endpoint, "id")
        for start in range(0, len(unique), CHUNK):
            out.append(Partition(source, endpoint, {name: ",".join(unique[start : start + CHUNK])}, stage))
    return out


def source_spec(source: str, *, replay_url: str | None = None) -> dict[str, Any]:
    """The connector's spec dict; against the replay server with the recording's credentials."""
    return _connector(source).spec(replay_url=replay_url)


def rate_of(spec: dict[str, Any]) -> tuple[float, float | None]:
    """Requests per second and burst the source's cluster-wide bucket enforces."""
    rl = spec.get("rate_limit") or {}
    return float(rl.get("requests_per_second") or 1000.0), rl.get("burst")


def describe(parts: list[Partition]) -> list[str]:
    return [orjson.dumps({"id": p.id, "stage": p.stage}).decode() for p in parts]


__all__ = [
    "CHUNK",
    "DEFAULT_SOURCES",
    "FINALIZE_ONLY",
    "MAX_IN_FLIGHT",
    "PARENT_ENDPOINTS",
    "SOURCES",
    "Partition",
    "child_partitions",
    "children_of",
    "describe",
    "first_stage",
    "is_parent",
    "max_in_flight",
    "options_of",
    "rate_of",
    "source_spec",
]
