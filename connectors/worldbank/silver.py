"""World Bank observations -> silver.worldbank_indicators (one row per indicator, country and period)."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.connector import parse_records as _parse
from connectors.worldbank import models as wb


def indicators(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = []
    for o in _parse(wb.Observation, records, rej, f"worldbank/{ctx.get('country')}/{ctx.get('indicator')}"):
        day, frequency = wb.period_start(o.date)  # a ValueError quarantines just this record
        rows.append(
            {
                "indicator_id": o.indicator.id,
                "indicator_name": o.indicator.value,
                "country_iso3": o.countryiso3code or o.country.id,
                "country_id": o.country.id,
                "country_name": o.country.value,
                "period": o.date,
                "frequency": frequency,
                "date": day,
                "value": o.value,
                "unit": o.unit or None,
                "obs_status": o.obs_status or None,
                "decimals": o.decimal,
            }
        )
    return {"silver.worldbank_indicators": rows}


TRANSFORMS: dict[str, Transform] = {"indicator": indicators}

__all__ = ["TRANSFORMS", "indicators"]
