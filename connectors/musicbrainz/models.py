"""Pydantic models of the MusicBrainz WS/2 JSON search payloads (releases, recordings)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def partial_date(value: str | None) -> date | None:
    """MusicBrainz dates may be ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; partial ones map to day 1."""
    if not value:
        return None
    parts = [int(p) for p in value.split("-")]
    while len(parts) < 3:
        parts.append(1)
    return date(parts[0], parts[1], parts[2])


class Area(_Payload):
    id: str
    name: str
    sort_name: str | None = Field(None, alias="sort-name")
    iso_3166_1_codes: list[str] = Field(default_factory=list, alias="iso-3166-1-codes")


class ReleaseEvent(_Payload):
    date: str | None = None
    area: Area | None = None


class Artist(_Payload):
    id: str
    name: str
    sort_name: str | None = Field(None, alias="sort-name")


class ArtistCredit(_Payload):
    name: str
    artist: Artist
    joinphrase: str | None = None


class ReleaseGroup(_Payload):
    id: str
    title: str | None = None
    primary_type: str | None = Field(None, alias="primary-type")
    secondary_types: list[str] = Field(default_factory=list, alias="secondary-types")


class Medium(_Payload):
    format: str | None = None
    track_count: int | None = Field(None, alias="track-count")


class Release(_Payload):
    """One item of ``GET /ws/2/release?query=...&fmt=json`` ``releases``."""

    id: str
    score: int | None = None
    title: str
    status: str | None = None
    date: str | None = None
    country: str | None = None
    barcode: str | None = None
    artist_credit: list[ArtistCredit] = Field(default_factory=list, alias="artist-credit")
    release_group: ReleaseGroup | None = Field(None, alias="release-group")
    release_events: list[ReleaseEvent] = Field(default_factory=list, alias="release-events")
    track_count: int | None = Field(None, alias="track-count")
    media: list[Medium] = Field(default_factory=list)

    @field_validator("date")
    @classmethod
    def _valid_date(cls, value: str | None) -> str | None:
        partial_date(value)  # raises on garbage
        return value


class ReleaseSearch(_Payload):
    created: datetime | None = None
    count: int
    offset: int
    releases: list[Release]


class Recording(_Payload):
    """One item of ``GET /ws/2/recording?query=...&fmt=json`` ``recordings`` (``isrcs`` when known)."""

    id: str
    score: int | None = None
    title: str
    length: int | None = None  # milliseconds
    isrcs: list[str] = Field(default_factory=list)
    first_release_date: str | None = Field(None, alias="first-release-date")
    artist_credit: list[ArtistCredit] = Field(default_factory=list, alias="artist-credit")
    releases: list[dict[str, object]] = Field(default_factory=list)


class RecordingSearch(_Payload):
    created: datetime | None = None
    count: int
    offset: int
    recordings: list[Recording]


__all__ = ["Area", "Recording", "RecordingSearch", "Release", "ReleaseSearch", "partial_date"]
