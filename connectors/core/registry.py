"""The built-in connectors the ingest job runs: one line per connector, bound by direct imports.

Import this module (not ``connectors.core``) to get them: it imports every connector package, and
connector packages import ``connectors.core``. Adding a connector = one folder + one lakehouse table
family + one line below (see ``connectors/FRAMEWORK.md``).
"""

from __future__ import annotations

from connectors.core.connector import Connector
from connectors.errors import SourceNotFoundError
from connectors.fred import series as fred_series
from connectors.fred import silver as fred_silver
from connectors.fred import source as fred_source
from connectors.github import series as github_series
from connectors.github import silver as github_silver
from connectors.github import source as github_source
from connectors.musicbrainz import series as musicbrainz_series
from connectors.musicbrainz import silver as musicbrainz_silver
from connectors.musicbrainz import source as musicbrainz_source
from connectors.notion import series as notion_series
from connectors.notion import silver as notion_silver
from connectors.notion import source as notion_source
from connectors.pokeapi import series as pokeapi_series
from connectors.pokeapi import silver as pokeapi_silver
from connectors.pokeapi import source as pokeapi_source
from connectors.spotify import series as spotify_series
from connectors.spotify import silver as spotify_silver
from connectors.spotify import source as spotify_source
from connectors.tmdb import series as tmdb_series
from connectors.tmdb import silver as tmdb_silver
from connectors.tmdb import source as tmdb_source
from connectors.weather import series as weather_series
from connectors.weather import silver as weather_silver
from connectors.weather import source as weather_source
from connectors.worldbank import series as worldbank_series
from connectors.worldbank import silver as worldbank_silver
from connectors.worldbank import source as worldbank_source

CONNECTORS: dict[str, Connector] = {
    c.name: c
    for c in (
        Connector(
            "github",
            github_source.build_source,
            github_source.PLAN,
            github_silver.TRANSFORMS,
            github_series.FAMILIES,
            github_series.BUILDERS,
        ),
        Connector(
            "tmdb",
            tmdb_source.build_source,
            tmdb_source.PLAN,
            tmdb_silver.TRANSFORMS,
            tmdb_series.FAMILIES,
            tmdb_series.BUILDERS,
        ),
        Connector(
            "weather",
            weather_source.build_source,
            weather_source.PLAN,
            weather_silver.TRANSFORMS,
            weather_series.FAMILIES,
            weather_series.BUILDERS,
        ),
        Connector(
            "pokeapi",
            pokeapi_source.build_source,
            pokeapi_source.PLAN,
            pokeapi_silver.TRANSFORMS,
            pokeapi_series.FAMILIES,
            pokeapi_series.BUILDERS,
        ),
        Connector(
            "musicbrainz",
            musicbrainz_source.build_source,
            musicbrainz_source.PLAN,
            musicbrainz_silver.TRANSFORMS,
            musicbrainz_series.FAMILIES,
            musicbrainz_series.BUILDERS,
        ),
        Connector(
            "spotify",
            spotify_source.build_source,
            spotify_source.PLAN,
            spotify_silver.TRANSFORMS,
            spotify_series.FAMILIES,
            spotify_series.BUILDERS,
        ),
        Connector(
            "fred",
            fred_source.build_source,
            fred_source.PLAN,
            fred_silver.TRANSFORMS,
            fred_series.FAMILIES,
            fred_series.BUILDERS,
        ),
        Connector(
            "notion",
            notion_source.build_source,
            notion_source.PLAN,
            notion_silver.TRANSFORMS,
            notion_series.FAMILIES,
            notion_series.BUILDERS,
        ),
        Connector(
            "worldbank",
            worldbank_source.build_source,
            worldbank_source.PLAN,
            worldbank_silver.TRANSFORMS,
            worldbank_series.FAMILIES,
            worldbank_series.BUILDERS,
        ),
    )
}


def get_connector(name: str) -> Connector:
    """The built-in connector ``name`` (a :class:`SourceNotFoundError` naming the known ones otherwise)."""
    try:
        return CONNECTORS[name]
    except KeyError as exc:
        raise SourceNotFoundError(
            f"unknown built-in connector {name!r}", hint=f"built-in connectors: {', '.join(CONNECTORS)}"
        ) from exc


__all__ = ["CONNECTORS", "get_connector"]
