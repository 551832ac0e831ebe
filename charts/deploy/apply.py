"""``covary deploy apply``: server-side apply of the rendered objects, in dependency order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from charts.deploy.kube import KubeClient
from charts.deploy.render import KIND_ORDER


def apply_objects(
    client: KubeClient,
    objects: list[dict[str, Any]],
    *,
    namespace: str,
    dry_run: bool = False,
    on_applied: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Apply every object (stopping at the first refusal); return one summary row per object."""
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    ordered = sorted(objects, key=lambda o: order.get(o.get("kind", ""), len(order)))
    results = []
    for obj in ordered:
        answer = client.apply(obj, namespace=namespace, dry_run=dry_run)
        meta = answer.get("metadata", {})
        row = {
            "kind": obj["kind"],
            "name": obj["metadata"]["name"],
            "namespace": namespace,
            "resourceVersion": meta.get("resourceVersion"),
            "generation": meta.get("generation"),
            "dry_run": dry_run,
        }
        results.append(row)
        if on_applied:
            on_applied(row)
    return results


__all__ = ["apply_objects"]
