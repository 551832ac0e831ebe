"""PokeAPI pokemon joined with their species -> silver.pokemon."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.connector import parse_records as _parse
from connectors.pokeapi import models as poke


def pokeapi(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    """``pokemon`` records joined with their ``species`` (context: species by id, from the same partition)."""
    species: dict[int, poke.PokemonSpecies] = {
        s.id: s for s in _parse(poke.PokemonSpecies, ctx.get("species", []), rej, "pokeapi/species")
    }
    rows = []
    for p in _parse(poke.Pokemon, records, rej, "pokeapi/pokemon"):
        sp = species.get(poke.id_from_url(p.species.url))
        stats = {s.stat.name: s.base_stat for s in p.stats}
        types = [t.type.name for t in sorted(p.types, key=lambda t: t.slot)]
        rows.append(
            {
                "pokemon_id": p.id,
                "name": p.name,
                "types": types,
                "primary_type": types[0] if types else None,
                "generation": sp.generation.name if sp else None,
                "habitat": sp.habitat.name if sp and sp.habitat else None,
                "height_m": p.height / 10,
                "weight_kg": p.weight / 10,
                "base_experience": p.base_experience,
                "hp": stats.get("hp"),
                "attack": stats.get("attack"),
                "defense": stats.get("defense"),
                "speed": stats.get("speed"),
                "is_legendary": bool(sp and (sp.is_legendary or sp.is_mythical)),
                "evolves_from": sp.evolves_from_species.name if sp and sp.evolves_from_species else None,
            }
        )
    return {"silver.pokemon": rows}


TRANSFORMS: dict[str, Transform] = {
    "pokemon": pokeapi,
}

__all__ = ["TRANSFORMS", "pokeapi"]
