"""The demo's steps and the loop that runs them: orchestration on the top layer, which imports the jobs and the
query service directly (each step's module is imported when the step runs, so ``covary --help`` stays fast).

A step is ``(lake, config) -> JSON-able summary`` (a ``lines`` list is printed as is). Add one: write its loader
below and append a :class:`DemoStep` to :data:`STEPS`; ``covary demo --steps NAME`` picks it by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from covary.errors import ConfigError

Step = Callable[[Any, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class DemoStep:
    name: str  # what users type in ``covary demo --steps NAME,...`` and see in the output
    title: str
    load: Callable[[], Step]  # imports the step's module and returns its function

    @property
    def target(self) -> str:
        """``module:function`` of the step (imports the module)."""
        fn = self.load()
        return f"{fn.__module__}:{fn.__name__}"


def _macro() -> Step:
    from jobs.demo.macro import run

    return run


def _connectors() -> Step:
    from jobs.ingest.demo import run

    return run


def _enterprise() -> Step:
    from jobs.kpi.demo_synth import run

    return run


def _correlate() -> Step:
    from jobs.correlate.demo import run

    return run


def _reconcile() -> Step:
    from jobs.reconcile.demo import run

    return run


def _dq() -> Step:
    from jobs.reconcile.demo import dq_summary

    return dq_summary


def _kpi() -> Step:
    from jobs.kpi.demo_kpi import run

    return run


def _forecast() -> Step:
    from jobs.forecast.demo_forecast import run

    return run


def _anomaly() -> Step:
    from jobs.anomaly.demo_anomaly import run

    return run


def _index() -> Step:
    from jobs.index import demo_step

    return demo_step


def _report() -> Step:
    from jobs.report import demo_step

    return demo_step


def _explorer() -> Step:
    from jobs.report.explorer import run

    return run


def _query_profile() -> Step:
    from serve.query.service import demo_step

    return demo_step


STEPS: list[DemoStep] = [
    DemoStep("macro", "macro data bronze -> silver -> gold", _macro),
    DemoStep("connectors", "built-in connectors via Ray: bronze -> silver -> gold", _connectors),
    DemoStep("enterprise", "enterprise systems (synthetic, seeded) with planted truth", _enterprise),
    DemoStep("correlate", "correlation discovery on gold series", _correlate),
    DemoStep("reconcile", "entity reconciliation with stable ids", _reconcile),
    DemoStep("dq", "data-quality summary", _dq),
    DemoStep("kpi", "marketing KPIs (CAC, ROAS, revenue, ...) to gold", _kpi),
    DemoStep("forecast", "forecasts (ETS/SARIMAX vs baselines) registered in MLflow", _forecast),
    DemoStep("anomaly", "anomalies, level shifts and cross-source alerts", _anomaly),
    DemoStep("index", "RAG index: documents -> all-MiniLM-L6-v2 -> Milvus", _index),
    DemoStep("report", "weekly insights report with correlation-change alerts", _report),
    DemoStep("explorer", "explorer web page (with --serve)", _explorer),
    DemoStep("query-profile", "query data profile, cached so a cold `covary query` skips it", _query_profile),
]


def step_names() -> list[str]:
    return [s.name for s in STEPS]


def select_steps(only: list[str] | None) -> list[DemoStep]:
    """The steps named in ``only``, in demo order (all when empty); an unknown name fails and lists the names."""
    wanted = [s.strip() for s in only or [] if s and s.strip()]
    if not wanted:
        return list(STEPS)
    names = step_names()
    unknown = [w for w in wanted if w not in names]
    if unknown:
        import difflib

        near = {u: difflib.get_close_matches(u, names, n=1) for u in unknown}
        guess = "; ".join(f"{u!r}: did you mean {m[0]!r}?" for u, m in near.items() if m)
        raise ConfigError(
            f"unknown demo step{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            hint=(guess + "; " if guess else "") + f"steps, in order: {', '.join(names)}",
        )
    return [s for s in STEPS if s.name in wanted]


def run_demo(
    config: dict[str, Any],
    *,
    on_step_start: Callable[[str], None] | None = None,
    on_step_done: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the chosen steps (``config["steps"]``) on one lake as the Ray driver; each step gets the whole config
    (checked against ``jobs.demo.config.DemoConfig`` first: an unknown key or step fails before any work)."""
    from covary import metrics
    from covary.settings import get_settings
    from jobs.demo.config import DemoConfig
    from jobs.runtime import ensure_ray
    from lakehouse import Lakehouse
    from lakehouse.storage import check_shared_storage

    config = DemoConfig.checked(config)
    chosen = select_steps(config.get("steps"))
    settings = get_settings()
    settings.ensure_home()
    ensure_ray(settings)
    check_shared_storage(settings.lake_root, shared=settings.lake.shared_storage)
    lake = Lakehouse.from_settings(settings)
    step_config = {k: v for k, v in config.items() if not callable(v)}
    results: dict[str, Any] = {}
    began, status = time.perf_counter(), "failed"
    try:
        for step in chosen:
            label = f"{step.name}: {step.title}"
            started = time.perf_counter()
            if on_step_start:
                on_step_start(label)
            summary = step.load()(lake, dict(step_config))
            results[step.title] = {"step": step.name, "seconds": round(time.perf_counter() - started, 2), **summary}
            if on_step_done:
                on_step_done(label, {k: v for k, v in results[step.title].items() if k != "step"})
        status = "succeeded"
    finally:  # demo runs feed the Grafana "Jobs" row like any job
        metrics.inc("covary_job_runs", job_name="demo", status=status)
        metrics.observe("covary_job_duration_s", time.perf_counter() - began, job_name="demo")
    return {
        "home": str(settings.home.resolve()),
        "lake": lake.root,
        "steps": results,
        "tables": [t for t in lake.list_tables() if t["exists"]],
    }


__all__ = ["STEPS", "DemoStep", "run_demo", "select_steps", "step_names"]
