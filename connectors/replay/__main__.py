"""``python -m connectors.replay [--port N] [--fault-rate R --seed S] [--latency-ms MS] [CONNECTOR ...]``.

Serve fixtures until Ctrl-C.
"""

from __future__ import annotations

import argparse
import time

from connectors.replay.faults import FaultPlan
from connectors.replay.manifest import fixture_dirs
from connectors.replay.server import ReplayServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.replay", description=__doc__)
    parser.add_argument("connectors", nargs="*", help=f"default: all ({', '.join(sorted(fixture_dirs()))})")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--drift-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every answer (a remote round trip)")
    args = parser.parse_args(argv)
    plan = FaultPlan(rate=args.fault_rate, drift_rate=args.drift_rate, seed=args.seed)
    latency_s = args.latency_ms / 1000
    server = ReplayServer(args.connectors or None, faults=plan, port=args.port, latency_s=latency_s).start()
    for name in sorted(server.mounts):
        print(f"{name}: {server.base_url(name)}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
