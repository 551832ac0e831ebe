"""Value types shared by the lake facade and the load ledger, and the lake interface the ledger needs.

``lakehouse.lake`` (the facade) builds on ``lakehouse.loads`` (the ledger and the ``Load`` context);
the ledger talks back to the lake only through :class:`LakeWriter`, so neither module imports the other
in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

if TYPE_CHECKING:
    import pyarrow.compute as pc

    from lakehouse.registry import WriteMode


@dataclass(frozen=True)
class BatchKey:
    """Idempotency key of one batch: Delta's transaction marker ``(app_id, version)``.

    Before writing, the writer reads the table's committed version for ``app_id``; a batch whose
    version is not above it was already committed and is skipped. The marker is committed in the
    same atomic Delta commit as the data, and delta-rs rejects a concurrent commit that carries the
    same ``app_id``, so a batch lands exactly once however often it is replayed.
    """

    app_id: str
    version: int = 1

    def __post_init__(self) -> None:
        if not self.app_id or self.version < 0:
            raise ValueError("BatchKey needs a non-empty app_id and a version >= 0")

    @property
    def tag(self) -> str:
        return f"{self.app_id}@{self.version}"


@dataclass(frozen=True)
class WriteResult:
    table: str
    version: int | None
    rows: int
    bytes: int
    skipped: bool = False
    committed_by_load: str | None = None
    """For a skipped batch: the load that committed it first (so a resumed load can adopt it)."""


@dataclass
class LogSnapshot:
    """Every row of an append-only log table at ``version``. ``epoch`` changes when the rows were re-read
    from scratch; within one epoch a later snapshot's table starts with the earlier one's rows."""

    version: int
    epoch: int
    table: pa.Table
    files: set[str] = field(default_factory=set, repr=False)


class LakeWriter(Protocol):
    """What the load ledger and a ``Load`` use of the lake: write, read, existence, and the ledger itself."""

    def write(
        self,
        name: str,
        data: Any,
        *,
        load_id: str | None = None,
        batch: BatchKey | None = None,
        mode: WriteMode | None = None,
        replace_where: str | None = None,
    ) -> WriteResult: ...

    def read(
        self,
        name: str,
        *,
        version: Any = None,
        columns: list[str] | None = None,
        filter: pc.Expression | None = None,
        include_unfinished: bool = False,
        include_system: bool = False,
    ) -> pa.Table: ...

    def exists(self, name: str) -> bool: ...

    def log_snapshot(self, name: str) -> LogSnapshot | None: ...

    @property
    def loads(self) -> Any: ...


__all__ = ["BatchKey", "LakeWriter", "LogSnapshot", "WriteResult"]
