"""Build the built-in connectors' replay fixtures from public datasets (``python -m jobs.ingest.recording``).

Each connector's recorder lives in ``connectors/<name>/recording.py`` (shared helpers in
``connectors/replay/recording.py``); this entry point runs them and writes ``connectors/<name>/fixtures/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from connectors.fred.recording import build_fred
from connectors.github.recording import build_github
from connectors.musicbrainz.recording import build_musicbrainz
from connectors.notion.recording import build_notion
from connectors.pokeapi.recording import build_pokeapi
from connectors.replay.recording import REPO_ROOT, write_fixtures
from connectors.spotify.recording import build_spotify
from connectors.tmdb.recording import build_tmdb
from connectors.weather.recording import build_weather

BUILDERS = {
    "github": ("vega", build_github),
    "tmdb": ("vega", build_tmdb),
    "weather": ("vega", build_weather),
    "pokeapi": ("pkmn", build_pokeapi),
    "musicbrainz": ("none", build_musicbrainz),
    "spotify": ("none", build_spotify),
    "fred": ("vega", build_fred),
    "notion": ("none", build_notion),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.ingest.recording", description=__doc__)
    parser.add_argument(
        "--vega",
        type=Path,
        default=Path("/tmp/vega/package/data"),
        help="vega-datasets data/ folder (npm pack vega-datasets)",
    )
    parser.add_argument(
        "--pkmn",
        type=Path,
        default=Path("/tmp/pkmn/gen1.json"),
        help="generation-I species exported from @pkmn/dex (see connectors/fixtures-README.md)",
    )
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args(argv)
    for name, (needs, build) in BUILDERS.items():
        if args.only and name not in args.only:
            continue
        source = {"vega": args.vega, "pkmn": args.pkmn, "none": Path()}[needs]
        routes, meta = build(source)
        out, files, size = write_fixtures(name, routes, meta=meta)
        print(f"{name}: {len(routes)} routes, {files} files -> {out.relative_to(REPO_ROOT)} ({size // 1024} KiB)")


if __name__ == "__main__":
    main()
