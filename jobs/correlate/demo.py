"""Demo step: correlation discovery over the gold series in the lake, printing the top findings and caveats."""

from __future__ import annotations

from typing import Any

from jobs.correlate.lake_io import run_on_lake
from jobs.correlate.options import DiscoveryOptions


def run(lake: Any, config: dict[str, Any]) -> dict[str, Any]:
    options = DiscoveryOptions(max_lag=int(config.get("max_lag", 28)), seed=int(config.get("seed", 0)))
    # The demo lake mixes quarterly macro series with daily/weekly API and enterprise series: discover over the
    # daily ones at daily resolution (quarterly macro would force everything to quarters).
    catalog = lake.read("gold.series_catalog", columns=["series_id", "frequency"]).to_pylist()
    # Weekly series in the catalogue are roll-ups of daily ones: testing both would "find" each series with itself.
    series = sorted(r["series_id"] for r in catalog if r["frequency"] == "D") or None
    result, run_record = run_on_lake(lake, series=series, freq=config.get("freq"), options=options)
    lines = [
        f"{result.n_series} series x {result.n_steps} steps, {result.tested} pair-lags tested, "
        f"{len(result.significant)} significant at q<={options.fdr} (null: circular shift, {result.draws} draws)"
    ]
    for f in result.significant[:5]:
        lead = f"{f.a} leads by {f.lag}" if f.lag > 0 else f"{f.b} leads by {-f.lag}" if f.lag < 0 else "same period"
        lines.append(f"{f.a} ~ {f.b}: r={f.r:+.2f} (raw {f.r_raw:+.2f}), q={f.q:.2g}, {lead}")
        lines.extend(f"    ! {w}" for w in f.warnings[:3])
    lines.append("correlation is not causation: lead/lag and Granger show temporal precedence only")
    c = run_record["comparison"]
    lines.append(
        f"run {run_record['run_id']} vs previous: new {c['new']}, strengthened {c['strengthened']}, "
        f"weakened {c['weakened']}, vanished {c['vanished']}"
    )
    return {"lines": lines, "run_id": run_record["run_id"], "significant": len(result.significant)}
