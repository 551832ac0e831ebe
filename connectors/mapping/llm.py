"""Optional LLM refinement of mapping suggestions through an OpenAI-compatible chat-completions endpoint."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
import pyarrow as pa

from connectors.mapping.engine import ColumnMapping, MappingSuggestion
from connectors.mapping.errors import LLMRefineError
from connectors.mapping.schema import TargetSchema

log = logging.getLogger(__name__)


class LLMRefiner:
    """Ask the model for ``{"column": "field" | null}``; adopt valid answers, keep the rest.

    Build it from ``settings.llm`` with :meth:`from_settings` (returns ``None`` when no endpoint is
    configured). ``transport`` lets tests pass an ``httpx.MockTransport``. A failing endpoint never
    breaks mapping: the local suggestion is returned and the error logged.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.transport = transport
        self.last_error: str | None = None

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> LLMRefiner | None:
        llm = settings.llm
        if not llm.base_url or not llm.model:
            return None
        key = llm.api_key.get_secret_value() if llm.api_key else None
        return cls(base_url=llm.base_url, model=llm.model, api_key=key, timeout_s=llm.timeout_s, **kwargs)

    def prompt(self, table: pa.Table, schema: TargetSchema, suggestion: MappingSuggestion) -> list[dict[str, str]]:
        cols = []
        for c in suggestion.columns:
            samples = [str(v) for v in table.column(c.source_column).to_pylist()[:4] if v is not None]
            cols.append({"column": c.source_column, "samples": samples, "current": c.target})
        fields = [{"field": f.name, "description": f.description, "required": f.required} for f in schema.fields]
        return [
            {
                "role": "system",
                "content": "You map spreadsheet columns onto a target schema. Answer with JSON only: "
                '{"mapping": {"<column>": "<field or null>"}}. Map each field from at most one column; '
                "use null when no field fits.",
            },
            {"role": "user", "content": json.dumps({"target_fields": fields, "columns": cols}, ensure_ascii=False)},
        ]

    def ask(self, messages: list[dict[str, str]]) -> dict[str, str | None]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "messages": messages, "temperature": 0}
        try:
            with httpx.Client(timeout=self.timeout_s, transport=self.transport) as client:
                resp = client.post(f"{self.base_url}/chat/completions", json=body, headers=headers)
                resp.raise_for_status()
                content = resp.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise LLMRefineError(
                f"LLM endpoint {self.base_url} failed: {exc}", hint="check COVARY_LLM__BASE_URL / model"
            ) from exc
        match = re.search(r"\{.*\}", content, re.S)
        try:
            data = json.loads(match.group(0) if match else content)
            mapping = data.get("mapping", data)
            if not isinstance(mapping, dict):
                raise ValueError("mapping is not an object")
        except ValueError as exc:
            raise LLMRefineError(f"LLM answered something that is not a JSON mapping: {exc}") from exc
        return {str(k): (str(v) if v else None) for k, v in mapping.items()}

    def __call__(self, table: pa.Table, schema: TargetSchema, suggestion: MappingSuggestion) -> MappingSuggestion:
        try:
            answer = self.ask(self.prompt(table, schema, suggestion))
        except LLMRefineError as exc:
            self.last_error = exc.message
            log.warning("%s; keeping the local suggestion", exc.message)
            return suggestion
        known = {f.name for f in schema.fields}
        taken = {c.target for c in suggestion.columns if c.method == "saved" and c.target}
        revised: list[ColumnMapping] = []
        for c in suggestion.columns:
            if c.method == "saved" or c.source_column not in answer:
                revised.append(c)
                continue
            target = answer[c.source_column]
            if target is not None and (target not in known or target in taken):
                revised.append(c)
                continue
            if target == c.target:
                revised.append(ColumnMapping(**{**c.__dict__, "confidence": min(1.0, c.confidence + 0.1)}))
                continue
            alt = dict(c.alternatives).get(target or "", 0.0)
            revised.append(
                ColumnMapping(
                    c.source_column,
                    target,
                    round(max(0.5, alt), 3) if target else 0.0,
                    "llm",
                    c.alternatives,
                    f"LLM {self.model} chose {target} (local engine: {c.target})",
                )
            )
        # one column per field: an LLM choice wins over a local suggestion for the same field
        winners: dict[str, ColumnMapping] = {}
        for c in sorted(revised, key=lambda c: c.method != "llm"):
            if c.target and c.target not in winners:
                winners[c.target] = c
        final = [
            c
            if (not c.target or winners[c.target] is c)
            else ColumnMapping(c.source_column, None, 0.0, c.method, c.alternatives, "field taken by LLM")
            for c in revised
        ]
        return MappingSuggestion(suggestion.entity, final, suggestion.unmapped_required, suggestion.profiles)


__all__ = ["LLMRefiner"]
