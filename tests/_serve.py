"""Start Ray Serve for a test fixture on a port of its own."""

from __future__ import annotations


def start_fresh_serve(port: int) -> None:
    """``serve.start`` on ``port``, first shutting down a Serve instance another fixture left running.

    ``serve.start`` on a cluster that already runs Serve keeps the old HTTP options, so the new port would be
    silently ignored and every request to it refused."""
    from ray import serve
    from ray.serve.context import _get_global_client

    if _get_global_client(raise_if_no_controller_running=False) is not None:
        serve.shutdown()
    serve.start(http_options={"host": "127.0.0.1", "port": port})


def stop_serve() -> None:
    """``serve.shutdown`` if a Serve instance is still running (another fixture may have stopped it)."""
    from ray import serve
    from ray.serve.context import _get_global_client

    if _get_global_client(raise_if_no_controller_running=False) is not None:
        serve.shutdown()
