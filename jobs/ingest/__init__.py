"""Ingest job: fan every built-in connector out over Ray (cluster-wide rate limits), then silver and gold."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow.compute as pc

from jobs.ingest.errors import IngestConfigError, PartitionFailedError
from jobs.ingest.plan import MAX_IN_FLIGHT, SOURCES, Partition, child_partitions, first_stage, rate_of, source_spec
from lakehouse import BatchKey, Lakehouse

log = logging.getLogger(__name__)
Progress = Callable[[dict[str, Any], int, int], None]


def _sources(config: dict[str, Any]) -> list[str]:
    wanted = config.get("sources") or "all"
    names = list(SOURCES) if wanted == "all" else [s.strip() for s in ([wanted] if isinstance(wanted, str) else wanted)]
    unknown = [s for s in names if s not in SOURCES]
    if unknown:
        raise IngestConfigError(f"unknown source(s) {', '.join(unknown)}", hint=f"built-in: {', '.join(SOURCES)}")
    return names


def resume_key(lake: Lakehouse) -> str | None:
    """The latest ingest run that has no 'run done' marker (a crashed or failed run), if any."""
    if not lake.exists("ops.ingest_partitions"):
        return None
    rows = lake.read("ops.ingest_partitions", columns=["run_key", "partition_id", "at"]).to_pylist()
    done = {r["run_key"] for r in rows if r["partition_id"] == "*"}
    open_runs = sorted((r["at"], r["run_key"]) for r in rows if r["run_key"] not in done)
    return open_runs[-1][1] if open_runs else None


@contextlib.contextmanager
def _replay(config: dict[str, Any], sources: list[str]) -> Iterator[dict[str, str]]:
    """Start the offline replay server when ``replay`` is set; yields {source: base_url}."""
    if not config.get("replay"):
        yield dict(config.get("base_urls") or {})
        return
    from connectors.replay import FaultPlan, ReplayServer
    from covary.settings import get_settings

    faults = FaultPlan(**config["faults"]) if config.get("faults") else None
    conn = get_settings().connectors  # workers on other hosts need a bound interface they can reach
    with ReplayServer(
        sources, faults=faults, host=conn.replay_host, advertise_host=conn.replay_advertise_host
    ) as server:
        _check_replay_reachable(server.url)
        yield {s: server.base_url(s) for s in sources}


def _check_replay_reachable(url: str) -> None:
    """A loopback replay server is unreachable from Ray nodes on other hosts: refuse instead of failing there."""
    from urllib.parse import urlparse

    import ray

    host = urlparse(url).hostname or ""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        return
    here = ray.util.get_node_ip_address()
    others = sorted({n["NodeManagerAddress"] for n in ray.nodes() if n.get("Alive")} - {here})
    if others:
        raise IngestConfigError(
            f"the replay server listens on {host} but Ray nodes on other hosts ({', '.join(others[:3])}) "
            "would have to reach it",
            hint="set COVARY_CONNECTORS__REPLAY_HOST=0.0.0.0 (and COVARY_CONNECTORS__REPLAY_ADVERTISE_HOST to a "
            "name the workers resolve)",
        )


def main(config: dict[str, Any]) -> dict[str, Any]:
    """Run the ingest job (Ray is initialised by the runtime). Config keys:

    ``sources`` ("all" or a list), ``replay`` (serve the bundled recordings), ``options`` ({source: {...}}
    overriding plan defaults), ``run_key`` / ``resume`` (continue a crashed run), ``max_in_flight``,
    ``base_urls``, ``faults`` (replay fault plan), ``chaos`` (test hook), ``progress`` (bool).
    """
    import ray

    from covary.settings import get_settings
    from jobs.ingest.limiter import limiter_actor
    from jobs.ingest.tasks import PartitionJob, ingest_partition

    settings = get_settings()
    lake = Lakehouse.from_settings(settings)
    sources = _sources(config)
    run_key = config.get("run_key") or (resume_key(lake) if config.get("resume") else None)
    run_key = run_key or f"ingest-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    namespace = ray.get_runtime_context().namespace
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    with _replay(config, sources) as base_urls:
        specs = {s: source_spec(s, replay_url=base_urls.get(s) if config.get("replay") else None) for s in sources}
        actors = [limiter_actor(s, *rate_of(specs[s]), namespace=namespace) for s in sources]
        ray.get([a.stats.remote() for a in actors])  # registered by name before any worker looks them up
        queues: dict[str, list[Partition]] = {s: first_stage(s, config) for s in sources}
        stage_children: dict[str, dict[str, list[str]]] = {s: defaultdict(list) for s in sources}
        in_flight: dict[Any, Partition] = {}
        per_source: dict[str, int] = defaultdict(int)
        cap_total = int(config.get("max_in_flight") or max(2, int(ray.cluster_resources().get("CPU", 2)) * 2))
        total = sum(len(q) for q in queues.values())
        progress = _progress(config)

        def submit() -> None:
            for source in sources:
                queue = queues[source]
                while queue and per_source[source] < MAX_IN_FLIGHT.get(source, 2) and len(in_flight) < cap_total:
                    part = queue.pop(0)
                    job = PartitionJob(
                        run_key, part, specs[source], lake.root, base_urls.get(source), namespace, config.get("chaos")
                    )
                    in_flight[ingest_partition.remote(job)] = part
                    per_source[source] += 1

        submit()
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            ref = ready[0]
            part = in_flight.pop(ref)
            per_source[part.source] -= 1
            try:
                result = ray.get(ref)
            except Exception as exc:  # the task failed after its retries; report it, keep the rest going
                failures.append({"id": part.id, "error": _short(exc)})
                result = None
            if result is not None:
                results.append(result)
                limit = ((config.get("options") or {}).get(part.source) or {}).get("max_children")
                for endpoint, keys in result["children"].items():
                    stage_children[part.source][endpoint] += keys
                    if limit:
                        stage_children[part.source][endpoint] = stage_children[part.source][endpoint][: int(limit)]
            if not queues[part.source] and not any(p.source == part.source for p in in_flight.values()):
                children = child_partitions(part.source, stage_children[part.source], part.stage + 1)
                stage_children[part.source] = defaultdict(list)
                queues[part.source] = children
                total += len(children)
            progress(result or {"id": part.id, "failed": True}, len(results) + len(failures), total)
            submit()
        limits = {s: ray.get(a.stats.remote()) for s, a in zip(sources, actors, strict=True)}
    if failures:
        raise PartitionFailedError(
            f"{len(failures)} partition(s) failed: " + "; ".join(f"{f['id']}: {f['error']}" for f in failures[:5]),
            hint=f'fix the cause and resume: covary job run ingest --config-json \'{{"run_key": "{run_key}"}}\'',
        )
    final = finalize(lake, run_key, sources)
    lake.write("ops.ingest_partitions", [_run_done(run_key)], mode="append", batch=BatchKey(f"ingest/{run_key}/*"))
    return summarize(lake, run_key, sources, results, final, limits, time.perf_counter() - started)


def _short(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    return f"{type(cause).__name__}: {str(cause).splitlines()[0][:300] if str(cause) else ''}"


def _run_done(run_key: str) -> dict[str, Any]:
    import os
    from datetime import UTC, datetime

    return {
        "run_key": run_key,
        "partition_id": "*",
        "event": "done",
        "source": "*",
        "endpoint": None,
        "run_seq": None,
        "records": None,
        "silver_rows": None,
        "pid": os.getpid(),
        "at": datetime.now(UTC),
    }


def _progress(config: dict[str, Any]) -> Progress:
    def report(result: dict[str, Any], done: int, total: int) -> None:
        state = "FAILED" if result.get("failed") else ("skipped" if result.get("skipped") else "ok")
        log.info("[%d/%d] %s %s records=%s", done, total, result["id"], state, result.get("records", 0))

    return config.get("on_progress") or report


def finalize(lake: Lakehouse, run_key: str, sources: list[str]) -> dict[str, Any]:
    """Cross-partition silver (pokémon joined with species, ISRC links), then every gold series."""
    import orjson

    from jobs.ingest.gold import write_gold
    from jobs.ingest.silver import isrc_links, silver_batches, to_silver

    out: dict[str, Any] = {}
    with lake.load("ingest.finalize") as load:
        if "pokeapi" in sources and lake.exists("bronze.api_records"):
            expr = (pc.field("source") == "pokeapi") & pc.field("endpoint").isin(["pokemon", "species"])
            table = lake.read("bronze.api_records", filter=expr, columns=["endpoint", "record_key", "record"])
            latest: dict[tuple[str, str], dict[str, Any]] = {}
            for row in table.to_pylist():
                latest[(row["endpoint"], row["record_key"])] = orjson.loads(row["record"])
            pokemon = [r for (ep, _), r in latest.items() if ep == "pokemon"]
            species = [r for (ep, _), r in latest.items() if ep == "species"]
            rows, rejected = to_silver("pokeapi", "pokemon", pokemon, {"species": species})
            items = silver_batches(rows, rejected, lineage="pokeapi/pokemon+species")["silver.pokemon"]
            if items.num_rows:
                load.write("silver.pokemon", items, batch=BatchKey(f"ingest/{run_key}/finalize/pokemon"))
            if rejected.items:
                load.quarantine(rejected.items, entity="silver:pokemon", batch=BatchKey(f"ingest/{run_key}/q/poke"))
            out["pokemon"] = items.num_rows
        if (
            {"spotify", "musicbrainz"} <= set(sources)
            and lake.exists("silver.spotify_tracks")
            and lake.exists("silver.music_recordings")
        ):
            tracks = lake.read("silver.spotify_tracks", columns=["track_id", "isrc"]).to_pylist()
            recordings = lake.read("silver.music_recordings", columns=["recording_id", "isrc", "isrcs"]).to_pylist()
            links = [r | {"lineage": "isrc"} for r in isrc_links(tracks, recordings)]
            if links:
                load.write("silver.entity_links", links, batch=BatchKey(f"ingest/{run_key}/finalize/links"))
            out["isrc_links"] = len(links)
    out["gold"] = write_gold(lake, sources=set(sources))
    return out


def summarize(
    lake: Lakehouse,
    run_key: str,
    sources: list[str],
    results: list[dict[str, Any]],
    final: dict[str, Any],
    limits: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    per: dict[str, dict[str, Any]] = {
        s: {
            "partitions": 0,
            "skipped": 0,
            "records": 0,
            "silver_rows": 0,
            "requests": 0,
            "retries": 0,
            "quarantined": 0,
        }
        for s in sources
    }
    for r in results:
        p = per[r["source"]]
        p["partitions"] += 1
        p["skipped"] += int(bool(r.get("skipped")))
        for k in ("records", "silver_rows", "requests", "retries", "quarantined"):
            p[k] += int(r.get(k) or 0)
    if "pokeapi" in per:  # pokémon silver is built in finalize (it joins pokemon with species)
        per["pokeapi"]["silver_rows"] += int(final.get("pokemon", 0))
    catalog = (
        lake.read("gold.series_catalog", columns=["series_id", "source"]).to_pylist()
        if lake.exists("gold.series_catalog")
        else []
    )
    for s in sources:
        per[s]["series"] = sum(1 for c in catalog if c["source"] == s)
        per[s]["rate_limit_wait_slots"] = limits.get(s, {}).get("granted", 0)
    lines = [
        f"{s:<12} partitions={v['partitions']:<3} bronze={v['records']:<6} silver={v['silver_rows']:<6} "
        f"series={v['series']:<3} requests={v['requests']}"
        for s, v in per.items()
    ]
    lines.append(
        f"isrc links={final.get('isrc_links', 0)}  gold series={final['gold']['series']} "
        f"values={final['gold']['values']}  run_key={run_key}"
    )
    return {"run_key": run_key, "seconds": round(seconds, 2), "sources": per, "finalize": final, "lines": lines}


__all__ = ["finalize", "main", "resume_key", "summarize"]
