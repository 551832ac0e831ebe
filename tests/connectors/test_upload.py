"""File upload: formats, sniffing, quarantine with line numbers, profiles, entity check, idempotence, robustness."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import UploadError
from connectors.files import parse_bytes, read_profile, read_upload, upload_bytes, upload_file

CSV = (
    "name;email;age;joined\nAnn;ann@x.org;34;2024-01-02\nBob;bob@x.org;41;2024-02-03\nCy;cy@x.org\nDée;;29;2024-03-04\n"
)


def test_csv_sniffing_quarantine_profile_and_reupload(lake, tmp_path) -> None:
    path = tmp_path / "crm export.csv"
    path.write_bytes(CSV.encode("cp1252"))
    first = upload_file(lake, path, name="crm", entity="customers")
    assert (first["encoding"], first["delimiter"], first["format"]) == ("cp1252", ";", "csv")
    assert first["rows_loaded"] == 3 and first["rows_quarantined"] == 1
    q = lake.read("ops.quarantine").to_pylist()
    assert q[0]["location"] == "crm_export.csv line 4" and "expected 4 fields, got 2" in q[0]["reason"]
    cols = {c["name"]: c for c in first["columns"]}
    assert cols["age"]["type"] == "int" and (cols["age"]["min"], cols["age"]["max"]) == ("29", "41")
    assert cols["joined"]["type"] == "date" and cols["email"]["null_pct"] == pytest.approx(33.33)
    assert cols["name"]["distinct"] == 3 and "Dée" in cols["name"]["samples"]
    check = first["schema_check"]
    assert check["table"] == "silver.customer_records" and "email" not in check["missing_optional"]
    again = upload_file(lake, path, name="crm")
    assert again["rows_loaded"] == 0 and again["rows_quarantined"] == 0 and again["already_uploaded"]
    table = read_upload(lake, "crm")
    assert table.num_rows == 3 and table.schema.field("age").type == pa.int64()
    assert table.column("_line").to_pylist() == [2, 3, 5]
    assert read_profile(lake, "crm")["rows_loaded"] == 3


def test_json_ndjson_parquet(lake, tmp_path) -> None:
    nd = tmp_path / "events.ndjson"
    nd.write_text('{"a": 1}\n{"a": 2, "b": "x"}\nnot json\n[1]\n{"a": 3}\n')
    out = upload_file(lake, nd, name="events")
    assert out["rows_loaded"] == 3 and out["rows_quarantined"] == 2
    lines = sorted(r["location"] for r in lake.read("ops.quarantine").to_pylist())
    assert lines == ["events.ndjson line 3", "events.ndjson line 4"]
    js = tmp_path / "list.json"
    js.write_text(json.dumps({"data": [{"k": 1}, {"k": 2}, 5]}))
    assert upload_file(lake, js, name="list")["rows_loaded"] == 2
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": [1, 2, 3], "y": ["a", None, "c"]}), buf)
    pqf = tmp_path / "t.parquet"
    pqf.write_bytes(buf.getvalue())
    out = upload_file(lake, pqf, name="pq")
    assert out["rows_loaded"] == 3 and {c["name"]: c["type"] for c in out["columns"]} == {"x": "int", "y": "string"}


def test_limits_and_safe_names(lake, tmp_path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("a\n1\n")
    with pytest.raises(UploadError, match="over the upload limit"):
        upload_file(lake, f, name="a", max_bytes=3)
    for bad in ("../etc", "a/b", "", "X" * 70, "..", "a b"):
        with pytest.raises(UploadError, match="not allowed"):
            upload_file(lake, f, name=bad)
    out = upload_bytes(lake, b"a\n1\n", file_name="../../etc/passwd", name="safe")
    assert out["file_name"] == "passwd"
    with pytest.raises(UploadError, match="unknown entity"):
        upload_file(lake, f, name="a", entity="nonsense")


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048), fmt=st.sampled_from([None, "csv", "json", "ndjson", "parquet"]))
def test_parser_never_raises_anything_but_upload_error(data: bytes, fmt: str | None) -> None:
    try:
        parsed = parse_bytes(data, "fuzz.bin", format=fmt)
    except UploadError:
        return
    for line, row in parsed.rows:
        assert line >= 1 and isinstance(row, dict)


@settings(max_examples=60, deadline=2000)
@given(
    rows=st.lists(
        st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8), min_size=3, max_size=3),
        min_size=1,
        max_size=20,
    )
)
def test_csv_roundtrip_on_arbitrary_text(rows: list[list[str]]) -> None:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    parsed = parse_bytes(buf.getvalue().encode("utf-8"), "x.csv")
    assert len(parsed.rows) + len(parsed.bad) <= len(rows)
