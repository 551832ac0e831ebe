"""TMDB against the replay server: the detail endpoint fans out one request per discovered id."""

from __future__ import annotations

from typing import Any

from connectors.core import RunOptions, run_endpoint
from connectors.replay import ReplayServer

DISCOVER_2010 = {"primary_release_date.gte": "2010-01-01", "primary_release_date.lte": "2010-12-31"}


def test_tmdb_details_fan_out_one_request_per_id(lake: Any, replay: ReplayServer, spec_for: Any) -> None:
    spec = spec_for("tmdb", rate_limit={})
    options = RunOptions(base_url=replay.base_url("tmdb"))
    discover = run_endpoint(lake, spec, "discover", partition=DISCOVER_2010, options=options)
    import orjson
    import pyarrow.compute as pc

    ids = [
        orjson.loads(r)["id"]
        for r in lake.read("bronze.api_records", filter=pc.field("endpoint") == "discover").column("record").to_pylist()
    ]
    details = run_endpoint(lake, spec, "movie", partition={"movie_id": ",".join(map(str, ids))}, options=options)
    assert discover.rows == len(ids) == details.rows == details.requests
    assert not [r for r in replay.requests if "#" in r[1] or "," in r[1]]  # the API saw plain /3/movie/<id>
