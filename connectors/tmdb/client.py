"""Detail fan-out: the ``id_list`` paginator fetches ``<path>/<id>`` for many ids in one resumable run."""

from __future__ import annotations

from typing import Any

from connectors.core import HttpResponse, PageRequest, Paginator, register_paginator


class IdListPaginator(Paginator):
    """One page per id: the last path segment holds comma-separated ids (from the partition).

    ``/3/movie/11,12,13`` is fetched as ``/3/movie/11``, ``/3/movie/12``, ``/3/movie/13``. The ids not
    fetched yet ride in the URL fragment, which HTTP clients never send, so the request the API sees is
    exactly the documented one, and an interrupted run resumes from its checkpointed request.
    """

    kind = "id_list"

    def __init__(self, **common: Any) -> None:
        common.setdefault("stop_on_empty", False)
        super().__init__(**common)

    @staticmethod
    def _split(path: str) -> tuple[str, list[str]]:
        head, _, ids = path.partition("#")
        base, _, first = head.rpartition("/")
        return base, [i for i in (first.split(",") + (ids.split(",") if ids else [])) if i]

    @staticmethod
    def _at(base: str, ids: list[str]) -> str:
        return f"{base}/{ids[0]}" + (f"#{','.join(ids[1:])}" if len(ids) > 1 else "")

    def first(self, request: PageRequest) -> PageRequest:
        base, ids = self._split(request.path)
        return PageRequest(self._at(base, ids), dict(request.params), request.json, request.index)

    def next(self, request: PageRequest, response: HttpResponse, records: list[Any]) -> PageRequest | None:
        base, ids = self._split(request.path)
        rest = ids[1:]
        if not rest:
            return None
        return PageRequest(self._at(base, rest), dict(request.params), request.json, request.index + 1)


register_paginator("id_list", IdListPaginator)

__all__ = ["IdListPaginator"]
