"""Pydantic models of the Spotify Web API payloads: token, search albums, several tracks, audio features."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class Token(_Payload):
    """``POST https://accounts.spotify.com/api/token`` (``grant_type=client_credentials``)."""

    access_token: str
    token_type: str
    expires_in: int


class SimpleArtist(_Payload):
    id: str
    name: str
    type: str = "artist"
    uri: str | None = None


class SimpleAlbum(_Payload):
    """An album in ``search`` results (``albums.items``) and on full track objects."""

    id: str
    name: str
    album_type: str
    total_tracks: int
    release_date: str
    release_date_precision: str  # year | month | day
    artists: list[SimpleArtist] = Field(default_factory=list)
    available_markets: list[str] = Field(default_factory=list)
    uri: str | None = None
    href: str | None = None


class Paging(_Payload):
    href: str
    limit: int
    next: str | None = None
    offset: int
    previous: str | None = None
    total: int


class AlbumPaging(Paging):
    items: list[SimpleAlbum]


class AlbumSearch(_Payload):
    """``GET /v1/search?q=year:2015&type=album&limit&offset``."""

    albums: AlbumPaging


class SimpleTrack(_Payload):
    """An item of ``GET /v1/albums/{id}/tracks``."""

    id: str
    name: str
    track_number: int
    disc_number: int = 1
    duration_ms: int
    explicit: bool = False
    artists: list[SimpleArtist] = Field(default_factory=list)


class AlbumTracks(Paging):
    items: list[SimpleTrack]


class ExternalIds(_Payload):
    isrc: str | None = None
    ean: str | None = None
    upc: str | None = None


class Track(SimpleTrack):
    """A full track (``GET /v1/tracks?ids=...`` ``tracks``), with ``external_ids.isrc``."""

    album: SimpleAlbum
    popularity: int | None = None
    external_ids: ExternalIds = Field(default_factory=ExternalIds)


class SeveralTracks(_Payload):
    tracks: list[Track | None]


class AudioFeatures(_Payload):
    """``GET /v1/audio-features?ids=...`` items. Deprecated 2024-11-27: new apps get 403."""

    id: str
    danceability: float
    energy: float
    valence: float
    tempo: float
    loudness: float | None = None
    key: int | None = None
    mode: int | None = None


class SeveralAudioFeatures(_Payload):
    audio_features: list[AudioFeatures | None]


__all__ = [
    "AlbumSearch",
    "AlbumTracks",
    "AudioFeatures",
    "SeveralAudioFeatures",
    "SeveralTracks",
    "SimpleAlbum",
    "SimpleTrack",
    "Token",
    "Track",
]
