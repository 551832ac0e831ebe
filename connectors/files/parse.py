"""Parse uploaded bytes (CSV with delimiter/encoding sniffing, JSON, NDJSON, Parquet) into rows + malformed rows."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from connectors.errors import UploadError

Format = Literal["csv", "json", "ndjson", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "json", "ndjson", "parquet")
_EXT = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".parquet": "parquet",
    ".pq": "parquet",
}
MAX_FIELD = 10 * 1024 * 1024


@dataclass
class Parsed:
    """Rows as ``(line, {column: value})``, malformed rows as ``(line, reason, raw)`` and what was detected."""

    format: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    bad: list[tuple[int, str, str]] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None


def detect_format(data: bytes, file_name: str, declared: str | None = None) -> str:
    if declared:
        if declared not in FORMATS:
            raise UploadError(f"unknown format {declared!r}", hint=f"valid choices: {', '.join(FORMATS)}")
        return declared
    if data[:4] == b"PAR1":
        return "parquet"
    suffix = re.search(r"\.[A-Za-z0-9]+$", file_name)
    if suffix and suffix.group(0).lower() in _EXT:
        return _EXT[suffix.group(0).lower()]
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        lines = [ln for ln in data[:65536].splitlines() if ln.strip()]
        return "ndjson" if len(lines) > 1 and all(ln.lstrip().startswith(b"{") for ln in lines[:5]) else "json"
    return "csv"


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding that read it: BOMs first, then UTF-8, then cp1252, then latin-1 (never fails)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    for enc in ("utf-8", "cp1252"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text[:65536].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.splitlines()[0].count(d) if sample else 0 for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _header(names: list[str]) -> list[str]:
    out: list[str] = []
    for i, raw in enumerate(names):
        name = raw.strip().replace("\x00", "") or f"column_{i + 1}"
        base, n = name, 2
        while name in out:
            name, n = f"{base}_{n}", n + 1
        out.append(name)
    return out


def parse_csv(data: bytes) -> Parsed:
    text, encoding = decode(data)
    text = text.replace("\x00", "")
    delimiter = sniff_delimiter(text)
    out = Parsed("csv", encoding=encoding, delimiter=delimiter)
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    last_line = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.bad.append((reader.line_num, f"unreadable CSV: {exc}", ""))
            if reader.line_num <= last_line:  # no progress: stop rather than spin
                break
            last_line = reader.line_num
            continue
        last_line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if header is None:
            header = _header(values)
            out.columns = header
            continue
        if len(values) != len(header):
            raw = delimiter.join(values)
            out.bad.append((reader.line_num, f"expected {len(header)} fields, got {len(values)}", raw[:10000]))
            continue
        out.rows.append((reader.line_num, {k: (v if v != "" else None) for k, v in zip(header, values, strict=True)}))
    return out


def _objects(items: list[Any], out: Parsed, *, first_line: int = 1) -> None:
    columns: dict[str, None] = dict.fromkeys(out.columns)
    for i, item in enumerate(items):
        line = first_line + i
        if not isinstance(item, dict):
            out.bad.append((line, f"row {line} is a JSON {type(item).__name__}, not an object", _dump(item)))
            continue
        row = {str(k): v for k, v in item.items()}
        columns.update(dict.fromkeys(row))
        out.rows.append((line, row))
    out.columns = list(columns)


def _dump(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()[:10000]


def parse_json(data: bytes) -> Parsed:
    text, encoding = decode(data)
    out = Parsed("json", encoding=encoding)
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UploadError(
            f"the file is not valid JSON: {exc}", hint="fix the file, or upload it as NDJSON/CSV"
        ) from None
    if isinstance(doc, dict):
        from connectors.core.selectors import select_records

        found = select_records(doc, None)
        doc = found if found is not None else [doc]
    if not isinstance(doc, list):
        raise UploadError(f"the JSON file holds a {type(doc).__name__}; expected a list of objects")
    _objects(doc, out)
    return out


def parse_ndjson(data: bytes) -> Parsed:
    text, encoding = decode(data)
    out = Parsed("ndjson", encoding=encoding)
    columns: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            out.bad.append((number, f"invalid JSON on line {number}: {exc}", line[:10000]))
            continue
        if not isinstance(item, dict):
            out.bad.append((number, f"line {number} is a JSON {type(item).__name__}, not an object", line[:10000]))
            continue
        columns.update(dict.fromkeys(str(k) for k in item))
        out.rows.append((number, {str(k): v for k, v in item.items()}))
    out.columns = list(columns)
    return out


def parse_parquet(data: bytes) -> Parsed:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UploadError(f"the file is not readable Parquet: {exc}") from None
    out = Parsed("parquet", columns=list(table.column_names))
    out.rows = [(i + 1, row) for i, row in enumerate(table.to_pylist())]
    return out


def parse_bytes(data: bytes, file_name: str = "upload", *, format: str | None = None) -> Parsed:
    """Parse a file's bytes; raises only :class:`UploadError` (whole file unreadable); bad rows are in ``bad``."""
    fmt = detect_format(data, file_name, format)
    parser = {"csv": parse_csv, "json": parse_json, "ndjson": parse_ndjson, "parquet": parse_parquet}[fmt]
    try:
        return parser(data)
    except UploadError:
        raise
    except (ValueError, TypeError, RecursionError, MemoryError, OverflowError) as exc:
        raise UploadError(f"cannot parse the file as {fmt}: {type(exc).__name__}: {str(exc)[:200]}") from None


__all__ = ["FORMATS", "Parsed", "decode", "detect_format", "parse_bytes", "sniff_delimiter"]
