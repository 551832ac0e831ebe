"""Demo step: the synthetic enterprise systems (seeded) through bronze -> silver -> gold with ground truth."""

from __future__ import annotations

from typing import Any

from connectors.synth import run_synth
from lakehouse import Lakehouse


def run(lake: Lakehouse, config: dict[str, Any]) -> dict[str, Any]:
    result = run_synth(lake, days=int(config.get("synth_days", 731)), seed=int(config.get("synth_seed", 7))).as_dict()
    truth = ", ".join(f"{v} {k}" for k, v in result["truth"].items())
    return {
        "lines": [
            f"{result['start']} .. {result['end']}: {sum(result['records'].values()):,} records from "
            f"{len(result['records'])} systems -> {result['series']} gold series",
            f"planted truth in gold.synth_truth: {truth}",
        ],
        "load_id": result["load_id"],
    }
