"""Ingest job: fan every built-in connector out over Ray (cluster-wide rate limits), then silver and gold.

The package imports nothing heavy at load (the connectors, the lake, Arrow are imported where used): the
rate-limiter actors import ``jobs.ingest.limiter``, and with it this package, in their own processes.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from jobs.ingest.errors import IngestConfigError, PartitionFailedError

if TYPE_CHECKING:
    from jobs.ingest.plan import Partition
    from lakehouse import Lakehouse

log = logging.getLogger(__name__)
Progress = Callable[[dict[str, Any], int, int], None]


def _sources(config: dict[str, Any]) -> list[str]:
    from jobs.ingest.plan import DEFAULT_SOURCES, SOURCES

    wanted = config.get("sources") or "all"
    names = (
        list(DEFAULT_SOURCES)
        if wanted == "all"
        else [s.strip() for s in ([wanted] if isinstance(wanted, str) else wanted)]
    )
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
def _replay(config: dict[str, Any], sources: list[str], *, local: bool = False) -> Iterator[tuple[dict[str, str], Any]]:
    """Start the offline replay server when ``replay`` is set; yields ({source: base_url}, server or None)."""
    if not config.get("replay"):
        yield dict(config.get("base_urls") or {}), None
        return
    from connectors.replay import FaultPlan, ReplayServer
    from covary.settings import get_settings

    faults = FaultPlan(**config["faults"]) if config.get("faults") else None
    conn = get_settings().connectors  # workers on other hosts need a bound interface they can reach
    with ReplayServer(
        sources,
        faults=faults,
        host=conn.replay_host,
        advertise_host=conn.replay_advertise_host,
        latency_s=float(config.get("latency_s") or 0.0),
    ) as server:
        if not local:
            _check_replay_reachable(server.url)
        yield {s: server.base_url(s) for s in sources}, server


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
    ``base_urls``, ``faults`` (replay fault plan), ``latency_s`` (replay: delay per answer), ``chaos`` (test
    hook), ``on_progress`` (a callable, in-process only), ``executor``: ``actors`` (default: worker actors, one
    per CPU, serving the sources round-robin),
    ``tasks`` (a Ray task per partition) or ``local`` (every partition in this process, one after another,
    with in-process rate limits: the sequential peer of the benchmark; no Ray needed).
    """
    from jobs.ingest.config import IngestConfig

    config = IngestConfig.checked(config)  # an unknown key or a bad value fails here, before any work
    from covary.settings import get_settings
    from jobs.ingest import plan
    from jobs.ingest.plan import MAX_IN_FLIGHT, child_partitions, first_stage, rate_of
    from jobs.ingest.tasks import PartitionJob
    from lakehouse import BatchKey, Lakehouse

    executor = str(config.get("executor") or "actors")
    if executor not in EXECUTORS:
        raise IngestConfigError(f"unknown executor {executor!r}", hint=f"one of: {', '.join(EXECUTORS)}")
    settings = get_settings()
    lake = Lakehouse.from_settings(settings)
    sources = _sources(config)
    run_key = config.get("run_key") or (resume_key(lake) if config.get("resume") else None)
    run_key = run_key or f"ingest-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    rates: dict[str, int] = {}
    with _replay(config, sources, local=executor == "local") as (base_urls, server):
        specs = {s: plan.source_spec(s, replay_url=base_urls.get(s) if config.get("replay") else None) for s in sources}
        pool = _LocalPool() if executor == "local" else _RayPool(sources, specs, actors=executor == "actors")
        namespace = pool.namespace
        ledger = _RunLedger(lake, run_key)
        queues: dict[str, list[Partition]] = {s: ledger.plan(first_stage(s, config)) for s in sources}
        stage_children: dict[str, dict[str, list[str]]] = {s: defaultdict(list) for s in sources}
        in_flight: dict[Any, Partition] = {}
        per_source: dict[str, int] = defaultdict(int)
        cap_total = int(config.get("max_in_flight") or pool.default_in_flight())
        total = sum(len(q) for q in queues.values())
        progress = _progress(config)

        def submit() -> None:
            for source in sources:
                queue = queues[source]
                while queue and per_source[source] < MAX_IN_FLIGHT.get(source, 2) and len(in_flight) < cap_total:
                    part = queue.pop(0)
                    job = PartitionJob(
                        run_key,
                        part,
                        specs[source],
                        lake.root,
                        base_urls.get(source),
                        namespace,
                        config.get("chaos"),
                        local=executor == "local",
                        events=ledger.events(part),
                    )
                    in_flight[pool.submit(job)] = part
                    per_source[source] += 1

        submit()
        try:
            while in_flight:
                ref = pool.wait(list(in_flight), timeout=ledger.flush_in())
                if ref is None:
                    ledger.flush()
                    continue
                part = in_flight.pop(ref)
                per_source[part.source] -= 1
                try:
                    result = pool.result(ref)
                except Exception as exc:  # the task failed after its retries; report it, keep the rest going
                    failures.append({"id": part.id, "error": _short(exc)})
                    result = None
                if result is not None:
                    results.append(result)
                    ledger.done(part, result)
                    limit = ((config.get("options") or {}).get(part.source) or {}).get("max_children")
                    for endpoint, keys in result["children"].items():
                        stage_children[part.source][endpoint] += keys
                        if limit:
                            kept = stage_children[part.source][endpoint][: int(limit)]
                            stage_children[part.source][endpoint] = kept
                if not queues[part.source] and not any(p.source == part.source for p in in_flight.values()):
                    children = child_partitions(part.source, stage_children[part.source], part.stage + 1)
                    stage_children[part.source] = defaultdict(list)
                    queues[part.source] = ledger.plan(children)
                    total += len(children)
                progress(result or {"id": part.id, "failed": True}, len(results) + len(failures), total)
                submit()
            limits = pool.limits()
        finally:  # what finished is recorded even when the driver stops early (a resume skips it)
            pool.close()
            ledger.flush()
        if server is not None:
            rates = {s: server.max_request_rate(s) for s in sources}
    if failures:
        raise PartitionFailedError(
            f"{len(failures)} partition(s) failed: " + "; ".join(f"{f['id']}: {f['error']}" for f in failures[:5]),
            hint=f'fix the cause and resume: covary job run ingest --config-json \'{{"run_key": "{run_key}"}}\'',
        )
    final = finalize(lake, run_key, sources)
    lake.write("ops.ingest_partitions", [_run_done(run_key)], mode="append", batch=BatchKey(f"ingest/{run_key}/*"))
    out = summarize(lake, run_key, sources, results, final, limits, time.perf_counter() - started)
    for source, rate in rates.items():  # what the replay server saw: the cluster-wide limit in action
        out["sources"][source]["max_requests_per_s"] = rate
        out["sources"][source]["limit_per_s"] = rate_of(specs[source])[0]
    out["executor"] = executor
    return out


EXECUTORS = ("actors", "tasks", "local")


class _RayPool:
    """Partitions on Ray: long-lived worker actors (``actors``) or a task per partition.

    Each source is served by one long-lived worker actor; sources share workers round-robin, as many
    workers as the cluster has CPUs (at least 2, at most one per source), each running its sources'
    partitions in threads (``max_concurrency`` = the sum of their caps in flight). A worker process
    costs seconds to start on a small machine; partitions mostly wait on HTTP and commits.
    """

    def __init__(self, sources: list[str], specs: dict[str, dict[str, Any]], *, actors: bool) -> None:
        import ray

        from jobs.ingest.limiter import limiter_actor
        from jobs.ingest.plan import MAX_IN_FLIGHT, rate_of
        from jobs.ingest.tasks import PartitionWorker

        self.namespace = ray.get_runtime_context().namespace
        self.limiters = {s: limiter_actor(s, *rate_of(specs[s]), namespace=self.namespace) for s in sources}
        ray.get([a.stats.remote() for a in self.limiters.values()])  # registered by name before workers look
        self.workers: dict[str, Any] = {}
        if actors:
            cpus = int(ray.cluster_resources().get("CPU", 2))
            groups: list[list[str]] = [[] for _ in range(min(len(sources), max(2, cpus)))]
            for i, s in enumerate(sources):
                groups[i % len(groups)].append(s)
            for group in groups:
                worker = PartitionWorker.options(  # type: ignore[attr-defined]
                    max_concurrency=sum(max(1, MAX_IN_FLIGHT.get(s, 2)) for s in group), scheduling_strategy="SPREAD"
                ).remote("+".join(group))
                self.workers |= dict.fromkeys(group, worker)

    def default_in_flight(self) -> int:
        import ray

        cpus = int(ray.cluster_resources().get("CPU", 2))
        # worker actors hold no CPU: partitions mostly wait on HTTP and commits, so more of them overlap
        return max(4, cpus * 4) if self.workers else max(2, cpus * 2)

    def submit(self, job: Any) -> Any:
        from jobs.ingest.tasks import ingest_partition

        worker = self.workers.get(job.part.source)
        return worker.run.remote(job) if worker is not None else ingest_partition.remote(job)

    def wait(self, refs: list[Any], *, timeout: float | None) -> Any:
        import ray

        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        return ready[0] if ready else None

    def result(self, ref: Any) -> dict[str, Any]:
        import ray

        return dict(ray.get(ref))

    def limits(self) -> dict[str, Any]:
        import ray

        return {s: ray.get(a.stats.remote()) for s, a in self.limiters.items()}

    def close(self) -> None:
        import ray

        for worker in {id(w): w for w in self.workers.values()}.values():
            ray.kill(worker, no_restart=True)
        self.workers.clear()


class _LocalPool:
    """Every partition in this process, one after another (the sequential peer; in-process rate limits)."""

    namespace = None

    def __init__(self) -> None:
        self.done: dict[int, tuple[dict[str, Any] | None, BaseException | None]] = {}
        self.n = 0

    def default_in_flight(self) -> int:
        return 1

    def submit(self, job: Any) -> int:
        from jobs.ingest.tasks import run_partition_job

        self.n += 1
        try:
            self.done[self.n] = (run_partition_job(job), None)
        except Exception as exc:  # reported like a failed Ray task
            self.done[self.n] = (None, exc)
        return self.n

    def wait(self, refs: list[int], *, timeout: float | None) -> int:
        return refs[0]

    def result(self, ref: int) -> dict[str, Any]:
        result, exc = self.done.pop(ref)
        if exc is not None:
            raise exc
        assert result is not None
        return result

    def limits(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


class _RunLedger:
    """The run's ``ops.ingest_partitions`` events, read once and written in batches by the driver.

    Before a stage is submitted, every partition of it that has no 'started' event gets one (the bronze
    run it owns: the partition's last completed run + 1) in one commit; 'done' events of finished
    partitions are committed together every ``FLUSH_S`` seconds and when the run stops. A partition whose
    'done' was not flushed yet (the driver died) is re-run on resume: its bronze run is complete, so the
    task only re-reads it, and its silver batches are skipped by their keys. Tasks touch no ledger.
    """

    FLUSH_S = 2.0

    def __init__(self, lake: Lakehouse, run_key: str) -> None:
        import pyarrow.compute as pc

        from jobs.ingest.tasks import LEDGER

        self.lake, self.run_key = lake, run_key
        self.by_partition: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        if lake.exists(LEDGER):
            for row in lake.read(LEDGER, filter=pc.field("run_key") == run_key).to_pylist():
                self.by_partition[row["partition_id"]][row["event"]] = row
        self.pending: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()

    def events(self, part: Partition) -> dict[str, dict[str, Any]]:
        return dict(self.by_partition.get(part.id) or {})

    def plan(self, parts: list[Partition]) -> list[Partition]:
        """Record 'started' (with the bronze run number) for the partitions of a stage that lack it."""
        from connectors.core.state import all_states, canonical
        from jobs.ingest.tasks import LEDGER, PartitionJob, ledger_batch, ledger_row

        fresh = [p for p in parts if "started" not in self.by_partition.get(p.id, {})]
        if not fresh:
            return parts
        states = {
            (r["source"], r["endpoint"], r["partition"]): int(r["run_seq"])
            for source in sorted({p.source for p in fresh})
            for r in all_states(self.lake, source)
        }
        rows = []
        for p in fresh:
            run_seq = states.get((p.source, p.endpoint, canonical(p.partition)), 0) + 1
            job = PartitionJob(self.run_key, p, {}, self.lake.root)
            rows.append(ledger_row(job, "started", run_seq=run_seq))
        self.lake.write(LEDGER, rows, mode="append", batch=ledger_batch(self.run_key, rows))
        for row in rows:
            self.by_partition[row["partition_id"]]["started"] = row
        return parts

    def done(self, part: Partition, result: dict[str, Any]) -> None:
        from jobs.ingest.tasks import PartitionJob, ledger_row

        if result.get("skipped") or "done" in self.by_partition.get(part.id, {}):
            return
        job = PartitionJob(self.run_key, part, {}, self.lake.root)
        row = ledger_row(
            job, "done", run_seq=result.get("run_seq"), records=result["records"], silver_rows=result["silver_rows"]
        )
        self.by_partition[part.id]["done"] = row
        self.pending.append(row)

    def flush_in(self) -> float | None:
        """Seconds until the pending 'done' events are due (None: nothing pending)."""
        if not self.pending:
            return None
        return max(0.0, self.FLUSH_S - (time.monotonic() - self.last_flush))

    def flush(self) -> None:
        from jobs.ingest.tasks import LEDGER, ledger_batch

        self.last_flush = time.monotonic()
        if not self.pending:
            return
        rows, self.pending = self.pending, []
        self.lake.write(LEDGER, rows, mode="append", batch=ledger_batch(self.run_key, rows))


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
    """Cross-partition silver (each connector's finalize steps, e.g. pokémon joined with species; ISRC links),
    then every gold series."""
    from connectors.core.registry import get_connector
    from jobs.ingest.gold import write_gold
    from jobs.ingest.silver import isrc_links, silver_batches, to_silver
    from lakehouse import BatchKey

    out: dict[str, Any] = {"silver_rows": {}}
    with lake.load("ingest.finalize") as load:
        for source in sources:
            steps = get_connector(source).plan.finalize
            if not steps:
                continue
            latest = _latest_bronze(lake, source)
            for endpoint, step in sorted(steps.items()):
                records, ctx = step(latest)
                rows, rejected = to_silver(source, endpoint, records, ctx)
                written = 0
                for table, items in sorted(silver_batches(rows, rejected, lineage=f"{source}/{endpoint}").items()):
                    if items.num_rows:
                        batch = BatchKey(f"ingest/{run_key}/finalize/{source}/{endpoint}/{table}")
                        load.write(table, items, batch=batch)
                        written += items.num_rows
                if rejected.items:
                    batch = BatchKey(f"ingest/{run_key}/q/finalize/{source}/{endpoint}")
                    load.quarantine(rejected.items, entity=f"silver:{endpoint}", batch=batch)
                out["silver_rows"][source] = out["silver_rows"].get(source, 0) + written
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


def _latest_bronze(lake: Lakehouse, source: str) -> Callable[[str], list[dict[str, Any]]]:
    """``latest(endpoint)`` for a finalize step: the last landed record per record key (read once each)."""
    import orjson
    import pyarrow.compute as pc

    cache: dict[str, list[dict[str, Any]]] = {}

    def latest(endpoint: str) -> list[dict[str, Any]]:
        if endpoint not in cache:
            if not lake.exists("bronze.api_records"):
                return []
            expr = (pc.field("source") == source) & (pc.field("endpoint") == endpoint)
            table = lake.read("bronze.api_records", filter=expr, columns=["record_key", "record"])
            by_key: dict[Any, str] = {}
            for i, (key, record) in enumerate(zip(*table.to_pydict().values(), strict=True)):
                by_key[key if key is not None else ("row", i)] = record
            cache[endpoint] = [orjson.loads(r) for r in by_key.values()]
        return cache[endpoint]

    return latest


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
    for source, rows in final.get("silver_rows", {}).items():  # silver built in finalize (joins of endpoints)
        per[source]["silver_rows"] += int(rows)
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
