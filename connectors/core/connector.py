"""What a built-in connector declares for the ingest job: its partition plan, silver mappings and gold series.

A connector folder ``connectors/<name>/`` holds ``source.py`` (``build_source`` + a :class:`SourcePlan`),
``silver.py`` (``TRANSFORMS``: endpoint -> mapping to silver rows) and ``series.py`` (``FAMILIES`` and
optional ``BUILDERS`` of gold series). ``connectors.core.registry`` binds them into one :class:`Connector`
each; ``jobs/ingest`` only runs them (fan-out, ledger, rate limits, cross-source joins, gold writer).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from pydantic import BaseModel, ValidationError

from connectors.core.client import HttpClient
from connectors.core.state import canonical
from lakehouse import Lakehouse, TableNotFoundError

Rows = dict[str, list[dict[str, Any]]]


# ------------------------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class Partition:
    """One unit of work: a (source, endpoint, partition) run; ``stage`` orders parents before children."""

    source: str
    endpoint: str
    partition: dict[str, Any] = field(default_factory=dict)
    stage: int = 0

    @property
    def key(self) -> str:
        return canonical(self.partition)

    @property
    def id(self) -> str:
        return f"{self.source}/{self.endpoint}/{self.key}"

    @property
    def short_id(self) -> str:
        return hashlib.sha1(self.id.encode()).hexdigest()[:12]


def _no_children(endpoint: str, records: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {}


Latest = Callable[[str], list[dict[str, Any]]]
"""``latest(endpoint)``: the source's landed bronze records of ``endpoint``, the latest one per record key."""
Finalize = Callable[[Latest], tuple[list[dict[str, Any]], dict[str, Any]]]
"""A finalize step: from what the run landed, the records and the mapping context of one endpoint's silver."""


@dataclass(frozen=True)
class SourcePlan:
    """How the ingest job cuts one source into partitions.

    ``first(options, config)`` lists the first-stage partitions (``options`` = ``defaults`` overridden by the
    job config's ``options.<source>``); ``children(endpoint, records)`` names child keys found in a parent
    endpoint's records (``{child endpoint: [keys]}``, fetched ``CHUNK`` ids per partition, under the
    partition key ``placeholders.get(child, "id")``). ``replay_auth`` is the recording's credentials;
    ``replay_spec(url)`` replaces the whole spec when more than the auth must change (a token URL).
    ``finalize`` maps endpoints whose silver needs every partition of the run (a join of two endpoints)
    to a :data:`Finalize` step: the ingest job runs it once all partitions landed, then the endpoint's
    silver mapping on what it returns; the endpoint's partitions write no silver of their own.
    """

    defaults: Mapping[str, Any]
    first: Callable[[dict[str, Any], dict[str, Any]], list[Partition]]
    children: Callable[[str, list[dict[str, Any]]], dict[str, list[str]]] = _no_children
    parent_endpoints: frozenset[str] = frozenset()
    placeholders: Mapping[str, str] = field(default_factory=dict)
    max_in_flight: int = 2
    replay_auth: dict[str, Any] | None = None
    replay_spec: Callable[[str], dict[str, Any]] | None = None
    finalize: Mapping[str, Finalize] = field(default_factory=dict)
    # endpoint -> extra mapping context fetched with the source's client from the partition's records
    context: Mapping[str, Callable[[HttpClient, list[dict[str, Any]]], dict[str, Any]]] = field(default_factory=dict)
    # part of ``sources: all`` (and so of ``covary demo``); False = runs only when named in ``sources``
    in_default_run: bool = True

    @property
    def finalize_only(self) -> frozenset[str]:
        """Endpoints whose silver is built in the job's finalize step, not by their partitions."""
        return frozenset(self.finalize)


# --------------------------------------------------------------------------------------------- silver
class Rejected:
    """Records a transform could not type (they go to ops.quarantine with the reason)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, record: Any, reason: str, location: str) -> None:
        self.items.append({"reason": reason, "raw": record, "location": location})


Transform = Callable[[list[dict[str, Any]], dict[str, Any], Rejected], Rows]


def utc(ts: datetime | None) -> datetime | None:
    """``ts`` in UTC (naive values are taken as UTC)."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def parse_records(
    model: type[BaseModel], records: Iterable[dict[str, Any]], rejected: Rejected, where: str
) -> list[Any]:
    """``records`` validated by ``model``; the ones that fail go to ``rejected`` with the first error."""
    out = []
    for i, record in enumerate(records):
        try:
            out.append(model.model_validate(record))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            rejected.add(record, f"{model.__name__}: {loc}: {first['msg']}", f"{where}#{i}")
    return out


# ----------------------------------------------------------------------------------------------- gold
@dataclass(frozen=True)
class Family:
    """A family of series built from one silver table, split by one dimension (language, city, genre...)."""

    prefix: str  # e.g. "github.commits"; ids are f"{prefix}.{dimension}.{daily|weekly}"
    description: str  # formatted with {dim}
    unit: str
    aggregation: str  # sum (counts, flows: zero-filled) | mean (levels)
    source: str
    lineage: str
    domain: str
    build: Callable[[Lakehouse], pl.DataFrame]  # -> columns dim, date, value (daily)


# A builder of series that are not daily families (own frequency): -> (values series_id/ts/value, catalogue rows)
SeriesBuilder = Callable[[Lakehouse], tuple[pl.DataFrame, list[dict[str, Any]]]]


def slug(value: object) -> str:
    """A series-id segment: lower case, [a-z0-9_] only."""
    text = re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_")
    return text or "unknown"


def read_frame(lake: Lakehouse, table: str, columns: list[str]) -> pl.DataFrame:
    """``columns`` of ``table``; an empty frame when the table has no data yet."""
    try:
        return lake.read_polars(table, columns=columns)
    except TableNotFoundError:
        return pl.DataFrame()


def count_by(table: str, dim: str, *, where: pl.Expr | None = None) -> Callable[[Lakehouse], pl.DataFrame]:
    """Rows per day of ``table`` split by ``dim`` (``"*"`` = one series)."""

    def build(lake: Lakehouse) -> pl.DataFrame:
        frame = read_frame(lake, table, [dim, "date"] if dim != "*" else ["date"])
        if frame.is_empty():
            return frame
        if where is not None:
            frame = frame.filter(where)
        dim_expr = pl.lit("all") if dim == "*" else pl.col(dim).fill_null("unknown")
        return frame.group_by(dim_expr.alias("dim"), "date").agg(pl.len().cast(pl.Float64).alias("value"))

    return build


def measure_by(table: str, dim: str, value: str, how: str) -> Callable[[Lakehouse], pl.DataFrame]:
    """Daily sum or mean of ``value`` in ``table`` split by ``dim``."""

    def build(lake: Lakehouse) -> pl.DataFrame:
        frame = read_frame(lake, table, [c for c in {dim, "date", value} if c != "*"])
        if frame.is_empty():
            return frame
        agg = pl.col(value).sum() if how == "sum" else pl.col(value).mean()
        dim_expr = pl.lit("all") if dim == "*" else pl.col(dim).fill_null("unknown")
        return frame.group_by(dim_expr.alias("dim"), "date").agg(agg.cast(pl.Float64).alias("value"))

    return build


# ------------------------------------------------------------------------------------------ connector
@dataclass(frozen=True)
class Connector:
    """One built-in connector as the ingest job sees it (bound in ``connectors.core.registry``)."""

    name: str
    build_source: Callable[[], Any]
    plan: SourcePlan
    transforms: Mapping[str, Transform]
    families: tuple[Family, ...] = ()
    builders: tuple[SeriesBuilder, ...] = ()

    def spec(self, *, replay_url: str | None = None) -> dict[str, Any]:
        """The spec dict; against the replay server (``replay_url``) with the recording's credentials."""
        if replay_url and self.plan.replay_spec is not None:
            return dict(self.plan.replay_spec(replay_url))
        spec = dict(self.build_source())
        if replay_url:
            spec["auth"] = self.plan.replay_auth
        return spec


__all__ = [
    "Connector",
    "Family",
    "Finalize",
    "Latest",
    "Partition",
    "Rejected",
    "Rows",
    "SeriesBuilder",
    "SourcePlan",
    "Transform",
    "count_by",
    "measure_by",
    "parse_records",
    "read_frame",
    "slug",
    "utc",
]
