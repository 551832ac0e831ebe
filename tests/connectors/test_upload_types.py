"""Uploads keep a column typed when a few cells do not fit, and report each such cell (line, column, value, reason)."""

from __future__ import annotations

import json

import pyarrow as pa

from connectors.files import read_profile, read_upload, upload_bytes


def _rows(n: int = 40) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {"sku": f"s{i}", "price": round(9.5 + i, 2), "sold_on": f"2024-03-{1 + i % 28:02d}", "note": f"n{i % 7}"}
        for i in range(n)
    ]
    rows[16]["price"] = "call us"
    rows[24]["sold_on"] = "oops"
    return rows


def _csv(rows: list[dict[str, object]]) -> bytes:
    lines = ["sku,price,sold_on,note"] + [f"{r['sku']},{r['price']},{r['sold_on']},{r['note']}" for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _check(lake, out: dict, name: str, *, line_of) -> None:  # type: ignore[no-untyped-def]
    cols = {c["name"]: c for c in out["columns"]}
    assert cols["price"]["type"] == "float" and cols["sold_on"]["type"] == "date"
    assert cols["note"]["type"] == "string" and cols["note"]["invalid"] == 0 and cols["note"]["invalid_cells"] == []
    assert cols["price"]["invalid"] == 1 and cols["sold_on"]["invalid"] == 1
    (price,) = cols["price"]["invalid_cells"]
    assert price == {
        "line": line_of(16),
        "row": 17,
        "column": "price",
        "value": "call us",
        "reason": "'call us' is not a number (column price is float)",
    }
    (day,) = cols["sold_on"]["invalid_cells"]
    assert (day["line"], day["row"], day["column"], day["value"]) == (line_of(24), 25, "sold_on", "oops")
    assert "not a date" in day["reason"]
    # min/max ignore the bad cells; the reply lists every bad cell and says so in a warning
    assert (cols["price"]["min"], cols["price"]["max"]) == ("9.5", "48.5")
    assert out["cells_invalid"] == 2 and [c["value"] for c in out["invalid_cells"]] == ["call us", "oops"]
    assert any("2 cell(s)" in w for w in out["warnings"])
    # rows are kept (not quarantined); the bad cells read as null in the typed table
    assert out["rows_loaded"] == 40 and out["rows_quarantined"] == 0
    table = read_upload(lake, name)
    assert table.schema.field("price").type == pa.float64() and table.schema.field("sold_on").type == pa.date32()
    assert table.column("price").null_count == 1 and table.column("price")[16].as_py() is None
    assert table.column("sold_on")[24].as_py() is None and table.column("price")[15].as_py() == 24.5
    # the stored profile (what /v1/explorer/uploads and the explorer show) carries the same cells
    stored = {c["name"]: c for c in read_profile(lake, name)["columns"]}
    assert stored["price"]["invalid_cells"] == cols["price"]["invalid_cells"]
    # re-upload: nothing new, good rows landed exactly once
    again = upload_bytes(lake, out["_data"], file_name=out["file_name"], name=name)
    assert again["rows_loaded"] == 0 and again["already_uploaded"]
    assert read_upload(lake, name).num_rows == 40
    stored_rows = lake.read("bronze.upload_rows").to_pylist()
    assert len([r for r in stored_rows if r["upload"] == name]) == 40


def test_csv_mostly_numeric_and_date_columns_stay_typed(lake) -> None:
    data = _csv(_rows())
    out = upload_bytes(lake, data, file_name="prices.csv", name="prices")
    out["_data"] = data
    _check(lake, out, "prices", line_of=lambda i: i + 2)


def test_json_mostly_numeric_and_date_columns_stay_typed(lake) -> None:
    data = json.dumps(_rows()).encode()
    out = upload_bytes(lake, data, file_name="prices.json", name="prices-json")
    out["_data"] = data
    _check(lake, out, "prices-json", line_of=lambda i: i + 1)


def test_genuinely_mixed_column_stays_string_without_bad_cells(lake) -> None:
    rows = _rows(30)
    for r in rows[::3]:
        r["price"] = "ask"  # 10 of 30 are text: a text column, not a price column with typos
    out = upload_bytes(lake, _csv(rows), file_name="mixed.csv", name="mixed")
    price = next(c for c in out["columns"] if c["name"] == "price")
    assert price["type"] == "string" and price["invalid"] == 0 and out["cells_invalid"] == 1  # only "oops"


def test_small_column_with_one_typo_is_typed_and_bool_in_numbers_is_bad(lake) -> None:
    rows = [{"k": i, "amount": i * 2} for i in range(10)]
    rows[3]["amount"] = True
    out = upload_bytes(lake, json.dumps(rows).encode(), file_name="small.json", name="small")
    amount = next(c for c in out["columns"] if c["name"] == "amount")
    assert amount["type"] == "int" and amount["invalid"] == 1
    assert amount["invalid_cells"][0]["value"] == "true" and "not a number" in amount["invalid_cells"][0]["reason"]
    assert read_upload(lake, "small").column("amount")[3].as_py() is None
