"""``covary demo``: the main job end to end on embedded defaults and bundled offline data."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import typer
from rich.console import Console
from rich.table import Table

_QUIET = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


@contextlib.contextmanager
def libraries_to_log(path: Path) -> Iterator[IO[str]]:
    """While the demo runs, everything libraries print (warnings, Ray worker output, log records) goes to
    ``path``; what covary prints goes to the real stdout (the yielded stream)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = sys.stdout
    with path.open("a", encoding="utf-8", buffering=1) as log_file:
        saved_streams = (sys.stdout, sys.stderr)
        moved: list[tuple[logging.StreamHandler[Any], Any]] = []
        for logger in [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]:
            for handler in getattr(logger, "handlers", []):
                # handlers that print to a terminal stream (Ray's, basicConfig's); files and in-memory captures stay
                stream = getattr(handler, "stream", None)
                if (
                    isinstance(handler, logging.StreamHandler)
                    and not isinstance(handler, logging.FileHandler)
                    and not isinstance(stream, io.StringIO)
                ):
                    if getattr(stream, "closed", False):  # a stream someone closed (a finished capture):
                        handler.stream = log_file  # setStream would flush it and raise; it is not restored
                        moved.append((handler, sys.__stderr__))
                        continue
                    old = handler.setStream(log_file)
                    if old is not None:
                        moved.append((handler, old))
        file_handler = logging.StreamHandler(log_file)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        # on the root logger: library records (and captured warnings, which propagate) reach the log file even
        # when the root already has other handlers (pytest's capture, an embedding application's)
        logging.getLogger().addHandler(file_handler)
        logging.captureWarnings(True)
        sys.stdout = sys.stderr = log_file
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")  # each distinct warning once, into the log
                yield out
        finally:
            sys.stdout, sys.stderr = saved_streams
            logging.captureWarnings(False)
            logging.getLogger().removeHandler(file_handler)
            for handler, stream in moved:
                handler.setStream(stream)
            # handlers created while the demo ran (Ray sets its own up on import) captured the log file as
            # their stream: point them back at the real stderr before the file closes
            for logger in [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]:
                for handler in getattr(logger, "handlers", []):
                    if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is log_file:
                        # the process's own stderr, not the caller's sys.stderr of the moment: that may be a
                        # temporary capture (a test's) that is closed long before these handlers are done
                        handler.setStream(sys.__stderr__)


def serve_explorer() -> dict[str, Any]:
    """``covary demo --serve``: the local query service (started unless it already answers) and a viewer key
    for the explorer page. Orchestration lives here, in the CLI; no job starts the service."""
    from covary.cli.serve import running_url, start_local
    from covary.settings import get_settings
    from serve.auth import KeyStore

    settings = get_settings()
    url = running_url() or start_local(settings.serve.host, settings.serve.port)["url"]
    key, token = KeyStore(settings.api_keys_path).create("viewer", name="demo explorer")
    return {
        "url": url,
        "key_id": key.key_id,
        "token": token,
        "lines": [
            f"explorer: {url}/  (log in with the viewer token below; API docs at {url}/docs)",
            f"viewer token (shown once): {token}",
            "stop the service with `covary serve down`",
        ],
    }


def register(app: typer.Typer) -> None:
    from covary.cli.demo_steps import step_names

    names = ", ".join(step_names())

    @app.command("demo")
    def demo(
        as_json: bool = typer.Option(False, "--json"),
        serve: bool = typer.Option(False, "--serve", help="Keep the Serve app up and print its URL."),
        steps: str | None = typer.Option(None, help=f"Comma-separated subset of the steps: {names}."),
    ) -> None:
        """Run every pipeline step on bundled offline data (local Ray, local Delta, sqlite MLflow)."""
        from covary.cli.demo_steps import run_demo, select_steps
        from covary.settings import get_settings

        wanted = [s.strip() for s in steps.split(",") if s.strip()] if steps else []
        select_steps(wanted)  # an unknown step fails now, listing the steps, before Ray starts
        for key, value in _QUIET.items():  # progress bars of libraries would drown the step summaries
            os.environ.setdefault(key, value)
        log_path = get_settings().home.resolve() / "logs" / "demo.log"
        config: dict = {"serve": serve, "steps": wanted}
        if as_json:
            with libraries_to_log(log_path) as out:
                result = run_demo(config)
                if serve:
                    result["explorer"] = serve_explorer()
            out.write(json.dumps(result, indent=2, default=str) + "\n")
            return

        with libraries_to_log(log_path) as out:
            console = Console(file=out, soft_wrap=True)

            def started(title: str) -> None:
                console.print(f"[bold]…[/bold] {title}", highlight=False)

            def done(title: str, summary: dict) -> None:
                console.print(f"[bold green]✓[/bold green] {title} ({summary.pop('seconds')} s)", highlight=False)
                for line in summary.pop("lines", []):
                    console.print(f"    {line}", highlight=False, markup=False)
                for k, v in summary.items():
                    console.print(f"    {k}: {v}", highlight=False, markup=False)

            result = run_demo(config, on_step_start=started, on_step_done=done)
            if serve:
                started("query service and explorer")
                began = time.perf_counter()
                explorer = serve_explorer()
                seconds = round(time.perf_counter() - began, 1)
                done("query service and explorer", {"seconds": seconds, "lines": explorer["lines"]})
        table = Table("table", "version", "rows", "files", title="lakehouse")
        for t in result["tables"]:
            table.add_row(t["table"], str(t["version"]), str(t["rows"]), str(t["files"]))
        console = Console(soft_wrap=True)
        console.print(table)
        console.print(f"COVARY_HOME: {result['home']}\nlake: {result['lake']}\nlibrary messages: {log_path}")
