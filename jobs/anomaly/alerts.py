"""Cross-source alerts: an anomaly in one series followed, at their usual lag, by one in a correlated series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from jobs.anomaly.detect import SeriesScores


@dataclass(frozen=True)
class Link:
    """Residuals of ``source`` correlate with those of ``target`` ``lag`` days later."""

    source: str
    target: str
    lag: int
    correlation: float


def lagged_links(
    scores: dict[str, SeriesScores], *, max_lag: int = 35, min_corr: float = 0.3, clip: float = 4.0
) -> list[Link]:
    """Best lag (0..max_lag) per ordered pair of series whose clipped residual z-scores correlate >= min_corr.

    Scores are clipped at ``clip`` so that the anomalies themselves do not manufacture the link.
    Lag-0 links are kept once per unordered pair.
    """
    ids = sorted(scores)
    if not ids:
        return []
    start = max(s.start for s in scores.values())
    end = min(s.start + timedelta(days=len(s.score) - 1) for s in scores.values())
    n = (end - start).days + 1
    if n <= max_lag + 30:
        return []
    z = np.vstack([np.clip(scores[i].score[(start - scores[i].start).days :][:n], -clip, clip) for i in ids])
    z = (z - z.mean(axis=1, keepdims=True)) / np.where(
        z.std(axis=1, keepdims=True) > 0, z.std(axis=1, keepdims=True), 1
    )
    links: list[Link] = []
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for lag in range(max_lag + 1):
        a, b = z[:, : n - lag], z[:, lag:]
        corr = a @ b.T / (n - lag)
        for i in range(len(ids)):
            for j in range(len(ids)):
                if i == j or (lag == 0 and j < i):
                    continue
                c = float(corr[i, j])
                if abs(c) >= min_corr and abs(c) > abs(best.get((i, j), (0.0, 0))[0]):
                    best[(i, j)] = (c, lag)
    for (i, j), (c, lag) in best.items():
        links.append(Link(ids[i], ids[j], lag, c))
    return sorted(links, key=lambda link: (-abs(link.correlation), link.source, link.target))


def cross_alerts(anomalies: list[dict[str, Any]], links: list[Link], *, tolerance: int = 2) -> list[dict[str, Any]]:
    """Pairs (anomaly in source at t, anomaly in target at t + lag +- tolerance) for every link."""
    by_series: dict[str, list[date]] = {}
    for a in anomalies:
        if a["kind"] == "point":
            by_series.setdefault(a["series_id"], []).append(a["ts"])
    out = []
    for link in links:
        for t in by_series.get(link.source, []):
            for u in by_series.get(link.target, []):
                lag = (u - t).days
                if abs(lag - link.lag) <= tolerance and (lag > 0 or (lag == 0 and link.lag == 0)):
                    out.append(
                        {
                            "alert_id": f"{link.source}:{t.isoformat()}->{link.target}:{u.isoformat()}",
                            "source_series": link.source,
                            "source_ts": t,
                            "target_series": link.target,
                            "target_ts": u,
                            "lag_days": lag,
                            "expected_lag_days": link.lag,
                            "correlation": link.correlation,
                            "message": (
                                f"{link.target} anomaly on {u.isoformat()} followed a {link.source} anomaly on "
                                f"{t.isoformat()} ({lag} d later; the series correlate at lag {link.lag} d, "
                                f"r={link.correlation:.2f})"
                            ),
                        }
                    )
    return sorted(out, key=lambda a: (a["source_ts"], a["alert_id"]))


__all__ = ["Link", "cross_alerts", "lagged_links"]
