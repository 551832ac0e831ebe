"""Alignment, gold findings table with provenance, run comparison, the CLI JSON contract and findings list/show."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from correlate_synth import planted_panel

from covary.cli import main as cli_main
from jobs.correlate import discover, to_panel
from jobs.correlate.errors import InputShapeError
from jobs.correlate.lake_io import list_findings, run_on_lake, show_finding
from lakehouse import BatchKey


def test_resampling_uses_sum_for_counts_and_mean_for_levels() -> None:
    ts = pd.date_range("2024-01-01", periods=21, freq="D")
    long = pd.DataFrame(
        {
            "series": ["orders"] * 21 + ["temp"] * 21,
            "ts": list(ts) * 2,
            "value": [1.0] * 21 + list(np.arange(21.0)),
        }
    )
    panel = to_panel(long, freq="W", aggregation={"orders": "sum", "temp": "mean"})
    frame = panel.frame()
    assert list(frame["orders"]) == [7.0, 7.0, 7.0]
    assert list(frame["temp"]) == [3.0, 10.0, 17.0]
    with pytest.raises(InputShapeError, match="aggregation"):
        to_panel(long, freq="W", aggregation="median")


def test_pairwise_overlap_and_min_overlap() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 3))
    x[:80, 2] = np.nan  # only 40 observations
    x[5:60:3, 1] = np.nan
    frame = pd.DataFrame(x, columns=["a", "b", "c"], index=pd.date_range("2024-01-01", periods=120))
    res = discover(frame, min_overlap=50, max_lag=2, include_all=True)
    assert "c" in res.dropped and len(res.pairs) == 1
    res = discover(frame, min_overlap=30, max_lag=2, include_all=True, adjust={"detrend": "none", "seasonal": "none"})
    ab = res.pairs[(res.pairs.a == "a") & (res.pairs.b == "b")].iloc[0]
    assert ab["n"] < 120  # pairwise-complete overlap


def _write_gold(lake, frame: pd.DataFrame, tag: str) -> None:
    values = [
        {"series_id": f"syn.{c}", "ts": d.date(), "value": float(v)} for c in frame.columns for d, v in frame[c].items()
    ]
    catalog = [
        {
            "series_id": f"syn.{c}",
            "description": c,
            "unit": "u",
            "frequency": "D",
            "aggregation": "mean",
            "source": "test",
            "lineage": "none",
            "domain": "test",
        }
        for c in frame.columns
    ]
    with lake.load("test") as load:
        load.write("gold.series_values", values, batch=BatchKey(f"values/{tag}"))
        load.write("gold.series_catalog", catalog, batch=BatchKey(f"catalog/{tag}"))


def test_findings_table_provenance_and_run_comparison(lake) -> None:
    frame, _truth = planted_panel(5, n=400, n_series=12, n_planted=3, r=0.5)
    _write_gold(lake, frame, "v1")
    res1, run1 = run_on_lake(lake, max_lag=5, seed=9)
    # a first run sets the baseline: nothing is "new" (no alert storm on the first run)
    assert run1["comparison"]["baseline"] == len(res1.significant) >= 3 and run1["comparison"]["new"] == 0
    inputs = json.loads(run1["inputs"])
    assert {i["table"] for i in inputs} == {"gold.series_values", "gold.series_catalog"}
    assert all(isinstance(i["version"], int) for i in inputs)
    assert json.loads(run1["parameters"])["max_lag"] == 5 and run1["seed"] == 9
    # second version of the data: one planted pair destroyed, one strengthened, a new one planted
    changed = frame.copy()
    rng = np.random.default_rng(1)
    changed["s001"] = rng.standard_normal(len(frame))
    changed["s003"] = 0.9 * np.roll(changed["s002"], 0) + 0.3 * changed["s003"]
    changed["s010"] = 0.7 * changed["s009"].to_numpy() + 0.5 * changed["s010"].to_numpy()
    _write_gold(lake, changed, "v2")
    _res2, run2 = run_on_lake(lake, max_lag=5, seed=9)
    assert run2["compared_to"] == run1["run_id"]
    cmp = run2["comparison"]
    assert cmp["vanished"] >= 1 and cmp["new"] >= 1 and cmp["strengthened"] >= 1
    rows = list_findings(lake)
    by_pair = {(r["a"], r["b"]): r for r in rows}
    assert by_pair[("syn.s000", "syn.s001")]["change"] == "vanished"
    assert by_pair[("syn.s009", "syn.s010")]["change"] == "new"
    assert by_pair[("syn.s002", "syn.s003")]["change"] == "strengthened"
    assert all(r["caveat"] and "causation" in r["caveat"] for r in rows)
    shown = show_finding(lake, "syn.s002~syn.s003")
    assert [h["change"] for h in shown["history"]] == ["baseline", "strengthened"]
    assert shown["provenance"]["seed"] == 9


def test_cli_json_contract_long_csv_and_findings_commands(covary_home, tmp_path, capsys) -> None:
    frame, truth = planted_panel(3, n=365, n_series=8, n_planted=2, r=0.5)
    long = frame.reset_index(names="day").melt(id_vars="day", var_name="metric", value_name="amount")
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    code = cli_main(
        [
            "correlate",
            "--input",
            str(path),
            "--time-col",
            "day",
            "--series-col",
            "metric",
            "--value-col",
            "amount",
            "--max-lag",
            "5",
            "--json",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["tested"] == 28 * 11
    assert {(f["a"], f["b"]) for f in doc["findings"]} >= set(truth)
    for f in doc["findings"]:
        assert {"a", "b", "lag", "r", "p", "q", "n", "n_eff", "significant", "warnings"} <= set(f)
        assert f["significant"] and f["q"] <= 0.05 and f["p"] > 0
    lags = {(f["a"], f["b"]): f["lag"] for f in doc["findings"]}
    assert all(lags[k] == v for k, v in truth.items())
    code = cli_main(
        [
            "correlate",
            "--input",
            str(path),
            "--time-col",
            "day",
            "--series-col",
            "metric",
            "--value-col",
            "amount",
            "--max-lag",
            "5",
            "--json",
            "--all",
            "--no-save",
        ]
    )
    assert code == 0
    everything = json.loads(capsys.readouterr().out)
    assert len(everything["findings"]) == 28
    assert cli_main(["findings", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(r["a"], r["b"]) for r in listed if r["significant"]} == {(f["a"], f["b"]) for f in doc["findings"]}
    a, b = next(iter(truth))
    assert cli_main(["findings", "show", f"{a}~{b}", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["lag"] == truth[(a, b)] and shown["provenance"]["inputs"][0]["format"] == "csv"
    assert cli_main(["findings", "show", "nope~nada"]) == 2
    assert "no finding" in capsys.readouterr().err
    bad = cli_main(["correlate", "--input", str(tmp_path / "missing.csv"), "--json"])
    assert bad == 2


def test_wide_parquet_and_lake_default_cli(covary_home, tmp_path, capsys) -> None:
    from covary.settings import get_settings
    from lakehouse import Lakehouse

    frame, truth = planted_panel(4, n=300, n_series=6, n_planted=1, r=0.6)
    path = tmp_path / "wide.parquet"
    frame.reset_index(names="ts").to_parquet(path)
    assert cli_main(["correlate", "--input", str(path), "--json", "--no-save"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {(f["a"], f["b"]) for f in doc["findings"]} >= set(truth)
    lake = Lakehouse.from_settings(get_settings())
    _write_gold(lake, frame, "cli")
    assert cli_main(["correlate", "--max-lag", "4"]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())  # rich wraps long lines
    counted = re.search(r"15 correlation \+ (\d+) event tests = (\d+) pair-lags tested", flat)
    assert counted and int(counted[2]) == (15 + int(counted[1])) * 9 and "not causation" in flat, flat[:400]
    assert "baseline 1, new 0" in flat
    assert cli_main(["findings", "list", "--runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 1 and runs[0]["scope"] == "lake:gold.series_values"
    assert cli_main(["findings", "list", "--json"]) == 0
    assert {(r["a"], r["b"]) for r in json.loads(capsys.readouterr().out)} == {("syn.s000", "syn.s001")}


def test_demo_step_prints_top_findings_with_caveats(lake) -> None:
    from covary.cli.demo_steps import STEPS
    from jobs.correlate.demo import run

    assert any(step.load() is run for step in STEPS)
    frame, _ = planted_panel(8, n=300, n_series=6, n_planted=2, r=0.6)
    _write_gold(lake, frame, "demo")
    out = run(lake, {})
    assert out["significant"] >= 2
    text = "\n".join(out["lines"])
    assert "q=" in text and "leads by" in text and "not causation" in text and "#1 [" in text
    assert "related by construction" in text and "baseline" in text
