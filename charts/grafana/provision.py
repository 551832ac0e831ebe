"""Push the dashboards to a Grafana server through grafana-client (folder + POST /api/dashboards/db)."""

from __future__ import annotations

from typing import Any

from charts.grafana.dashboards import models
from charts.grafana.errors import GrafanaAuthError, GrafanaRequestError, GrafanaUnavailableError


def _translate(exc: Exception, url: str) -> Exception:
    from grafana_client.client import (
        GrafanaClientError,
        GrafanaServerError,
        GrafanaTimeoutError,
        GrafanaUnauthorizedError,
    )

    if isinstance(exc, GrafanaUnauthorizedError) or getattr(exc, "status_code", None) == 403:
        return GrafanaAuthError(
            f"Grafana at {url} refused the token ({getattr(exc, 'status_code', 401)})",
            hint="use a service-account token with the Editor role (dashboards:write, folders:create)",
        )
    if isinstance(exc, GrafanaServerError | GrafanaTimeoutError):
        return GrafanaUnavailableError(f"Grafana at {url} failed: {exc}", hint="check the server and retry")
    if isinstance(exc, GrafanaClientError):
        return GrafanaRequestError(f"Grafana at {url} rejected the request: {exc}")
    return GrafanaUnavailableError(f"cannot reach Grafana at {url}: {exc}", hint="check --url and the network")


def provision(
    url: str,
    token: str,
    *,
    folder_uid: str = "covary",
    folder_title: str = "covary",
    timeout_s: float = 10.0,
) -> list[dict[str, Any]]:
    """Create the folder if missing and upsert every dashboard into it; return one summary per dashboard."""
    from grafana_client import GrafanaApi
    from grafana_client.client import GrafanaClientError, GrafanaException

    api = GrafanaApi.from_url(url, credential=token, timeout=timeout_s)
    try:
        try:
            api.folder.get_folder(folder_uid)
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
            api.folder.create_folder(folder_title, uid=folder_uid)
        results = []
        for model in models():
            answer = api.dashboard.update_dashboard(
                {"dashboard": model, "folderUid": folder_uid, "overwrite": True, "message": "covary grafana provision"}
            )
            results.append(
                {
                    "uid": answer.get("uid", model["uid"]),
                    "title": model["title"],
                    "status": answer.get("status"),
                    "version": answer.get("version"),
                    "url": url.rstrip("/") + str(answer.get("url", "")),
                }
            )
        return results
    except GrafanaException as exc:
        raise _translate(exc, url) from exc
    except OSError as exc:
        raise _translate(exc, url) from exc


__all__ = ["provision"]
