"""Cold `covary query` in a fresh process on a copy of a demo lake, against a peer in the same run.

Measures, each as the median of ``--repeat`` fresh processes (wall seconds and the child's CPU seconds,
which a busy machine inflates less):

- ``cold_cli_s``: ``covary query QUESTION`` right after ``covary demo`` (its last step writes the profile cache);
- ``cold_no_cache_s``: the same with the profile cache deleted (every table profiled straight from Delta);
- ``cold_one_table_changed_s``: after one new version of one table (only that table is profiled again);
- ``peer_duckdb_s``: a fresh process that imports deltalake + duckdb and runs the same SQL the CLI compiled
  over the same Delta table (no question understanding, no guard, no load visibility, no audit row);
- ``python_startup_s``: ``python -c pass``, the floor.

Usage: ``python bench/query_cold.py [--home /work/demo-home] [--repeat 3] [--question "..."]``
(about 1 minute on an idle 2-core machine). The home is copied to a temp dir; it is never written.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TARGET_S = 3.0

PEER = """
import sys, time
t0 = time.perf_counter()
import duckdb
from deltalake import DeltaTable
uri, table, sql = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
layer, short = table.split(".", 1)
con.execute(f'CREATE SCHEMA "{layer}"')
con.register("__t", DeltaTable(uri).to_pyarrow_table())  # a dataset scan pushes filters into string_view files
con.execute(f'CREATE VIEW "{layer}"."{short}" AS SELECT * FROM __t')
print(con.execute(sql).fetchall())
"""


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, child CPU s, stdout) of one fresh process; a failure stops the bench with its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def _median(samples: list[tuple[float, float]]) -> dict[str, float]:
    return {
        "wall_s": round(statistics.median(s[0] for s in samples), 3),
        "cpu_s": round(statistics.median(s[1] for s in samples), 3),
    }


def _change_one_table(env: dict[str, str], table: str) -> None:
    """One new version of ``table``: its first row again with a new value in a string merge-key column."""
    code = f"""
import pyarrow as pa
from lakehouse import Lakehouse, get_spec
lake = Lakehouse.from_settings()
spec = get_spec({table!r})
rows = lake.read({table!r}).slice(0, 1)
keys = [k for k in spec.keys if pa.types.is_string(rows.schema.field(k).type)] or [
    f.name for f in rows.schema if pa.types.is_string(f.type)]
key = keys[0]
new = pa.array(["bench-" + str(id(rows))], rows.schema.field(key).type)
rows = rows.set_column(rows.schema.get_field_index(key), key, new)
with lake.load("bench.query_cold") as load:
    load.write({table!r}, rows)
"""
    _run([PY, "-c", code], env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default=os.environ.get("COVARY_HOME", "/work/demo-home"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--question", default="total spend on Meta ads in 2024")
    args = ap.parse_args()
    src = Path(args.home)
    if not (src / "lake").is_dir():
        raise SystemExit(f"no lake under {src}: run `covary demo` first (or pass --home)")
    work = Path(tempfile.mkdtemp(prefix="covary-query-cold-"))
    try:
        home = work / "home"
        shutil.copytree(src / "lake", home / "lake")
        env = os.environ | {"COVARY_HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        env.pop("COVARY_URL", None)
        cache = home / "cache" / "query-profile"
        query = [PY, "-m", "covary", "query", args.question, "--json"]
        startup = [_run([PY, "-c", "pass"], env)[:2] for _ in range(args.repeat)]

        no_cache: list[tuple[float, float]] = []
        for _ in range(args.repeat):
            shutil.rmtree(cache, ignore_errors=True)
            no_cache.append(_run(query, env)[:2])
        shutil.rmtree(cache, ignore_errors=True)  # what `covary demo` leaves: the demo step writes the cache
        demo_step = (
            "from lakehouse import Lakehouse; from serve.query.service import demo_step as s; "
            "s(Lakehouse.from_settings(), {})"
        )
        _run([PY, "-c", demo_step], env)  # the last step of `covary demo` (without starting Ray for it)
        with_cache: list[tuple[float, float]] = []
        out: dict[str, Any] = {}
        for _ in range(args.repeat):
            wall, cpu, stdout = _run(query, env)
            with_cache.append((wall, cpu))
            out = json.loads(stdout)
        table = (out.get("tables") or [None])[0]
        changed: list[tuple[float, float]] = []
        if table:
            for _ in range(args.repeat):
                _change_one_table(env, table)
                changed.append(_run(query, env)[:2])
        peer: list[tuple[float, float]] = []
        if table:
            layer, short = table.split(".", 1)  # the lake's layout: <root>/<layer>/<table>
            uri = str(home / "lake" / layer / short)
            peer = [_run([PY, "-c", PEER, uri, table, out["sql"]], env)[:2] for _ in range(args.repeat)]
        cold = _median(with_cache)
        result = {
            "bench": "query_cold",
            "question": args.question,
            "sql": out.get("sql"),
            "answer_rows": out.get("rows"),
            "repeat": args.repeat,
            "cold_cli_s": cold["wall_s"],
            "cold_cli": cold,
            "cold_no_cache": _median(no_cache),
            "cold_one_table_changed": _median(changed) if changed else None,
            "peer_duckdb_deltalake": _median(peer) if peer else None,
            "python_startup": _median(startup),
            "target_cold_cli_s": TARGET_S,
            "meets_target": cold["wall_s"] <= TARGET_S,
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
