"""Demo steps: messy synthetic customers/products reconciled twice (ids stay stable), then a DQ summary."""

from __future__ import annotations

from typing import Any

from connectors.synth.entities import generate
from jobs.reconcile import engine, pipeline
from lakehouse import Lakehouse


def run(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    n = int(config.get("reconcile_entities", 600))
    lines = []
    out: dict[str, Any] = {}
    for kind in ("customers", "products"):
        base = generate(kind, n, seed=7)  # type: ignore[arg-type]
        pipeline.write_records(lake, kind, base.records, source="synth", batch_id=f"demo-{n}")  # type: ignore[arg-type]
        cfg = engine.EngineConfig(random_pairs=50_000, embed_max_texts=int(config.get("embed_max_texts", 300)))
        first = pipeline.reconcile(lake, kind, config=cfg)  # type: ignore[arg-type]
        more = generate(kind, n // 10, seed=7, variant_seed=8, duplicate_rate=0.0)  # type: ignore[arg-type]
        pipeline.write_records(lake, kind, more.records, source="synth-late", batch_id=f"demo-{n}")  # type: ignore[arg-type]
        second = pipeline.reconcile(lake, kind, config=cfg)  # type: ignore[arg-type]
        cw = pipeline.read_finished(
            lake, pipeline.CROSSWALK, columns=["entity_type", "source", "source_id", "entity_id"]
        )
        ids = {f"{r['source']}:{r['source_id']}": r["entity_id"] for r in cw.to_pylist() if r["entity_type"] == kind}
        scores = engine.pairwise_scores(ids, {**base.truth, **more.truth})
        lines.append(
            f"{kind}: {first['records']} records -> {first['entities']} entities; +{len(more.records)} late duplicates "
            f"-> {second['events']}; pairwise precision {scores['precision']:.3f}, recall {scores['recall']:.3f}"
        )
        out[kind] = {"first": first["events"], "second": second["events"], **scores}
    return {"lines": lines, **out}


def dq_summary(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    from jobs.dq import runner

    report = runner.run(lake)
    s = report["summary"]
    lines = [
        f"data quality: {s['checks']} checks on {len(report['tables'])} tables, "
        + f"{s['fail']} failing, {s['warn']} warnings"
    ]
    for table, counts in s["tables"].items():
        lines.append(f"  {table:<28} pass {counts['pass']:>3}  warn {counts['warn']:>3}  fail {counts['fail']:>3}")
    lines += [f"  ALERT {a}" for a in s["alerts"][:10]]
    return {"lines": lines, "run_id": report["run_id"], "fail": s["fail"], "warn": s["warn"]}
