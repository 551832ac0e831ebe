"""Run a source: fetch pages, validate records, commit pages+records+quarantine exactly once, advance cursors."""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from connectors.core._metrics import inc_metric
from connectors.core.auth import build_auth
from connectors.core.client import HttpClient, HttpResponse
from connectors.core.clock import SYSTEM_CLOCK, Clock
from connectors.core.pagination import PageRequest, build_paginator
from connectors.core.ratelimit import NoLimit, RateLimiter, TokenBucket
from connectors.core.retry import RetryBudget, RetryPolicy
from connectors.core.selectors import get_path, select_records
from connectors.core.spec import EndpointSpec, SourceSpec
from connectors.core.ssrf import GuardedTransport
from connectors.core.state import Checkpoint, CursorState, advance, canonical, read_checkpoint, read_state
from connectors.core.validation import RecordValidator
from connectors.errors import PaginationError, SpecError, TerminalHTTPError
from lakehouse import BatchKey, Lakehouse
from lakehouse.loads import Load

log = logging.getLogger(__name__)
_ABSENT = object()

PAGES, RECORDS = "bronze.api_pages", "bronze.api_records"
_PLACEHOLDER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
TS = pa.timestamp("us", tz="UTC")

RECORD_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("endpoint", pa.string()),
        ("partition", pa.string()),
        ("run_seq", pa.int64()),
        ("page_key", pa.string()),
        ("record_index", pa.int64()),
        ("record_key", pa.string()),
        ("cursor_value", pa.string()),
        ("record", pa.string()),
        ("fetched_at", TS),
    ]
)


@dataclass
class RunSummary:
    """What one run of one (source, endpoint, partition) did; ``to_dict()`` is JSON-able."""

    source: str
    endpoint: str
    partition: dict[str, Any]
    run_seq: int = 0
    load_id: str = ""
    pages: int = 0
    rows: int = 0
    quarantined: int = 0
    resumed: bool = False
    resumed_pages: int = 0
    retries: int = 0
    requests: int = 0
    waited_s: float = 0.0
    skipped_old: int = 0
    new_fields: list[str] = field(default_factory=list)
    cursor_from: Any = None
    cursor_to: Any = None
    parent_rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("parent_rows")
        return orjson.loads(orjson.dumps(data, default=str))


@dataclass
class RunOptions:
    """Runtime knobs that are not part of a spec: injectable clock, limiter and HTTP transport."""

    clock: Clock = SYSTEM_CLOCK
    limiter: RateLimiter | None = None
    transport: httpx.BaseTransport | None = None
    base_url: str | None = None
    retry_budget: int | None = None
    max_retry_after_s: float | None = None
    seed: int | None = None
    on_commit: Callable[[int], None] | None = None
    """Called after each committed group with the group's first page index (tests use it to crash)."""
    on_records: OnRecords | None = None
    """Called once per run, inside its load, with every record of the run (page order) and the run's client,
    before the last group commits its pages (the resume checkpoint): it writes what is derived from the
    records (silver) in the same load and returns quarantine rows committed with the last group. A run
    whose pages were all committed before (a resume after the last group) does not call it again."""
    announce: bool = True
    """Commit the load's 'running' event when it starts; False: the load's one ledger commit is 'finished'."""


OnRecords = Callable[[Load, list[dict[str, Any]], HttpClient], list[dict[str, Any]]]


def make_client(
    spec: SourceSpec, options: RunOptions | None = None, *, budget: RetryBudget | None = None
) -> HttpClient:
    """The source's HTTP client: base URL (settings override), auth, limiter, retry policy and budget."""
    from covary.settings import get_settings

    options = options or RunOptions()
    settings = get_settings().connectors
    limiter = options.limiter
    if limiter is None:
        rate = spec.rate_limit.requests_per_second
        limiter = (
            TokenBucket(rate, burst=spec.rate_limit.burst, clock=options.clock) if rate else NoLimit(options.clock)
        )
    cap = options.max_retry_after_s or spec.retry.max_retry_after_s or settings.max_retry_after_s
    policy = RetryPolicy(
        max_attempts=spec.retry.max_attempts,
        backoff_base_s=spec.retry.backoff_base_s,
        backoff_max_s=spec.retry.backoff_max_s,
        jitter=spec.retry.jitter,
        max_retry_after_s=cap,
        seed=options.seed,
    )
    total = options.retry_budget if options.retry_budget is not None else spec.retry.budget
    budget = budget or RetryBudget(total if total is not None else settings.retry_budget)
    base_url = options.base_url or settings.base_urls.get(spec.name) or spec.base_url
    allow = (_host_port(options.base_url),) if options.base_url else ()
    transport = options.transport or GuardedTransport(extra_allowed=allow, verify=_ssl_context())
    return HttpClient(
        base_url,
        source=spec.name,
        auth=build_auth(copy.copy(spec.auth) if not isinstance(spec.auth, dict | str | None) else spec.auth),
        limiter=limiter,
        policy=policy,
        budget=budget,
        clock=options.clock,
        headers=spec.headers,
        timeout_s=spec.timeout_s,
        transport=transport,
        # a base URL covary passes explicitly (the replay server a job started) is allow-listed for this run
        allow_hosts=allow,
    )


_SSL: list[ssl.SSLContext] = []
_SSL_LOCK = threading.Lock()


def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process (loading the CA bundle costs ~60 ms; clients are made per run)."""
    with _SSL_LOCK:
        if not _SSL:
            _SSL.append(httpx.create_ssl_context())
        return _SSL[0]


def _host_port(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname or "")


def first_request(endpoint: EndpointSpec, partition: dict[str, Any], start: Any) -> PageRequest:
    """The endpoint's first request for ``partition`` (placeholders filled) and incremental ``start``."""
    params = dict(endpoint.params)
    used: set[str] = set()

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in partition:
            raise SpecError(
                f"endpoint {endpoint.name}: path placeholder {{{name}}} has no value",
                hint="give it through the partition (or the parent's fields mapping)",
            )
        used.add(name)
        return str(partition[name])

    path = _PLACEHOLDER.sub(fill, endpoint.path)
    rest = {k: v for k, v in partition.items() if k not in used}
    body: Any = copy.deepcopy(endpoint.json_body)
    if endpoint.graphql:
        variables = dict(endpoint.graphql.variables) | rest
        body = {"query": endpoint.graphql.query, "variables": variables}
    elif endpoint.method == "POST" and body is not None:
        body = dict(body) | rest
    else:
        params |= rest
    inc = endpoint.incremental
    if inc and inc.param and start is not None:
        if inc.location == "query":
            params[inc.param] = start
        elif inc.location == "variable" and body is not None:
            body["variables"][inc.param] = start
        else:
            body = dict(body or {}) | {inc.param: start}
    return PageRequest(path or "", params, body, 0)


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) and not isinstance(value, bool) else (1, str(value))


def _app_id(spec: SourceSpec, ep: EndpointSpec, phash: str, run_seq: int, first_index: int) -> str:
    """The batch key of the commit group whose first page is ``first_index`` (records, quarantine, pages)."""
    return f"covary/{spec.name}/{ep.name}/{phash}/r{run_seq}/p{first_index}"


class _Derive:
    """Calls ``options.on_records`` once, before the last group commits, with every record of the run."""

    def __init__(
        self,
        lake: Lakehouse,
        spec: SourceSpec,
        ep: EndpointSpec,
        part: str,
        run_seq: int,
        checkpoint: Checkpoint,
        options: RunOptions,
        client: HttpClient,
    ) -> None:
        self.lake, self.spec, self.ep, self.part, self.run_seq = lake, spec, ep, part, run_seq
        self.checkpoint, self.hook, self.client = checkpoint, options.on_records, client
        self.records: list[tuple[str, int, str]] = []
        self.called = False

    def keep(self, group: _Group, kept: list[tuple[str, int, str | None, str | None]]) -> None:
        cols = group.rec_cols
        rows = zip(cols["page_key"], cols["record_index"], cols["record_key"], cols["cursor_value"], strict=True)
        kept.extend(rows)
        if self.hook is not None:
            self.records.extend(zip(cols["page_key"], cols["record_index"], cols["record"], strict=True))

    def __call__(self, load: Load) -> list[dict[str, Any]]:
        if self.hook is None or self.called:
            return []
        self.called = True
        rows = self.records
        if self.checkpoint.pages:  # groups an interrupted run committed: their records from bronze
            rows = committed_records(self.lake, self.spec.name, self.ep.name, self.part, self.run_seq) + rows
        rows.sort(key=lambda r: (r[0], r[1]))  # bronze order: page key, then record index
        return self.hook(load, [orjson.loads(r[2]) for r in rows], self.client)


def committed_records(
    lake: Lakehouse, source: str, endpoint: str, part: str, run_seq: int
) -> list[tuple[str, int, str]]:
    """(page key, record index, record JSON) of run ``run_seq`` of a partition in bronze, finished or not."""
    if not lake.exists(RECORDS):
        return []
    expr = (
        (pc.field("source") == source)
        & (pc.field("endpoint") == endpoint)
        & (pc.field("partition") == part)
        & (pc.field("run_seq") == run_seq)
    )
    table = lake.read(RECORDS, filter=expr, columns=["page_key", "record_index", "record"], include_unfinished=True)
    cols = table.to_pydict()
    return list(zip(cols["page_key"], cols["record_index"], cols["record"], strict=True))


class _Group:
    """Pages and records buffered for one atomic commit group."""

    def __init__(self) -> None:
        self.pages: list[dict[str, Any]] = []
        self.rec_cols: dict[str, list[Any]] = {n: [] for n in RECORD_SCHEMA.names}
        self.quarantine: list[dict[str, Any]] = []
        self.first_index = -1

    @property
    def records(self) -> int:
        return len(self.rec_cols["record"])


def run_endpoint(
    lake: Lakehouse,
    spec: SourceSpec,
    endpoint: str | EndpointSpec,
    *,
    partition: dict[str, Any] | None = None,
    options: RunOptions | None = None,
    client: HttpClient | None = None,
    collect: list[str] | None = None,
    state: CursorState | None = None,
) -> RunSummary:
    """Run one (source, endpoint, partition) to completion in one load; resume if an earlier run broke off.

    Pages are grouped up to ``spec.commit_every`` records (so a partition of fewer records commits once per
    table); each group commits its records, its quarantined records and its pages (the resume checkpoint,
    last) with :class:`BatchKey` markers, so a replay lands nothing twice. The load finishes (adopting the
    loads of an interrupted run it resumed) in one ledger commit; the cursor state advances after that.
    ``state``: the partition's cursor state when the caller has read it already.
    """
    options = options or RunOptions()
    ep = spec.endpoint(endpoint) if isinstance(endpoint, str) else endpoint
    partition = dict(partition or {})
    part = canonical(partition)
    state = state if state is not None else read_state(lake, spec.name, ep.name, part)
    run_seq = state.run_seq + 1
    inc = ep.incremental
    start = state.cursor_value if state.cursor_value is not None else (inc.initial_value if inc else None)
    paginator = build_paginator(copy.deepcopy(ep.paginator), where=f"endpoints.{ep.name}.paginator")
    phash = hashlib.sha1(part.encode()).hexdigest()[:10]
    first = paginator.first(first_request(ep, partition, start))
    # the first group's marker on the pages table says whether this run committed anything before: only
    # then is the checkpoint read (a fresh run reads no data)
    started = lake.committed(PAGES, BatchKey(_app_id(spec, ep, phash, run_seq, first.index)))
    checkpoint = read_checkpoint(lake, spec.name, ep.name, part, run_seq) if started else Checkpoint()
    summary = RunSummary(spec.name, ep.name, partition, run_seq=run_seq, cursor_from=start)
    summary.resumed = checkpoint.pages > 0
    summary.resumed_pages = checkpoint.pages
    own_client = client is None
    client = client or make_client(spec, options)
    requests0, retries0, waits0 = client.stats.requests, client.stats.retries, len(client.stats.waits)
    validator = RecordValidator(ep.record_model(), contract=ep.contract, primary_key=ep.primary_keys)
    seen = set(checkpoint.keys)
    new_fields: set[str] = set()
    cursor_values = list(checkpoint.cursor_values)
    kept: list[tuple[str, int, str | None, str | None]] = []  # (page key, index, record key, cursor) of this run
    try:
        with lake.load(spec.name, announce=options.announce) as load:
            summary.load_id = load.load_id
            for other in sorted(checkpoint.loads):  # the interrupted run's loads finish with this one
                load.adopt(other)
            if checkpoint.pages:
                request = PageRequest.from_state(checkpoint.next_request) if checkpoint.next_request else None
            else:
                request = first
            group = _Group()
            derive = _Derive(lake, spec, ep, part, run_seq, checkpoint, options, client)
            while request is not None and (ep.max_pages is None or request.index < ep.max_pages):
                key = page_key(client, request)
                if key in seen:
                    raise PaginationError(
                        f"{spec.name}/{ep.name}: page {key!r} was already fetched in this run; "
                        "the server repeated a cursor/link. Stopping instead of looping forever",
                        hint="check the paginator settings; pages fetched so far are committed",
                    )
                response = client.request(
                    ep.method,
                    request.path,
                    params=request.params,
                    json=request.json,
                    headers=ep.headers,
                    context=ep.name,
                )
                records = _records(spec, ep, request, response)
                next_request = paginator.next(request, response, records)
                seen.add(key)
                _buffer(
                    group,
                    spec,
                    ep,
                    part,
                    run_seq,
                    key,
                    request,
                    response,
                    records,
                    validator,
                    next_request,
                    start,
                    state.boundary_keys,
                    summary,
                    new_fields,
                    cursor_values,
                    collect,
                )
                end = next_request is None or (ep.max_pages is not None and next_request.index >= ep.max_pages)
                if group.records >= spec.commit_every or end:
                    derive.keep(group, kept)
                    if end:
                        group.quarantine += derive(load)
                    _flush(load, group, spec, ep, phash, run_seq, summary, options)
                    group = _Group()
                request = next_request
            if group.pages:
                derive.keep(group, kept)
                group.quarantine += derive(load)
                _flush(load, group, spec, ep, phash, run_seq, summary, options)
        summary.pages += checkpoint.pages
        summary.rows += checkpoint.records
        summary.quarantined += checkpoint.quarantined
        cursor_to = max(cursor_values, key=_sort_key) if cursor_values else start
        if start is not None and cursor_to is not None and _sort_key(start) > _sort_key(cursor_to):
            cursor_to = start
        if inc and checkpoint.pages:
            boundary = _boundary_keys(lake, spec.name, ep.name, part, run_seq, cursor_to)
        elif inc and cursor_to is not None:  # every record of the run went through this process
            at = orjson.dumps(cursor_to).decode()
            boundary = {rkey for _, _, rkey, cval in kept if cval == at and rkey is not None}
        else:
            boundary = set()
        if inc and cursor_to == start:
            boundary |= state.boundary_keys
        summary.cursor_to = cursor_to
        advance(
            lake,
            source=spec.name,
            endpoint=ep.name,
            partition=part,
            run_seq=run_seq,
            cursor_field=inc.cursor_field if inc else None,
            cursor_value=cursor_to,
            boundary_keys=boundary,
            load_id=summary.load_id,
            pages=summary.pages,
            records=summary.rows,
        )
    finally:
        summary.requests = client.stats.requests - requests0
        summary.retries = client.stats.retries - retries0
        summary.waited_s = round(sum(w.seconds for w in client.stats.waits[waits0:]), 3)
        summary.new_fields = sorted(new_fields)
        if own_client:
            client.close()
    return summary


def page_key(client: HttpClient, request: PageRequest) -> str:
    """The page's identity: full URL with sorted query (secrets redacted) plus a hash of the body, if any."""
    url = httpx.URL(client.url_for(request.path))
    params = dict(url.params.multi_items()) | {k: str(v) for k, v in request.params.items() if v is not None}
    base = str(url.copy_with(query=None))
    query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    safe = client.redactor.url(f"{base}?{query}" if query else base)
    body = request.key.partition(" body#")[2]
    return f"{safe} body#{body}" if body else safe


def _records(spec: SourceSpec, ep: EndpointSpec, request: PageRequest, response: HttpResponse) -> list[Any]:
    data = response.data
    if ep.graphql and isinstance(data, dict) and data.get("errors") and not data.get("data"):
        errors = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in data["errors"][:3])
        raise TerminalHTTPError(
            f"{spec.name}/{ep.name}: GraphQL errors: {errors}",
            status=response.status,
            url=response.url,
            hint="check the query and its variables",
        )
    records = select_records(data, ep.records)
    if records is None:
        if data is None or data in ({}, []):
            return []
        if ep.records and get_path(data, ep.records, _ABSENT) is None:  # the list is there, as null: no records
            return []
        keys = ", ".join(sorted(data)[:12]) if isinstance(data, dict) else type(data).__name__
        raise PaginationError(
            f"{spec.name}/{ep.name}: no record list at {ep.records or '<auto>'!r} on page {request.index + 1} "
            f"({response.url}); the response has: {keys}",
            hint="set the endpoint's `records` selector to the path of the list",
        )
    return records


def _buffer(
    group: _Group,
    spec: SourceSpec,
    ep: EndpointSpec,
    part: str,
    run_seq: int,
    key: str,
    request: PageRequest,
    response: HttpResponse,
    records: list[Any],
    validator: RecordValidator,
    next_request: PageRequest | None,
    start: Any,
    boundary_keys: set[str],
    summary: RunSummary,
    new_fields: set[str],
    cursor_values: list[Any],
    collect: list[str] | None,
) -> None:
    fetched_at = datetime.now(UTC)
    checked = validator.check(records)
    new_fields |= checked.new_fields
    inc = ep.incremental
    cols = group.rec_cols
    page_max: Any = None
    kept = 0
    pk = validator.primary_key
    for index, rec in checked.valid:
        rkey = "|".join(str(get_path(rec, k)) for k in pk) if pk else None
        cval = None
        if inc:
            value = get_path(rec, inc.cursor_field)
            if value is not None and start is not None:
                order = (_sort_key(value) > _sort_key(start)) - (_sort_key(value) < _sort_key(start))
                if order < 0 or (order == 0 and rkey is not None and rkey in boundary_keys):
                    summary.skipped_old += 1
                    continue
            if value is not None:
                cval = orjson.dumps(value).decode()
                if page_max is None or _sort_key(value) > _sort_key(page_max):
                    page_max = value
        cols["source"].append(spec.name)
        cols["endpoint"].append(ep.name)
        cols["partition"].append(part)
        cols["run_seq"].append(run_seq)
        cols["page_key"].append(key)
        cols["record_index"].append(index)
        cols["record_key"].append(rkey)
        cols["cursor_value"].append(cval)
        cols["record"].append(orjson.dumps(rec).decode())
        cols["fetched_at"].append(fetched_at)
        kept += 1
        if collect is not None:
            summary.parent_rows.append({f: get_path(rec, f) for f in collect})
    if page_max is not None:
        cursor_values.append(page_max)
    location = f"{ep.name} page {request.index + 1} ({response.url})"
    for bad in checked.rejected:
        group.quarantine.append({"reason": bad.reason, "raw": bad.raw, "location": f"{location} record {bad.index}"})
    if group.first_index < 0:
        group.first_index = request.index
    group.pages.append(
        {
            "source": spec.name,
            "endpoint": ep.name,
            "partition": part,
            "run_seq": run_seq,
            "page_index": request.index,
            "page_key": key,
            "request_url": response.url,
            "http_status": response.status,
            "fetched_at": fetched_at,
            "attempts": response.attempts,
            "content_hash": hashlib.sha256(response.content).hexdigest(),
            "body": response.content.decode("utf-8", errors="replace"),
            "records": kept,
            "quarantined": len(checked.rejected),
            "next_request": orjson.dumps(next_request.to_state()).decode() if next_request else None,
            "cursor_max": None if page_max is None else orjson.dumps(page_max).decode(),
        }
    )


def _flush(
    load: Load,
    group: _Group,
    spec: SourceSpec,
    ep: EndpointSpec,
    phash: str,
    run_seq: int,
    summary: RunSummary,
    options: RunOptions,
) -> None:
    app_id = _app_id(spec, ep, phash, run_seq, group.first_index)
    if group.records:
        load.write(RECORDS, pa.table(group.rec_cols, schema=RECORD_SCHEMA), batch=BatchKey(app_id))
    if group.quarantine:
        load.quarantine(group.quarantine, entity=ep.name, batch=BatchKey(app_id))
        inc_metric("covary_quarantined_records", float(len(group.quarantine)), source=spec.name)
    result = load.write(PAGES, pa.Table.from_pylist(group.pages, schema=_page_schema()), batch=BatchKey(app_id))
    if not result.skipped:
        summary.pages += len(group.pages)
        summary.rows += group.records
        summary.quarantined += len(group.quarantine)
        inc_metric("covary_ingest_records", float(group.records), source=spec.name, endpoint=ep.name)
    if options.on_commit is not None:
        options.on_commit(group.first_index)


def _page_schema() -> pa.Schema:
    from lakehouse import LOAD_ID, get_spec

    schema = get_spec(PAGES).schema
    return schema.remove(schema.get_field_index(LOAD_ID))


def _boundary_keys(lake: Lakehouse, source: str, endpoint: str, part: str, run_seq: int, value: Any) -> set[str]:
    if value is None or not lake.exists(RECORDS):
        return set()
    expr = (
        (pc.field("source") == source)
        & (pc.field("endpoint") == endpoint)
        & (pc.field("partition") == part)
        & (pc.field("run_seq") == run_seq)
        & (pc.field("cursor_value") == orjson.dumps(value).decode())
    )
    table = lake.read(RECORDS, filter=expr, columns=["record_key"], include_unfinished=True)
    return {k for k in table.column("record_key").to_pylist() if k is not None}


__all__ = ["OnRecords", "RunOptions", "RunSummary", "committed_records", "first_request", "make_client", "run_endpoint"]
