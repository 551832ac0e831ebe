"""Plotly figure builders for reports and the explorer: correlations, lags, overlays, forecasts, KPIs, DQ."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import plotly.graph_objects as go

FONT = {"family": "Inter, Segoe UI, Helvetica, Arial, sans-serif", "size": 12}
BLUE, ORANGE, GREY, RED = "#2563eb", "#ea580c", "#94a3b8", "#dc2626"


def _layout(fig: go.Figure, title: str, *, height: int = 420) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        font=FONT,
        height=height,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return fig


def significant(findings: Sequence[dict[str, Any]], q_max: float = 0.05) -> list[dict[str, Any]]:
    """Findings with q at or below ``q_max`` that are not vanished."""
    return [
        f
        for f in findings
        if f.get("q") is not None and f["q"] <= q_max and f.get("change") != "vanished" and f.get("r") is not None
    ]


def correlation_heatmap(
    findings: Sequence[dict[str, Any]], *, q_max: float = 0.05, title: str | None = None
) -> go.Figure:
    """Symmetric matrix of adjusted r for significant pairs (blank where not significant)."""
    sig = significant(findings, q_max)
    names = sorted({f["a"] for f in sig} | {f["b"] for f in sig})
    index = {n: i for i, n in enumerate(names)}
    z: list[list[float | None]] = [[None] * len(names) for _ in names]
    text: list[list[str]] = [[""] * len(names) for _ in names]
    for f in sig:
        i, j = index[f["a"]], index[f["b"]]
        label = f"r={f['r']:+.2f} q={f['q']:.2g} lag={f.get('lag', 0)}"
        z[i][j] = z[j][i] = f["r"]
        text[i][j] = text[j][i] = label
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            text=text,
            hoverinfo="x+y+text",
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            colorbar={"title": "r"},
        )
    )
    return _layout(
        fig,
        title or f"Significant correlations (q ≤ {q_max:g}, {len(sig)} pairs)",
        height=max(380, 28 * len(names) + 160),
    )


def correlation_network(findings: Sequence[dict[str, Any]], *, q_max: float = 0.05) -> go.Figure:
    """Series on a circle, an edge per significant pair (width |r|, colour sign)."""
    sig = significant(findings, q_max)
    names = sorted({f["a"] for f in sig} | {f["b"] for f in sig})
    pos = {
        n: (math.cos(2 * math.pi * i / max(len(names), 1)), math.sin(2 * math.pi * i / max(len(names), 1)))
        for i, n in enumerate(names)
    }
    fig = go.Figure()
    for f in sig:
        (x0, y0), (x1, y1) = pos[f["a"]], pos[f["b"]]
        fig.add_trace(
            go.Scatter(
                x=[x0, x1],
                y=[y0, y1],
                mode="lines",
                hoverinfo="text",
                showlegend=False,
                text=f"{f['a']} ~ {f['b']}: r={f['r']:+.2f}, q={f['q']:.2g}",
                line={"width": 1 + 5 * abs(f["r"]), "color": BLUE if f["r"] > 0 else RED},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[pos[n][0] for n in names],
            y=[pos[n][1] for n in names],
            mode="markers+text",
            text=names,
            textposition="top center",
            marker={"size": 12, "color": "#0f172a"},
            showlegend=False,
            hoverinfo="text",
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return _layout(fig, f"Correlation network ({len(sig)} significant pairs)", height=520)


def lag_plot(
    lags: Sequence[int], r: Sequence[float | None], *, a: str, b: str, best_lag: int | None = None
) -> go.Figure:
    """Cross-correlation by lag (positive lag: a leads b), best lag highlighted."""
    colors = [ORANGE if best_lag is not None and lag == best_lag else BLUE for lag in lags]
    fig = go.Figure(go.Bar(x=list(lags), y=list(r), marker_color=colors, hovertemplate="lag %{x}: r=%{y:.3f}"))
    fig.update_xaxes(title=f"lag (positive: {a} leads {b})")
    fig.update_yaxes(title="r", range=[-1, 1])
    return _layout(fig, f"Cross-correlation by lag: {a} vs {b}", height=340)


def series_overlay(
    a: str,
    a_ts: Sequence[Any],
    a_values: Sequence[float | None],
    b: str,
    b_ts: Sequence[Any],
    b_values: Sequence[float | None],
) -> go.Figure:
    """Both series on one chart, each on its own y axis (units differ)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(a_ts), y=list(a_values), name=a, line={"color": BLUE}))
    fig.add_trace(go.Scatter(x=list(b_ts), y=list(b_values), name=b, line={"color": ORANGE}, yaxis="y2"))
    fig.update_layout(
        yaxis={"title": a},
        yaxis2={"title": b, "overlaying": "y", "side": "right"},
        legend={"orientation": "h", "y": -0.15},
    )
    return _layout(fig, f"{a} and {b}", height=360)


def forecast_fan(
    series_id: str, history_ts: Sequence[Any], history: Sequence[float | None], forecast: Sequence[dict[str, Any]]
) -> go.Figure:
    """History, point forecast and 80%/95% prediction bands."""
    rows = sorted(forecast, key=lambda r: r["ts"])
    ts = [r["ts"] for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(history_ts), y=list(history), name="observed", line={"color": "#0f172a"}))
    for lo, hi, name, color in (
        ("lo95", "hi95", "95% interval", "rgba(37,99,235,0.15)"),
        ("lo80", "hi80", "80% interval", "rgba(37,99,235,0.3)"),
    ):
        fig.add_trace(
            go.Scatter(
                x=ts + ts[::-1],
                y=[r[hi] for r in rows] + [r[lo] for r in rows][::-1],
                fill="toself",
                fillcolor=color,
                line={"width": 0},
                name=name,
                hoverinfo="skip",
            )
        )
    fig.add_trace(go.Scatter(x=ts, y=[r["mean"] for r in rows], name="forecast", line={"color": BLUE, "dash": "dash"}))
    return _layout(fig, f"Forecast of {series_id}", height=360)


def anomaly_chart(
    series_id: str, ts: Sequence[Any], values: Sequence[float | None], anomalies: Sequence[dict[str, Any]]
) -> go.Figure:
    """The series with its anomalies marked (spikes/dips and level shifts)."""
    fig = go.Figure(go.Scatter(x=list(ts), y=list(values), name=series_id, line={"color": "#0f172a"}))
    for kind, symbol, color in (("point", "x", RED), ("level_shift", "diamond", ORANGE)):
        pts = [a for a in anomalies if a.get("kind") == kind]
        if pts:
            fig.add_trace(
                go.Scatter(
                    x=[a["ts"] for a in pts],
                    y=[a.get("value") for a in pts],
                    mode="markers",
                    name=kind.replace("_", " "),
                    marker={"symbol": symbol, "size": 11, "color": color},
                    text=[f"score {a.get('score') or 0:.1f}" for a in pts],
                )
            )
    return _layout(fig, f"Anomalies in {series_id}", height=340)


def kpi_table(rows: Sequence[dict[str, Any]], *, title: str = "KPIs, period over period") -> go.Figure:
    """A table of KPI values with previous-period and year-ago changes (arrows coloured by sign)."""

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{'▲' if v > 0 else '▼' if v < 0 else '='} {v:+.1f}%"

    cols = {
        "KPI": [r["metric"] for r in rows],
        "period": [f"{r['period']} {_day(r['period_start'])}" for r in rows],
        "value": [_num(r.get("value")) for r in rows],
        "previous": [_num(r.get("previous_value")) for r in rows],
        "vs previous": [pct(r.get("previous_change_pct")) for r in rows],
        "vs year ago": [pct(r.get("year_ago_change_pct")) for r in rows],
    }
    colors = [
        [
            (
                "#dcfce7"
                if (r.get("previous_change_pct") or 0) > 0
                else "#fee2e2"
                if (r.get("previous_change_pct") or 0) < 0
                else "white"
            )
            for r in rows
        ]
    ]
    fig = go.Figure(
        go.Table(
            header={"values": list(cols), "fill_color": "#e2e8f0", "align": "left"},
            cells={"values": list(cols.values()), "align": "left", "fill_color": ["white"] * 4 + colors + ["white"]},
        )
    )
    return _layout(fig, title, height=80 + 30 * max(len(rows), 1))


def dq_summary(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Checks per table by status (pass / warn / fail), stacked bars."""
    tables = sorted({r["table_name"] for r in rows})
    fig = go.Figure()
    for status, color in (("pass", "#16a34a"), ("warn", "#f59e0b"), ("fail", RED)):
        fig.add_trace(
            go.Bar(
                y=tables,
                x=[sum(1 for r in rows if r["table_name"] == t and r["status"] == status) for t in tables],
                name=status,
                orientation="h",
                marker_color=color,
            )
        )
    fig.update_layout(barmode="stack")
    return _layout(fig, "Data-quality checks by table", height=max(300, 24 * len(tables) + 120))


def _num(v: Any) -> str:
    return "n/a" if v is None else f"{v:,.2f}"


def _day(v: date | datetime | str) -> str:
    return v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)[:10]


__all__ = [
    "anomaly_chart",
    "correlation_heatmap",
    "correlation_network",
    "dq_summary",
    "forecast_fan",
    "kpi_table",
    "lag_plot",
    "series_overlay",
    "significant",
]
