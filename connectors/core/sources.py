"""Finding sources (user specs, example specs, Python connector packages) and running them whole or by partition."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pyarrow.compute as pc

from connectors.core.ratelimit import RateLimiter
from connectors.core.runner import RunOptions, RunSummary, make_client, run_endpoint
from connectors.core.selectors import get_path
from connectors.core.spec import EndpointSpec, SourceSpec, load_spec, parse_spec
from connectors.errors import SourceNotFoundError, SpecError
from lakehouse import Lakehouse

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"
_PYTHON_SOURCES: dict[str, Any] = {}


def register_source(name: str, factory: Any) -> None:
    """Register a Python-defined source: ``factory()`` returns a :class:`SourceSpec` (or a dict)."""
    _PYTHON_SOURCES[name] = factory


def _user_dir() -> Path:
    from covary.settings import get_settings

    return get_settings().home.resolve() / "sources"


def _connector_packages() -> list[str]:
    """The built-in connectors (``connectors.core.registry``; imported here, not at module load: the
    connector packages import ``connectors.core``)."""
    from connectors.core.registry import CONNECTORS

    return sorted(CONNECTORS)


def _builtin(name: str) -> SourceSpec | None:
    if name in _PYTHON_SOURCES:
        return parse_spec(_PYTHON_SOURCES[name](), origin=f"python source {name}")
    from connectors.core.registry import CONNECTORS

    if name in CONNECTORS:
        return parse_spec(CONNECTORS[name].build_source(), origin=f"connectors.{name}")
    return None


def list_sources() -> list[dict[str, Any]]:
    """Every known source: user-added specs, built-in connector packages and the example specs."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(SPECS_DIR.glob("*.yaml")):
        out[path.stem] = {"name": path.stem, "kind": "example", "path": str(path)}
    for name in _connector_packages():
        out[name] = {"name": name, "kind": "builtin", "path": f"connectors/{name}"}
    for name in _PYTHON_SOURCES:
        out[name] = {"name": name, "kind": "python", "path": "(registered)"}
    user = _user_dir()
    if user.exists():
        for path in sorted(user.glob("*.yaml")):
            out[path.stem] = {"name": path.stem, "kind": "user", "path": str(path)}
    for info in out.values():
        try:
            spec = get_source(info["name"])
            info["endpoints"] = [e.name for e in spec.endpoints]
            info["description"] = spec.description
            info["valid"] = True
        except Exception as exc:  # one broken spec must not hide the others; it is reported in the listing
            info["endpoints"], info["description"], info["valid"], info["error"] = [], "", False, str(exc)
    return [out[k] for k in sorted(out)]


def get_source(name: str) -> SourceSpec:
    """The spec of source ``name``: a user spec (``covary source add``) wins over built-ins and examples."""
    user = _user_dir() / f"{name}.yaml"
    if user.exists():
        return load_spec(user)
    builtin = _builtin(name)
    if builtin is not None:
        return builtin
    example = SPECS_DIR / f"{name}.yaml"
    if example.exists():
        return load_spec(example)
    known = sorted({s["name"] for s in _known_names()})
    raise SourceNotFoundError(
        f"unknown source {name!r}",
        hint=f"known sources: {', '.join(known) or '(none)'}; add one with covary source add",
    )


def _known_names() -> list[dict[str, str]]:
    names = [{"name": p.stem} for p in SPECS_DIR.glob("*.yaml")]
    names += [{"name": n} for n in _connector_packages()] + [{"name": n} for n in _PYTHON_SOURCES]
    if _user_dir().exists():
        names += [{"name": p.stem} for p in _user_dir().glob("*.yaml")]
    return names


def add_source(path: str | Path, *, replace: bool = False) -> SourceSpec:
    """Validate a YAML spec and store it under ``COVARY_HOME/sources/<name>.yaml``."""
    spec = load_spec(path)
    target = _user_dir() / f"{spec.name}.yaml"
    if target.exists() and not replace:
        raise SpecError(f"source {spec.name!r} already exists at {target}", hint="pass --replace to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return spec


def parent_partitions(lake: Lakehouse, spec: SourceSpec, child: EndpointSpec) -> list[dict[str, Any]]:
    """Partitions of a child endpoint from the parent's committed records in bronze (distinct, ordered)."""
    assert child.parent is not None
    if not lake.exists("bronze.api_records"):
        return []
    expr = (pc.field("source") == spec.name) & (pc.field("endpoint") == child.parent.endpoint)
    rows = lake.read("bronze.api_records", filter=expr, columns=["record"]).column("record").to_pylist()
    return _distinct([{k: get_path(orjson.loads(r), path) for k, path in child.parent.fields.items()} for r in rows])


def _distinct(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[bytes] = set()
    out = []
    for p in parts:
        if any(v is None for v in p.values()):
            continue
        key = orjson.dumps(p, option=orjson.OPT_SORT_KEYS)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def run_source(
    lake: Lakehouse,
    spec: SourceSpec | str,
    *,
    endpoints: list[str] | None = None,
    options: RunOptions | None = None,
) -> list[RunSummary]:
    """Run every endpoint (or the named ones), parents first; a child runs once per parent record."""
    spec = get_source(spec) if isinstance(spec, str) else spec
    options = options or RunOptions()
    wanted = set(endpoints) if endpoints else None
    if wanted:
        for name in wanted:
            spec.endpoint(name)
    client = make_client(spec, options)
    summaries: list[RunSummary] = []
    collected: dict[str, list[dict[str, Any]]] = {}
    try:
        for ep in spec.ordered():
            if wanted and ep.name not in wanted:
                continue
            fields = sorted(
                {
                    p
                    for c in spec.endpoints
                    if c.parent and c.parent.endpoint == ep.name
                    for p in c.parent.fields.values()
                }
            )
            if ep.parent is None:
                s = run_endpoint(lake, spec, ep, options=options, client=client, collect=fields or None)
                summaries.append(s)
                collected[ep.name] = s.parent_rows
                continue
            parent_rows = collected.get(ep.parent.endpoint)
            if parent_rows is not None:
                parts = _distinct([{k: r.get(path) for k, path in ep.parent.fields.items()} for r in parent_rows])
            else:
                parts = parent_partitions(lake, spec, ep)
            rows: list[dict[str, Any]] = []
            for part in parts:
                s = run_endpoint(lake, spec, ep, partition=part, options=options, client=client, collect=fields or None)
                summaries.append(s)
                rows += s.parent_rows
            collected[ep.name] = rows
    finally:
        client.close()
    return summaries


def run_partition(
    source: str | SourceSpec | dict[str, Any],
    endpoint: str,
    *,
    partition: dict[str, Any] | None = None,
    lake_root: str | None = None,
    limiter: RateLimiter | None = None,
    base_url: str | None = None,
    retry_budget: int | None = None,
) -> dict[str, Any]:
    """Run one (source, endpoint, partition) and return a JSON-able summary; safe to call from a Ray task.

    Commits exactly once however often Ray retries it (page groups carry Delta transaction markers
    and an interrupted run resumes from its checkpoint). ``limiter`` may be a cluster-wide limiter.
    """
    from covary.settings import get_settings

    spec = get_source(source) if isinstance(source, str) else parse_spec(source)
    lake = Lakehouse.from_settings(get_settings(), root=lake_root)  # storage options from settings
    options = RunOptions(limiter=limiter, base_url=base_url, retry_budget=retry_budget)
    return run_endpoint(lake, spec, endpoint, partition=partition, options=options).to_dict()


__all__ = [
    "add_source",
    "get_source",
    "list_sources",
    "parent_partitions",
    "register_source",
    "run_partition",
    "run_source",
]
