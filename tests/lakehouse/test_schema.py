"""Schema evolution: additive columns accepted; type changes and missing required columns rejected."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest

from lakehouse import (
    CommitConflictError,
    Lakehouse,
    LakehouseError,
    LoadError,
    SchemaMismatchError,
    TableNotFoundError,
    get_spec,
)


def _obs(value: pa.Array | list, **extra: pa.Array) -> pa.Table:
    n = len(value)
    cols = {"series": ["s"] * n, "ts": pa.array(range(n), pa.date32()), "value": value, **extra}
    return pa.table(cols)


def test_type_change_rejected_naming_column_and_types_nothing_committed(lake: Lakehouse) -> None:
    with lake.load("t") as load:
        load.write("silver.macro_observations", _obs([1.0, 2.0]))
    before = lake.table("silver.macro_observations").version()
    with pytest.raises(SchemaMismatchError) as err, lake.load("t") as load:
        load.write("silver.macro_observations", _obs(pa.array(["x", "y"])))
    message = str(err.value)
    assert "'value'" in message and "double" in message and "string" in message
    assert lake.table("silver.macro_observations").version() == before
    assert lake.read("silver.macro_observations").num_rows == 2


def test_missing_required_column_rejected(lake: Lakehouse) -> None:
    data = pa.table({"series": ["s"], "value": [1.0]})
    with pytest.raises(SchemaMismatchError, match=r"column .ts. is missing"), lake.load("t") as load:
        load.write("silver.macro_observations", data)
    assert not lake.exists("silver.macro_observations") or lake.table("silver.macro_observations").version() == 0


def test_nulls_in_required_column_rejected(lake: Lakehouse) -> None:
    data = pa.table({"series": ["s", None], "ts": pa.array([0, 1], pa.date32()), "value": [1.0, 2.0]})
    with pytest.raises(SchemaMismatchError, match="null"), lake.load("t") as load:
        load.write("silver.macro_observations", data, mode="append")


def test_additive_column_is_added_and_old_rows_read_null(lake: Lakehouse) -> None:
    with lake.load("t") as load:
        load.write("silver.macro_observations", _obs([1.0]))
        load.write("silver.macro_observations", _obs([2.0, 3.0], note=pa.array(["a", "b"])), mode="append")
    data = lake.read("silver.macro_observations")
    assert "note" in data.column_names
    assert sorted(data.column("note").to_pylist(), key=lambda v: (v is None, v or "")) == ["a", "b", None]


def test_lossless_widening_is_cast(lake: Lakehouse) -> None:
    with lake.load("t") as load:
        load.write("silver.macro_observations", _obs(pa.array([1.5], pa.float32())))
    assert lake.read("silver.macro_observations").schema.field("value").type == pa.float64()


def test_unknown_table_lists_declared_tables() -> None:
    with pytest.raises(TableNotFoundError) as err:
        get_spec("silver.nope")
    assert "silver.macro_observations" in (err.value.hint or "")


@pytest.mark.parametrize(
    "exc",
    [
        SchemaMismatchError("bad", hint="fix"),
        TableNotFoundError("missing"),
        CommitConflictError("race"),
        LoadError("unknown load"),
        LakehouseError("root", hint="h"),
    ],
)
def test_exceptions_pickle(exc: Exception) -> None:
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is type(exc)
    assert str(clone) == str(exc)
    assert getattr(clone, "hint", None) == getattr(exc, "hint", None)
