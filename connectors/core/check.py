"""``covary source check``: validate a spec, resolve credentials and fetch one page per endpoint, writing nothing."""

from __future__ import annotations

from typing import Any

from connectors.core.pagination import build_paginator
from connectors.core.runner import RunOptions, first_request, make_client
from connectors.core.selectors import select_records
from connectors.core.sources import get_source
from connectors.core.validation import RecordValidator
from covary.errors import CovaryError


def check_source(name: str, *, base_url: str | None = None, options: RunOptions | None = None) -> dict[str, Any]:
    """Per top-level endpoint: ok/error, records on the first page and how many validate."""
    spec = get_source(name)
    options = options or RunOptions(base_url=base_url)
    if base_url:
        options.base_url = base_url
    client = make_client(spec, options)
    client.fail_fast_connect = True  # a check reports a refused connection at once, not after retries
    results: list[dict[str, Any]] = []
    try:
        for ep in spec.ordered():
            if ep.parent is not None:
                results.append({"endpoint": ep.name, "status": "skipped", "detail": f"child of {ep.parent.endpoint}"})
                continue
            try:
                paginator = build_paginator(ep.paginator, where=f"endpoints.{ep.name}.paginator")
                start = ep.incremental.initial_value if ep.incremental else None
                request = paginator.first(first_request(ep, {}, start))
                response = client.request(
                    ep.method,
                    request.path,
                    params=request.params,
                    json=request.json,
                    headers=ep.headers,
                    context=ep.name,
                )
                records = select_records(response.data, ep.records) or []
                checked = RecordValidator(ep.record_model(), contract=ep.contract, primary_key=ep.primary_keys).check(
                    records
                )
                detail = "; ".join(r.reason for r in checked.rejected[:2])
                results.append(
                    {
                        "endpoint": ep.name,
                        "status": "ok",
                        "records": len(records),
                        "valid": len(checked.valid),
                        "invalid": len(checked.rejected),
                        "detail": detail,
                        "url": response.url,
                    }
                )
            except CovaryError as exc:
                results.append({"endpoint": ep.name, "status": "error", "detail": exc.message, "hint": exc.hint})
    finally:
        client.close()
    return {"source": spec.name, "ok": all(r["status"] != "error" for r in results), "endpoints": results}


__all__ = ["check_source"]
