"""RAG evaluation: recall@5 and answer facts over the demo lakehouse, retrieval p95 at 100k chunks, embedding speed.

Prints one JSON object. Peers measured in the same run: vector-only and keyword-only retrieval (recall), brute-force
numpy cosine over the same 100k vectors (latency), and un-batched embedding (throughput). vLLM is not measured
here (no GPU); see docs/rag.md.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = Path(__file__).with_name("rag_eval_questions.jsonl")


def build_demo_lake(root: Path) -> Any:
    """The spine demo's data: macro series bronze -> silver -> gold, then correlation discovery."""
    import ray

    from jobs.correlate.demo import run as correlate
    from jobs.demo.macro import run as macro
    from lakehouse import Lakehouse

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    lake = Lakehouse(root / "lake")
    macro(lake, {})
    correlate(lake, {})
    ray.shutdown()
    return lake


def resolve(lake: Any, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn ``finding:a~b`` into finding ids and ``{r:a~b}``/``{latest:s}`` placeholders into the lake's numbers."""
    import duckdb
    import pyarrow.compute as pc

    from jobs.correlate.lake_io import finding_id
    from jobs.index.documents import _fmt, latest_run

    run = latest_run(lake)
    findings = {
        f["finding_id"]: f
        for f in lake.read("gold.correlation_findings", filter=pc.field("run_id") == run["run_id"]).to_pylist()
    }
    con = duckdb.connect()
    con.register("v", lake.read("gold.series_values"))
    stats = {
        sid: {"latest": last, "max": vmax}
        for sid, last, vmax in con.execute(
            "SELECT series_id, arg_max(value, ts), max(value) FROM v GROUP BY 1"
        ).fetchall()
    }

    def fid(pair: str) -> str:
        return finding_id(*pair.split("~"))

    def fact(text: str) -> str:
        m = re.fullmatch(r"\{(\w+):([^}]+)\}", text)
        if not m:
            return text
        kind, key = m.groups()
        if kind in ("r", "q"):
            return _fmt(findings[fid(key)][kind])
        return _fmt(stats[key][kind])

    out = []
    for q in questions:
        sources = [f"finding:{fid(s.split(':', 1)[1])}" if s.startswith("finding:") else s for s in q["sources"]]
        out.append(q | {"sources": sources, "facts": [fact(f) for f in q["facts"]]})
    return out


def evaluate(engine: Any, questions: list[dict[str, Any]]) -> dict[str, Any]:
    recall = {"hybrid": 0, "vector": 0, "keyword": 0}
    facts_ok = 0
    misses: list[dict[str, Any]] = []
    for q in questions:
        for mode in recall:
            ids = {h.chunk.doc_id for h in engine.retrieve(q["q"], k=5, mode=mode)}
            recall[mode] += bool(ids & set(q["sources"]))
        answer = engine.ask(q["q"], k=5)
        text = (answer.answer + "\n" + (answer.caveat or "")).lower()
        ok = all(f.lower() in text for f in q["facts"])
        facts_ok += ok
        if not ok:
            misses.append({"q": q["q"], "facts": q["facts"], "answer": answer.answer[:200]})
    n = len(questions)
    return {
        "questions": n,
        "recall_at_5": round(recall["hybrid"] / n, 3),
        "recall_at_5_vector_only": round(recall["vector"] / n, 3),
        "recall_at_5_keyword_only": round(recall["keyword"] / n, 3),
        "answer_facts": round(facts_ok / n, 3),
        "answer_misses": misses[:5],
    }


def latency_100k(root: Path, n: int = 100_000) -> dict[str, Any]:
    """Synthetic 100k chunks (random unit vectors + generated text) in a Milvus Lite collection."""
    from jobs.index.embed import DIM, embed
    from jobs.index.store import Chunk, VectorStore

    rng = np.random.default_rng(0)
    words = np.array(
        [
            "revenue",
            "churn",
            "signups",
            "spend",
            "visits",
            "tickets",
            "rainfall",
            "inflation",
            "unemployment",
            "price",
            "margin",
            "orders",
            "returns",
            "latency",
            "region",
            "campaign",
            "budget",
            "forecast",
            "anomaly",
            "quality",
        ]
    )
    store = VectorStore(str(root / "synthetic.db"), collection="synthetic")
    started = time.perf_counter()
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [
        Chunk(f"s{i}", f"doc{i // 4}", "table", f"Synthetic {i}", " ".join(rng.choice(words, 30)), "h", i % 4)
        for i in range(n)
    ]
    store.insert(chunks, vectors, batch=5000)
    insert_s = time.perf_counter() - started
    questions = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    qvecs = embed(questions)
    t0 = time.perf_counter()
    store.search(qvecs[0], questions[0], k=5)  # the first query loads the in-process ranking index
    local_build_s = time.perf_counter() - t0
    native = []
    client = store.client()
    for v in qvecs[:10]:  # peer: Milvus Lite's own exact search over the same collection (flushed)
        t = time.perf_counter()
        client.search(
            "synthetic",
            data=[v.tolist()],
            anns_field="vector",
            limit=30,
            output_fields=["chunk_id"],
            search_params={"metric_type": "COSINE"},
        )
        native.append((time.perf_counter() - t) * 1000)
    hybrid, vector, brute = [], [], []
    for _ in range(3):
        for q, v in zip(questions, qvecs, strict=True):
            t = time.perf_counter()
            store.search(v, q, k=5)
            hybrid.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            store.search(v, q, k=5, mode="vector")
            vector.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            np.argpartition(-(vectors @ v), 5)[:5]
            brute.append((time.perf_counter() - t) * 1000)
    count = store.count()
    store.close()
    return {
        "chunks": count,
        "insert_s": round(insert_s, 1),
        "ranking": store.ranking,
        "local_index_load_s": round(local_build_s, 2),
        "hybrid_p50_ms": round(float(np.percentile(hybrid, 50)), 2),
        "hybrid_p95_ms": round(float(np.percentile(hybrid, 95)), 2),
        "vector_only_p95_ms": round(float(np.percentile(vector, 95)), 2),
        "peer_numpy_bruteforce_p95_ms": round(float(np.percentile(brute, 95)), 2),
        "peer_milvus_lite_native_dense_p95_ms": round(float(np.percentile(native, 95)), 2),
        "hybrid_vs_milvus_lite_native_p95_ratio": round(
            float(np.percentile(hybrid, 95) / max(np.percentile(native, 95), 1e-9)), 3
        ),
        "hybrid_vs_numpy_p95_ratio": round(float(np.percentile(hybrid, 95) / max(np.percentile(brute, 95), 1e-9)), 2),
    }


def embedding_speed() -> dict[str, Any]:
    from jobs.index.embed import embed, load_embedder

    load_embedder()
    sentences = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line.strip()] * 12
    t = time.perf_counter()
    embed(sentences, batch_size=64)
    batched = len(sentences) / (time.perf_counter() - t)
    few = sentences[:48]
    t = time.perf_counter()
    for s in few:
        embed([s])
    single = len(few) / (time.perf_counter() - t)
    return {
        "sentences_per_s": round(batched, 1),
        "peer_unbatched_sentences_per_s": round(single, 1),
        "batched_vs_unbatched": round(batched / single, 2),
    }


def main() -> None:
    from jobs.index import VectorStore, run_index
    from serve.rag.engine import RagEngine

    with tempfile.TemporaryDirectory(prefix="covary-rag-eval-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        lake = build_demo_lake(root)
        build_s = time.perf_counter() - t
        store = VectorStore(str(root / "milvus.db"))
        index = run_index(lake, store=store, reports_dir=root / "reports")
        questions = resolve(lake, [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()])
        engine = RagEngine(lake, store)
        quality = evaluate(engine, questions)
        t = time.perf_counter()
        for q in questions:
            engine.retrieve(q["q"], k=5)
        demo_retrieval_ms = (time.perf_counter() - t) * 1000 / len(questions)
        engine.close()
        result = {
            "bench": "rag_eval",
            "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1)},
            "demo_lake_build_s": round(build_s, 1),
            "index": {k: index[k] for k in ("documents", "chunks", "embed_s", "seconds")},
            **quality,
            "demo_retrieval_mean_ms_incl_query_embedding": round(demo_retrieval_ms, 2),
            "embedding": embedding_speed(),
            "retrieval_100k": latency_100k(root),
            "goals": {"recall_at_5": 0.9, "answer_facts": 0.85, "hybrid_p95_ms_at_100k": 100},
            "vllm": "not measured: no GPU lent to this task (the vLLM backend is OpenAI-compatible via Ray Serve LLM)",
        }
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
