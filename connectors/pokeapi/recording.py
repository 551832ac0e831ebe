"""Recorder of the PokeAPI fixture from the generation-I species of ``@pkmn/dex``."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from connectors.replay.recording import Route, records_route, response, responses_route

HABITATS = ["cave", "forest", "grassland", "mountain", "rare", "rough-terrain", "sea", "urban", "waters-edge"]
EGG_TO_HABITAT = {
    "Water 1": "waters-edge",
    "Water 2": "sea",
    "Water 3": "sea",
    "Bug": "forest",
    "Flying": "forest",
    "Field": "grassland",
    "Monster": "mountain",
    "Mineral": "rough-terrain",
    "Amorphous": "urban",
    "Human-Like": "urban",
    "Fairy": "grassland",
    "Grass": "grassland",
    "Dragon": "waters-edge",
    "Undiscovered": "rare",
    "Ditto": "urban",
}
PK = "/api/v2"


def build_pokeapi(pkmn: Path) -> tuple[list[Route], dict[str, Any]]:
    species = json.loads(pkmn.read_text())
    species.sort(key=lambda s: s["num"])
    detail_routes = {
        kind: responses_route(f"{PK}/{kind}/{{id}}")
        for kind in ("pokemon", "pokemon-species", "type", "pokemon-habitat", "generation")
    }

    def res(kind: str, name: str, ident: int) -> dict[str, str]:
        return {"name": name, "url": f"https://pokeapi.co{PK}/{kind}/{ident}/"}

    slugs = {
        s["num"]: s["name"]
        .lower()
        .replace(". ", "-")
        .replace("'", "")
        .replace("\u2019", "")
        .replace("♀", "-f")
        .replace("♂", "-m")
        for s in species
    }
    listing = records_route(
        f"{PK}/pokemon",
        [res("pokemon", slugs[s["num"]], s["num"]) for s in species],
        paginate={"style": "offset", "page_size": 20, "envelope": "results", "total_path": "count"},
    )
    type_names = sorted({t for s in species for t in s["types"]})
    type_ids = {t: i + 1 for i, t in enumerate(type_names)}
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_habitat: dict[str, list[dict[str, str]]] = defaultdict(list)
    stat_names = {
        "hp": "hp",
        "atk": "attack",
        "def": "defense",
        "spa": "special-attack",
        "spd": "special-defense",
        "spe": "speed",
    }
    for s in species:
        num, slug = s["num"], slugs[s["num"]]
        weight_hg = round(s["weightkg"] * 10)
        height_dm = max(1, round(3.2 * (s["weightkg"] ** (1 / 3))))  # synthetic: not in @pkmn/dex
        types = [{"slot": i + 1, "type": res("type", t.lower(), type_ids[t])} for i, t in enumerate(s["types"])]
        for i, t in enumerate(s["types"]):
            by_type[t].append({"slot": i + 1, "pokemon": res("pokemon", slug, num)})
        pokemon = {
            "id": num,
            "name": slug,
            "base_experience": sum(s["baseStats"].values()) // 3,
            "height": height_dm,
            "weight": weight_hg,
            "order": num,
            "is_default": True,
            "species": res("pokemon-species", slug, num),
            "types": types,
            "stats": [
                {"base_stat": v, "effort": 0, "stat": res("stat", stat_names[k], j + 1)}
                for j, (k, v) in enumerate(s["baseStats"].items())
            ],
        }
        response(detail_routes["pokemon"], pokemon, path={"id": slug})
        legendary = "Restricted Legendary" in s.get("tags", []) or "Sub-Legendary" in s.get("tags", [])
        habitat = (
            "rare"
            if legendary or "Mythical" in s.get("tags", [])
            else EGG_TO_HABITAT.get(s["eggGroups"][0], "grassland")
        )
        by_habitat[habitat].append(res("pokemon-species", slug, num))
        prevo = next((p for p in species if p["name"] == s.get("prevo")), None)
        response(
            detail_routes["pokemon-species"],
            {
                "id": num,
                "name": slug,
                "order": num,
                "capture_rate": 45,
                "base_happiness": 70,
                "is_legendary": legendary,
                "is_mythical": "Mythical" in s.get("tags", []),
                "color": None,
                "habitat": res("pokemon-habitat", habitat, HABITATS.index(habitat) + 1),
                "generation": res("generation", "generation-i", 1),
                "evolves_from_species": res("pokemon-species", slugs[prevo["num"]], prevo["num"]) if prevo else None,
            },
            path={"id": slug},
        )
    for t, ident in type_ids.items():
        body = {
            "id": ident,
            "name": t.lower(),
            "generation": res("generation", "generation-i", 1),
            "pokemon": by_type[t],
        }
        response(detail_routes["type"], body, path={"id": ident})
    for i, h in enumerate(HABITATS):
        response(
            detail_routes["pokemon-habitat"],
            {"id": i + 1, "name": h, "pokemon_species": by_habitat[h]},
            path={"id": i + 1},
        )
    gen = {
        "id": 1,
        "name": "generation-i",
        "main_region": res("region", "kanto", 1),
        "pokemon_species": [res("pokemon-species", slugs[s["num"]], s["num"]) for s in species],
        "types": [res("type", t.lower(), i) for t, i in type_ids.items()],
    }
    response(detail_routes["generation"], gen, path={"id": 1})
    meta = {
        "provenance": "@pkmn/dex 0.10.11 (npm, MIT): names, types, base stats, weights, egg groups, evolutions of "
        "the 151 generation-I species. Synthetic: heights (from weight), habitats (from egg group), "
        "capture_rate/base_happiness constants, base_experience.",
        "synthetic": False,
    }
    return [listing, *detail_routes.values()], meta
