"""Canonical ids stay stable across incremental runs on real Delta tables; merges and splits are audited."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

from connectors.synth.entities import generate
from jobs.reconcile import engine, pipeline

CFG = engine.EngineConfig(random_pairs=30_000)


def _crosswalk(lake) -> dict[str, str]:
    rows = pipeline.read_finished(
        lake,
        "silver.entity_crosswalk",
        columns=["source", "source_id", "entity_id"],
        filter=pc.field("entity_type") == "customers",
    ).to_pylist()
    return {f"{r['source']}:{r['source_id']}": r["entity_id"] for r in rows}


def _audit(lake, run_id: str) -> list[dict]:
    cols = ["run_id", "event", "entity_id", "other_entity_id", "records", "probability", "reason"]
    return pipeline.read_finished(
        lake, "silver.entity_audit", columns=cols, filter=pc.field("run_id") == run_id
    ).to_pylist()


def _canonical(lake) -> list[dict]:
    return pipeline.read_finished(lake, "silver.customers", columns=["entity_id", "status", "merged_into"]).to_pylist()


def test_incremental_runs_keep_ids(lake):
    base = generate("customers", 800, seed=21)
    pipeline.write_records(lake, "customers", base.records, source="synth", batch_id="base")
    first = pipeline.reconcile(lake, "customers", config=CFG)
    ids_1 = _crosswalk(lake)
    assert len(ids_1) == len(base.records)
    assert engine.pairwise_scores(ids_1, base.truth)["precision"] >= 0.95
    canon = _canonical(lake)
    assert len(canon) == first["entities"] and all(r["status"] == "active" for r in canon)

    # unrelated data arrives: no existing record changes entity, no canonical row of them is rewritten
    other = generate("customers", 300, seed=21, entity_offset=10_000)
    pipeline.write_records(lake, "customers", other.records, source="synth", batch_id="other")
    second = pipeline.reconcile(lake, "customers", config=CFG)
    ids_2 = _crosswalk(lake)
    assert {k: ids_2[k] for k in ids_1} == ids_1
    assert second["written"]["crosswalk"] == len(other.records)
    events = {e["event"] for e in _audit(lake, second["run_id"])}
    assert events <= {"create", "join"}  # joins only among the new records' own entities... none expected
    assert not any(e["event"] in ("merge", "split", "move") for e in _audit(lake, second["run_id"]))

    # a new duplicate of an existing entity joins it, with an audited reason
    fresh = generate("customers", 800, seed=21, variant_seed=77, duplicate_rate=0.0)
    newcomers = fresh.records[:40]
    pipeline.write_records(lake, "customers", newcomers, source="crm2", batch_id="dups")
    third = pipeline.reconcile(lake, "customers", config=CFG)
    ids_3 = _crosswalk(lake)
    joined = 0
    by_truth = {base.truth[k]: ids_1[k] for k in ids_1}
    for rec in newcomers:
        key = f"{rec['source']}:{rec['source_id']}"
        joined += ids_3[key] == by_truth[fresh.truth[key]]
    assert joined >= 0.9 * len(newcomers)
    audit = _audit(lake, third["run_id"])
    joins = [e for e in audit if e["event"] == "join"]
    assert joins and all("matches existing members" in e["reason"] and e["probability"] >= 0.5 for e in joins)
    assert {k: ids_3[k] for k in ids_1 if ids_3[k] != ids_1[k]} == {}  # merges keep the survivor's id

    # idempotent: nothing new -> nothing written
    fourth = pipeline.reconcile(lake, "customers", config=CFG)
    assert fourth["written"] == {"crosswalk": 0, "canonical": 0, "audit": 0}


def _person(source: str, sid: str, **over: str | None) -> dict:
    rec = {
        "source": source,
        "source_id": sid,
        "name": "Jane Q. Doe",
        "email": "jane.doe@example.com",
        "phone": "+1 (555) 201-3344",
        "company": "Initech LLC",
        "address": "12 Oak Street",
        "city": "Austin",
        "postcode": "73301",
        "country": "US",
        "birth_date": "1980-02-03",
        "lifetime_value": "100.00",
    }
    return rec | over


def test_merge_then_split_are_audited(lake):
    background = generate("customers", 300, seed=8).records
    # two halves of one person, each with half of the identifying fields: not linkable on their own
    a = _person("crm", "a1", email=None, birth_date=None, company=None, phone="+1 (555) 201-3344")
    b = _person("shop", "b1", phone=None, address="99 Elm Road", postcode="73399", email="jd@work.example")
    pipeline.write_records(lake, "customers", [*background, a, b], source="mix", batch_id="1")
    pipeline.reconcile(lake, "customers", config=CFG)
    ids = _crosswalk(lake)
    assert ids["crm:a1"] != ids["shop:b1"]

    bridge = _person("upload", "c1", email="jd@work.example")  # has a's phone/address and b's e-mail
    pipeline.write_records(lake, "customers", [bridge], source="upload", batch_id="2")
    run = pipeline.reconcile(lake, "customers", config=CFG)
    ids2 = _crosswalk(lake)
    assert ids2["crm:a1"] == ids2["shop:b1"] == ids2["upload:c1"]
    merges = [e for e in _audit(lake, run["run_id"]) if e["event"] == "merge"]
    assert len(merges) == 1 and "upload:c1" in merges[0]["reason"]
    loser = merges[0]["other_entity_id"]
    canon = {r["entity_id"]: r for r in _canonical(lake)}
    assert canon[loser]["status"] == "merged" and canon[loser]["merged_into"] == merges[0]["entity_id"]

    # the bridging record is corrected to another person: the entity splits again, survivor keeps its id
    fixed = _person(
        "upload",
        "c1",
        name="Robert Zane",
        email="rz@elsewhere.example",
        phone="+1 (555) 999-0000",
        address="7 Pine Ave",
        postcode="10001",
        birth_date="1955-09-09",
        company=None,
        city="Boston",
    )
    pipeline.write_records(lake, "customers", [fixed], source="upload", batch_id="3")
    run3 = pipeline.reconcile(lake, "customers", config=CFG)
    ids3 = _crosswalk(lake)
    events = _audit(lake, run3["run_id"])
    assert any(e["event"] == "split" for e in events), events
    assert ids3["crm:a1"] != ids3["shop:b1"]
    assert merges[0]["entity_id"] in (ids3["crm:a1"], ids3["shop:b1"])
    assert ids3["upload:c1"] not in (ids3["crm:a1"], ids3["shop:b1"])


def test_reconcile_job_on_ray(covary_home, ray_local):
    from covary.settings import get_settings
    from jobs.reconcile import main
    from lakehouse import Lakehouse

    lake = Lakehouse.from_settings(get_settings())
    synth = generate("customers", 300, seed=4)
    pipeline.write_records(lake, "customers", synth.records, source="synth", batch_id="x")
    out = main({"random_pairs": 20_000})
    assert out["skipped_no_records"] == ["products"]
    summary = out["reconciled"]["customers"]
    assert summary["records"] == len(synth.records) and summary["written"]["crosswalk"] == len(synth.records)
    assert lake.loads.get(summary["run_id"])["status"] == "finished"


def test_unknown_entity_rejected(covary_home, ray_local):
    from jobs.reconcile import main
    from jobs.reconcile.errors import UnknownEntityError

    with pytest.raises(UnknownEntityError):
        main({"entities": ["suppliers"]})
