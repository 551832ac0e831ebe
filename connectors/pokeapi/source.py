"""PokeAPI source: the pokémon list, then pokémon, species, types, habitats and generations by id."""

from __future__ import annotations

from typing import Any

import connectors.tmdb.client  # noqa: F401  (registers the id_list paginator)
from connectors.core.connector import Latest, Partition, SourcePlan
from connectors.pokeapi.models import Generation, Habitat, NamedResource, Pokemon, PokemonSpecies, Type

REPLAY_AUTH = None  # PokeAPI needs no key
DETAILS = {
    "pokemon": Pokemon,
    "pokemon-species": PokemonSpecies,
    "type": Type,
    "pokemon-habitat": Habitat,
    "generation": Generation,
}


def build_source() -> dict[str, Any]:
    """The declarative spec. Detail endpoints take ``{"id": "bulbasaur,ivysaur"}`` partitions (names or ids,
    one request each); ``pokemon`` also runs as a child of ``pokemon_list`` (one run per name)."""
    details = [
        {
            "name": kind.replace("pokemon-", "").replace("-", "_"),
            "path": f"/api/v2/{kind}/{{id}}",
            "paginator": {"type": "id_list"},
            "records": "$",
            "primary_key": "id",
            "model": model,
        }
        for kind, model in DETAILS.items()
    ]
    details[0]["parent"] = {"endpoint": "pokemon_list", "fields": {"id": "name"}}
    return {
        "name": "pokeapi",
        "description": "PokeAPI v2: pokémon with their species, types, habitats and generations.",
        "base_url": "https://pokeapi.co",
        "rate_limit": {"requests_per_second": 20, "burst": 20},  # fair use; PokeAPI asks clients to cache
        "endpoints": [
            {
                "name": "pokemon_list",
                "path": "/api/v2/pokemon",
                "paginator": {"type": "offset", "limit": 20, "total_path": "count"},
                "records": "results",
                "primary_key": "name",
                "model": NamedResource,
            },
            *details,
        ],
    }


def _id_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def first_stage(opts: dict[str, Any], config: dict[str, Any]) -> list[Partition]:
    """The pokémon list; details, species, types, habitats and generations are planned from it."""
    return [Partition("pokeapi", "pokemon_list", {})]


def children(endpoint: str, records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Child keys of the list, pokémon and species endpoints."""
    if endpoint == "pokemon_list":
        names = [str(r["name"]) for r in records]
        return {"pokemon": names, "species": names}
    if endpoint == "pokemon":
        return {"type": [_id_of(t["type"]["url"]) for r in records for t in r.get("types", [])]}
    if endpoint == "species":
        habitats = [_id_of(r["habitat"]["url"]) for r in records if r.get("habitat")]
        return {"habitat": habitats, "generation": [_id_of(r["generation"]["url"]) for r in records]}
    return {}


def join_species(latest: Latest) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """silver.pokemon joins every landed pokémon with its species: the species are the mapping's context."""
    return latest("pokemon"), {"species": latest("species")}


PLAN = SourcePlan(
    defaults={},
    first=first_stage,
    children=children,
    parent_endpoints=frozenset({"pokemon_list", "pokemon", "species"}),
    replay_auth=REPLAY_AUTH,
    finalize={"pokemon": join_species},  # silver joins pokemon with species once both landed
)


__all__ = ["DETAILS", "PLAN", "REPLAY_AUTH", "build_source", "children", "first_stage", "join_species"]
