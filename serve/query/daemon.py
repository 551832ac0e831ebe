"""Run the query app on a local Ray until SIGTERM (what `covary serve up` starts in the background)."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any

import yaml

APP_NAME = "query"


def load_args(config: str | None) -> dict[str, Any]:
    """``build_app`` args from a Serve config YAML (first app whose import path is ours) or a plain args YAML."""
    if not config:
        return {}
    data = yaml.safe_load(Path(config).read_text()) or {}
    for app in data.get("applications", []) or []:
        if str(app.get("import_path", "")).startswith("serve.query.app"):
            return dict(app.get("args") or {})
    return dict(data.get("args", data) or {})


def deploy(args: dict[str, Any], *, host: str, port: int, blocking: bool = False) -> None:
    """Start Serve's HTTP proxy on host:port and deploy the app as ``query`` at route prefix ``/``."""
    from ray import serve

    from serve.query.app import build_app

    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(args), name=APP_NAME, route_prefix="/", blocking=blocking)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--config", default=None, help="Serve config YAML or args YAML")
    parser.add_argument("--ready-file", default=None, help="Write {'url': ...} here once deployed")
    opts = parser.parse_args(argv)

    import ray

    from covary.settings import get_settings
    from jobs.runtime import ensure_ray

    settings = get_settings()
    host, port = opts.host or settings.serve.host, opts.port or settings.serve.port
    ensure_ray(settings)
    deploy(load_args(opts.config), host=host, port=port)
    if opts.ready_file:
        Path(opts.ready_file).write_text(json.dumps({"url": f"http://{host}:{port}"}))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    from ray import serve

    serve.shutdown()
    ray.shutdown()


if __name__ == "__main__":
    main()
