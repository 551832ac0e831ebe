"""The LLM translator: an OpenAI-compatible chat endpoint prompted with the schema and retrieved examples."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import httpx
from rapidfuzz import fuzz

from serve.query.errors import CannotAnswerError, LLMUnavailableError
from serve.query.semantic import SemanticLayer
from serve.query.translator import Translation

SYSTEM = (
    "You translate business questions into ONE read-only DuckDB SQL SELECT over the tables below. "
    "Always qualify tables as layer.table. Use only the listed tables and columns. Prefer aggregates with "
    "clear aliases. If the question cannot be answered from these tables, reply exactly CANNOT_ANSWER: <why>. "
    "Reply with the SQL in a ```sql block, then one line starting with 'EXPLANATION:'."
)


def load_examples() -> list[dict[str, str]]:
    text = resources.files("serve.query").joinpath("examples.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def retrieve(question: str, examples: list[dict[str, str]], k: int = 4) -> list[dict[str, str]]:
    """The ``k`` examples most similar to ``question`` (token-set similarity)."""
    ranked = sorted(examples, key=lambda e: -fuzz.token_set_ratio(question.lower(), e["question"].lower()))
    return ranked[:k]


@dataclass
class LLMTranslator:
    """Calls ``{base_url}/chat/completions``; the SQL it returns still goes through the guard."""

    base_url: str
    model: str
    layer: SemanticLayer
    api_key: str | None = None
    timeout_s: float = 30.0
    transport: httpx.BaseTransport | None = None

    def prompt(self, question: str) -> list[dict[str, str]]:
        shots = retrieve(question, load_examples())
        examples = "\n\n".join(f"Q: {e['question']}\n```sql\n{e['sql']}\n```" for e in shots)
        user = f"SCHEMA\n{self.layer.schema_text()}\n\nEXAMPLES\n{examples}\n\nQUESTION\n{question}"
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

    def translate(self, question: str) -> Translation:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "messages": self.prompt(question), "temperature": 0, "max_tokens": 600}
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            with httpx.Client(timeout=self.timeout_s, transport=self.transport) as client:
                response = client.post(url, json=body, headers=headers)
                response.raise_for_status()
                content = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise LLMUnavailableError(
                f"LLM endpoint {self.base_url} failed: {exc}",
                hint="check COVARY_LLM__BASE_URL / COVARY_LLM__MODEL, or unset them to use the deterministic path",
            ) from None
        return parse_reply(str(content), question)


def parse_reply(content: str, question: str) -> Translation:
    text = content.strip()
    if text.upper().startswith("CANNOT_ANSWER"):
        raise CannotAnswerError(
            f"the LLM cannot answer: {text.split(':', 1)[-1].strip()}", understood={"question": question}
        )
    block = re.search(r"```(?:sql)?\s*(.+?)```", text, flags=re.S | re.I)
    sql = (block.group(1) if block else text.split("EXPLANATION:")[0]).strip().rstrip(";")
    explain = re.search(r"EXPLANATION:\s*(.+)", text)
    if not sql.lower().lstrip("( ").startswith(("select", "with", "from")):
        raise CannotAnswerError("the LLM did not return a SELECT statement", understood={"reply": text[:200]})
    chart: dict[str, Any] = {"type": "line" if re.search(r"date_trunc|\bts\b|\bdate\b", sql, re.I) else "table"}
    return Translation(
        sql=sql,
        chart=chart,
        explanation=explain.group(1).strip() if explain else "SQL written by the LLM from the schema.",
        translator="llm",
        understood={"question": question},
    )


__all__ = ["LLMTranslator", "load_examples", "parse_reply", "retrieve"]
