"""The declarative source spec (YAML or Python): pydantic-validated, errors name the bad key and valid choices."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connectors.core.auth import AUTH_MAP, Auth
from connectors.core.pagination import PAGINATOR_MAP, Paginator
from connectors.errors import SpecError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FIELD_TYPES = ("str", "int", "float", "bool", "date", "datetime", "json", "list[str]", "list[int]", "list[float]")
Contract = Literal["evolve", "discard_value", "freeze"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)


class IncrementalSpec(_Strict):
    """Incremental loading: the record field that only grows, and where the start value is sent."""

    cursor_field: str = Field(description="Record field (dotted path) whose largest value is remembered.")
    param: str | None = Field(None, description="Query param / body key / GraphQL variable for the start value.")
    location: Literal["query", "body", "variable"] = "query"
    initial_value: Any = Field(None, description="Start value of the first run.")
    end_param: str | None = Field(None, description="Param for an upper bound (a partition's end), if any.")


class ParentSpec(_Strict):
    """A child endpoint runs once per record of ``endpoint``; ``fields`` maps placeholder -> parent field path."""

    endpoint: str
    fields: dict[str, str] = Field(description="{placeholder or param: dotted field path in the parent record}.")


class GraphQLSpec(_Strict):
    query: str
    variables: dict[str, Any] = Field(default_factory=dict)


class RateLimitSpec(_Strict):
    requests_per_second: float | None = Field(None, gt=0, description="Client-side token bucket rate; none = off.")
    burst: float | None = Field(None, gt=0, description="Bucket size; default max(1, rate).")


class RetrySpec(_Strict):
    max_attempts: int = Field(8, ge=1)
    backoff_base_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)
    jitter: float = Field(0.5, ge=0, le=1)
    max_retry_after_s: float | None = Field(None, gt=0, description="Default: connectors.max_retry_after_s.")
    budget: int | None = Field(None, ge=0, description="Retries per run; default: connectors.retry_budget.")


class EndpointSpec(_Strict):
    """One resource of a source: request, pagination, record selection, validation and load semantics."""

    name: str
    path: str = ""
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, Any] = Field(default_factory=dict)
    json_body: dict[str, Any] | None = Field(None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    paginator: str | dict[str, Any] | Paginator | None = None
    records: str | None = Field(None, description="Dotted path of the record list; default auto-detect.")
    primary_key: str | list[str] | None = None
    incremental: IncrementalSpec | None = None
    parent: ParentSpec | None = None
    graphql: GraphQLSpec | None = None
    fields: dict[str, str] | None = Field(None, description="{field: type}; types " + ", ".join(FIELD_TYPES))
    model: str | type[BaseModel] | None = Field(None, description="'module:Class' of a pydantic record model.")
    contract: Contract = Field("evolve", description="New fields: evolve=keep, discard_value=drop, freeze=reject.")
    max_pages: int | None = Field(None, ge=1)
    timeout_s: float | None = Field(None, gt=0)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError("must be lower-case letters, digits and _ (starting with a letter)")
        return v

    @field_validator("paginator")
    @classmethod
    def _paginator(cls, v: Any) -> Any:
        kind = v if isinstance(v, str) else v.get("type") if isinstance(v, dict) else None
        if v is not None and not isinstance(v, Paginator) and kind not in PAGINATOR_MAP:
            raise ValueError(f"unknown paginator type {kind!r}; valid choices: {', '.join(sorted(PAGINATOR_MAP))}")
        return v

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for name, type_ in (v or {}).items():
            if type_.rstrip("?") not in FIELD_TYPES:
                raise ValueError(
                    f"field {name!r} has unknown type {type_!r}; valid choices: {', '.join(FIELD_TYPES)} "
                    "(suffix ? = optional)"
                )
        return v

    @field_validator("model")
    @classmethod
    def _model(cls, v: Any) -> Any:
        if isinstance(v, str) and ":" not in v:
            raise ValueError("must be 'package.module:ClassName'")
        return v

    @property
    def primary_keys(self) -> list[str]:
        if self.primary_key is None:
            return []
        return [self.primary_key] if isinstance(self.primary_key, str) else list(self.primary_key)

    def record_model(self) -> type[BaseModel] | None:
        """The pydantic model records are validated with: ``model`` (class or import path) or ``fields``."""
        from connectors.core.validation import compile_fields

        if isinstance(self.model, type):
            return self.model
        if isinstance(self.model, str):
            module, _, attr = self.model.partition(":")
            try:
                found = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise SpecError(f"endpoints.{self.name}.model: cannot import {self.model!r} ({exc})") from exc
            if not (isinstance(found, type) and issubclass(found, BaseModel)):
                raise SpecError(f"endpoints.{self.name}.model: {self.model!r} is not a pydantic model")
            return found
        if self.fields:
            return compile_fields(f"{self.name.title().replace('_', '')}Record", self.fields)
        return None


class SourceSpec(_Strict):
    """A whole source: where it is, how to authenticate, how fast to go, and its endpoints."""

    name: str
    description: str = ""
    base_url: str
    auth: str | dict[str, Any] | Auth | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    rate_limit: RateLimitSpec = Field(default_factory=RateLimitSpec)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    timeout_s: float = Field(30.0, gt=0)
    commit_every: int = Field(20_000, ge=1, description="Records per commit (pages are grouped up to this).")
    endpoints: list[EndpointSpec] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError("must be lower-case letters, digits and _ (starting with a letter)")
        return v

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(v)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host (file://, gopher:// ... are refused)")
        return v

    @field_validator("auth")
    @classmethod
    def _auth(cls, v: Any) -> Any:
        kind = v if isinstance(v, str) else v.get("type") if isinstance(v, dict) else None
        if v is not None and not isinstance(v, Auth) and kind not in AUTH_MAP:
            raise ValueError(f"unknown auth type {kind!r}; valid choices: {', '.join(sorted(AUTH_MAP))}")
        return v

    @model_validator(mode="after")
    def _links(self) -> SourceSpec:
        names = [e.name for e in self.endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"endpoint names must be unique; repeated: {', '.join(dupes)}")
        for e in self.endpoints:
            if e.parent and e.parent.endpoint not in names:
                raise ValueError(
                    f"endpoint {e.name!r}: parent.endpoint {e.parent.endpoint!r} is not an endpoint of this source; "
                    f"valid choices: {', '.join(names)}"
                )
            if e.parent and e.parent.endpoint == e.name:
                raise ValueError(f"endpoint {e.name!r} cannot be its own parent")
        order = self.ordered()  # raises on cycles
        del order
        return self

    def endpoint(self, name: str) -> EndpointSpec:
        for e in self.endpoints:
            if e.name == name:
                return e
        from connectors.errors import SourceNotFoundError

        raise SourceNotFoundError(
            f"source {self.name} has no endpoint {name!r}",
            hint=f"endpoints: {', '.join(e.name for e in self.endpoints)}",
        )

    def ordered(self) -> list[EndpointSpec]:
        """Endpoints with every parent before its children."""
        done: list[EndpointSpec] = []
        pending = list(self.endpoints)
        while pending:
            ready = [e for e in pending if not e.parent or e.parent.endpoint in {d.name for d in done}]
            if not ready:
                raise ValueError("endpoints form a parent cycle: " + ", ".join(e.name for e in pending))
            done += ready
            pending = [e for e in pending if e not in ready]
        return done


_MODELS_BY_KEY: dict[str, type[BaseModel]] = {
    "endpoints": EndpointSpec,
    "incremental": IncrementalSpec,
    "parent": ParentSpec,
    "graphql": GraphQLSpec,
    "rate_limit": RateLimitSpec,
    "retry": RetrySpec,
}


def _explain(exc: ValidationError, origin: str) -> SpecError:
    lines = []
    hints = []
    for err in exc.errors():
        loc = err["loc"]
        where = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parent = next((p for p in reversed(loc[:-1]) if isinstance(p, str) and p in _MODELS_BY_KEY), None)
            model = _MODELS_BY_KEY.get(parent or "", SourceSpec)
            valid = sorted(f.alias or n for n, f in model.model_fields.items())
            msg = f"unknown key {loc[-1]!r}"
            hints.append(f"valid keys at {where.rsplit('.', 1)[0] or 'top level'}: {', '.join(valid)}")
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{where or '<root>'}: {msg}")
    return SpecError(f"invalid source spec {origin}: " + "; ".join(lines), hint="; ".join(hints) or None)


def parse_spec(data: dict[str, Any] | SourceSpec, *, origin: str = "") -> SourceSpec:
    """Validate a spec dict (from YAML or Python) into a :class:`SourceSpec`, or raise :class:`SpecError`."""
    if isinstance(data, SourceSpec):
        return data
    if not isinstance(data, dict):
        raise SpecError(f"invalid source spec {origin}: the top level must be a mapping with name, base_url, endpoints")
    try:
        return SourceSpec.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, origin) from exc


def load_spec(path: str | Path) -> SourceSpec:
    """Read and validate a YAML source spec file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read source spec {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"source spec {path} is not valid YAML: {exc}") from exc
    return parse_spec(data, origin=str(path))


__all__ = [
    "FIELD_TYPES",
    "EndpointSpec",
    "GraphQLSpec",
    "IncrementalSpec",
    "ParentSpec",
    "RateLimitSpec",
    "RetrySpec",
    "SourceSpec",
    "load_spec",
    "parse_spec",
]
