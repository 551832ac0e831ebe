"""Demo step: correlation + event discovery over every gold series with the lake defaults, printing the ranking."""

from __future__ import annotations

from typing import Any

from jobs.correlate.lake_io import run_on_lake
from jobs.correlate.options import DiscoveryOptions


def run(lake: Any, config: dict[str, Any]) -> dict[str, Any]:
    # The defaults are the point: each pair at the coarser of its two frequencies, lags by frequency,
    # roll-ups/derivations never paired with their sources, identities listed apart, events beside r.
    max_lag = config.get("max_lag")
    options = DiscoveryOptions(max_lag=None if max_lag is None else int(max_lag), seed=int(config.get("seed", 0)))
    result, run_record = run_on_lake(lake, freq=config.get("freq"), options=options)
    panels = ", ".join(f"{lv['frequency']} {lv['start'][:4]}-{lv['end'][:4]} ({lv['series']})" for lv in result.levels)
    lines = [
        f"{result.n_series} series in {len(result.levels)} panels [{panels}]; {result.tested} pair-lags tested "
        f"(correlation + event tests, one BH family); {len(result.significant)} significant at q<={options.fdr}",
        f"{len(result.construction)} pairs related by construction (listed apart), "
        f"{len(result.excluded)} roll-ups/derivations never paired with their sources",
    ]
    for f in result.significant[:5]:
        lead = f"{f.a} leads by {f.lag}" if f.lag > 0 else f"{f.b} leads by {-f.lag}" if f.lag < 0 else "same period"
        where = "cross-domain" if f.cross_domain else "same system"
        lines.append(f"#{f.rank} [{f.test}, {where}] {f.a} ~ {f.b}: r={f.r:+.2f}, q={f.q:.2g}, {lead}")
        lines.extend(f"    ! {w}" for w in f.warnings[:2])
    lines.append("correlation is not causation: lead/lag and Granger show temporal precedence only")
    c = run_record["comparison"]
    lines.append(
        f"run {run_record['run_id']} vs previous: baseline {c.get('baseline', 0)}, new {c['new']}, "
        f"strengthened {c['strengthened']}, weakened {c['weakened']}, vanished {c['vanished']}"
    )
    return {"lines": lines, "run_id": run_record["run_id"], "significant": len(result.significant)}
