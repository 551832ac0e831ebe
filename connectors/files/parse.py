"""Parse uploaded bytes (CSV with delimiter/encoding detection, JSON, NDJSON, Parquet) into rows + malformed rows.

Every parser works under :class:`UploadLimits`: decoded rows, decoded bytes (the rows as JSON), columns
and the size of one field are counted while the file is read (Parquet row group by row group, after a
footer check that refuses a bomb before anything is decoded) and the first cap passed stops the parse
with :class:`UploadLimitError` naming the cap and its setting. Compressed archives and binary content are
refused; text encodings are detected with charset-normalizer, with a warning below a confidence threshold.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
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
_COMPRESSED = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"Rar!\x1a\x07", "rar"),
)
# Preferred among equally plausible detections (common encodings of tabular exports first).
_PREFERRED = (
    "utf_8",
    "cp1252",
    "iso8859_15",
    "latin_1",
    "cp932",
    "shift_jis",
    "euc_jp",
    "gb18030",
    "gbk",
    "big5",
    "cp949",
    "euc_kr",
    "cp1250",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "iso8859_2",
)


class UploadLimitError(UploadError):
    """The file decodes to more than a cap allows (HTTP 413); ``cap`` names the setting, nothing is committed."""

    def __init__(self, message: str, *, cap: str, limit: int, hint: str | None = None) -> None:
        env = f"COVARY_CONNECTORS__{cap.upper()}"
        super().__init__(message, hint=hint or f"split the file, or raise connectors.{cap} ({env})")
        self.cap = cap
        self.limit = limit


@dataclass(frozen=True)
class UploadLimits:
    """Caps applied while a file is decoded (see ``connectors.upload_*`` settings)."""

    max_rows: int = 1_000_000
    max_columns: int = 1_000
    max_field_bytes: int = 1024 * 1024
    max_decoded_bytes: int = 512 * 1024 * 1024
    min_encoding_confidence: float = 0.8

    @classmethod
    def from_settings(cls) -> UploadLimits:
        from covary.settings import get_settings

        s = get_settings().connectors
        return cls(
            max_rows=s.upload_max_rows,
            max_columns=s.upload_max_columns,
            max_field_bytes=s.upload_max_field_bytes,
            max_decoded_bytes=s.upload_max_decoded_bytes,
            min_encoding_confidence=s.upload_min_encoding_confidence,
        )


@dataclass
class Parsed:
    """Rows as ``(line, {column: value})``, malformed rows as ``(line, reason, raw)`` and what was detected."""

    format: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    bad: list[tuple[int, str, str]] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[str] = field(default_factory=list)
    encoding_confidence: float | None = None
    decoded_bytes: int = 0


class _Budget:
    """Counts decoded rows/bytes/columns against the caps; raises :class:`UploadLimitError` past one."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.rows = 0
        self.bytes = 0

    def columns(self, n: int) -> None:
        if n > self.limits.max_columns:
            raise UploadLimitError(
                f"the file has {n:,} columns, over the cap of {self.limits.max_columns:,} (upload_max_columns)",
                cap="upload_max_columns",
                limit=self.limits.max_columns,
            )

    def rows_declared(self, n: int) -> None:
        if n > self.limits.max_rows:
            raise UploadLimitError(
                f"the file holds {n:,} rows, over the cap of {self.limits.max_rows:,} (upload_max_rows)",
                cap="upload_max_rows",
                limit=self.limits.max_rows,
            )

    def bytes_declared(self, n: int) -> None:
        if n > self.limits.max_decoded_bytes:
            raise UploadLimitError(
                f"the file decodes to {n:,} bytes, over the cap of {self.limits.max_decoded_bytes:,} "
                "(upload_max_decoded_bytes)",
                cap="upload_max_decoded_bytes",
                limit=self.limits.max_decoded_bytes,
            )

    def field(self, size: int, where: str) -> None:
        if size > self.limits.max_field_bytes:
            raise UploadLimitError(
                f"{where}: a field of {size:,} bytes is over the cap of {self.limits.max_field_bytes:,} "
                "(upload_max_field_bytes)",
                cap="upload_max_field_bytes",
                limit=self.limits.max_field_bytes,
            )

    def row(self, row: dict[str, Any], line: int) -> None:
        self.rows += 1
        self.rows_declared(self.rows)
        for value in row.values():
            if isinstance(value, str | bytes) and len(value) > self.limits.max_field_bytes:
                self.field(len(value), f"line {line}")
        self.bytes += len(orjson.dumps(row, default=str))
        self.bytes_declared(self.bytes)


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


def refuse_compressed(data: bytes, file_name: str) -> None:
    """Compressed archives are refused (they would load as junk rows; decompressing is a bomb risk)."""
    for magic, kind in _COMPRESSED:
        if data.startswith(magic):
            raise UploadError(
                f"{file_name} is a {kind}-compressed file; covary does not unpack uploads",
                hint="decompress it and upload the CSV/JSON/NDJSON/Parquet inside",
            )


def _control_ratio(text: str) -> float:
    sample = text[:65536]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if ch not in "\t\r\n\f" and unicodedata.category(ch) == "Cc")
    return bad / len(sample)


def _utf16_without_bom(data: bytes) -> str | None:
    head = data[:4096]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    for zeros, other, enc in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and other.count(0) <= 0.05 * len(other):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                return None
    return None


def _binary(file_name: str) -> UploadError:
    return UploadError(
        f"{file_name} looks like binary content, not text (CSV/JSON/NDJSON) or Parquet",
        hint="upload a CSV, JSON, NDJSON or Parquet file; images, executables and archives are refused",
    )


def _detect(data: bytes) -> tuple[str, str, float, list[str]] | None:
    """(text, encoding, confidence, other plausible encodings) from charset-normalizer, or None when nothing fits.

    Candidates as good as the best (mess within 0.02) are grouped by the text they produce; cp1252 wins when
    it reads the bytes the way one of them does (charset-normalizer folds it into look-alikes such as cp1250),
    otherwise the group most candidates agree on (then the commoner encoding). Confidence is the share of
    near-best candidates that agree, times (1 - mess).
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    best_chaos = min(m.chaos for m in matches)
    near = [m for m in matches if m.chaos <= best_chaos + 0.02]
    rank = {name: i for i, name in enumerate(_PREFERRED)}
    groups: dict[str, list[Any]] = {}
    for m in near:
        groups.setdefault(str(m), []).append(m)
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and western in groups:
        text, encoding = western, "cp1252"
    else:
        text = min(groups, key=lambda t: (-len(groups[t]), min(rank.get(m.encoding, len(rank)) for m in groups[t])))
        encoding = min(groups[text], key=lambda m: rank.get(m.encoding, len(rank))).encoding
    chaos = min(m.chaos for m in groups[text])
    confidence = round((1.0 - chaos) * len(groups[text]) / len(near), 3)
    others = sorted({m.encoding for t, ms in groups.items() if t != text for m in ms})
    return text, encoding, confidence, others


def decode_text(
    data: bytes, *, limits: UploadLimits | None = None, file_name: str = "upload"
) -> tuple[str, str, float, list[str]]:
    """``(text, encoding, confidence, warnings)``: BOMs, then UTF-8, then charset-normalizer.

    A file of UTF-8 lines with a few lines in a legacy encoding is decoded line by line (with a warning
    naming the lines); a detection below ``min_encoding_confidence`` is used with a warning; content no
    encoding explains, or full of control characters, is refused as binary.
    """
    limits = limits or UploadLimits()
    warnings: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig", 1.0, warnings
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return data.decode("utf-32", errors="replace"), "utf-32", 1.0, warnings
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16", 1.0, warnings
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16, "utf-16", 0.9, ["no byte-order mark: decoded as UTF-16 from the pattern of zero bytes"]
    try:
        return data.decode("utf-8"), "utf-8", 1.0, warnings
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    bad_lines: list[int] = []
    utf8_non_ascii = False
    for i, raw in enumerate(lines):
        try:
            raw.decode("utf-8")
            utf8_non_ascii = utf8_non_ascii or not raw.isascii()
        except UnicodeDecodeError:
            bad_lines.append(i)
    if utf8_non_ascii and bad_lines and len(bad_lines) < len(lines):
        legacy_bytes = b"\n".join(lines[i] for i in bad_lines)
        try:  # the usual case: lines re-saved by a Western spreadsheet program
            legacy_bytes.decode("cp1252")
            enc = "cp1252"
        except UnicodeDecodeError:
            legacy = _detect(legacy_bytes)
            enc = legacy[1] if legacy else "latin_1"
        bad = set(bad_lines)
        out = []
        for i, raw in enumerate(lines):
            out.append(raw.decode(enc, errors="replace") if i in bad else raw.decode("utf-8"))
        shown = ", ".join(str(i + 1) for i in bad_lines[:10]) + (" ..." if len(bad_lines) > 10 else "")
        warnings.append(
            f"mixed encodings: {len(bad_lines)} line(s) are not UTF-8 (lines {shown}) and were decoded as {enc}; "
            "check them, or re-save the file as UTF-8"
        )
        return "\n".join(out), f"utf-8+{enc}", 0.5, warnings
    found = _detect(data)
    if found is None:
        raise _binary(file_name)
    text, encoding, confidence, others = found
    if _control_ratio(text) > 0.02:
        raise _binary(file_name)
    if confidence < limits.min_encoding_confidence:
        also = f" (also plausible: {', '.join(others[:4])})" if others else ""
        warnings.append(
            f"the text encoding was detected as {encoding} with low confidence {confidence:.2f}{also}; "
            "check the loaded text, or re-save the file as UTF-8"
        )
    return text, encoding, confidence, warnings


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding that read it (see :func:`decode_text`)."""
    text, encoding, _, _ = decode_text(data)
    return text, encoding


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
    seen: set[str] = set()
    for i, raw in enumerate(names):
        name = raw.strip().replace("\x00", "") or f"column_{i + 1}"
        base, n = name, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        out.append(name)
        seen.add(name)
    return out


def _text(data: bytes, out: Parsed, limits: UploadLimits, file_name: str) -> str:
    text, encoding, confidence, warnings = decode_text(data, limits=limits, file_name=file_name)
    out.encoding, out.encoding_confidence = encoding, confidence
    out.warnings += warnings
    return text


def parse_csv(data: bytes, *, limits: UploadLimits | None = None, file_name: str = "upload.csv") -> Parsed:
    limits = limits or UploadLimits()
    budget = _Budget(limits)
    out = Parsed("csv")
    text = _text(data, out, limits, file_name).replace("\x00", "")
    delimiter = sniff_delimiter(text)
    out.delimiter = delimiter
    csv.field_size_limit(limits.max_field_bytes)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    last_line = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                budget.field(limits.max_field_bytes + 1, f"line {reader.line_num}")
            out.bad.append((reader.line_num, f"unreadable CSV: {exc}", ""))
            if reader.line_num <= last_line:  # no progress: stop rather than spin
                break
            last_line = reader.line_num
            continue
        last_line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if header is None:
            budget.columns(len(values))
            header = _header(values)
            out.columns = header
            continue
        if len(values) != len(header):
            raw = delimiter.join(values)
            out.bad.append((reader.line_num, f"expected {len(header)} fields, got {len(values)}", raw[:10000]))
            continue
        row = {k: (v if v != "" else None) for k, v in zip(header, values, strict=True)}
        budget.row(row, reader.line_num)
        out.rows.append((reader.line_num, row))
    out.decoded_bytes = budget.bytes
    return out


def _objects(items: list[Any], out: Parsed, budget: _Budget, *, first_line: int = 1) -> None:
    columns: dict[str, None] = dict.fromkeys(out.columns)
    for i, item in enumerate(items):
        line = first_line + i
        if not isinstance(item, dict):
            out.bad.append((line, f"row {line} is a JSON {type(item).__name__}, not an object", _dump(item)))
            continue
        row = {str(k): v for k, v in item.items()}
        columns.update(dict.fromkeys(row))
        budget.columns(len(columns))
        budget.row(row, line)
        out.rows.append((line, row))
    out.columns = list(columns)
    out.decoded_bytes = budget.bytes


def _dump(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()[:10000]


def parse_json(data: bytes, *, limits: UploadLimits | None = None, file_name: str = "upload.json") -> Parsed:
    limits = limits or UploadLimits()
    out = Parsed("json")
    text = _text(data, out, limits, file_name)
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UploadError(
            f"the file is not valid JSON: {exc}", hint="fix the file, or upload it as NDJSON/CSV"
        ) from exc
    if isinstance(doc, dict):
        from connectors.core.selectors import select_records

        found = select_records(doc, None)
        doc = found if found is not None else [doc]
    if not isinstance(doc, list):
        raise UploadError(f"the JSON file holds a {type(doc).__name__}; expected a list of objects")
    budget = _Budget(limits)
    budget.rows_declared(len(doc))
    _objects(doc, out, budget)
    return out


def parse_ndjson(data: bytes, *, limits: UploadLimits | None = None, file_name: str = "upload.ndjson") -> Parsed:
    limits = limits or UploadLimits()
    budget = _Budget(limits)
    out = Parsed("ndjson")
    text = _text(data, out, limits, file_name)
    columns: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) > limits.max_field_bytes * 4:
            budget.field(len(line), f"line {number}")
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            out.bad.append((number, f"invalid JSON on line {number}: {exc}", line[:10000]))
            continue
        if not isinstance(item, dict):
            out.bad.append((number, f"line {number} is a JSON {type(item).__name__}, not an object", line[:10000]))
            continue
        row = {str(k): v for k, v in item.items()}
        columns.update(dict.fromkeys(row))
        budget.columns(len(columns))
        budget.row(row, number)
        out.rows.append((number, row))
    out.columns = list(columns)
    out.decoded_bytes = budget.bytes
    return out


def parse_parquet(data: bytes, *, limits: UploadLimits | None = None, file_name: str = "upload.parquet") -> Parsed:
    """The footer is checked first (rows, columns, uncompressed size), then rows are decoded by row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    limits = limits or UploadLimits()
    budget = _Budget(limits)
    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        meta = pf.metadata
        names = list(pf.schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UploadError(f"the file is not readable Parquet: {exc}") from exc
    budget.columns(max(len(names), meta.num_columns))
    budget.rows_declared(meta.num_rows)
    budget.bytes_declared(sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)))
    out = Parsed("parquet", columns=names)
    line = 0
    try:
        for group in range(meta.num_row_groups):
            declared = meta.row_group(group).num_rows
            budget.rows_declared(budget.rows + declared)
            for batch in pf.iter_batches(batch_size=8192, row_groups=[group]):
                budget.bytes_declared(budget.bytes + batch.nbytes)
                for row in batch.to_pylist():
                    line += 1
                    budget.row(row, line)
                    out.rows.append((line, row))
    except (pa.ArrowException, OSError) as exc:
        raise UploadError(f"the file is not readable Parquet: {exc}") from exc
    out.decoded_bytes = budget.bytes
    return out


def parse_bytes(
    data: bytes, file_name: str = "upload", *, format: str | None = None, limits: UploadLimits | None = None
) -> Parsed:
    """Parse a file's bytes; raises only :class:`UploadError` (whole file unreadable, or
    :class:`UploadLimitError` past a cap); bad rows are in ``bad``."""
    limits = limits or UploadLimits()
    refuse_compressed(data, file_name)
    fmt = detect_format(data, file_name, format)
    parser = {"csv": parse_csv, "json": parse_json, "ndjson": parse_ndjson, "parquet": parse_parquet}[fmt]
    try:
        return parser(data, limits=limits, file_name=file_name)
    except UploadError:
        raise
    except (ValueError, TypeError, RecursionError, MemoryError, OverflowError, LookupError) as exc:
        raise UploadError(f"cannot parse the file as {fmt}: {type(exc).__name__}: {str(exc)[:200]}") from exc


__all__ = [
    "FORMATS",
    "Parsed",
    "UploadLimitError",
    "UploadLimits",
    "decode",
    "decode_text",
    "detect_format",
    "parse_bytes",
    "refuse_compressed",
    "sniff_delimiter",
]
