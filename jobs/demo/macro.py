"""Spine demo step: US macro data (statsmodels ``macrodata``, public domain) bronze -> silver -> gold."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

import ray

from jobs.runtime import ray_retry_options
from lakehouse import BatchKey, Lakehouse

SERIES_META: dict[str, tuple[str, str, str]] = {
    # code: (description, unit, aggregation)
    "realgdp": ("Real gross domestic product", "bn chained 2005 USD", "mean"),
    "realcons": ("Real personal consumption expenditures", "bn chained 2005 USD", "mean"),
    "realinv": ("Real gross private domestic investment", "bn chained 2005 USD", "mean"),
    "realgovt": ("Real federal government consumption and investment", "bn chained 2005 USD", "mean"),
    "realdpi": ("Real private disposable income", "bn chained 2005 USD", "mean"),
    "cpi": ("Consumer price index, end of quarter", "index 1982-84=100", "mean"),
    "m1": ("M1 money stock, end of quarter", "bn USD", "mean"),
    "tbilrate": ("3-month Treasury bill rate, quarterly average", "percent", "mean"),
    "unemp": ("Seasonally adjusted unemployment rate", "percent", "mean"),
    "pop": ("Total population, end of quarter", "millions", "mean"),
    "infl": ("Inflation rate", "percent", "mean"),
    "realint": ("Real interest rate", "percent", "mean"),
}


def raw_records() -> list[dict[str, Any]]:
    """The bundled records as shipped (no network)."""
    import statsmodels.api as sm

    frame = sm.datasets.macrodata.load_pandas().data
    return [{k: float(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


@ray.remote(**ray_retry_options())
def _to_observations(payloads: list[str]) -> list[dict[str, Any]]:
    """Parse raw payloads into typed (series, quarter start, value) rows."""
    rows: list[dict[str, Any]] = []
    for payload in payloads:
        record = json.loads(payload)
        ts = date(int(record["year"]), 3 * (int(record["quarter"]) - 1) + 1, 1)
        rows.extend({"series": code, "ts": ts, "value": record.get(code)} for code in SERIES_META)
    return rows


def run(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    fetched = datetime.now(UTC)
    bronze: list[dict[str, Any]] = []
    for rec in raw_records():
        payload = json.dumps(rec, sort_keys=True)
        bronze.append(
            {
                "record_key": f"{int(rec['year'])}Q{int(rec['quarter'])}",
                "payload": payload,
                "content_hash": hashlib.sha256(payload.encode()).hexdigest(),
                "fetched_at": fetched,
            }
        )
    dataset_version = hashlib.sha256("".join(r["content_hash"] for r in bronze).encode()).hexdigest()[:16]
    with lake.load("demo.macro") as load:
        load.write("bronze.macro_raw", bronze, batch=BatchKey(f"demo.macro/bronze/{dataset_version}"))
        chunks = [bronze[i : i + 50] for i in range(0, len(bronze), 50)]
        parsed = ray.get([_to_observations.remote([r["payload"] for r in c]) for c in chunks])
        observations = [row for chunk in parsed for row in chunk]
        load.write("silver.macro_observations", observations, batch=BatchKey(f"demo.macro/silver/{dataset_version}"))
        catalog = [
            {
                "series_id": f"macro.{code}",
                "description": desc,
                "unit": unit,
                "frequency": "Q",
                "aggregation": agg,
                "source": "statsmodels.macrodata",
                "lineage": "silver.macro_observations",
                "domain": "economy",
            }
            for code, (desc, unit, agg) in SERIES_META.items()
        ]
        load.write("gold.series_catalog", catalog, batch=BatchKey(f"demo.macro/catalog/{dataset_version}"))
        values = [{"series_id": f"macro.{r['series']}", "ts": r["ts"], "value": r["value"]} for r in observations]
        load.write("gold.series_values", values, batch=BatchKey(f"demo.macro/gold/{dataset_version}"))
    return {
        "source": "statsmodels macrodata (public domain)",
        "records": len(bronze),
        "observations": len(observations),
        "series": len(catalog),
        "load_id": load.load_id,
    }
