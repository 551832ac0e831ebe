"""``covary query "…"`` and ``covary sql "…"``: in-process over the local lakehouse, or over HTTP with --url."""

from __future__ import annotations

import getpass
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from covary.cli._common import EXIT_USAGE, emit_json, fail
from covary.settings import get_settings


def _http(url: str, token: str | None, path: str, body: dict[str, Any]) -> dict[str, Any]:
    if not token:
        raise fail("--url needs a token", hint="pass --token or set COVARY_TOKEN (`covary serve keys create`)")
    import httpx  # only for --url: a local question never loads it

    try:
        r = httpx.post(f"{url.rstrip('/')}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {url}: {exc}", hint="is `covary serve up` running?", code=1) from exc
    data = r.json() if r.headers.get("content-type", "").startswith("application/json") else {"error": r.text}
    if r.status_code >= 400:
        data = data if isinstance(data, dict) else {"error": data}
        data.setdefault("error", data.get("detail"))
        data["status"] = r.status_code
    return data


def _audit(route: str, text: str, status: int, rows: int | None, started: float, reason: str | None) -> None:
    """CLI use is audited like HTTP use (key id ``cli:<user>``)."""
    from lakehouse import Lakehouse
    from serve.guard.policy import query_hash

    at = datetime.now(UTC)
    row = {
        "request_id": uuid.uuid4().hex,
        "at": at,
        "day": at.date(),
        "key_id": f"cli:{getpass.getuser()}",
        "role": "local",
        "method": "CLI",
        "route": route,
        "status": status,
        "query_hash": query_hash(text),
        "rows": rows,
        "latency_ms": (time.perf_counter() - started) * 1000,
        "blocked_reason": reason,
        "error": None,
        "client": "cli",
    }
    import pyarrow as pa

    from lakehouse import get_spec

    table = pa.Table.from_pylist([row], schema=get_spec("ops.audit").schema)
    Lakehouse.from_settings().write("ops.audit", table, mode="append")


def _understood(data: dict[str, Any]) -> str:
    spans = data.get("understood") or []
    if not isinstance(spans, list):
        return ""
    return "; ".join(
        f"{s.get('span')} -> {s.get('role')}" for s in spans if isinstance(s, dict) and s.get("role") != "filler"
    )


def _render(data: dict[str, Any], console: Console) -> None:
    if data.get("explanation"):
        console.print(f"[bold]{data['explanation']}[/bold]")
    if _understood(data):
        console.print(f"[dim]understood: {_understood(data)}[/dim]")
    if data.get("intent", "sql") != "sql":
        answer = data.get("answer") or {}
        console.print(str(answer.get("answer") or answer))
        for key in ("caveat", "notes"):
            if answer.get(key):
                console.print(f"[dim]{answer[key]}[/dim]")
        return
    console.print(f"[dim]{data['sql']}[/dim]")
    out = Table(*data["columns"])
    for row in data["rows"][:50]:
        out.add_row(*[str(v) for v in row])
    console.print(out)
    more = " (truncated)" if data.get("truncated") else ""
    console.print(f"{data['row_count']} row(s){more}; chart: {(data.get('chart') or {}).get('type', '-')}")
    if data.get("note"):  # why an empty, NULL or zero answer is what it is (serve/query/no_data.py)
        console.print(f"[yellow]note: {data['note']}[/yellow]")


def _run(kind: str, text: str, *, url: str | None, token: str | None, max_rows: int | None, as_json: bool) -> None:
    from serve.guard.errors import BlockedQueryError
    from serve.query.errors import CannotAnswerError

    console = Console()
    started = time.perf_counter()
    if url:
        body: dict[str, Any] = {"question": text} if kind == "query" else {"sql": text}
        path = "/v1/query" if kind == "query" else "/v1/sql"
        if max_rows:
            body["max_rows"] = max_rows
        data = _http(url, token, path, body)
        if "status" in data:
            if as_json:
                emit_json(data)
                raise typer.Exit(EXIT_USAGE if data["status"] < 500 else 1)
            raise fail(str(data.get("error")), hint=data.get("hint"), code=EXIT_USAGE if data["status"] < 500 else 1)
    else:
        from lakehouse import Lakehouse
        from serve.query.service import EngineOptions, QueryService

        one_shot = kind == "query"
        service = QueryService(Lakehouse.from_settings(get_settings()), EngineOptions(refresh_s=0, one_shot=one_shot))
        try:
            data = service.ask(text, max_rows=max_rows) if kind == "query" else service.run_sql(text, max_rows=max_rows)
        except BlockedQueryError as exc:
            _audit(f"cli:{kind}", text, 400, None, started, exc.reason)
            if as_json:
                emit_json({"error": exc.message, "blocked": True, "reason": exc.reason, "hint": exc.hint})
                raise typer.Exit(EXIT_USAGE) from exc
            raise
        except CannotAnswerError as exc:
            _audit(f"cli:{kind}", text, 422, None, started, None)
            body = {"error": exc.message, "hint": exc.hint, "understood": exc.understood, "status": 422}
            if as_json:
                emit_json(body)
                raise typer.Exit(EXIT_USAGE) from exc
            said = _understood(exc.understood)
            raise fail(exc.message + (f" (understood: {said})" if said else ""), hint=exc.hint) from exc
        finally:
            service.close()
        _audit(f"cli:{kind}", text, 200, data.get("row_count", 0), started, None)
    if as_json:
        emit_json(data)
    else:
        _render(data, console)


def register(app: typer.Typer) -> None:
    @app.command("query")
    def query(
        question: str = typer.Argument(..., help="A question in plain language."),
        as_json: bool = typer.Option(False, "--json"),
        max_rows: int = typer.Option(None, help="Row cap."),
        url: str = typer.Option(None, envvar="COVARY_URL", help="Ask a running service instead of the local lake."),
        token: str = typer.Option(None, envvar="COVARY_TOKEN", help="API token for --url."),
    ) -> None:
        """Answer a question: SQL, rows, chart suggestion and a one-line explanation."""
        _run("query", question, url=url, token=token, max_rows=max_rows, as_json=as_json)

    @app.command("sql")
    def sql(
        statement: str = typer.Argument(..., help="One read-only SELECT (guarded; exit code 2 when blocked)."),
        as_json: bool = typer.Option(False, "--json"),
        max_rows: int = typer.Option(None, help="Row cap."),
        url: str = typer.Option(None, envvar="COVARY_URL", help="Send to a running service instead."),
        token: str = typer.Option(None, envvar="COVARY_TOKEN", help="API token for --url (analyst role)."),
    ) -> None:
        """Run guarded SQL over the lakehouse."""
        _run("sql", statement, url=url, token=token, max_rows=max_rows, as_json=as_json)
