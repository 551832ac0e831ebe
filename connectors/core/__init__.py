"""The connector machinery: HTTP client, limits, retries, auth, pagination, specs, validation and the runner."""

from __future__ import annotations

from connectors.core.auth import (
    AUTH_MAP,
    ApiKeyAuth,
    Auth,
    BearerAuth,
    NoAuth,
    OAuth2ClientCredentials,
    build_auth,
    register_auth,
)
from connectors.core.client import HttpClient, HttpResponse, Wait
from connectors.core.clock import Clock, FakeClock, SystemClock
from connectors.core.connector import (
    Connector,
    Family,
    Partition,
    Rejected,
    SourcePlan,
    count_by,
    measure_by,
    parse_records,
    read_frame,
    slug,
    utc,
)
from connectors.core.pagination import (
    PAGINATOR_MAP,
    CursorPaginator,
    GraphQLPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    Paginator,
    SinglePagePaginator,
    build_paginator,
    register_paginator,
)
from connectors.core.ratelimit import NoLimit, RateLimiter, TokenBucket
from connectors.core.retry import RetryBudget, RetryPolicy
from connectors.core.runner import RunOptions, RunSummary, make_client, run_endpoint
from connectors.core.secrets import Redactor, resolve_secret
from connectors.core.sources import (
    add_source,
    get_source,
    list_sources,
    register_source,
    run_partition,
    run_source,
)
from connectors.core.spec import EndpointSpec, SourceSpec, load_spec, parse_spec
from connectors.core.state import all_states, read_state
from connectors.core.validation import RecordValidator, compile_fields

__all__ = [
    "AUTH_MAP",
    "PAGINATOR_MAP",
    "ApiKeyAuth",
    "Auth",
    "BearerAuth",
    "Clock",
    "Connector",
    "CursorPaginator",
    "EndpointSpec",
    "FakeClock",
    "Family",
    "GraphQLPaginator",
    "HttpClient",
    "HttpResponse",
    "LinkHeaderPaginator",
    "NextUrlPaginator",
    "NoAuth",
    "NoLimit",
    "OAuth2ClientCredentials",
    "OffsetPaginator",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "Partition",
    "RateLimiter",
    "RecordValidator",
    "Redactor",
    "Rejected",
    "RetryBudget",
    "RetryPolicy",
    "RunOptions",
    "RunSummary",
    "SinglePagePaginator",
    "SourcePlan",
    "SourceSpec",
    "SystemClock",
    "TokenBucket",
    "Wait",
    "add_source",
    "all_states",
    "build_auth",
    "build_paginator",
    "compile_fields",
    "count_by",
    "get_source",
    "list_sources",
    "load_spec",
    "make_client",
    "measure_by",
    "parse_records",
    "parse_spec",
    "read_frame",
    "read_state",
    "register_auth",
    "register_paginator",
    "register_source",
    "resolve_secret",
    "run_endpoint",
    "run_partition",
    "run_source",
    "slug",
    "utc",
]
