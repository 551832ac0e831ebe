"""Demo step: with ``covary demo --serve``, start the Serve app (``covary serve up``) and print the explorer URL."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def _covary(*args: str, timeout: float = 300) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "covary", *args, "--json"], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        from jobs.report.errors import ReportError

        raise ReportError(
            f"`covary {' '.join(args)}` failed: {(proc.stderr or proc.stdout).strip()[-400:]}",
            hint="see `covary serve status` and COVARY_HOME/serve/serve.log",
        )
    return dict(json.loads(proc.stdout))


def run(lake: Any, config: dict[str, Any]) -> dict[str, Any]:
    if not config.get("serve"):
        return {"lines": ["explorer: run `covary demo --serve` (or `covary serve up`) and open http://127.0.0.1:8000/"]}
    status = subprocess.run(
        [sys.executable, "-m", "covary", "serve", "status", "--json"], capture_output=True, text=True, check=False
    )
    url = json.loads(status.stdout).get("url") if status.returncode == 0 and status.stdout.strip() else None
    if not url:
        url = _covary("serve", "up")["url"]
    key = _covary("serve", "keys", "create", "--role", "viewer", "--name", "demo explorer")
    return {
        "lines": [
            f"explorer: {url}/  (log in with the viewer token below; API docs at {url}/docs)",
            f"viewer token (shown once): {key['token']}",
            "stop the service with `covary serve down`",
        ]
    }


__all__ = ["run"]
