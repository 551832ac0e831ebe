"""MusicBrainz releases and recordings -> silver.music_releases, silver.music_recordings."""

from __future__ import annotations

from typing import Any

from connectors.core.connector import Rejected, Rows, Transform
from connectors.core.connector import parse_records as _parse
from connectors.musicbrainz import models as mb


def mb_releases(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = []
    for r in _parse(mb.Release, records, rej, "musicbrainz/release"):
        day = mb.partial_date(r.date)
        if day is None:
            rej.add(r.model_dump(mode="json", by_alias=True), "release has no date (no date link key)", r.id)
            continue
        area = r.release_events[0].area if r.release_events and r.release_events[0].area else None
        rows.append(
            {
                "release_id": r.id,
                "title": r.title,
                "release_date": day,
                "date": day,
                "country_code": r.country,
                "area": area.name if area else None,
                "primary_type": r.release_group.primary_type if r.release_group else None,
                "status": r.status,
                "artist": r.artist_credit[0].name if r.artist_credit else None,
                "artist_id": r.artist_credit[0].artist.id if r.artist_credit else None,
                "track_count": r.track_count,
                "barcode": r.barcode,
            }
        )
    return {"silver.music_releases": rows}


def mb_recordings(records: list[dict[str, Any]], ctx: dict[str, Any], rej: Rejected) -> Rows:
    rows = []
    for r in _parse(mb.Recording, records, rej, "musicbrainz/recording"):
        day = mb.partial_date(r.first_release_date)
        if day is None:
            rej.add(r.model_dump(mode="json", by_alias=True), "recording has no first-release-date", r.id)
            continue
        rows.append(
            {
                "recording_id": r.id,
                "title": r.title,
                "length_ms": r.length,
                "isrc": r.isrcs[0] if r.isrcs else None,
                "isrcs": r.isrcs,
                "first_release_date": day,
                "date": day,
                "artist": r.artist_credit[0].name if r.artist_credit else None,
                "release_id": str(r.releases[0].get("id")) if r.releases else None,
            }
        )
    return {"silver.music_recordings": rows}


TRANSFORMS: dict[str, Transform] = {
    "releases": mb_releases,
    "recordings": mb_recordings,
}

__all__ = ["TRANSFORMS", "mb_recordings", "mb_releases"]
