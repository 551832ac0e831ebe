"""The query profile is cached per table on disk: a fresh process (one-shot CLI use) re-profiles only the tables
whose Delta version changed, nothing when the lake is unchanged, and a table whose rows become visible later
(its load finishing after it was profiled) is re-profiled although its version did not change. The one-shot
profile (straight from Delta) equals the service's (on its SQL snapshot)."""

from __future__ import annotations

import pytest

from serve.query.semantic import SERIES_CATALOG
from serve.query.service import EngineOptions, QueryService


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    from connectors.synth import run_synth
    from lakehouse import Lakehouse

    lake = Lakehouse(tmp_path_factory.mktemp("profile-cache") / "lake")
    run_synth(lake, days=120, seed=3, with_entities=False)
    return lake


def _one_shot(lake) -> QueryService:
    return QueryService(lake, EngineOptions(llm_mode="off", one_shot=True))


def _profile(svc: QueryService) -> tuple[str | None, dict, list[str]]:
    try:
        fp, prof = svc.profile()
        return fp, prof, list(svc.profiled)
    finally:
        svc.close()


def _append_one_row(lake, table: str, load, key: str):
    """One row with a new value of the merge-key column ``key`` (so it adds a row, not an update)."""
    import pyarrow as pa

    row = lake.read(table).slice(0, 1)
    row = row.set_column(row.schema.get_field_index(key), key, pa.array(["planted"], row.schema.field(key).type))
    load.write(table, row.drop_columns(["_load_id"]) if "_load_id" in row.column_names else row)


def test_only_changed_tables_are_profiled_again(lake, covary_home) -> None:
    fp, cold, profiled = _profile(_one_shot(lake))
    tables = set(cold["tables"])
    assert "silver.synth_support" in tables and set(profiled) == tables | {"<series>"}
    assert cold["tables"]["silver.synth_support"]["rows"] == lake.read("silver.synth_support").num_rows

    # the service profiles on its snapshot: same numbers as the one-shot path that read Delta directly
    service = QueryService(lake, EngineOptions(llm_mode="off", refresh_s=3600))
    try:
        service_fp, _ = service.profile()
        assert service_fp == fp and service.profiled == []  # same versions: all from the disk cache
        fresh = QueryService(lake, EngineOptions(llm_mode="off", refresh_s=3600))
        recomputed = fresh._profile_from(
            {}, dict(service.snapshots.built_versions), service.snapshots.present_tables, service.snapshots.engine()
        )
        fresh.close()
        assert recomputed["tables"] == cold["tables"] and recomputed["series"] == cold["series"]
    finally:
        service.close()

    again_fp, again, profiled = _profile(_one_shot(lake))
    assert (again_fp, profiled) == (fp, []) and again == cold  # unchanged lake: nothing recomputed

    with lake.load("tests.profile") as load:
        _append_one_row(lake, "silver.synth_support", load, "channel")
    new_fp, new, profiled = _profile(_one_shot(lake))
    assert new_fp != fp and profiled == ["silver.synth_support"]
    assert new["tables"]["silver.synth_support"]["rows"] == cold["tables"]["silver.synth_support"]["rows"] + 1
    assert "planted" in new["tables"]["silver.synth_support"]["values"]["channel"]
    others = {t: e for t, e in new["tables"].items() if t != "silver.synth_support"}
    assert others == {t: e for t, e in cold["tables"].items() if t != "silver.synth_support"}
    if SERIES_CATALOG in tables:
        assert new["series"] == cold["series"]


def test_rows_that_become_visible_later_are_profiled(lake, covary_home) -> None:
    _, before, _ = _profile(_one_shot(lake))
    rows = before["tables"]["silver.synth_hr"]["rows"]
    load = lake.load("tests.pending")
    load.__enter__()
    try:
        _append_one_row(lake, "silver.synth_hr", load, "department")
        _, pending, profiled = _profile(_one_shot(lake))  # written, not yet visible
        assert profiled == ["silver.synth_hr"] and pending["tables"]["silver.synth_hr"]["rows"] == rows
    finally:
        load.__exit__(None, None, None)
    _, done, profiled = _profile(_one_shot(lake))  # same table version, its load finished: profiled again
    assert profiled == ["silver.synth_hr"] and done["tables"]["silver.synth_hr"]["rows"] == rows + 1
    assert _profile(_one_shot(lake))[2] == []
