"""Pydantic models of the PokeAPI v2 payloads: pokemon, species, type, habitat, generation."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class NamedResource(_Payload):
    name: str
    url: str


class ResourceList(_Payload):
    """``GET /api/v2/{endpoint}?limit&offset``: ``count``, ``next``/``previous`` URLs, ``results``."""

    count: int
    next: str | None = None
    previous: str | None = None
    results: list[NamedResource]


class PokemonType(_Payload):
    slot: int
    type: NamedResource


class PokemonStat(_Payload):
    base_stat: int
    effort: int = 0
    stat: NamedResource


class Pokemon(_Payload):
    """``GET /api/v2/pokemon/{id}``."""

    id: int
    name: str
    base_experience: int | None = None
    height: int  # decimetres
    weight: int  # hectograms
    order: int | None = None
    is_default: bool = True
    species: NamedResource
    types: list[PokemonType]
    stats: list[PokemonStat] = Field(default_factory=list)


class PokemonSpecies(_Payload):
    """``GET /api/v2/pokemon-species/{id}``."""

    id: int
    name: str
    order: int | None = None
    capture_rate: int | None = None
    base_happiness: int | None = None
    is_legendary: bool = False
    is_mythical: bool = False
    color: NamedResource | None = None
    habitat: NamedResource | None = None
    generation: NamedResource
    evolves_from_species: NamedResource | None = None


class TypePokemon(_Payload):
    slot: int
    pokemon: NamedResource


class Type(_Payload):
    """``GET /api/v2/type/{id}``."""

    id: int
    name: str
    generation: NamedResource | None = None
    pokemon: list[TypePokemon] = Field(default_factory=list)


class Habitat(_Payload):
    """``GET /api/v2/pokemon-habitat/{id}``."""

    id: int
    name: str
    pokemon_species: list[NamedResource] = Field(default_factory=list)


class Generation(_Payload):
    """``GET /api/v2/generation/{id}``."""

    id: int
    name: str
    main_region: NamedResource
    pokemon_species: list[NamedResource] = Field(default_factory=list)
    types: list[NamedResource] = Field(default_factory=list)


def id_from_url(url: str) -> int:
    """The numeric id at the end of a PokeAPI resource URL (``.../pokemon/25/`` -> 25)."""
    return int(url.rstrip("/").rsplit("/", 1)[-1])


__all__ = [
    "Generation",
    "Habitat",
    "NamedResource",
    "Pokemon",
    "PokemonSpecies",
    "ResourceList",
    "Type",
    "id_from_url",
]
