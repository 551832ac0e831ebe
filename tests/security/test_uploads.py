"""Issue 16 items 2, 8, 9, 10, 12: upload caps (decoded rows/bytes, columns, field size), file names,
true counts after a crashed attempt, encodings, binary/compressed refusal, empty files."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.errors import UploadError
from connectors.files import read_profile, read_upload, upload_bytes
from connectors.files.parse import UploadLimitError, UploadLimits, parse_bytes
from connectors.files.upload import check_file_name
from lakehouse import Lakehouse, TableNotFoundError

ROOT = Path(__file__).resolve().parents[2]


def parquet_bomb(rows: int) -> bytes:
    """A tiny Parquet file that decodes to ``rows`` identical rows (dictionary + RLE compress it away)."""
    buf = io.BytesIO()
    table = pa.table({"a": pa.array(["same value"] * rows), "b": pa.array([7] * rows, pa.int64())})
    pq.write_table(table, buf, compression="zstd", row_group_size=rows)
    return buf.getvalue()


def committed(lake: Lakehouse, name: str) -> int:
    try:
        return lake.read("bronze.upload_rows").filter(pa.compute.field("upload") == name).num_rows
    except TableNotFoundError:
        return 0


def test_parquet_bomb_refused_from_the_footer(lake: Lakehouse) -> None:
    data = parquet_bomb(2_000_000)
    assert len(data) < 64 * 1024
    started = time.perf_counter()
    with pytest.raises(UploadLimitError) as info:
        upload_bytes(lake, data, file_name="bomb.parquet", name="bomb", limits=UploadLimits(max_rows=100_000))
    assert time.perf_counter() - started < 2.0
    assert info.value.cap == "upload_max_rows" and "upload_max_rows" in str(info.value)
    assert committed(lake, "bomb") == 0 and not lake.exists("bronze.upload_files")


def test_decoded_bytes_cap_while_streaming(lake: Lakehouse) -> None:
    buf = io.BytesIO()
    pq.write_table(pa.table({"s": ["x" * 1000] * 5000}), buf, row_group_size=500)
    with pytest.raises(UploadLimitError) as info:
        upload_bytes(
            lake, buf.getvalue(), file_name="w.parquet", name="w", limits=UploadLimits(max_decoded_bytes=500_000)
        )
    assert info.value.cap == "upload_max_decoded_bytes"
    nd = b"".join(b'{"k": "%s"}\n' % (b"y" * 100) for _ in range(20_000))
    with pytest.raises(UploadLimitError) as info:
        parse_bytes(nd, "x.ndjson", limits=UploadLimits(max_decoded_bytes=200_000))
    assert info.value.cap == "upload_max_decoded_bytes"
    assert committed(lake, "w") == 0


def test_wide_csv_and_big_field_refused_fast(lake: Lakehouse) -> None:
    wide = (",".join(f"c{i}" for i in range(50_000)) + "\n" + ",".join("1" for _ in range(50_000)) + "\n").encode()
    started = time.perf_counter()
    with pytest.raises(UploadLimitError) as info:
        upload_bytes(lake, wide, file_name="wide.csv", name="wide")  # default cap: 1,000 columns
    assert time.perf_counter() - started < 3.0 and info.value.cap == "upload_max_columns"
    big = b"a,b\n1," + b"z" * 5000 + b"\n"
    with pytest.raises(UploadLimitError) as info:
        upload_bytes(lake, big, file_name="big.csv", name="big", limits=UploadLimits(max_field_bytes=1000))
    assert info.value.cap == "upload_max_field_bytes"
    js = b'[{"a": "' + b"q" * 5000 + b'"}]'
    with pytest.raises(UploadLimitError):
        parse_bytes(js, "x.json", limits=UploadLimits(max_field_bytes=1000))
    rows = b"a\n" + b"1\n" * 50
    with pytest.raises(UploadLimitError) as info:
        parse_bytes(rows, "x.csv", limits=UploadLimits(max_rows=10))
    assert info.value.cap == "upload_max_rows"
    assert committed(lake, "wide") == 0 and committed(lake, "big") == 0


@pytest.mark.parametrize("bad", [".", "..", "x" * 300, "", "a\x00b.csv", "../..", "dir/.."])
def test_bad_file_names_refused_with_reason(bad: str, lake: Lakehouse) -> None:
    with pytest.raises(UploadError, match="not allowed: ") as info:
        check_file_name(bad)
    assert info.value.hint
    with pytest.raises(UploadError, match="not allowed"):
        upload_bytes(lake, b"a\n1\n", file_name=bad, name="n")


def test_empty_and_header_only_say_no_rows(lake: Lakehouse) -> None:
    for data, name in ((b"", "empty.csv"), (b"a,b,c\n", "header.csv"), (b"\n\n", "blank.csv"), (b"[]", "e.json")):
        with pytest.raises(UploadError, match="no rows"):
            upload_bytes(lake, data, file_name=name, name="empty")
    assert not lake.exists("bronze.upload_files") and committed(lake, "empty") == 0


CRASH = """
import os, sys
from lakehouse import Lakehouse
from lakehouse import lake as lake_mod
from connectors.files import upload_bytes
real = lake_mod.Lakehouse.write
def write(self, name, *args, **kwargs):
    if name == "bronze.upload_files":
        os._exit(9)  # the process dies after the rows (and quarantine) were committed
    return real(self, name, *args, **kwargs)
lake_mod.Lakehouse.write = write
upload_bytes(Lakehouse(sys.argv[1]), open(sys.argv[2], "rb").read(), file_name="c.csv", name="crash")
"""


def test_retry_after_crash_reports_and_stores_true_counts(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    src = tmp_path / "c.csv"
    src.write_bytes(b"a,b\n1,2\n3,4\n5\n7,8\n")
    proc = subprocess.run(
        [sys.executable, "-c", CRASH, str(root), str(src)], check=False, cwd=ROOT, capture_output=True, timeout=120
    )
    assert proc.returncode == 9, proc.stderr.decode()[-2000:]
    lake = Lakehouse(root)
    out = upload_bytes(lake, src.read_bytes(), file_name="c.csv", name="crash")
    assert (out["rows_loaded"], out["rows_quarantined"], out["already_uploaded"]) == (3, 1, False)
    assert out["resumed"] is True
    stored = read_profile(lake, "crash")
    assert (stored["rows_loaded"], stored["rows_quarantined"]) == (3, 1)
    assert read_upload(lake, "crash").num_rows == 3  # landed once
    assert lake.read("ops.quarantine").num_rows == 1
    again = upload_bytes(lake, src.read_bytes(), file_name="c.csv", name="crash")
    assert again["already_uploaded"] and again["rows_loaded"] == 0


def test_shift_jis_and_mixed_encodings(lake: Lakehouse) -> None:
    text = "id,name,city\n1,山田太郎,東京\n2,佐藤花子,大阪\n3,鈴木一郎,名古屋\n"
    out = upload_bytes(lake, text.encode("shift_jis"), file_name="jp.csv", name="jp")
    assert out["encoding"] in ("cp932", "shift_jis", "shift_jis_2004", "shift_jisx0213")
    assert [r["name"] for r in read_upload(lake, "jp").to_pylist()] == ["山田太郎", "佐藤花子", "鈴木一郎"]
    mixed = "id,city\n1,Zürich\n2,Malmö\n".encode() + "3,Köln\n".encode("cp1252")
    out = upload_bytes(lake, mixed, file_name="mixed.csv", name="mixed")
    assert [r["city"] for r in read_upload(lake, "mixed").to_pylist()] == ["Zürich", "Malmö", "Köln"]
    assert any("mixed encodings" in w and "line" in w for w in out["warnings"])
    short = "a,b\n1,café\n".encode("cp1252")  # too little text to be sure: used, with a warning
    out = upload_bytes(lake, short, file_name="s.csv", name="short")
    assert any("low confidence" in w for w in out["warnings"])
    clean = upload_bytes(lake, "a,b\n1,ünïcode\n".encode(), file_name="u.csv", name="utf8")
    assert clean["warnings"] == [] and clean["encoding"] == "utf-8"


def test_binary_and_compressed_refused(lake: Lakehouse) -> None:
    rng = os.urandom(4096)
    for data, name, match in (
        (rng, "random.csv", "binary"),
        (gzip.compress(b"a,b\n1,2\n" * 100), "data.csv", "gzip-compressed"),
        (gzip.compress(b"a,b\n1,2\n"), "data.csv.gz", "gzip-compressed"),
        (b"PK\x03\x04" + rng[:200], "x.zip", "zip-compressed"),
        (b"\x89PNG\r\n\x1a\n" + rng, "img.csv", "binary"),
    ):
        with pytest.raises(UploadError, match=match):
            upload_bytes(lake, data, file_name=name, name="junk")
    assert committed(lake, "junk") == 0
