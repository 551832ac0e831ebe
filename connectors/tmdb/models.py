"""Pydantic models of the TMDB v3 payloads covary reads (discover/movie and movie details)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


def _empty_date_is_none(value: object) -> object:
    return None if value in ("", None) else value


class DiscoverMovie(_Payload):
    """One item of ``GET /3/discover/movie`` ``results`` (20 per page, ``page``/``total_pages``)."""

    id: int
    title: str
    original_title: str | None = None
    original_language: str | None = None
    release_date: date | None = None
    genre_ids: list[int] = Field(default_factory=list)
    popularity: float | None = None
    vote_average: float | None = None
    vote_count: int | None = None
    adult: bool = False
    video: bool = False
    overview: str | None = None
    poster_path: str | None = None
    backdrop_path: str | None = None

    _release = field_validator("release_date", mode="before")(_empty_date_is_none)


class DiscoverPage(_Payload):
    page: int
    results: list[DiscoverMovie]
    total_pages: int
    total_results: int


class Genre(_Payload):
    id: int
    name: str


class ProductionCountry(_Payload):
    iso_3166_1: str
    name: str


class SpokenLanguage(_Payload):
    iso_639_1: str
    english_name: str | None = None
    name: str | None = None


class MovieDetails(_Payload):
    """``GET /3/movie/{movie_id}``."""

    id: int
    imdb_id: str | None = None
    title: str
    original_title: str | None = None
    original_language: str | None = None
    release_date: date | None = None
    status: str | None = None
    budget: int = 0
    revenue: int = 0
    runtime: int | None = None
    genres: list[Genre] = Field(default_factory=list)
    production_countries: list[ProductionCountry] = Field(default_factory=list)
    spoken_languages: list[SpokenLanguage] = Field(default_factory=list)
    vote_average: float | None = None
    vote_count: int | None = None
    popularity: float | None = None

    _release = field_validator("release_date", mode="before")(_empty_date_is_none)


# TMDB's movie genre list (``GET /3/genre/movie/list``), stable ids.
GENRES: dict[int, str] = {
    28: "Action",
    12: "Adventure",
    16: "Animation",
    35: "Comedy",
    80: "Crime",
    99: "Documentary",
    18: "Drama",
    10751: "Family",
    14: "Fantasy",
    36: "History",
    27: "Horror",
    10402: "Music",
    9648: "Mystery",
    10749: "Romance",
    878: "Science Fiction",
    10770: "TV Movie",
    53: "Thriller",
    10752: "War",
    37: "Western",
}

__all__ = ["GENRES", "DiscoverMovie", "DiscoverPage", "Genre", "MovieDetails", "ProductionCountry"]
