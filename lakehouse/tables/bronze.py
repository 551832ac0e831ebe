"""Bronze raw API pages and records, upload rows and profiles, and the incremental cursor state (ops.cursors)."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")

API_PAGES = register(
    TableSpec(
        name="bronze.api_pages",
        description=(
            "Raw API responses, one row per fetched page, exactly once per (source, endpoint, partition, run, "
            "page key): the request URL without secrets, HTTP status, content hash and the raw body."
        ),
        columns=(
            col("source", pa.string(), "Source (connector) name.", nullable=False),
            col("endpoint", pa.string(), "Endpoint (resource) name within the source.", nullable=False),
            col("partition", pa.string(), "Partition of the run as canonical JSON (parent key, date window), or {}."),
            col("run_seq", pa.int64(), "Run number of this (source, endpoint, partition); a resumed run reuses it."),
            col("page_index", pa.int64(), "0-based position of the page within the run.", nullable=False),
            col(
                "page_key", pa.string(), "The page's request (path, params, body hash) without secrets.", nullable=False
            ),
            col("request_url", pa.string(), "Request URL with secret values replaced by ***.", nullable=False),
            col("http_status", pa.int32(), "HTTP status of the answer that was kept.", nullable=False),
            col("fetched_at", TS, "When the page was fetched (UTC).", nullable=False),
            col("attempts", pa.int32(), "Requests it took (1 = no retry)."),
            col("content_hash", pa.string(), "SHA-256 of the raw body.", nullable=False),
            col("body", pa.string(), "The raw response body (JSON text).", nullable=False),
            col("records", pa.int64(), "Records selected from the page."),
            col("quarantined", pa.int64(), "Records of the page that failed validation."),
            col("next_request", pa.string(), "Next page's request as JSON (resume checkpoint); null on the last page."),
            col("cursor_max", pa.string(), "Largest incremental cursor value on the page (JSON), if incremental."),
        ),
        partition_by=("source",),
        synonyms=("raw pages", "api responses"),
    )
)

API_RECORDS = register(
    TableSpec(
        name="bronze.api_records",
        description=(
            "Validated API records as JSON, one row per record, landed together with their page; invalid "
            "records go to ops.quarantine instead."
        ),
        columns=(
            col("source", pa.string(), "Source (connector) name.", nullable=False),
            col("endpoint", pa.string(), "Endpoint (resource) name within the source.", nullable=False),
            col("partition", pa.string(), "Partition of the run as canonical JSON, or {}."),
            col("run_seq", pa.int64(), "Run number of this (source, endpoint, partition)."),
            col("page_key", pa.string(), "Request of the page the record came from.", nullable=False),
            col("record_index", pa.int64(), "Position of the record on its page.", nullable=False),
            col("record_key", pa.string(), "Primary key value(s) joined with '|', if the endpoint has one."),
            col("cursor_value", pa.string(), "Incremental cursor field value (JSON), if incremental."),
            col(
                "record", pa.string(), "The record as JSON (new fields kept under the evolve contract).", nullable=False
            ),
            col("fetched_at", TS, "When its page was fetched (UTC).", nullable=False),
        ),
        partition_by=("source",),
        synonyms=("api rows", "raw records"),
    )
)

CURSORS = register(
    TableSpec(
        name="ops.cursors",
        description=(
            "Incremental state per (source, endpoint, partition), append-only: one row per completed run; "
            "the row with the highest run_seq is the state. Written only after the run's data is committed."
        ),
        columns=(
            col("source", pa.string(), "Source name.", nullable=False),
            col("endpoint", pa.string(), "Endpoint name.", nullable=False),
            col("partition", pa.string(), "Partition as canonical JSON, or {}.", nullable=False),
            col("run_seq", pa.int64(), "The completed run.", nullable=False),
            col("cursor_field", pa.string(), "Record field the cursor tracks; null if not incremental."),
            col("cursor_value", pa.string(), "Largest cursor value committed so far (JSON); the next run starts here."),
            col("boundary_keys", pa.string(), "JSON list of record keys whose cursor equals cursor_value (de-dup)."),
            col("load_id", pa.string(), "Load that completed the run."),
            col("pages", pa.int64(), "Pages committed by the run."),
            col("records", pa.int64(), "Records committed by the run."),
            col("updated_at", TS, "When the state advanced (UTC).", nullable=False),
        ),
        track_loads=False,
    )
)

UPLOAD_ROWS = register(
    TableSpec(
        name="bronze.upload_rows",
        description=(
            "Rows of uploaded files (CSV, JSON, NDJSON, Parquet) as JSON objects keyed by the original column "
            "names; exactly once per (upload name, file hash)."
        ),
        columns=(
            col("upload", pa.string(), "Upload name given with --name.", nullable=False),
            col("file_sha256", pa.string(), "SHA-256 of the uploaded file.", nullable=False),
            col(
                "line",
                pa.int64(),
                "1-based line (CSV/NDJSON) or row number (JSON/Parquet) in the file.",
                nullable=False,
            ),
            col("row", pa.string(), "The row as a JSON object (CSV values are strings).", nullable=False),
        ),
        partition_by=("upload",),
        synonyms=("uploaded rows", "file rows"),
    )
)

UPLOAD_FILES = register(
    TableSpec(
        name="bronze.upload_files",
        description="One row per uploaded file: name, format, size, hash, counts and its column profile.",
        columns=(
            col("upload", pa.string(), "Upload name given with --name.", nullable=False),
            col("file_name", pa.string(), "Sanitised original file name.", nullable=False),
            col("file_sha256", pa.string(), "SHA-256 of the file.", nullable=False),
            col("format", pa.string(), "csv | json | ndjson | parquet.", nullable=False),
            col("encoding", pa.string(), "Detected text encoding (text formats)."),
            col("delimiter", pa.string(), "Detected CSV delimiter."),
            col("size_bytes", pa.int64(), "File size in bytes.", nullable=False),
            col("rows_loaded", pa.int64(), "Rows stored in bronze.upload_rows.", nullable=False),
            col("rows_quarantined", pa.int64(), "Malformed rows sent to ops.quarantine.", nullable=False),
            col("entity", pa.string(), "Target entity the upload was checked against, if any."),
            col("profile", pa.string(), "Column profile as JSON (types, null %, distinct, min/max, samples)."),
            col("schema_check", pa.string(), "Result of the entity schema check as JSON, if an entity was given."),
            col("uploaded_at", TS, "When it was uploaded (UTC).", nullable=False),
        ),
        synonyms=("uploads", "uploaded files"),
    )
)
