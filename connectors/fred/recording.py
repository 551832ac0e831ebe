"""Recorder of the FRED fixture from statsmodels ``macrodata`` and vega-datasets ``sp500.csv``."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connectors.replay.recording import Route, response, responses_route
from connectors.synth.public import recording_window

FRED_AUTH = {"query": "api_key", "value": "replay-fred-key"}
FRED_RATE = {"limit": 120, "window_s": 60}


FRED_SERIES = {
    # FRED id: (macrodata column, title, frequency, units, units_short, seasonal adj.)
    "GDPC1": (
        "realgdp",
        "Real Gross Domestic Product",
        "Quarterly",
        "Billions of Chained 2005 Dollars",
        "Bil. of Chn. 2005 $",
        "Seasonally Adjusted Annual Rate",
    ),
    "PCECC96": (
        "realcons",
        "Real Personal Consumption Expenditures",
        "Quarterly",
        "Billions of Chained 2005 Dollars",
        "Bil. of Chn. 2005 $",
        "Seasonally Adjusted Annual Rate",
    ),
    "CPIAUCSL": (
        "cpi",
        "Consumer Price Index for All Urban Consumers: All Items",
        "Quarterly",
        "Index 1982-1984=100",
        "Index 1982-1984=100",
        "Seasonally Adjusted",
    ),
    "UNRATE": ("unemp", "Unemployment Rate", "Quarterly", "Percent", "%", "Seasonally Adjusted"),
    "TB3MS": (
        "tbilrate",
        "3-Month Treasury Bill: Secondary Market Rate",
        "Quarterly",
        "Percent",
        "%",
        "Not Seasonally Adjusted",
    ),
    "M1SL": ("m1", "M1 Money Stock", "Quarterly", "Billions of Dollars", "Bil. of $", "Seasonally Adjusted"),
    "SP500": ("sp500", "S&P 500 (monthly close)", "Monthly", "Index", "Index", "Not Seasonally Adjusted"),
}


def build_fred(vega: Path) -> tuple[list[Route], dict[str, Any]]:
    import statsmodels.api as sm

    frame = sm.datasets.macrodata.load_pandas().data
    values: dict[str, list[tuple[date, float | None]]] = {}
    for fred_id, (column, *_rest) in FRED_SERIES.items():
        if column == "sp500":
            rows = csv.DictReader((vega / "sp500.csv").open())
            values[fred_id] = [(datetime.strptime(r["date"], "%b %d %Y").date(), float(r["price"])) for r in rows]
        else:
            values[fred_id] = [
                (date(int(r["year"]), 3 * (int(r["quarter"]) - 1) + 1, 1), float(r[column]))
                for r in frame.to_dict(orient="records")
            ]
    series_route = responses_route("/fred/series", auth=FRED_AUTH, rate_limit=FRED_RATE)
    observations = responses_route("/fred/series/observations", auth=FRED_AUTH, rate_limit=FRED_RATE)
    rt = "2015-06-01"
    for fred_id, (_col, title, freq, units, units_short, sa) in FRED_SERIES.items():
        obs = values[fred_id]
        if fred_id == "UNRATE":  # demonstrate FRED's "." for a missing observation
            obs = [(d, None if d == date(1960, 1, 1) else v) for d, v in obs]
        about = {
            "title": title,
            "frequency": freq,
            "frequency_short": freq[0],
            "units": units,
            "units_short": units_short,
            "seasonal_adjustment": sa,
            "seasonal_adjustment_short": "SA" if sa.startswith("Seas") else "NSA",
            "last_updated": "2015-05-29 07:51:08-05",
            "popularity": 80,
            "notes": "Recorded for covary's demo.",
        }
        _series_pages(series_route, observations, fred_id, obs, realtime=rt, decimals=3, about=about)
    _public_window(series_route, observations)
    meta = {
        "provenance": "statsmodels macrodata (US BEA/BLS/Federal Reserve via FRED, public domain) for the "
        "quarterly series 1959Q1-2009Q3; vega-datasets sp500.csv (BSD-3-Clause) monthly closes 2000-2010 for "
        "SP500. UNRATE 1960-01-01 is served as '.' (missing) on purpose. "
        f"PLUS {', '.join(PUBLIC_SERIES)} 2023-2024: SYNTHETIC values under real FRED ids (titles say so)",
        "synthetic": "1959-2010 real (statsmodels, vega), 2023-2024 synthetic",
        "windows": [
            {
                "window": "1959-01-01..2010-03-01",
                "synthetic": False,
                "data": "GDPC1, PCECC96, CPIAUCSL, UNRATE, TB3MS, M1SL quarterly; SP500 monthly",
                "source": "statsmodels macrodata; vega-datasets 3.2.1 sp500.csv",
                "licence": "public domain (BEA/BLS/Federal Reserve data); BSD-3-Clause (vega-datasets)",
            },
            recording_window(
                f"{', '.join(PUBLIC_SERIES)} (daily business days, weekly, monthly); '.' on U.S. market holidays",
                "plausible 2023-24 levels, AR(1)/random-walk dynamics; NOT the real FRED series",
            ),
        ],
    }
    return [series_route, observations], meta


PUBLIC_SERIES = ("DGS10", "DCOILWTICO", "ICSA", "PAYEMS", "UMCSENT")
_FREQ = {"D": ("Daily", "D"), "W": ("Weekly, Ending Saturday", "W"), "M": ("Monthly", "M")}


def _public_window(series_route: Route, observations: Route) -> None:
    """Series metadata and observation pages of the public clock's macro series (synthetic values)."""
    import math

    from connectors.synth.public import public_clock

    clock = public_clock()
    rt = "2025-01-06"
    for fred_id in PUBLIC_SERIES:
        s = clock.macro[fred_id]
        freq, freq_short = _FREQ[s.frequency]
        obs = [(d, None if math.isnan(v) else float(v)) for d, v in zip(s.dates, s.values, strict=True)]
        about = {
            "title": s.title,
            "frequency": freq,
            "frequency_short": freq_short,
            "units": s.units,
            "units_short": s.units,
            "seasonal_adjustment": "Not Seasonally Adjusted",
            "seasonal_adjustment_short": "NSA",
            "last_updated": "2025-01-03 15:16:02-06",
            "popularity": 60,
            "notes": "Synthetic values generated by covary (connectors/synth/public.py); not the real FRED series.",
        }
        decimals = 2 if fred_id in ("DGS10", "DCOILWTICO") else (1 if fred_id == "UMCSENT" else 0)
        _series_pages(series_route, observations, fred_id, obs, realtime=rt, decimals=decimals, about=about)


def _series_pages(
    series_route: Route,
    observations: Route,
    fred_id: str,
    obs: list[tuple[date, float | None]],
    *,
    realtime: str,
    decimals: int,
    about: dict[str, Any],
) -> None:
    """Record ``/fred/series`` (``about``: title, frequency, units ... in FRED's key order) and the observation
    pages (100 a page, ``"."`` for a missing value) of one series."""
    rt = realtime
    span = {"observation_start": obs[0][0].isoformat(), "observation_end": obs[-1][0].isoformat()}
    # FRED's key order (inline answers keep it): id, realtime span, title, observation span, then the rest
    series = {"id": fred_id, "realtime_start": rt, "realtime_end": rt, "title": about["title"], **span} | about
    response(
        series_route,
        {"realtime_start": rt, "realtime_end": rt, "seriess": [series]},
        query={"series_id": fred_id, "file_type": "json"},
    )
    for offset in range(0, len(obs), 100):
        chunk = obs[offset : offset + 100]
        body = {
            "realtime_start": rt,
            "realtime_end": rt,
            "observation_start": "1776-07-04",
            "observation_end": "9999-12-31",
            "units": "lin",
            "output_type": 1,
            "file_type": "json",
            "order_by": "observation_date",
            "sort_order": "asc",
            "count": len(obs),
            "offset": offset,
            "limit": 100,
            "observations": [
                {
                    "realtime_start": rt,
                    "realtime_end": rt,
                    "date": d.isoformat(),
                    "value": "." if v is None else f"{v:.{decimals}f}",
                }
                for d, v in chunk
            ],
        }
        query = {"series_id": fred_id, "file_type": "json", "sort_order": "asc", "limit": 100, "offset": offset}
        response(observations, body, query=query)
