"""Ingest benchmark: the same replayed 200k-record paged API into bronze Delta by covary and by dlt (rest_api)."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _serve(directory: str, port: int) -> None:
    from connectors.replay import ReplayServer

    ReplayServer({"bench": Path(directory)}, port=port).start()
    while True:
        time.sleep(3600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("replay server did not start")


def run_covary(base: str, lake_dir: Path, page_size: int) -> dict[str, Any]:
    from connectors.core import parse_spec, run_endpoint
    from lakehouse import Lakehouse

    spec = parse_spec(
        {
            "name": "bench",
            "base_url": base,
            "endpoints": [
                {
                    "name": "items",
                    "path": "/items",
                    "records": "results",
                    "primary_key": "id",
                    "paginator": {"type": "page_number", "size_param": "per_page", "size": page_size},
                    "fields": {"id": "int", "name": "str", "value": "float", "category": "str", "updated_at": "str"},
                }
            ],
        }
    )
    lake = Lakehouse(lake_dir)
    t0 = time.perf_counter()
    summary = run_endpoint(lake, spec, "items")
    elapsed = time.perf_counter() - t0
    landed = lake.read("bronze.api_records", columns=["record_key"]).num_rows
    return {
        "seconds": round(elapsed, 3),
        "records": landed,
        "pages": summary.pages,
        "records_per_s": round(landed / elapsed, 1),
    }


def run_dlt(base: str, out_dir: Path, page_size: int) -> dict[str, Any]:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    source = rest_api_source(
        {
            "client": {
                "base_url": base,
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "base_page": 1,
                    "total_path": None,
                    "stop_after_empty_page": True,
                },
            },
            "resources": [
                {
                    "name": "items",
                    "primary_key": "id",
                    "write_disposition": "append",
                    "endpoint": {"path": "items", "params": {"per_page": page_size}, "data_selector": "results"},
                }
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench_ingest",
        destination=dlt.destinations.filesystem(bucket_url=str(out_dir / "lake")),
        dataset_name="bronze",
        pipelines_dir=str(out_dir / "pipelines"),
    )
    t0 = time.perf_counter()
    pipeline.run(source, table_format="delta")
    elapsed = time.perf_counter() - t0
    from deltalake import DeltaTable

    landed = DeltaTable(str(out_dir / "lake" / "bronze" / "items")).to_pyarrow_dataset().count_rows()
    return {"seconds": round(elapsed, 3), "records": landed, "records_per_s": round(landed / elapsed, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="covary-bench-ingest-"))
    fixtures = work / "fixtures"
    fixtures.mkdir()
    (fixtures / "manifest.yaml").write_text(
        yaml.safe_dump(
            {
                "routes": [
                    {
                        "path": "/items",
                        "faults": False,
                        "generate": {
                            "count": args.records,
                            "template": {
                                "name": "item {n}",
                                "value": 1.5,
                                "category": "c{n}",
                                "updated_at": "2024-01-01T00:00:{n}",
                            },
                        },
                        "paginate": {
                            "style": "page_number",
                            "page_size": args.page_size,
                            "size_param": "per_page",
                            "envelope": "results",
                        },
                    }
                ]
            }
        )
    )
    port = _free_port()
    ctx = mp.get_context("spawn")
    server = ctx.Process(target=_serve, args=(str(fixtures), port), daemon=True)
    server.start()
    try:
        _wait(port)
        base = f"http://127.0.0.1:{port}/bench"
        import dlt
        from dlt.sources.rest_api import rest_api_source  # noqa: F401

        import connectors.core  # imports outside the timed regions, for both peers

        del connectors, dlt
        covary = run_covary(base, work / "covary-lake", args.page_size)
        dlt_result = run_dlt(base, work / "dlt", args.page_size)
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "records": args.records,
                "page_size": args.page_size,
                "covary": covary,
                "dlt": dlt_result,
                "ratio_covary_over_dlt": round(covary["records_per_s"] / dlt_result["records_per_s"], 2),
                "goal": ">= 1.5",
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
