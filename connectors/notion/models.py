"""Pydantic models of the Notion API (2022-06-28) payloads: databases, pages, property values, blocks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NOTION_VERSION = "2022-06-28"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class TextContent(_Payload):
    content: str
    link: dict[str, str] | None = None


class RichText(_Payload):
    type: str = "text"
    text: TextContent | None = None
    plain_text: str = ""
    href: str | None = None
    annotations: dict[str, Any] | None = None


class Parent(_Payload):
    type: str
    database_id: str | None = None
    page_id: str | None = None
    workspace: bool | None = None


class PartialUser(_Payload):
    object: Literal["user"] = "user"
    id: str


class DateValue(_Payload):
    start: date | datetime
    end: date | datetime | None = None
    time_zone: str | None = None


class SelectOption(_Payload):
    id: str | None = None
    name: str
    color: str | None = None


class PropertyValue(_Payload):
    """A page property value; ``type`` says which one of the typed fields is set."""

    id: str
    type: str
    title: list[RichText] | None = None
    rich_text: list[RichText] | None = None
    number: float | None = None
    select: SelectOption | None = None
    multi_select: list[SelectOption] | None = None
    date: DateValue | None = None
    checkbox: bool | None = None
    url: str | None = None

    def plain(self) -> Any:
        """The value as plain Python (text joined, date start, option names)."""
        if self.type in ("title", "rich_text"):
            return "".join(t.plain_text for t in (getattr(self, self.type) or []))
        if self.type == "select":
            return self.select.name if self.select else None
        if self.type == "multi_select":
            return [o.name for o in self.multi_select or []]
        if self.type == "date":
            return self.date.start if self.date else None
        return getattr(self, self.type, None)


class Page(_Payload):
    """A page object (``GET /v1/pages/{id}``, items of a database query, ``POST /v1/pages`` answer)."""

    object: Literal["page"]
    id: str
    created_time: datetime
    last_edited_time: datetime
    created_by: PartialUser | None = None
    last_edited_by: PartialUser | None = None
    parent: Parent
    archived: bool = False
    in_trash: bool = False
    properties: dict[str, PropertyValue]
    url: str | None = None
    public_url: str | None = None


class QueryResponse(_Payload):
    """``POST /v1/databases/{id}/query`` answer: cursor pagination with ``next_cursor``/``has_more``."""

    object: Literal["list"]
    results: list[Page]
    next_cursor: str | None = None
    has_more: bool
    type: str | None = None


class DatabaseProperty(_Payload):
    id: str
    name: str
    type: str


class Database(_Payload):
    """``GET /v1/databases/{id}``."""

    object: Literal["database"]
    id: str
    title: list[RichText] = Field(default_factory=list)
    created_time: datetime
    last_edited_time: datetime
    properties: dict[str, DatabaseProperty]
    url: str | None = None


# ------------------------------------------------------------------------------------- writing
BlockType = Literal["heading_1", "heading_2", "heading_3", "paragraph", "bulleted_list_item", "code", "divider"]


def text(content: str) -> dict[str, Any]:
    """A rich-text array with one plain text run (Notion caps one run at 2000 characters)."""
    return {"type": "text", "text": {"content": content[:2000]}}


def block(kind: BlockType, content: str = "", *, language: str = "plain text") -> dict[str, Any]:
    """One block for ``children`` of ``POST /v1/pages`` or ``PATCH /v1/blocks/{id}/children``."""
    if kind == "divider":
        return {"object": "block", "type": "divider", "divider": {}}
    body: dict[str, Any] = {"rich_text": [text(content)]}
    if kind == "code":
        body["language"] = language
    return {"object": "block", "type": kind, kind: body}


class NewPage(BaseModel):
    """What covary writes: a page in a database with a title, optional properties and blocks."""

    model_config = ConfigDict(extra="forbid")

    database_id: str
    title: str
    title_property: str = "Name"
    properties: dict[str, Any] = Field(default_factory=dict)
    children: list[dict[str, Any]] = Field(default_factory=list, max_length=100)

    def body(self) -> dict[str, Any]:
        props = {self.title_property: {"title": [text(self.title)]}} | self.properties
        return {"parent": {"database_id": self.database_id}, "properties": props, "children": self.children}


__all__ = [
    "NOTION_VERSION",
    "Database",
    "NewPage",
    "Page",
    "PropertyValue",
    "QueryResponse",
    "block",
    "text",
]
