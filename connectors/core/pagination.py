"""Pagination strategies: page number, offset/limit, cursor, Link header, next URL, GraphQL pageInfo.

A paginator turns the first request into the next one after each page, or returns ``None`` to stop.
Common stop conditions: an empty page (``stop_on_empty``), ``has_more_path`` false, a ``total``
reached, a short page, no next cursor/link; ``max_pages`` is enforced by the runner. The runner
also refuses to fetch a request it has already fetched in the same run (a repeated cursor).
Custom strategies: subclass :class:`Paginator` and ``register_paginator("name", cls)``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from connectors.core._registry import build_from_registry, register_type
from connectors.core.client import HttpResponse
from connectors.core.selectors import get_path
from connectors.errors import PaginationError, SpecError


@dataclass
class PageRequest:
    """One page's request; ``key`` identifies it (same request = same page) and it round-trips JSON."""

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    index: int = 0

    @property
    def key(self) -> str:
        body = ""
        if self.json is not None:
            body = " body#" + hashlib.sha1(orjson.dumps(self.json, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]
        query = "&".join(f"{k}={v}" for k, v in sorted(self.params.items()) if v is not None)
        return f"{self.path}{'?' + query if query else ''}{body}"

    def to_state(self) -> dict[str, Any]:
        return {"path": self.path, "params": self.params, "json": self.json, "index": self.index}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PageRequest:
        return cls(state["path"], dict(state.get("params") or {}), state.get("json"), int(state.get("index", 0)))

    def follow(self, **changes: Any) -> PageRequest:
        """The next request: same path/body, params updated (a None value removes the param)."""
        params = dict(self.params)
        for k, v in changes.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        return PageRequest(self.path, params, self.json, self.index + 1)


class Paginator:
    """Base class. ``first`` prepares the first request; ``next`` returns the following one or None."""

    kind: ClassVar[str] = "single_page"

    def __init__(self, *, stop_on_empty: bool = True, has_more_path: str | None = None) -> None:
        self.stop_on_empty = stop_on_empty
        self.has_more_path = has_more_path

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, response: HttpResponse, records: list[Any]) -> PageRequest | None:
        return None

    def _stop(self, response: HttpResponse, records: list[Any]) -> bool:
        if self.stop_on_empty and not records:
            return True
        if self.has_more_path:
            more = get_path(response.data, self.has_more_path)
            if more is not None and not _truthy(more):
                return True
        return False


class SinglePagePaginator(Paginator):
    kind = "single_page"


class PageNumberPaginator(Paginator):
    """``?page=1,2,3...``; stops on an empty/short page, ``has_more`` false or ``total_pages`` reached."""

    kind = "page_number"

    def __init__(
        self,
        *,
        page_param: str = "page",
        start: int = 1,
        size_param: str | None = None,
        size: int | None = None,
        total_pages_path: str | None = None,
        stop_on_short_page: bool = True,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.page_param, self.start = page_param, start
        self.size_param, self.size = size_param, size
        self.total_pages_path = total_pages_path
        self.stop_on_short_page = stop_on_short_page

    def first(self, request: PageRequest) -> PageRequest:
        params = dict(request.params) | {self.page_param: self.start}
        if self.size_param and self.size:
            params[self.size_param] = self.size
        return PageRequest(request.path, params, request.json, request.index)

    def next(self, request: PageRequest, response: HttpResponse, records: list[Any]) -> PageRequest | None:
        if self._stop(response, records):
            return None
        page = int(request.params.get(self.page_param, self.start))
        if self.total_pages_path:
            total = get_path(response.data, self.total_pages_path)
            if total is not None and page - self.start + 1 >= int(total):
                return None
        if self.stop_on_short_page and self.size and len(records) < self.size:
            return None
        return request.follow(**{self.page_param: page + 1})


class OffsetPaginator(Paginator):
    """``?offset=0&limit=N``; stops on an empty/short page, ``has_more`` false or ``offset >= total``."""

    kind = "offset"

    def __init__(
        self,
        *,
        limit: int = 100,
        offset_param: str = "offset",
        limit_param: str = "limit",
        start: int = 0,
        total_path: str | None = None,
        stop_on_short_page: bool = True,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.limit, self.offset_param, self.limit_param = limit, offset_param, limit_param
        self.start, self.total_path, self.stop_on_short_page = start, total_path, stop_on_short_page

    def first(self, request: PageRequest) -> PageRequest:
        params = dict(request.params) | {self.offset_param: self.start, self.limit_param: self.limit}
        return PageRequest(request.path, params, request.json, request.index)

    def next(self, request: PageRequest, response: HttpResponse, records: list[Any]) -> PageRequest | None:
        if self._stop(response, records):
            return None
        offset = int(request.params.get(self.offset_param, self.start)) + self.limit
        if self.total_path:
            total = get_path(response.data, self.total_path)
            if total is not None and offset >= int(total):
                return None
        if self.stop_on_short_page and len(records) < self.limit:
            return None
        return request.follow(**{self.offset_param: offset})


class CursorPaginator(Paginator):
    """Next cursor from the body (``cursor_path``) or a header, sent as a query param or in the JSON body."""

    kind = "cursor"

    def __init__(
        self,
        *,
        cursor_path: str | None = "next_cursor",
        cursor_header: str | None = None,
        cursor_param: str = "cursor",
        location: str = "query",
        **common: Any,
    ) -> None:
        common.setdefault("stop_on_empty", False)
        super().__init__(**common)
        if location not in ("query", "body"):
            raise SpecError(f"paginator.location: {location!r} is not valid", hint="valid choices: query, body")
        self.cursor_path, self.cursor_header = cursor_path, cursor_header
        self.cursor_param, self.location = cursor_param, location
        self._seen: set[str] = set()

    def next(self, request: PageRequest, response: HttpResponse, records: list[Any]) -> PageRequest | None:
        if self._stop(response, records):
            return None
        if self.cursor_header:
            cursor = response.headers.get(self.cursor_header)
        else:
            cursor = get_path(response.data, self.cursor_path)
        if cursor in (None, "", False):
            return None
        cursor = str(cursor)
        current = request.params.get(self.cursor_param) if self.location == "query" else _body_get(request, self)
        if cursor == current or cursor in self._seen:
            raise PaginationError(
                f"{request.path}: the server returned cursor {cursor!r} again after page {request.index + 1}; "
                "stopping instead of looping forever",
                hint=f"check the paginator's cursor_path ({self.cursor_path or self.cursor_header!r}); "
                "pages fetched so far are committed",
            )
        self._seen.add(cursor)
        if self.location == "query":
            return request.follow(**{self.cursor_param: cursor})
        body = dict(request.json or {}) | {self.cursor_param: cursor}
        return PageRequest(request.path, dict(request.params), body, request.index + 1)


def _body_get(request: PageRequest, paginator: CursorPaginator) -> Any:
    return (request.json or {}).get(paginator.cursor_param) if isinstance(request.json, dict) else None


_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


def parse_link_header(value: str | None) -> dict[str, str]:
    """``<url>; rel="next", <url>; rel="last"`` -> ``{"next": url, "last": url}``."""
    if not value:
        return {}
    return {rel.strip(): url for url, rel in _LINK_RE.findall(value)}


class LinkHeaderPaginator(Paginator):
    """Follows the RFC 8288 ``Link: <...>; rel="next"`` header (GitHub REST style)."""

    kind = "link_header"

    def __init__(self, *, rel: str = "next", **common: Any) -> None:
        common.setdefault("stop_on_empty", False)
        super().__init__(**common)
        self.rel = rel

    def next(self, request: PageRequest, response: HttpResponse, records: list[Any]) -> PageRequest | None:
        if self._stop(response, records):
            return None
        url = parse_link_header(response.headers.get("Link")).get(self.rel)
        return PageRequest(_on_host(url, response, "Link header"), {}, request.json, request.index + 1) if url else None


class NextUrlPaginator(Paginator):
    """Next page URL in the body (``next_url_path``, e.g. PokeAPI's ``next``)."""

    kind = "next_url"

    def __init__(self, *, next_url_path: str = "next", **common: Any) -> None:
        common.setdefault("stop_on_empty", False)
        super().__init__(**common)
        self.next_url_path = next_url_path

    def next(self, request: PageRequest, response: HttpResponse, records: list[Any]) -> PageRequest | None:
        if self._stop(response, records):
            return None
        url = get_path(response.data, self.next_url_path)
        if not url:
            return None
        return PageRequest(_on_host(str(url), response, self.next_url_path), {}, request.json, request.index + 1)


class GraphQLPaginator(Paginator):
    """Relay ``pageInfo {hasNextPage endCursor}``: the cursor goes into ``variables[cursor_variable]``."""

    kind = "graphql"

    def __init__(self, *, page_info_path: str, cursor_variable: str = "after", **common: Any) -> None:
        common.setdefault("stop_on_empty", False)
        super().__init__(**common)
        self.page_info_path, self.cursor_variable = page_info_path, cursor_variable
        self._seen: set[str] = set()

    def next(self, request: PageRequest, response: HttpResponse, records: list[Any]) -> PageRequest | None:
        if self._stop(response, records):
            return None
        info = get_path(response.data, self.page_info_path)
        if not isinstance(info, dict):
            raise PaginationError(
                f"{request.path}: no pageInfo object at {self.page_info_path!r} in the GraphQL response",
                hint="check paginator.page_info_path against the query's selection",
            )
        if not _truthy(info.get("hasNextPage")) or not info.get("endCursor"):
            return None
        cursor = str(info["endCursor"])
        if cursor in self._seen:
            raise PaginationError(
                f"{request.path}: GraphQL endCursor {cursor!r} repeated after page {request.index + 1}; "
                "stopping instead of looping forever",
                hint="check the query passes $" + self.cursor_variable + " to the connection's `after` argument",
            )
        self._seen.add(cursor)
        body = dict(request.json or {})
        body["variables"] = dict(body.get("variables") or {}) | {self.cursor_variable: cursor}
        return PageRequest(request.path, dict(request.params), body, request.index + 1)


def _on_host(url: str, response: HttpResponse, where: str) -> str:
    """A next-page URL, resolved against the page it came from; it must stay on that page's origin
    (scheme, host, port), which by induction is the source's base URL: a server cannot steer the run
    (and its credentials) to another host."""
    from urllib.parse import urljoin

    from connectors.core.ssrf import same_origin

    if not response.url or (url.startswith("/") and not url.startswith("//")):
        return url
    absolute = urljoin(response.url, url)
    if not same_origin(absolute, response.url):
        shown = absolute if len(absolute) <= 120 else absolute[:117] + "..."
        raise PaginationError(
            f"the next-page URL from {where} ({shown}) leaves the source's host; refusing to follow it",
            hint="pages are only fetched from the source's base URL; check the paginator or the server",
        )
    return absolute


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return bool(value)


PAGINATOR_MAP: dict[str, type[Paginator]] = {
    "single_page": SinglePagePaginator,
    "page_number": PageNumberPaginator,
    "offset": OffsetPaginator,
    "cursor": CursorPaginator,
    "link_header": LinkHeaderPaginator,
    "next_url": NextUrlPaginator,
    "graphql": GraphQLPaginator,
}


def register_paginator(name: str, cls: type[Paginator]) -> None:
    """Make ``paginator: {type: name}`` build ``cls(**rest_of_the_config)``."""
    register_type(PAGINATOR_MAP, Paginator, name, cls)


def build_paginator(config: Paginator | dict[str, Any] | str | None, *, where: str = "paginator") -> Paginator:
    """A fresh paginator from an instance (used as is), None (single page), a type name or a dict."""
    return build_from_registry(
        PAGINATOR_MAP,
        Paginator,
        config,
        default=SinglePagePaginator,
        where=where,
        label="paginator",
        register_fn="register_paginator",
    )


__all__ = [
    "PAGINATOR_MAP",
    "CursorPaginator",
    "GraphQLPaginator",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "SinglePagePaginator",
    "build_paginator",
    "parse_link_header",
    "register_paginator",
]
