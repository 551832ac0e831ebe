"""NL->SQL evaluation over the demo lake: right / refused / wrong per split and shape, latency; prints one JSON.

Usage:
  .venv/bin/python bench/query_eval.py --home /path/to/covary-home [--split test] [--http] [--failures]

``--home`` must hold a lake built by ``covary demo`` (the questions cover every domain of it); it is only
read (the profile cache is written to a temporary COVARY_HOME unless --write-cache). Each question of
``bench/query_eval_questions.jsonl`` has gold SQL (the answer is right when the result set matches: column
order and names ignored, rows as a multiset, floats to 6 significant digits, extra columns allowed), or
gold ``"refuse"`` with the word the refusal must name (the data lacks it), or a gold intent with key
fields (the measure, and the table where the answer must come from one). Questions and gold were written
before tuning and split dev/test by a hash of the question (the record-table questions of issue 15 by a
seeded shuffle); tune on dev only. Peer in the same run: raw DuckDB on the gold SQL.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = Path(__file__).with_name("query_eval_questions.jsonl")


def _norm(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return float(f"{v:.6g}")
    if isinstance(v, int):
        return float(f"{float(v):.6g}")
    if isinstance(v, str) and len(v) >= 10 and v[4] == "-" and v[7] == "-":
        return v[:10]  # dates and timestamps at day precision
    return v


def same_result(gold: list[list[Any]], got: list[list[Any]]) -> bool:
    """True when some choice/permutation of the predicted columns reproduces the gold rows (as a multiset)."""
    if len(gold) != len(got):
        return False
    if not gold:
        return True
    width = len(gold[0])
    target = Counter(tuple(_norm(v) for v in row) for row in gold)
    pred_width = len(got[0])
    if pred_width < width or pred_width > 8:
        return False
    for cols in itertools.permutations(range(pred_width), width):
        if Counter(tuple(_norm(row[c]) for c in cols) for row in got) == target:
            return True
    return False


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else 0.0


def judge(q: dict[str, Any], out: dict[str, Any], gold_rows: list[list[Any]] | None) -> str:
    """right | refused | wrong for one question."""
    if q.get("gold") == "refuse":
        if out.get("refused"):
            text = json.dumps(out.get("error_body", {})).lower()
            return "right" if q.get("missing", "").lower() in text else "refused"
        return "wrong"
    if out.get("refused"):
        return "refused"
    if "gold_intent" in q:
        if out.get("intent") != q["gold_intent"]:
            return "wrong"
        plan = out.get("plan") or {}
        want = (q.get("gold_fields") or {}).get("measure")
        if want:
            names = [plan.get("measure") or "", *(plan.get("other_measures") or [])]
            if not any(str(n).rsplit(".", 1)[-1] == want or str(n) == want for n in names):
                return "wrong"
        table = (q.get("gold_fields") or {}).get("table")
        if table and plan.get("table") != table:
            return "wrong"  # e.g. a regional "why" answered from a table without the region
        return "right"
    if out.get("intent", "sql") != "sql" or gold_rows is None:
        return "wrong"
    if out.get("rows") is None:
        return "wrong"
    return "right" if same_result(gold_rows, out.get("rows") or []) else "wrong"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True, help="COVARY_HOME with a demo lake (read only)")
    parser.add_argument("--split", default="test", choices=["dev", "test", "all"])
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds (after one warm-up)")
    parser.add_argument("--http", action="store_true", help="also measure over HTTP on a local Ray Serve")
    parser.add_argument("--failures", action="store_true", help="list the questions not answered right")
    opts = parser.parse_args()
    lake_home = Path(opts.home).resolve()
    work_home = Path(tempfile.mkdtemp(prefix="covary-eval-"))
    os.environ["COVARY_HOME"] = str(work_home)
    os.environ["COVARY_LAKE__ROOT"] = str(lake_home / "lake")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    from covary.errors import CovaryError
    from covary.settings import get_settings
    from lakehouse import Lakehouse
    from serve.guard.errors import BlockedQueryError
    from serve.query.errors import CannotAnswerError
    from serve.query.service import EngineOptions, QueryService

    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    if opts.split != "all":
        questions = [q for q in questions if q["split"] == opts.split]
    lake = Lakehouse.from_settings(get_settings())
    started = time.perf_counter()
    service = QueryService(lake, EngineOptions(llm_mode="off", refresh_s=3600))
    service.layer()
    cold_s = time.perf_counter() - started
    engine = service.snapshots.engine()
    gold: dict[str, list[list[Any]] | None] = {}
    raw_ms: list[float] = []
    for q in questions:
        if "gold_sql" in q:
            t = time.perf_counter()
            gold[q["question"]] = engine.execute(q["gold_sql"], max_rows=100_000).rows
            raw_ms.append((time.perf_counter() - t) * 1000)
        else:
            gold[q["question"]] = None

    def ask(question: str) -> dict[str, Any]:
        try:
            t = service.translate(question)
            if t.intent != "sql":
                return {"intent": t.intent, "plan": t.plan, "explanation": t.explanation}
            result = service.run_sql(t.sql)
            result |= service.check_answer(t.plan or {}, result)  # as ask(): a note, or no rows in the period
            return {
                "intent": "sql",
                "plan": t.plan,
                "rows": result["rows"],
                "sql": result["sql"],
                "explanation": t.explanation,
            }
        except (CannotAnswerError, BlockedQueryError) as exc:
            body = {"error": exc.message, "hint": exc.hint, "understood": getattr(exc, "understood", {})}
            return {"refused": True, "error_body": body}
        except CovaryError as exc:  # the SQL failed: a defect, counted as wrong
            return {"intent": "sql", "rows": None, "sql": f"FAILED: {exc.message}"}

    outcomes: dict[str, dict[str, Any]] = {}
    inproc_ms: list[float] = []
    for r in range(opts.rounds + 1):
        for q in questions:
            t = time.perf_counter()
            out = ask(q["question"])
            if r > 0:
                inproc_ms.append((time.perf_counter() - t) * 1000)
            else:
                outcomes[q["question"]] = out

    http: dict[str, Any] | None = None
    if opts.http:
        http = _http_latency(questions, work_home, opts.rounds)

    verdicts = {q["question"]: judge(q, outcomes[q["question"]], gold[q["question"]]) for q in questions}
    total = Counter(verdicts.values())
    by_shape: dict[str, Counter] = defaultdict(Counter)
    by_domain: dict[str, Counter] = defaultdict(Counter)
    for q in questions:
        by_shape[q["shape"]][verdicts[q["question"]]] += 1
        by_domain[q["domain"]][verdicts[q["question"]]] += 1
    n = len(questions)
    report: dict[str, Any] = {
        "split": opts.split,
        "questions": n,
        "right": total["right"],
        "refused": total["refused"],
        "wrong": total["wrong"],
        "right_rate": round(total["right"] / n, 4) if n else 0.0,
        "wrong_rate": round(total["wrong"] / n, 4) if n else 0.0,
        "goal": {"right>=0.90": total["right"] >= 0.9 * n, "wrong<=0.02": total["wrong"] <= 0.02 * n},
        "by_shape": {s: dict(c) for s, c in sorted(by_shape.items())},
        "by_domain": {s: dict(c) for s, c in sorted(by_domain.items())},
        "cold_profile_s": round(cold_s, 2),
        "inprocess_latency_ms": {
            "p50": round(percentile(inproc_ms, 0.5), 2),
            "p95": round(percentile(inproc_ms, 0.95), 2),
        },
        "peer_raw_duckdb_gold_sql_ms": {"p50": round(percentile(raw_ms, 0.5), 3)},
    }
    if http:
        report["http_latency_ms"] = http
    if opts.failures:
        report["failures"] = [
            {
                "question": q["question"],
                "verdict": verdicts[q["question"]],
                "got": outcomes[q["question"]].get("sql")
                or outcomes[q["question"]].get("intent")
                or outcomes[q["question"]].get("error_body", {}).get("error"),
                "rows": (outcomes[q["question"]].get("rows") or [])[:3],
                "gold": q.get("gold_sql") or q.get("gold_intent") or q.get("missing"),
            }
            for q in questions
            if verdicts[q["question"]] != "right"
        ]
    service.close()
    shutil.rmtree(work_home, ignore_errors=True)
    print(json.dumps(report, indent=2, default=str))


def _http_latency(questions: list[dict[str, Any]], home: Path, rounds: int) -> dict[str, Any]:
    import socket

    import httpx
    import ray
    from ray import serve

    from covary.settings import get_settings
    from jobs.runtime import ensure_ray
    from serve.auth import KeyStore
    from serve.query.app import build_app

    ensure_ray(get_settings())
    keys = KeyStore(home / "bench-keys.yaml")
    _, token = keys.create("viewer", name="bench")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(
        build_app(
            {
                "api_keys_path": str(home / "bench-keys.yaml"),
                "engine": {"llm_mode": "off"},
                "rate_limits": {"viewer": 0, "analyst": 0, "admin": 0},
            }
        ),
        name="query",
        route_prefix="/",
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    ms: list[float] = []
    try:
        for r in range(rounds + 1):
            for q in questions:
                t = time.perf_counter()
                client.post("/v1/query", json={"question": q["question"]})
                if r > 0:
                    ms.append((time.perf_counter() - t) * 1000)
    finally:
        serve.shutdown()
        ray.shutdown()
    return {
        "p50": round(percentile(ms, 0.5), 2),
        "p95": round(percentile(ms, 0.95), 2),
        "mean": round(statistics.mean(ms), 2) if ms else 0.0,
        "n": len(ms),
    }


if __name__ == "__main__":
    main()
