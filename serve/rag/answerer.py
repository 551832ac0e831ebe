"""The grounded answerer: the extractive answer composed from numbered sources and the structured records they
cite, the causal caveat and the LLM prompt; and the text of an LLM backend (an OpenAI-compatible endpoint, or
the vLLM deployment when the app binds one). CPU only: nothing here imports vLLM."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

from lakehouse import Lakehouse
from serve.rag.answer import COMPOSED_KINDS, Source, caveat_for, composed_answer
from serve.rag.backends import ChatEndpoint, endpoint_for, messages_for

log = logging.getLogger(__name__)
TABLE_CACHE = 16


class GroundedAnswerer:
    """Composes the answer from what retrieval found; reads cited records from the lake at the cited version."""

    def __init__(self, lake: Lakehouse) -> None:
        self.lake = lake
        self._tables: dict[tuple[str, int], list[dict[str, Any]]] = {}

    def _table_rows(self, name: str, version: int) -> list[dict[str, Any]]:
        key = (name, version)
        if key not in self._tables:
            if len(self._tables) > TABLE_CACHE:
                self._tables.clear()
            self._tables[key] = self.lake.read(name, version=version).to_pylist()
        return self._tables[key]

    def record(self, src: Source) -> Any:
        """The structured record behind a finding/forecast/KPI/anomaly/alert source, read from the lake at the
        version the source cites (None when there is none or it cannot be read)."""
        if src.kind not in COMPOSED_KINDS or not src.source_table or src.source_version < 0:
            return None
        key = src.doc_id.partition(":")[2]
        try:
            rows = self._table_rows(src.source_table, src.source_version)
        except Exception as exc:  # a vacuumed version or a missing table: quote the document instead
            log.info("no record for %s: %s", src.doc_id, exc)
            return None
        if src.kind == "finding" and src.finding_id:
            mine = [r for r in rows if r.get("finding_id") == src.finding_id]
            run = re.search(r"\(run ([^,]+),", src.text)
            same_run = [r for r in mine if run and r.get("run_id") == run.group(1)]
            chosen = same_run or mine[-1:]
            return chosen[0] if chosen else None
        if src.kind == "forecast":
            mine = [r for r in rows if r.get("series_id") == key]
            if not mine:
                return None
            origin = max(r["origin"] for r in mine)
            return sorted((r for r in mine if r["origin"] == origin), key=lambda r: r["step"])
        if src.kind == "kpi":
            return [r for r in rows if r.get("metric") == key and r.get("platform") == "*" and r.get("country") == "*"]
        if src.kind == "anomaly":
            return [r for r in rows if r.get("series_id") == key] or None
        if src.kind == "alert":
            return next((r for r in rows if r.get("alert_id") == key), None)
        return None

    def compose(self, question: str, sources: list[Source], *, causal: bool, no_sources: str) -> dict[str, Any]:
        """The extractive answer (``no_sources`` when there are none), the caveat and the backend prompt."""
        if sources:
            records = {s.n: self.record(s) for s in sources}
            text = composed_answer(question, sources, records, lead_findings=2 if causal else 0)
        else:
            text = no_sources
        return {
            "extractive": text,
            "caveat": caveat_for(sources) if causal and sources else None,
            "messages": messages_for(question, sources),
        }

    def complete(self, messages: list[dict[str, str]], backend: str, endpoint: ChatEndpoint | None = None) -> str:
        """The raw text of an LLM backend (``openai`` or ``vllm`` over HTTP); callers sanitise it."""
        return (endpoint or endpoint_for(backend)).complete(messages)

    async def astream(self, messages: list[dict[str, str]], backend: str) -> AsyncIterator[str]:
        async for piece in endpoint_for(backend).astream(messages):
            yield piece


__all__ = ["GroundedAnswerer"]
