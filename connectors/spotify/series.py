"""Spotify gold series: tracks released per day."""

from __future__ import annotations

from connectors.core.connector import Family, SeriesBuilder, count_by

FAMILIES: tuple[Family, ...] = (
    Family(
        "spotify.tracks_released",
        "Spotify tracks released per day ({dim})",
        "tracks",
        "sum",
        "spotify",
        "silver.spotify_tracks",
        "music",
        count_by("silver.spotify_tracks", "*"),
    ),
)
BUILDERS: tuple[SeriesBuilder, ...] = ()

__all__ = ["BUILDERS", "FAMILIES"]
