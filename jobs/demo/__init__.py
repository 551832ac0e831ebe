"""The demo job: runs every pipeline step on bundled offline data and prints a summary."""

from __future__ import annotations

import importlib
import time
from typing import Any

from covary.errors import ConfigError
from covary.settings import get_settings
from lakehouse import Lakehouse

# (name, title, "module:function") — each function takes (lake, config) and returns a JSON-able summary.
# ``name`` is what users type in ``covary demo --steps NAME,...`` and see in the output. Later capabilities
# append their step here (a 2-tuple ``(title, target)`` still works: its name is derived from the target).
STEPS: list[tuple[str, str, str] | tuple[str, str]] = [
    ("macro", "macro data bronze -> silver -> gold", "jobs.demo.macro:run"),
    ("connectors", "built-in connectors via Ray: bronze -> silver -> gold", "jobs.ingest.demo:run"),
    ("enterprise", "enterprise systems (synthetic, seeded) with planted truth", "jobs.kpi.demo_synth:run"),
    ("correlate", "correlation discovery on gold series", "jobs.correlate.demo:run"),
    ("reconcile", "entity reconciliation with stable ids", "jobs.reconcile.demo:run"),
    ("dq", "data-quality summary", "jobs.reconcile.demo:dq_summary"),
    ("kpi", "marketing KPIs (CAC, ROAS, revenue, ...) to gold", "jobs.kpi.demo_kpi:run"),
    ("forecast", "forecasts (ETS/SARIMAX vs baselines) registered in MLflow", "jobs.forecast.demo_forecast:run"),
    ("anomaly", "anomalies, level shifts and cross-source alerts", "jobs.anomaly.demo_anomaly:run"),
    ("index", "RAG index: documents -> all-MiniLM-L6-v2 -> Milvus", "jobs.index:demo_step"),
    ("report", "weekly insights report with correlation-change alerts", "jobs.report:demo_step"),
    ("explorer", "explorer web page (with --serve)", "jobs.report.explorer:run"),
    ("query-profile", "query data profile, cached so a cold `covary query` skips it", "serve.query.service:demo_step"),
]


def steps() -> list[tuple[str, str, str]]:
    """``(name, title, target)`` of every step, in order; names are unique."""
    out: list[tuple[str, str, str]] = []
    for step in STEPS:
        if len(step) == 3:
            name, title, target = step  # type: ignore[misc]
        else:
            title, target = step  # type: ignore[misc]
            module, func = target.split(":")
            parts = [p for p in module.split(".") if p not in ("jobs", "demo")]
            name = (parts[-1] if parts else func).removeprefix("demo_")
        while name in {n for n, _, _ in out}:
            name += "2"
        out.append((name, title, target))
    return out


def select_steps(only: list[str] | None) -> list[tuple[str, str, str]]:
    """The steps named in ``only`` (all when empty); an unknown name fails and lists the names."""
    every = steps()
    wanted = [s.strip() for s in only or [] if s and s.strip()]
    if not wanted:
        return every
    names = [n for n, _, _ in every]
    unknown = [w for w in wanted if w not in names]
    if unknown:
        import difflib

        near = {u: difflib.get_close_matches(u, names, n=1) for u in unknown}
        guess = "; ".join(f"{u!r}: did you mean {m[0]!r}?" for u, m in near.items() if m)
        raise ConfigError(
            f"unknown demo step{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            hint=(guess + "; " if guess else "") + f"steps, in order: {', '.join(names)}",
        )
    return [s for s in every if s[0] in wanted]


def main(config: dict[str, Any]) -> dict[str, Any]:
    chosen = select_steps(config.get("steps"))  # before any work: a typo fails at once
    settings = get_settings()
    settings.ensure_home()
    lake = Lakehouse.from_settings(settings)
    results: dict[str, Any] = {}
    for name, title, target in chosen:
        module_name, func_name = target.split(":")
        started = time.perf_counter()
        if callable(on_start := config.get("on_step_start")):
            on_start(f"{name}: {title}")
        step_config = {k: v for k, v in config.items() if not callable(v)}
        summary = getattr(importlib.import_module(module_name), func_name)(lake, step_config)
        results[title] = {"step": name, "seconds": round(time.perf_counter() - started, 2), **summary}
        if callable(on_done := config.get("on_step_done")):
            on_done(f"{name}: {title}", {k: v for k, v in results[title].items() if k != "step"})
    return {
        "home": str(settings.home.resolve()),
        "lake": lake.root,
        "steps": results,
        "tables": [t for t in lake.list_tables() if t["exists"]],
    }
