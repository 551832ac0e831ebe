"""MusicBrainz gold series: releases per day by type."""

from __future__ import annotations

from connectors.core.connector import Family, SeriesBuilder, count_by

FAMILIES: tuple[Family, ...] = (
    Family(
        "musicbrainz.releases",
        "Music releases per day of type {dim} (MusicBrainz)",
        "releases",
        "sum",
        "musicbrainz",
        "silver.music_releases",
        "music",
        count_by("silver.music_releases", "primary_type"),
    ),
)
BUILDERS: tuple[SeriesBuilder, ...] = ()

__all__ = ["BUILDERS", "FAMILIES"]
