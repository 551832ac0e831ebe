"""Benchmark `covary deploy render` (Helm v4 engine via helm-python-sdk) against Helm's own `helm create` chart."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import helm_python
import yaml

from charts.deploy import load_values, render
from charts.deploy.render import CHART_DIR

REPEATS = 5


def _median_s(fn) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    helm_python.disable_logging()
    result: dict[str, object] = {
        "engine": f"helm {helm_python.helm_sdk_version()} (helm-python-sdk)",
        "repeats": REPEATS,
    }
    per_file = {}
    for name in ("minimal", "gpu", "external-services", "production"):
        values = load_values([CHART_DIR / "ci" / f"{name}-values.yaml"])
        objects = len(render(values).objects)
        seconds = _median_s(lambda values=values: render(values))
        per_file[name] = {
            "objects": objects,
            "render_ms": round(seconds * 1000, 1),
            "ms_per_object": round(seconds * 1000 / objects, 2),
        }
    result["covary"] = per_file
    with tempfile.TemporaryDirectory() as tmp:
        peer = helm_python.Chart.create("peer", tmp)
        peer_objects = sum(
            1
            for t in peer.render({}, name="peer", namespace="p").values()
            for d in yaml.safe_load_all(t)
            if isinstance(d, dict)
        )
        peer_dir = Path(tmp) / "peer"
        # Same path as covary: load the chart from disk, then render (what `covary deploy render` does).
        peer_s = _median_s(lambda: helm_python.Chart.load(peer_dir).render({}, name="peer", namespace="p"))
        lint_peer_s = _median_s(lambda: helm_python.lint(Path(tmp) / "peer", {}))
    values = load_values([CHART_DIR / "ci" / "production-values.yaml"])
    with helm_python.Chart.load(CHART_DIR) as chart:
        engine_only_s = _median_s(lambda: chart.render(values, name="covary", namespace="covary"))
    result["covary_production_engine_only_ms"] = round(engine_only_s * 1000, 1)
    lint_s = _median_s(lambda: helm_python.lint(CHART_DIR, values, strict=True))
    result["peer_helm_create_chart"] = {
        "objects": peer_objects,
        "render_ms": round(peer_s * 1000, 1),
        "ms_per_object": round(peer_s * 1000 / peer_objects, 2),
        "lint_ms": round(lint_peer_s * 1000, 1),
    }
    prod = per_file["production"]
    result["ratios"] = {
        "production_render_vs_peer": round(prod["render_ms"] / (peer_s * 1000), 2),
        "production_ms_per_object_vs_peer": round(prod["ms_per_object"] / (peer_s * 1000 / peer_objects), 2),
        "production_lint_vs_peer": round(lint_s / lint_peer_s, 2),
    }
    result["covary_production_lint_ms"] = round(lint_s * 1000, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
