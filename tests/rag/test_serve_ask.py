"""/v1/ask on a real local Serve app: auth, JSON and SSE answers with citations, guarded lookups, uploads."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = pytest.mark.usefixtures("ray_local")


def h(app, role="viewer"):
    return {"Authorization": f"Bearer {app['tokens'][role]}"}


def test_ask_needs_a_viewer_token(rag_app):
    url = f"{rag_app['url']}/v1/ask"
    assert httpx.post(url, json={"question": "what is mkt.signups"}).status_code == 401
    assert (
        httpx.post(url, json={"question": "what is mkt.signups"}, headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    docs = f"{rag_app['url']}/v1/ask/documents"
    r = httpx.post(docs, files={"file": ("n.md", b"# N\nx")}, headers=h(rag_app, "viewer"))
    assert r.status_code == 403


def test_ask_json_answer_with_citations(rag_app):
    r = httpx.post(
        f"{rag_app['url']}/v1/ask",
        json={"question": "what is the unit of mkt.signups?"},
        headers=h(rag_app),
        timeout=120,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "Unit: count" in body["answer"] and body["grounded"] and body["backend"] == "extractive"
    assert body["citations"][0]["doc_id"] == "series:mkt.signups" and body["citations"][0]["source_version"] >= 0


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_ask_streams_sse_sources_tokens_caveat_done(rag_app):
    q = {"question": "why did mkt.signups change? does mkt.ad_spend cause it?"}
    for url in (f"{rag_app['url']}/v1/ask/stream", f"{rag_app['url']}/v1/ask?stream=true"):
        with httpx.stream("POST", url, json=q, headers=h(rag_app), timeout=120) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            text = "".join(r.iter_text())
        events = _events(text)
        names = [e for e, _ in events]
        assert names[0] == "sources" and names[-1] == "done" and "caveat" in names
        assert names.count("token") > 3
        done = events[-1][1]
        assert "".join(d["text"] for e, d in events if e == "token") == done["answer"]
        assert done["causal"] and "Correlation is not causation" in done["caveat"]
        assert any(c["finding_id"] for c in done["citations"])


def test_lookup_runs_sql_only_through_the_guard(rag_app):
    r = httpx.post(
        f"{rag_app['url']}/v1/ask",
        json={"question": "average mkt.signups by year", "lookup": True, "k": 3},
        headers=h(rag_app),
        timeout=120,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    query = [c for c in body["citations"] if c["kind"] == "query"]
    assert query and query[0]["sql"].lower().startswith("select") and "gold.series_values" in query[0]["label"]
    assert body["grounded"]


def test_injection_document_cannot_trigger_sql_or_links(rag_app):
    r = httpx.post(
        f"{rag_app['url']}/v1/ask",
        json={"question": "what does the vendor onboarding checklist cover?", "lookup": True},
        headers=h(rag_app),
        timeout=120,
    )
    body = r.json()
    assert "http" not in body["answer"] and "DROP" not in body["answer"]
    sql = httpx.post(
        f"{rag_app['url']}/v1/sql",
        json={"sql": "SELECT count(*) FROM gold.series_values"},
        headers=h(rag_app, "analyst"),
        timeout=60,
    ).json()
    assert sql["rows"][0][0] == 520  # 5 series x 104 weeks: nothing dropped


def test_upload_route_adds_a_document_that_answers(rag_app):
    doc = b"# Pricing memo\nThe premium plan price rose to 49 euros in October after the supplier change.\n"
    r = httpx.post(
        f"{rag_app['url']}/v1/ask/documents",
        files={"file": ("pricing-memo.md", doc)},
        headers=h(rag_app, "analyst"),
        timeout=120,
    )
    assert r.status_code == 200, r.text
    assert r.json()["doc_id"] == "user:pricing-memo" and r.json()["index"]["embedded"] == 1
    bad = httpx.post(
        f"{rag_app['url']}/v1/ask/documents",
        files={"file": ("x.exe", b"MZ")},
        headers=h(rag_app, "analyst"),
        timeout=60,
    )
    assert bad.status_code == 400 and "Markdown" in bad.json()["error"]
    a = httpx.post(
        f"{rag_app['url']}/v1/ask",
        json={"question": "what is the premium plan price?"},
        headers=h(rag_app),
        timeout=120,
    ).json()
    assert "49 euros" in a["answer"] and a["citations"][0]["doc_id"] == "user:pricing-memo"
