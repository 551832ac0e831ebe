"""Fixture manifests: how a connector's recorded payloads are routed and paginated by the replay server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.errors import SpecError

CONNECTORS_DIR = Path(__file__).resolve().parent.parent


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Paginate(_M):
    """How the server pages a record list (the client's paginator must match)."""

    style: Literal["none", "page_number", "offset", "cursor", "link_header", "next_url", "graphql"] = "none"
    page_size: int = Field(50, ge=1)
    page_param: str = "page"
    start: int = 1
    size_param: str | None = None
    offset_param: str = "offset"
    limit_param: str = "limit"
    cursor_param: str = "cursor"
    cursor_variable: str = "after"
    size_variable: str = "first"
    envelope: str = Field("", description="Dotted path of the record list in the body; '' = bare list.")
    total_path: str | None = None
    has_more_path: str | None = None
    next_path: str = Field("next_cursor", description="Body path of the next cursor (cursor) or URL (next_url).")
    repeat_cursor_at: int | None = Field(None, description="Bug simulation: page N repeats the previous cursor.")


class Drift(_M):
    """Schema drift on drifted pages: ``new_field`` added to every record, ``field`` becomes a string."""

    field: str | None = None
    new_field: str = "drift_extra"
    every: int = Field(4, ge=1, description="Every N-th record of a drifted page gets the type change.")


class Match(_M):
    query: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] = Field(default_factory=dict)
    path: dict[str, str] = Field(default_factory=dict)


class Recorded(_M):
    match: Match = Field(default_factory=Match)
    file: str | None = None
    body: Any = None
    status: int = 200
    headers: dict[str, str] = Field(default_factory=dict)


class RouteAuth(_M):
    bearer: str | None = None
    header: str | None = None
    query: str | None = None
    value: str | None = None
    oauth: bool = False


class RateLimit(_M):
    limit: int = Field(ge=1)
    window_s: float = Field(60.0, gt=0)


class OAuthToken(_M):
    client_id: str
    client_secret: str
    expires_in: int = 3600


class Generate(_M):
    count: int = Field(ge=0)
    id_field: str = "id"
    template: dict[str, Any] = Field(default_factory=dict)


class Route(_M):
    path: str
    method: Literal["GET", "POST"] = "GET"
    records: str | None = None
    generate: Generate | None = None
    paginate: Paginate = Field(default_factory=Paginate)
    filter: dict[str, str] | None = Field(None, description="{param: ..., field: ...}: keep records field >= param.")
    path_filter: dict[str, str] = Field(default_factory=dict, description="{path var: field}: keep field == var.")
    responses: list[Recorded] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)
    auth: RouteAuth | None = None
    rate_limit: RateLimit | None = None
    oauth_token: OAuthToken | None = None
    drift: Drift = Field(default_factory=Drift)
    id_field: str = "id"
    faults: bool = True


class Manifest(_M):
    routes: list[Route]


def load_manifest(directory: Path) -> tuple[Manifest, dict[int, list[Any]]]:
    """The manifest of a fixture directory and, per route index, its record list (file or generated)."""
    path = directory / "manifest.yaml"
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the large manifests parse ~10x faster
        manifest = Manifest.model_validate(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"cannot read replay manifest {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SpecError(f"invalid replay manifest {path}: {problems}") from exc
    data: dict[int, list[Any]] = {}
    for i, route in enumerate(manifest.routes):
        if route.records:
            data[i] = read_records(directory / route.records)
        elif route.generate:
            g = route.generate
            data[i] = [{g.id_field: n + 1, **_fill(g.template, n)} for n in range(g.count)]
    return manifest, data


def _fill(template: dict[str, Any], n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in template.items():
        if isinstance(v, str) and "{n" in v:
            out[k] = v.format(n=n)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = v + (n % 1000) * (0.5 if isinstance(v, float) else 1)
        else:
            out[k] = v
    return out


def read_records(path: Path) -> list[Any]:
    raw = path.read_bytes()
    if path.suffix in (".ndjson", ".jsonl"):
        return [orjson.loads(line) for line in raw.splitlines() if line.strip()]
    data = orjson.loads(raw)
    if not isinstance(data, list):
        raise SpecError(f"replay records file {path} must hold a JSON list")
    return data


def fixture_dirs() -> dict[str, Path]:
    """Every connector with fixtures: ``connectors/<name>/fixtures/`` and ``connectors/specs/fixtures/<name>/``."""
    found: dict[str, Path] = {}
    for manifest in sorted(CONNECTORS_DIR.glob("*/fixtures/manifest.yaml")):
        found[manifest.parent.parent.name] = manifest.parent
    for manifest in sorted((CONNECTORS_DIR / "specs" / "fixtures").glob("*/manifest.yaml")):
        found[manifest.parent.name] = manifest.parent
    return found


__all__ = ["Manifest", "Route", "fixture_dirs", "load_manifest", "read_records"]
