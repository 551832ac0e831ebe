"""``covary ask "…"``: answers with citations from the RAG index (local, or a running service with ``--url``);
``--add-doc`` adds Markdown/text documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from covary.cli._common import EXIT_ERROR, emit_json, fail


def _http(url: str, token: str | None, path: str, **kwargs: Any) -> dict[str, Any]:
    """One call to a running service; errors become the CLI's one-line error + hint."""
    import httpx

    if not token:
        raise fail("--url needs a token", hint="pass --token or set COVARY_TOKEN (`covary serve keys create`)")
    target = f"{url.rstrip('/')}{path}"
    try:
        r = httpx.post(target, headers={"Authorization": f"Bearer {token}"}, timeout=120, **kwargs)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {target}: {exc}", hint="is `covary serve up` running?", code=EXIT_ERROR) from exc
    try:
        data = r.json()
    except ValueError:
        data = {"error": r.text.strip()[:300] or f"HTTP {r.status_code}"}
    if r.status_code >= 400:
        data = data if isinstance(data, dict) else {"error": str(data)}
        message = data.get("error") or data.get("detail") or f"HTTP {r.status_code}"
        raise fail(
            f"{target} answered {r.status_code}: {message}", hint=data.get("hint"), code=2 if r.status_code < 500 else 1
        )
    return data if isinstance(data, dict) else {"result": data}


def _local(
    question: str | None, add_doc: list[Path], *, k: int, backend: str | None, kinds: list[str] | None, mode: str
) -> dict[str, Any]:
    from covary.settings import get_settings
    from lakehouse import Lakehouse
    from serve.rag.engine import RagEngine

    settings = get_settings()
    engine = RagEngine(Lakehouse.from_settings(settings))
    out: dict[str, Any] = {}
    try:
        added = [engine.add_document(p.name, p.read_bytes(), uploaded_by="cli") for p in add_doc]
        if added:
            out["added"] = added
        if question:
            answer = engine.ask(
                question,
                k=k,
                backend=backend or settings.llm.answer_backend,
                kinds=kinds,
                mode=mode,  # type: ignore[arg-type]
            )
            out |= answer.as_dict()
    finally:
        engine.close()
    return out


def _remote(
    url: str,
    token: str | None,
    question: str | None,
    add_doc: list[Path],
    *,
    k: int,
    backend: str | None,
    kinds: list[str] | None,
    mode: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    added = []
    for path in add_doc:
        with path.open("rb") as fh:
            added.append(_http(url, token, "/v1/ask/documents", files={"file": (path.name, fh, "text/markdown")}))
    if added:
        out["added"] = added
    if question:
        body: dict[str, Any] = {"question": question, "k": k, "mode": mode, "kinds": kinds}
        if backend:
            body["backend"] = backend
        out |= _http(url, token, "/v1/ask", json=body)
    return out


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask(
        question: str | None = typer.Argument(None, help="The question, in plain language."),
        add_doc: list[Path] = typer.Option([], "--add-doc", help="Add a Markdown/text document to the index first."),
        k: int = typer.Option(5, min=1, max=50, help="Passages to retrieve."),
        backend: str | None = typer.Option(None, help="extractive | openai | vllm (default settings.llm)."),
        kinds: str | None = typer.Option(None, help="Comma-separated document kinds (table,series,finding,...)."),
        mode: str = typer.Option("hybrid", help="hybrid | vector | keyword retrieval."),
        url: str | None = typer.Option(
            None, envvar="COVARY_URL", help="Ask a running service instead of the local lake."
        ),
        token: str | None = typer.Option(
            None, envvar="COVARY_TOKEN", help="API token for --url (viewer; analyst to add documents)."
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Answer a question from the indexed lakehouse documents, citing every source."""
        if not question and not add_doc:
            raise fail("nothing to do", hint='ask a question: covary ask "what does gold.series_values hold?"')
        if mode not in ("hybrid", "vector", "keyword"):
            raise fail(f"unknown mode {mode!r}", hint="hybrid, vector or keyword")
        for path in add_doc:
            if not path.is_file():
                raise fail(f"no such file {path}", hint="--add-doc takes a Markdown or text file")
        kind_list = [s.strip() for s in kinds.split(",") if s.strip()] if kinds else None
        if url:
            out = _remote(url, token, question, add_doc, k=k, backend=backend, kinds=kind_list, mode=mode)
        else:
            out = _local(question, add_doc, k=k, backend=backend, kinds=kind_list, mode=mode)
        if as_json:
            emit_json(out)
            return
        for doc in out.get("added", []):
            chunks = (doc.get("index") or {}).get("chunks", "?")
            typer.echo(f"added {doc.get('doc_id')} ({doc.get('title')}): {chunks} chunks embedded")
        if question:
            typer.echo(out["answer"])
            if out.get("caveat"):
                typer.echo("\n" + out["caveat"])
            if out.get("citations"):
                typer.echo("\nSources:")
                for c in out["citations"]:
                    typer.echo(f"  {c['label']}")
            if out.get("unverified_numbers"):
                typer.echo(f"\nwarning: numbers not found in any cited source: {', '.join(out['unverified_numbers'])}")
