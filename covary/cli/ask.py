"""``covary ask "…"``: answers with citations from the RAG index; ``--add-doc`` adds Markdown/text documents."""

from __future__ import annotations

from pathlib import Path

import typer

from covary.cli._common import emit_json, fail


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask(
        question: str | None = typer.Argument(None, help="The question, in plain language."),
        add_doc: list[Path] = typer.Option([], "--add-doc", help="Add a Markdown/text document to the index first."),
        k: int = typer.Option(5, min=1, max=50, help="Passages to retrieve."),
        backend: str | None = typer.Option(None, help="extractive | openai | vllm (default settings.llm)."),
        kinds: str | None = typer.Option(None, help="Comma-separated document kinds (table,series,finding,...)."),
        mode: str = typer.Option("hybrid", help="hybrid | vector | keyword retrieval."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Answer a question from the indexed lakehouse documents, citing every source."""
        from covary.settings import get_settings
        from lakehouse import Lakehouse
        from serve.rag.engine import RagEngine

        if not question and not add_doc:
            raise fail("nothing to do", hint='ask a question: covary ask "what does gold.series_values hold?"')
        if mode not in ("hybrid", "vector", "keyword"):
            raise fail(f"unknown mode {mode!r}", hint="hybrid, vector or keyword")
        settings = get_settings()
        engine = RagEngine(Lakehouse.from_settings(settings))
        out: dict = {}
        try:
            added = []
            for path in add_doc:
                if not path.is_file():
                    raise fail(f"no such file {path}")
                added.append(engine.add_document(path.name, path.read_bytes(), uploaded_by="cli"))
            if added:
                out["added"] = added
            if question:
                answer = engine.ask(
                    question,
                    k=k,
                    backend=backend or settings.llm.answer_backend,
                    kinds=kinds.split(",") if kinds else None,
                    mode=mode,  # type: ignore[arg-type]
                )
                out |= answer.as_dict()
        finally:
            engine.close()
        if as_json:
            emit_json(out)
            return
        for doc in out.get("added", []):
            typer.echo(f"added {doc['doc_id']} ({doc['title']}): {doc['index']['chunks']} chunks embedded")
        if question:
            typer.echo(out["answer"])
            if out.get("caveat"):
                typer.echo("\n" + out["caveat"])
            if out["citations"]:
                typer.echo("\nSources:")
                for c in out["citations"]:
                    typer.echo(f"  {c['label']}")
            if out.get("unverified_numbers"):
                typer.echo(f"\nwarning: numbers not found in any cited source: {', '.join(out['unverified_numbers'])}")
