"""The RAG engine: hybrid retrieval over Milvus, sources with citations, and answers from a pluggable backend."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from jobs.index.retrieval import Embed, Hit, Mode, VectorStore, best_similarity, embed, search, split_sentences
from lakehouse import Lakehouse
from serve.rag.answer import NO_ANSWER, NO_EVIDENCE, Answer, Source, tokens
from serve.rag.answerer import GroundedAnswerer
from serve.rag.backends import ChatEndpoint, check_backend
from serve.rag.errors import BadQuestionError
from serve.rag.safety import is_causal, sanitize, ungrounded_numbers

log = logging.getLogger(__name__)
MAX_QUESTION = 2000
# Retrieval confidence (see :func:`confidence`) below which the answer is "no evidence in the lake";
# calibrated on the dev split of bench/rag_eval_questions.jsonl (`python bench/rag_eval.py --calibrate`).
MIN_CONFIDENCE = 0.4735
CONFIDENCE_HITS = 5
NAME_PENALTY = 0.15
CONFIDENCE_CHARS, CONFIDENCE_SENTENCES = 800, 6


class RagEngine:
    """Retrieval, confidence and sources, then the answerer: the plain-Python core shared by the CLI and the
    benchmark (everything in process) and the Serve app's ``RagEngine`` deployment, which passes the Embedder,
    VectorStore and Answerer deployments in as ``embedder``, ``store`` and ``answerer`` (serve/rag/deployments.py).
    """

    def __init__(
        self,
        lake: Lakehouse,
        store: VectorStore | None = None,
        *,
        min_confidence: float | None = None,
        embedder: Embed = embed,
        answerer: GroundedAnswerer | None = None,
    ) -> None:
        self.lake = lake
        self.store = store or VectorStore.from_settings(lake.root)
        self.min_confidence = MIN_CONFIDENCE if min_confidence is None else min_confidence
        self.embedder = embedder
        self.answerer = answerer or GroundedAnswerer(lake)

    # ------------------------------------------------------------------------------- retrieval
    def retrieve(
        self, question: str, *, k: int = 5, kinds: list[str] | None = None, mode: Mode = "hybrid"
    ) -> list[Hit]:
        return search(self.store, question, k=k, kinds=kinds, mode=mode, embedder=self.embedder).hits

    def confidence(self, question: str, hits: list[Hit], vector: Any = None) -> dict[str, Any]:
        """How sure retrieval is that the lake speaks to ``question``: the best cosine similarity of the
        question to the sentences the top hits open with, the share of the question's content words those hits
        contain, and capitalised names in the question that none of them mentions. ``score`` = 0.75 *
        similarity + 0.25 * coverage - 0.15 per unknown name (at most two)."""
        top = hits[:CONFIDENCE_HITS]
        if not top:
            return {"similarity": 0.0, "coverage": 0.0, "unknown_names": [], "score": 0.0}
        qv = self.embedder([question])[0] if vector is None else vector
        # a short question is compared with each sentence of what the hits open with (a whole structured
        # document is a poor match for a short question even when one of its sentences answers it)
        texts = [h.chunk.title for h in top]
        for h in top:
            texts += [s for s in split_sentences(h.chunk.body[:CONFIDENCE_CHARS]) if len(s) > 8][:CONFIDENCE_SENTENCES]
        similarity = best_similarity(qv, texts, embedder=self.embedder)
        words = set(tokens(question))
        have: set[str] = set()
        for h in top:
            have |= set(tokens(f"{h.chunk.title} {h.chunk.body}"))
        coverage = len(words & have) / len(words) if words else 0.0
        names = _names(question)
        missing = sorted(n for n in names if not (set(tokens(n)) & have))
        score = 0.75 * similarity + 0.25 * coverage - NAME_PENALTY * min(len(missing), 2)
        return {
            "similarity": round(similarity, 4),
            "coverage": round(coverage, 4),
            "unknown_names": missing,
            "score": round(score, 4),
        }

    def sources(self, hits: list[Hit], extra: list[dict[str, Any]] | None = None) -> list[Source]:
        """Number the retrieved documents (chunks of one document merge into one source)."""
        out: dict[str, Source] = {}
        for hit in hits:
            c = hit.chunk
            src = out.get(c.doc_id)
            if src is None:
                out[c.doc_id] = Source(
                    n=len(out) + 1,
                    doc_id=c.doc_id,
                    kind=c.kind,
                    title=c.title,
                    text=c.body,
                    source_table=c.source_table,
                    source_version=int(c.source_version),
                    finding_id=c.finding_id,
                    score=round(hit.score, 5),
                    chunk_ids=[c.chunk_id],
                )
            else:
                src.text += "\n" + c.body
                src.chunk_ids.append(c.chunk_id)
        for item in extra or []:
            n = len(out) + 1
            out[f"extra:{n}"] = Source(
                n=n,
                doc_id=str(item.get("doc_id", f"query:{n}")),
                kind=str(item.get("kind", "query")),
                title=str(item["title"]),
                text=str(item["text"]),
                source_table=str(item.get("source_table", "")),
                source_version=int(item.get("source_version", -1)),
                sql=item.get("sql"),
            )
        sources = list(out.values())
        for src in sources:  # findings: the whole document, so caveats/confounders are always at hand
            if src.kind == "finding" and src.finding_id:
                full = self.store.doc_chunks(src.doc_id)
                if full:
                    src.text = "\n".join(c.body for c in full)
        return sources

    def prepare(
        self,
        question: str,
        *,
        k: int = 5,
        kinds: list[str] | None = None,
        mode: Mode = "hybrid",
        extra: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Everything a backend needs: numbered sources, the extractive answer, the caveat and the LLM prompt."""
        question = _check(question, k)
        started = time.perf_counter()
        found = search(self.store, question, k=k, kinds=kinds, mode=mode, embedder=self.embedder)
        hits = found.hits
        conf = self.confidence(question, hits, found.vector)
        evidence = conf["score"] >= self.min_confidence
        sources = self.sources(hits if evidence else [], extra)
        causal = is_causal(question)
        if causal:  # "why"/"cause" questions are answered from findings first (stats, confounders, caveats)
            sources.sort(key=lambda s: (s.kind != "finding" or not s.finding_id, s.n))
            for i, src in enumerate(sources, start=1):
                src.n = i
        no_sources = NO_EVIDENCE if hits and not evidence else NO_ANSWER
        composed = self.answerer.compose(question, sources, causal=causal, no_sources=no_sources)
        return {
            "question": question,
            "causal": causal,
            "sources": sources,
            **composed,  # extractive, caveat, messages
            "evidence": bool(sources),
            "confidence": conf,
            "retrieval_ms": round((time.perf_counter() - started) * 1000, 2),
        }

    # ---------------------------------------------------------------------------------- answer
    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        backend: str = "extractive",
        kinds: list[str] | None = None,
        mode: Mode = "hybrid",
        endpoint: ChatEndpoint | None = None,
        extra: list[dict[str, Any]] | None = None,
    ) -> Answer:
        started = time.perf_counter()
        check_backend(backend)
        prep = self.prepare(question, k=k, kinds=kinds, mode=mode, extra=extra)
        if backend == "extractive" or not prep["sources"]:
            text = prep["extractive"]
        else:
            text = sanitize(self.answerer.complete(prep["messages"], backend, endpoint))
        return finish(prep, text, backend, started)

    def add_document(self, name: str, text: str | bytes, *, uploaded_by: str = "cli") -> dict[str, Any]:
        """Store a user document and index it right away (only the user kind is re-checked)."""
        from jobs.index.job import add_user_document, run_index

        doc = add_user_document(self.lake, name=name, text=text, uploaded_by=uploaded_by)
        summary = run_index(self.lake, store=self.store, kinds=["user"], embedder=self.embedder)
        return {"doc_id": doc.doc_id, "title": doc.title, "content_hash": doc.content_hash, "index": summary}

    def stats(self) -> dict[str, Any]:
        return {"store": self.store.uri, "collection": self.store.collection, "chunks": self.store.count()}

    def close(self) -> None:
        self.store.close()


def finish(prep: dict[str, Any], text: str, backend: str, started: float) -> Answer:
    """Attach citations and the causal caveat; flag numbers that appear in no cited source."""
    sources: list[Source] = prep["sources"]
    unverified = ungrounded_numbers(text, [s.text for s in sources])
    return Answer(
        question=prep["question"],
        answer=text,
        citations=[s.citation() for s in sources],
        causal=prep["causal"],
        caveat=prep["caveat"],
        backend=backend,
        grounded=not unverified,
        unverified_numbers=unverified,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        evidence=bool(prep.get("evidence", True)),
        confidence=(prep.get("confidence") or {}).get("score"),
    )


_NAME = re.compile(r"(?<![\w.])([A-Z][A-Za-z]+(?:\s+[A-Z][A-Za-z]+)*)")
_NOT_NAMES = {
    "what",
    "which",
    "who",
    "how",
    "why",
    "when",
    "where",
    "is",
    "are",
    "does",
    "do",
    "did",
    "can",
    "i",
    "tell",
    "show",
    "list",
    "give",
    "explain",
    "the",
    "a",
    "an",
}


def _names(question: str) -> list[str]:
    """Capitalised names in the question (Tokyo, Mona Lisa, Apple), not its first word or question words: a
    name that none of the retrieved sources mentions says the lake is not about the question."""
    out = []
    for m in _NAME.finditer(question):
        words = [w for w in m.group(1).split() if w.lower() not in _NOT_NAMES]
        if m.start() == 0 and words and words[0] == m.group(1).split()[0]:
            words = words[1:]
        if words:
            out.append(" ".join(words))
    return out


def _check(question: str, k: int) -> str:
    question = (question or "").strip()
    if len(question) < 2:
        raise BadQuestionError("the question is empty", hint="ask something, e.g. 'what does gold.kpis hold?'")
    if len(question) > MAX_QUESTION:
        raise BadQuestionError(f"the question is longer than {MAX_QUESTION} characters", hint="shorten it")
    if not 1 <= k <= 50:
        raise BadQuestionError(f"k must be between 1 and 50, got {k}")
    return question


__all__ = ["RagEngine", "finish"]
