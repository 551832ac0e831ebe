"""The audit log of the HTTP/CLI query service: one row per request."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")

AUDIT = register(
    TableSpec(
        name="ops.audit",
        description=(
            "Audit log of the query service: one row per HTTP request (and CLI query), with who asked "
            "(key id, never the secret), the route, a hash of the query, rows returned, status and latency."
        ),
        columns=(
            col("request_id", pa.string(), "Unique id of the request.", nullable=False),
            col("at", TS, "When the request arrived (UTC).", nullable=False),
            col("day", pa.date32(), "UTC day of the request (partition).", nullable=False),
            col("key_id", pa.string(), "Id of the API key used; null when no valid key was sent."),
            col("role", pa.string(), "Role of the key: viewer, analyst or admin."),
            col("method", pa.string(), "HTTP method, or CLI.", nullable=False),
            col("route", pa.string(), "Route template, e.g. /v1/sql.", nullable=False),
            col("status", pa.int32(), "HTTP status code returned.", nullable=False),
            col("query_hash", pa.string(), "sha256 prefix of the question or SQL; null for other routes."),
            col("rows", pa.int64(), "Rows returned to the caller."),
            col("latency_ms", pa.float64(), "Server-side latency in milliseconds.", nullable=False),
            col("blocked_reason", pa.string(), "Guard reason code when the SQL was blocked."),
            col("error", pa.string(), "Short error message for 4xx/5xx responses."),
            col("client", pa.string(), "Client address as seen by the service."),
            col("pii_unmasked", pa.bool_(), "True when the request read personal-data columns unmasked."),
        ),
        keys=("request_id",),
        partition_by=("day",),
        track_loads=False,
        synonyms=("audit", "audit log", "access log", "requests"),
    )
)
