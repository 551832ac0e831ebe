"""The PokeAPI recording: the Kanto listing as the API spells it."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[3] / "connectors"


def test_pokemon_names_are_api_slugs() -> None:
    """PokeAPI names are lower-case URL slugs (``farfetchd``, ``mr-mime``, ``nidoran-f``)."""
    listing = orjson.loads(next((ROOT / "pokeapi" / "fixtures" / "records").glob("*.json")).read_bytes())
    names = [r["name"] for r in listing]
    assert len(names) == 151 and all(re.fullmatch(r"[a-z0-9-]+", n) for n in names), names
    assert {"farfetchd", "mr-mime", "nidoran-f"} <= set(names)
