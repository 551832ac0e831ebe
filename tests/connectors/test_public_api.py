"""The public API other engineers build on stays stable (like httpx's test pinning ``__all__``)."""

from __future__ import annotations

from connectors import core, files, replay


def test_public_names_are_pinned() -> None:
    assert {
        "SourceSpec",
        "parse_spec",
        "load_spec",
        "run_endpoint",
        "run_source",
        "run_partition",
        "RunOptions",
        "HttpClient",
        "RateLimiter",
        "TokenBucket",
        "FakeClock",
        "Auth",
        "register_auth",
        "Paginator",
        "PageRequest",
        "register_paginator",
        "register_source",
        "get_source",
        "list_sources",
    } <= set(core.__all__)
    assert {"upload_file", "read_upload", "read_profile", "parse_bytes"} <= set(files.__all__)
    assert {"ReplayServer", "FaultPlan", "fixture_dirs"} <= set(replay.__all__)
    for module in (core, files, replay):
        for name in module.__all__:
            assert hasattr(module, name), name
