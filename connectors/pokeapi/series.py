"""PokeAPI has no time series (pokémon are entities, not events): no gold families."""

from __future__ import annotations

from connectors.core.connector import Family, SeriesBuilder

FAMILIES: tuple[Family, ...] = ()
BUILDERS: tuple[SeriesBuilder, ...] = ()

__all__ = ["BUILDERS", "FAMILIES"]
