"""``Explorer``: the explorer page's read-only lake reads (tables the SQL guard does not expose: uploads,
quarantine, RAG documents; and table histories), as a deployment of the query app passed to the ingress by
handle (``ctx.extra["explorer"]``). The ingress opens no lake of its own."""

from __future__ import annotations

from typing import Any

from lakehouse.errors import LakehouseError

Row = dict[str, Any]
READABLE = frozenset({"bronze.upload_files", "ops.quarantine", "ops.rag_documents", "silver.user_documents"})


class ExplorerDeployment:
    """Built on the replica from the lake root; the lake is opened on the first read."""

    def __init__(self, lake_root: str | None) -> None:
        self.lake_root = lake_root
        self._lake: Any = None

    def _get(self) -> Any:
        if self._lake is None:
            from serve.query.deployments import _lake

            self._lake = _lake(self.lake_root)
        return self._lake

    def read(self, table: str, doc_id: str | None = None) -> list[Row]:
        """Finished-load rows of one of :data:`READABLE` (only ``doc_id``'s when given); [] when it has no data."""
        if table not in READABLE:
            raise ValueError(f"the explorer does not read {table!r}")
        kwargs: dict[str, Any] = {}
        if doc_id is not None:
            import pyarrow.compute as pc

            kwargs["filter"] = pc.field("doc_id") == doc_id
        try:
            return self._get().read(table, **kwargs).to_pylist()  # type: ignore[no-any-return]
        except (LakehouseError, KeyError, FileNotFoundError):
            return []

    def history(self, table: str, limit: int) -> list[Row]:
        """Recent Delta commits of ``table`` (newest first); [] when it has none."""
        try:
            return self._get().history(table, limit=limit)  # type: ignore[no-any-return]
        except (LakehouseError, KeyError, FileNotFoundError):
            return []


__all__ = ["READABLE", "ExplorerDeployment"]
