"""NL->SQL execution accuracy and end-to-end HTTP latency of the query service; prints one JSON object.

Usage: .venv/bin/python bench/query_eval.py [--home DIR] [--rounds 3]

Builds the demo lakehouse (macro step) in a temp COVARY_HOME unless --home points at one, deploys the
query app on a local Ray Serve, asks every question of ``bench/query_eval_questions.jsonl`` over HTTP and
compares the result set with the gold SQL's (column order and names ignored, rows as a multiset,
floats to 6 significant digits). Peer in the same run: the same translator + engine called in-process
(no HTTP/Serve), and raw DuckDB on the gold SQL (no guard).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = Path(__file__).with_name("query_eval_questions.jsonl")


def _norm(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.6g}")
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
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
    if pred_width < width or pred_width > 6:
        return False
    for cols in itertools.permutations(range(pred_width), width):
        if Counter(tuple(_norm(row[c]) for c in cols) for row in got) == target:
            return True
    return False


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    home = Path(opts.home or tempfile.mkdtemp(prefix="covary-bench-"))
    os.environ["COVARY_HOME"] = str(home)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    import httpx
    import ray
    from ray import serve

    from covary.settings import get_settings
    from jobs.runtime import ensure_ray
    from lakehouse import Lakehouse
    from serve.auth import KeyStore
    from serve.guard.errors import BlockedQueryError
    from serve.query.app import build_app
    from serve.query.errors import CannotAnswerError
    from serve.query.service import EngineOptions, QueryService

    settings = get_settings()
    settings.ensure_home()
    ensure_ray(settings)
    lake = Lakehouse.from_settings(settings)
    if not lake.exists("gold.series_values"):
        from jobs.demo.macro import run as macro

        macro(lake, {})
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]

    service = QueryService(lake, EngineOptions(llm_mode="off"))
    engine = service.snapshots.engine()
    gold = {q["question"]: engine.execute(q["gold_sql"], max_rows=100_000).rows for q in questions}

    # peer 1: raw DuckDB on the gold SQL (no guard, no translation)
    raw_ms = []
    for _ in range(opts.rounds):
        for q in questions:
            t = time.perf_counter()
            engine.execute(q["gold_sql"])
            raw_ms.append((time.perf_counter() - t) * 1000)
    # peer 2: translator + guard + engine in-process
    inproc_ms, inproc_rows = [], {}
    for r in range(opts.rounds):
        for q in questions:
            t = time.perf_counter()
            try:
                out = service.ask(q["question"])
                if r == 0:
                    inproc_rows[q["question"]] = out["rows"]
            except (CannotAnswerError, BlockedQueryError):
                inproc_rows.setdefault(q["question"], None)
            inproc_ms.append((time.perf_counter() - t) * 1000)

    keys = KeyStore(home / "bench-keys.yaml")
    _, token = keys.create("viewer", name="bench")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    started = time.perf_counter()
    serve.run(
        build_app({"api_keys_path": str(home / "bench-keys.yaml"), "engine": {"llm_mode": "off"}}),
        name="query",
        route_prefix="/",
    )
    deploy_s = time.perf_counter() - started
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    http_ms: list[float] = []
    results: dict[str, Any] = {}
    for r in range(opts.rounds + 1):  # round 0 warms up
        for q in questions:
            t = time.perf_counter()
            resp = client.post("/v1/query", json={"question": q["question"]})
            elapsed = (time.perf_counter() - t) * 1000
            if r > 0:
                http_ms.append(elapsed)
            else:
                results[q["question"]] = (
                    resp.json() if resp.status_code == 200 else {"status": resp.status_code, **resp.json()}
                )
    serve.shutdown()
    ray.shutdown()

    correct, by_shape, failures = 0, Counter(), []
    totals = Counter(q["shape"] for q in questions)
    for q in questions:
        out = results[q["question"]]
        ok = "rows" in out and same_result(gold[q["question"]], out["rows"])
        if ok:
            correct += 1
            by_shape[q["shape"]] += 1
        else:
            failures.append({"question": q["question"], "got_sql": out.get("sql"), "error": out.get("error")})
    inproc_correct = sum(
        1
        for q in questions
        if inproc_rows.get(q["question"]) is not None and same_result(gold[q["question"]], inproc_rows[q["question"]])
    )
    http_p50, http_p95 = percentile(http_ms, 0.5), percentile(http_ms, 0.95)
    inproc_p50, inproc_p95 = percentile(inproc_ms, 0.5), percentile(inproc_ms, 0.95)
    raw_p50 = percentile(raw_ms, 0.5)
    print(
        json.dumps(
            {
                "questions": len(questions),
                "execution_accuracy": round(correct / len(questions), 4),
                "accuracy_by_shape": {s: f"{by_shape[s]}/{n}" for s, n in sorted(totals.items())},
                "inproc_execution_accuracy": round(inproc_correct / len(questions), 4),
                "http_latency_ms": {
                    "p50": round(http_p50, 2),
                    "p95": round(http_p95, 2),
                    "mean": round(statistics.mean(http_ms), 2),
                    "n": len(http_ms),
                },
                "peer_inprocess_latency_ms": {"p50": round(inproc_p50, 2), "p95": round(inproc_p95, 2)},
                "peer_raw_duckdb_gold_sql_ms": {"p50": round(raw_p50, 3)},
                "ratio_http_over_inprocess_p50": round(http_p50 / inproc_p50, 2),
                "ratio_inprocess_over_raw_p50": round(inproc_p50 / raw_p50, 2),
                "goal": {"accuracy>=0.9": correct / len(questions) >= 0.9, "p95<=300ms": http_p95 <= 300},
                "deploy_s": round(deploy_s, 1),
                "failures": failures,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
