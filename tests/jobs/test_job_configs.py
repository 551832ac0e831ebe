"""Typed job configs: every key a job reads is declared (with the job's own default), unknown keys and bad
values fail at the job's entry with the key, the job, the nearest valid key and the valid keys."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from covary.cli import main as cli
from covary.errors import ConfigError
from jobs.common.config import JobConfig, config_model
from jobs.runtime import available_jobs

ROOT = Path(__file__).resolve().parents[2]
JOBS = available_jobs()
# keys a job adds to its own config on the way (never given by a caller)
INTERNAL = {"anomaly": {"skipped"}}
# a typo of a real key -> the key it must suggest
TYPOS = {
    "anomaly": ("point_treshold", "point_threshold"),
    "correlate": ("max_lags", "max_lag"),
    "demo": ("step", "steps"),
    "dq": ("tabels", "tables"),
    "forecast": ("horizn", "horizon"),
    "index": ("knds", "kinds"),
    "ingest": ("sorces", "sources"),
    "reconcile": ("treshold", "threshold"),
    "report": ("as_off", "as_of"),
}


def _errors(fn: Any, *args: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        fn(*args)
    assert "\n" not in info.value.message
    return info.value


def test_every_job_has_a_config_model_with_described_fields() -> None:
    assert set(TYPOS) | {"kpi"} == set(JOBS)  # a new job needs its config model (and a typo here)
    for job in JOBS:
        model = config_model(job)
        assert issubclass(model, JobConfig) and model.job == job
        undocumented = [k for k, f in model.model_fields.items() if not f.description]
        assert not undocumented, f"{job}: fields without a description: {undocumented}"


@pytest.mark.parametrize("job", JOBS)
def test_unknown_key_fails_at_main_naming_key_job_and_valid_keys(
    job: str, covary_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import covary.settings

    def no_work(*_: Any, **__: Any) -> None:
        raise AssertionError("the job started working before validating its config")

    from covary.cli.demo_steps import run_demo

    # the demo is orchestrated by the CLI (covary/cli/demo_steps.py); the others are jobs.<name>.main
    job_main = run_demo if job == "demo" else importlib.import_module(f"jobs.{job}").main
    with monkeypatch.context() as patched:  # undone before covary_home's teardown reads the settings again
        patched.setattr(covary.settings, "get_settings", no_work)
        err = _errors(job_main, {"bogus_key": 1})
    assert "'bogus_key'" in err.message and f"the {job} job" in err.message
    keys = config_model(job).keys()
    if keys:
        assert err.hint is not None and all(k in err.hint for k in keys)
    else:
        assert "takes no config keys" in err.message
    assert not covary_home.exists()


@pytest.mark.parametrize("job", sorted(TYPOS))
def test_typo_suggests_the_key(job: str) -> None:
    typo, meant = TYPOS[job]
    err = _errors(config_model(job).parse, {typo: None})
    assert err.hint is not None and err.hint.startswith(f"did you mean {meant!r}?"), err.hint


def test_nested_keys_are_checked_against_their_sub_model() -> None:
    from jobs.correlate.config import CorrelateConfig
    from jobs.demo.config import DemoConfig
    from jobs.ingest.config import IngestConfig

    err = _errors(IngestConfig.parse, {"faults": {"rat": 0.1}})
    assert "'faults.rat'" in err.message and err.hint is not None and "did you mean 'rate'?" in err.hint
    err = _errors(CorrelateConfig.parse, {"options": {"mehtod": "spearman"}})
    assert "'options.mehtod'" in err.message and "did you mean 'method'?" in str(err.hint)
    err = _errors(DemoConfig.parse, {"ingest": {"replya": True}})
    assert "'ingest.replya'" in err.message and "did you mean 'replay'?" in str(err.hint)
    assert "unknown source(s) fredd" in _errors(IngestConfig.parse, {"options": {"fredd": {}}}).message
    # the options go at the top level or under "options": both at once was silently half-ignored before
    assert "not both" in _errors(CorrelateConfig.parse, {"options": {"fdr": 0.1}, "seed": 3}).message


def test_bad_values_name_the_field() -> None:
    from jobs.correlate.config import CorrelateConfig
    from jobs.forecast.config import ForecastConfig
    from jobs.report.config import ReportConfig

    err = _errors(ForecastConfig.parse, {"horizon": "two weeks"})
    assert "'horizon'" in err.message and "valid integer" in err.message and err.hint == "horizon: days forecast ahead"
    assert "'as_of'" in _errors(ReportConfig.parse, {"as_of": "2024-13-01"}).message
    assert "'method'" in _errors(CorrelateConfig.parse, {"method": "kendall"}).message
    assert "'exog.x.0'" in _errors(ForecastConfig.parse, {"exog": {"x": [["temp"]]}}).message


def test_checked_keeps_only_the_keys_given_coerced() -> None:
    from jobs.forecast.config import ForecastConfig
    from jobs.ingest.config import IngestConfig

    assert ForecastConfig.checked({}) == {}  # absent keys keep the job's own default
    assert ForecastConfig.checked({"horizon": "7", "plots": "false"}) == {"horizon": 7, "plots": False}
    hook = print
    assert IngestConfig.checked({"on_progress": hook, "faults": {"rate": 0.5}}) == {
        "on_progress": hook,
        "faults": {"rate": 0.5},
    }


def _reads(node: ast.AST) -> dict[str, Any]:
    """Keys read as ``config.get("k"[, default])``, ``config.get("k") or default``, ``config["k"]`` under
    ``node`` -> the default the code applies (``...`` when it is not a literal, None when there is none)."""
    out: dict[str, Any] = {}
    ors = {
        id(v.values[0]): v.values[1]
        for v in ast.walk(node)
        if isinstance(v, ast.BoolOp) and isinstance(v.op, ast.Or) and len(v.values) == 2
    }
    for n in ast.walk(node):
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr in ("get", "pop")
            and isinstance(n.func.value, ast.Name)
            and n.func.value.id in ("config", "io_keys")
            and n.args
            and isinstance(n.args[0], ast.Constant)
        ):
            default = n.args[1] if len(n.args) > 1 else ors.get(id(n))
            try:
                value = None if default is None else ast.literal_eval(default)
            except ValueError:
                value = ...
            out.setdefault(n.args[0].value, value)
        elif (
            isinstance(n, ast.Subscript)
            and isinstance(n.value, ast.Name)
            and n.value.id == "config"
            and isinstance(n.slice, ast.Constant)
        ):
            out.setdefault(n.slice.value, None)
    return out


def _code_reads() -> dict[str, dict[str, Any]]:
    """Per job, every key its code reads; demo steps' functions count for the demo job (they get its config)."""
    from covary.cli.demo_steps import STEPS

    step_targets = {tuple(step.target.split(":")) for step in STEPS}
    out: dict[str, dict[str, Any]] = {job: {} for job in JOBS}
    for job in JOBS:
        for path in sorted((ROOT / "jobs" / job).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            tree = ast.parse(path.read_text())
            for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
                owner = "demo" if (module, fn.name) in step_targets else job
                out[owner] |= {k: v for k, v in _reads(fn).items() if k not in out[owner]}
    for module, func in step_targets:  # steps that live outside jobs/ (the query service's)
        if not module.startswith("jobs."):
            fn = ast.parse(inspect.getsource(getattr(importlib.import_module(module), func)))
            out["demo"] |= _reads(fn)
    from covary.cli.demo_steps import run_demo  # the demo's loop (it reads `steps`)

    out["demo"] |= _reads(ast.parse(inspect.getsource(run_demo)))
    return out


def test_every_key_a_job_reads_is_declared_with_the_jobs_default() -> None:
    reads = _code_reads()
    # the scan sees them
    assert reads["forecast"]["horizon"] == 14 and reads["ingest"]["executor"] == "actors" and "steps" in reads["demo"]
    for job, keys in reads.items():
        fields = config_model(job).model_fields
        missing = sorted(set(keys) - set(fields) - INTERNAL.get(job, set()))
        assert not missing, f"{job} reads {missing} but jobs/{job}/config.py does not declare them"
        for key, default in keys.items():
            if key not in fields or default is ...:
                continue
            declared = fields[key].default
            if not default:  # `.get(k)`, `.get(k) or {}`: absent means falsy, as does a declared None
                assert not declared, f"{job}.{key}: declared default {declared!r}, the job uses a falsy one"
            else:
                assert declared == default, f"{job}.{key}: declared default {declared!r}, the job uses {default!r}"


def test_dataclass_backed_defaults_are_the_dataclasses() -> None:
    from connectors.replay.faults import FaultPlan
    from jobs.anomaly.config import AnomalyConfig
    from jobs.anomaly.detect import DetectorConfig
    from jobs.correlate.config import CorrelateConfig, CorrelateOptions
    from jobs.correlate.options import DiscoveryOptions
    from jobs.ingest.config import FaultsConfig
    from jobs.reconcile.config import ReconcileConfig
    from jobs.reconcile.engine import EngineConfig

    for model, dc in (
        (AnomalyConfig, DetectorConfig),
        (ReconcileConfig, EngineConfig),
        (CorrelateConfig, DiscoveryOptions),
        (CorrelateOptions, DiscoveryOptions),
        (FaultsConfig, FaultPlan),
    ):
        built = dc(**{k: getattr(model(), k) for k in dc.__dataclass_fields__})
        assert built == dc(), model.__name__


@pytest.mark.parametrize("job", JOBS)
def test_cli_set_unknown_key_exits_2_with_a_clear_message_before_ray(
    job: str, covary_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobs.runtime

    monkeypatch.setattr(jobs.runtime, "ensure_ray", lambda *_: pytest.fail("Ray started before validation"))
    assert cli(["job", "run", job, "--set", "bogus=1"]) == 2
    err = capsys.readouterr().err
    assert f"unknown key 'bogus' in the {job} job's config" in err or "takes no config keys" in err
    assert "Traceback" not in err


def test_cli_set_values_are_json_nest_and_override(covary_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from covary.cli.job import _config

    got = _config(
        '{"folds": 2, "options": {"fred": {"a": 1}}}', ["folds=3", "options.fred.b=[1, 2]", "until=2024-01-31"]
    )
    assert got == {"folds": 3, "options": {"fred": {"a": 1, "b": [1, 2]}}, "until": "2024-01-31"}
    assert cli(["job", "run", "forecast", "--set", "horizon=soon"]) == 2
    err = capsys.readouterr().err
    assert "bad value for 'horizon' in the forecast job's config" in err and "Traceback" not in err


def test_submit_validates_before_contacting_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    import jobs.runtime

    monkeypatch.setattr(jobs.runtime, "_client", lambda *_: pytest.fail("contacted the Jobs API first"))
    err = _errors(jobs.runtime.submit_job, "ingest", {"sorces": ["fred"]})
    assert "did you mean 'sources'?" in str(err.hint)
