"""Silver entities of the built-in connectors, their cross-domain link tables and the ingest partition ledger."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import Column, TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.string())


def _date(description: str) -> Column:
    return col("date", pa.date32(), description + " Cross-domain link key: joins any source by day.", nullable=False)


def _silver(name: str, description: str, columns: tuple[Column, ...], keys: tuple[str, ...], **kw: object) -> TableSpec:
    lineage = col("lineage", pa.string(), "Bronze source/endpoint/partition the row was derived from.")
    return register(
        TableSpec(
            name=name,
            description=description,
            columns=(*columns, lineage),
            keys=keys,
            write_mode="merge",
            **kw,  # type: ignore[arg-type]
        )
    )


# ------------------------------------------------------------------------------------------- GitHub
GITHUB_REPOS = _silver(
    "silver.github_repos",
    "GitHub repositories, one row per repository (latest snapshot).",
    (
        col("repo", pa.string(), "owner/name of the repository.", nullable=False, synonyms=("repository",)),
        col("repo_id", pa.int64(), "GitHub's numeric repository id."),
        col("owner", pa.string(), "Owner login (user or organisation)."),
        col(
            "language", pa.string(), "Primary programming language GitHub detected.", synonyms=("programming language",)
        ),
        col("description", pa.string(), "Repository description."),
        col("stars", pa.int64(), "Stargazers at snapshot time.", synonyms=("stargazers",)),
        col("forks", pa.int64(), "Forks at snapshot time."),
        col("open_issues", pa.int64(), "Open issues and pull requests at snapshot time."),
        col("license", pa.string(), "SPDX id of the licence."),
        col("topics", STRINGS, "Repository topics."),
        col("created_at", TS, "When the repository was created."),
        col("pushed_at", TS, "Last push."),
    ),
    ("repo",),
    synonyms=("repositories", "repos", "projects"),
)

GITHUB_COMMITS = _silver(
    "silver.github_commits",
    "Commits on the default branch of each GitHub repository (REST commits list), one row per commit.",
    (
        col("repo", pa.string(), "owner/name of the repository.", nullable=False),
        col("sha", pa.string(), "Commit SHA.", nullable=False),
        col("committed_at", TS, "Author date of the commit (UTC).", nullable=False),
        _date("UTC day of committed_at."),
        col("author_login", pa.string(), "GitHub login of the author, if linked to an account."),
        col("author_name", pa.string(), "Git author name.", pii=True),
        col("message_headline", pa.string(), "First line of the commit message."),
    ),
    ("repo", "sha"),
    synonyms=("commits", "code changes", "pushes"),
)

GITHUB_COMMIT_STATS = _silver(
    "silver.github_commit_stats",
    "Line statistics per commit from the GitHub GraphQL history (additions, deletions, changed files).",
    (
        col("repo", pa.string(), "owner/name of the repository.", nullable=False),
        col("sha", pa.string(), "Commit SHA (GraphQL oid).", nullable=False),
        col("committed_at", TS, "Committed date (UTC).", nullable=False),
        _date("UTC day of committed_at."),
        col("additions", pa.int64(), "Lines added."),
        col("deletions", pa.int64(), "Lines deleted."),
        col("changed_files", pa.int64(), "Files changed, when GitHub can compute it."),
        col("author_login", pa.string(), "Login of the author, if linked."),
    ),
    ("repo", "sha"),
    synonyms=("lines changed", "churn", "contributions"),
)

GITHUB_ISSUES = _silver(
    "silver.github_issues",
    "GitHub issues and pull requests (state=all), one row per number.",
    (
        col("repo", pa.string(), "owner/name of the repository.", nullable=False),
        col("number", pa.int64(), "Issue or pull request number.", nullable=False),
        col("issue_id", pa.int64(), "GitHub's numeric id."),
        col("title", pa.string(), "Title."),
        col("state", pa.string(), "open | closed."),
        col("is_pull_request", pa.bool_(), "True for pull requests."),
        col("author_login", pa.string(), "Login of the author."),
        col("labels", STRINGS, "Label names."),
        col("comments", pa.int64(), "Comment count."),
        col("created_at", TS, "When it was opened."),
        _date("UTC day it was opened."),
        col("closed_at", TS, "When it was closed, if closed."),
        col("updated_at", TS, "Last update (the incremental cursor)."),
    ),
    ("repo", "number"),
    synonyms=("issues", "pull requests", "bugs", "tickets"),
)

GITHUB_RELEASES = _silver(
    "silver.github_releases",
    "GitHub releases, one row per release.",
    (
        col("repo", pa.string(), "owner/name of the repository.", nullable=False),
        col("release_id", pa.int64(), "GitHub's numeric release id.", nullable=False),
        col("tag", pa.string(), "Git tag."),
        col("name", pa.string(), "Release title."),
        col("prerelease", pa.bool_(), "Marked as pre-release."),
        col("published_at", TS, "When it was published."),
        _date("UTC day it was published."),
    ),
    ("repo", "release_id"),
    synonyms=("releases", "versions", "tags"),
)

GITHUB_STARS = _silver(
    "silver.github_stargazers",
    "Who starred a GitHub repository and when (star+json), one row per repository and user.",
    (
        col("repo", pa.string(), "owner/name of the repository.", nullable=False),
        col("user_login", pa.string(), "Login of the user who starred it.", nullable=False),
        col("starred_at", TS, "When the star was given.", nullable=False),
        _date("UTC day of starred_at."),
    ),
    ("repo", "user_login"),
    synonyms=("stars", "stargazers", "popularity"),
)

# --------------------------------------------------------------------------------------------- TMDB
TMDB_MOVIES = _silver(
    "silver.tmdb_movies",
    "Movies from TMDB discover + details: release date, genres, countries, budget, revenue and ratings.",
    (
        col("movie_id", pa.int64(), "TMDB movie id.", nullable=False),
        col("title", pa.string(), "Title.", synonyms=("film", "movie name")),
        col("release_date", pa.date32(), "Primary release date."),
        _date("Release date (movies without one are quarantined)."),
        col("genres", STRINGS, "Genre names."),
        col("primary_genre", pa.string(), "First genre, or 'Unknown'."),
        col("countries", STRINGS, "Production countries (ISO 3166-1 alpha-2)."),
        col("budget_usd", pa.int64(), "Production budget in USD (0 = unknown).", synonyms=("budget",)),
        col("revenue_usd", pa.int64(), "Worldwide box-office revenue in USD (0 = unknown).", synonyms=("gross",)),
        col("runtime_min", pa.int64(), "Runtime in minutes."),
        col("vote_average", pa.float64(), "Average user rating 0-10.", synonyms=("rating", "score")),
        col("vote_count", pa.int64(), "Number of ratings."),
        col("popularity", pa.float64(), "TMDB popularity score."),
        col("original_language", pa.string(), "ISO 639-1 original language."),
    ),
    ("movie_id",),
    synonyms=("movies", "films", "box office"),
)

# ------------------------------------------------------------------------------------------ weather
LOCATIONS = _silver(
    "silver.locations",
    "Places the connectors report on: lat/lon resolved to the nearest known city and its country.",
    (
        col("location_id", pa.string(), "Stable id: rounded 'lat,lon'.", nullable=False),
        col("lat", pa.float64(), "Latitude (WGS84).", nullable=False),
        col("lon", pa.float64(), "Longitude (WGS84).", nullable=False),
        col("city", pa.string(), "Nearest known city.", synonyms=("town", "place")),
        col("country", pa.string(), "Country name."),
        col("country_code", pa.string(), "ISO 3166-1 alpha-2."),
        col("distance_km", pa.float64(), "Distance from lat/lon to the city centre."),
    ),
    ("location_id",),
    synonyms=("places", "cities", "geography"),
)

WEATHER_DAILY = _silver(
    "silver.weather_daily",
    "Daily weather per location (Open-Meteo archive or OpenWeatherMap day summary), one row per place and day.",
    (
        col("location_id", pa.string(), "silver.locations id.", nullable=False),
        _date("Local calendar day."),
        col("city", pa.string(), "Nearest known city (link key).", synonyms=("place",)),
        col("country_code", pa.string(), "ISO 3166-1 alpha-2 (link key)."),
        col("lat", pa.float64(), "Requested latitude."),
        col("lon", pa.float64(), "Requested longitude."),
        col("temp_max_c", pa.float64(), "Maximum air temperature at 2 m, °C.", synonyms=("high", "max temperature")),
        col("temp_min_c", pa.float64(), "Minimum air temperature at 2 m, °C.", synonyms=("low", "min temperature")),
        col("precipitation_mm", pa.float64(), "Precipitation sum, mm.", synonyms=("rain", "rainfall")),
        col("wind_max_ms", pa.float64(), "Maximum wind speed at 10 m, m/s.", synonyms=("wind",)),
        col("provider", pa.string(), "open-meteo | openweathermap."),
    ),
    ("location_id", "date"),
    synonyms=("weather", "climate", "temperature", "precipitation"),
)

# ------------------------------------------------------------------------------------------ PokeAPI
POKEMON = _silver(
    "silver.pokemon",
    "Pokémon with their species, types, habitat and generation (PokeAPI), one row per pokémon.",
    (
        col("pokemon_id", pa.int64(), "National dex number.", nullable=False),
        col("name", pa.string(), "Name (slug)."),
        col("types", STRINGS, "Types in slot order."),
        col("primary_type", pa.string(), "Slot-1 type."),
        col("generation", pa.string(), "Generation it was introduced in (from its species)."),
        col("habitat", pa.string(), "Habitat (from its species)."),
        col("height_m", pa.float64(), "Height in metres."),
        col("weight_kg", pa.float64(), "Weight in kilograms."),
        col("base_experience", pa.int64(), "Base experience."),
        col("hp", pa.int64(), "Base HP."),
        col("attack", pa.int64(), "Base attack."),
        col("defense", pa.int64(), "Base defense."),
        col("speed", pa.int64(), "Base speed."),
        col("is_legendary", pa.bool_(), "Legendary species."),
        col("evolves_from", pa.string(), "Species it evolves from."),
    ),
    ("pokemon_id",),
    synonyms=("pokemon", "pokedex", "monsters"),
)

# ---------------------------------------------------------------------------------- music (MB + Spotify)
MUSIC_RELEASES = _silver(
    "silver.music_releases",
    "MusicBrainz releases found by release date and area, one row per release MBID.",
    (
        col("release_id", pa.string(), "Release MBID.", nullable=False),
        col("title", pa.string(), "Release title."),
        col("release_date", pa.date32(), "Release date (partial dates map to the first day)."),
        _date("Release date."),
        col("country_code", pa.string(), "Release country (ISO 3166-1), link key to locations."),
        col("area", pa.string(), "Release area name."),
        col("primary_type", pa.string(), "Album | Single | EP | ...", synonyms=("format", "type")),
        col("status", pa.string(), "Official | Promotion | Bootleg ..."),
        col("artist", pa.string(), "Credited artist."),
        col("artist_id", pa.string(), "Artist MBID."),
        col("track_count", pa.int64(), "Tracks on all media."),
        col("barcode", pa.string(), "UPC/EAN."),
    ),
    ("release_id",),
    synonyms=("albums", "records", "music releases"),
)

MUSIC_RECORDINGS = _silver(
    "silver.music_recordings",
    "MusicBrainz recordings with their ISRCs (link key to Spotify tracks), one row per recording MBID.",
    (
        col("recording_id", pa.string(), "Recording MBID.", nullable=False),
        col("title", pa.string(), "Recording title."),
        col("length_ms", pa.int64(), "Length in milliseconds."),
        col("isrc", pa.string(), "First ISRC (International Standard Recording Code)."),
        col("isrcs", STRINGS, "All ISRCs."),
        col("first_release_date", pa.date32(), "First release date."),
        _date("First release date."),
        col("artist", pa.string(), "Credited artist."),
        col("release_id", pa.string(), "A release MBID it appears on."),
    ),
    ("recording_id",),
    synonyms=("songs", "recordings", "tracks"),
)

SPOTIFY_ALBUMS = _silver(
    "silver.spotify_albums",
    "Spotify albums found by release year search, one row per album id.",
    (
        col("album_id", pa.string(), "Spotify album id.", nullable=False),
        col("name", pa.string(), "Album name."),
        col("album_type", pa.string(), "album | single | compilation."),
        col("release_date", pa.date32(), "Release date (year/month precision map to the first day)."),
        _date("Release date."),
        col("release_date_precision", pa.string(), "year | month | day."),
        col("total_tracks", pa.int64(), "Number of tracks."),
        col("artist", pa.string(), "First artist."),
        col("markets", STRINGS, "Available markets (ISO 3166-1)."),
    ),
    ("album_id",),
    synonyms=("spotify albums",),
)

SPOTIFY_TRACKS = _silver(
    "silver.spotify_tracks",
    "Spotify tracks with ISRC and popularity; audio features are null where Spotify refuses them (since 2024-11).",
    (
        col("track_id", pa.string(), "Spotify track id.", nullable=False),
        col("name", pa.string(), "Track name."),
        col("album_id", pa.string(), "Spotify album id."),
        col("release_date", pa.date32(), "Album release date."),
        _date("Album release date."),
        col("duration_ms", pa.int64(), "Duration in milliseconds."),
        col("explicit", pa.bool_(), "Explicit lyrics."),
        col("popularity", pa.int64(), "Popularity 0-100."),
        col("isrc", pa.string(), "ISRC, link key to MusicBrainz recordings."),
        col("artist", pa.string(), "First artist."),
        col("danceability", pa.float64(), "Audio feature 0-1; null when the audio-features endpoint is unavailable."),
        col("energy", pa.float64(), "Audio feature 0-1; null when unavailable."),
        col("valence", pa.float64(), "Audio feature 0-1; null when unavailable."),
        col("tempo", pa.float64(), "Tempo in BPM; null when unavailable."),
    ),
    ("track_id",),
    synonyms=("spotify tracks", "songs"),
)

ENTITY_LINKS = _silver(
    "silver.entity_links",
    "Links between entities of different sources through a shared identifier (e.g. ISRC: Spotify track <-> "
    "MusicBrainz recording).",
    (
        col("link_type", pa.string(), "Identifier that links them: isrc, ...", nullable=False),
        col("link_value", pa.string(), "The shared identifier value.", nullable=False),
        col("left_table", pa.string(), "Silver table of the first entity.", nullable=False),
        col("left_id", pa.string(), "Key of the first entity.", nullable=False),
        col("right_table", pa.string(), "Silver table of the second entity.", nullable=False),
        col("right_id", pa.string(), "Key of the second entity.", nullable=False),
    ),
    ("link_type", "left_table", "left_id", "right_table", "right_id"),
    synonyms=("links", "matches", "isrc links"),
)

# --------------------------------------------------------------------------------------------- FRED
FRED_SERIES = _silver(
    "silver.fred_series",
    "FRED series metadata, one row per series id.",
    (
        col("series_id", pa.string(), "FRED series id (GDPC1, UNRATE, ...).", nullable=False),
        col("title", pa.string(), "Series title."),
        col("frequency", pa.string(), "D, W, M, Q or A."),
        col("units", pa.string(), "Units of the values."),
        col("seasonal_adjustment", pa.string(), "SA / NSA / SAAR."),
        col("observation_start", pa.date32(), "First observation."),
        col("observation_end", pa.date32(), "Last observation."),
        col("last_updated", pa.string(), "When FRED last updated it."),
    ),
    ("series_id",),
    synonyms=("economic series", "indicators"),
)

FRED_OBSERVATIONS = _silver(
    "silver.fred_observations",
    "FRED observations, one row per series and observation date (FRED's '.' becomes null).",
    (
        col("series_id", pa.string(), "FRED series id.", nullable=False),
        _date("Observation date (period start)."),
        col("value", pa.float64(), "Observed value in the series' units; null when FRED has none."),
        col("realtime_start", pa.date32(), "Vintage start."),
    ),
    ("series_id", "date"),
    synonyms=("economy", "macro", "observations"),
)

# ------------------------------------------------------------------------------------------- Notion
NOTION_PAGES = _silver(
    "silver.notion_pages",
    "Pages of Notion databases, one row per page; every property kept as JSON, numbers also in long form.",
    (
        col("page_id", pa.string(), "Notion page id.", nullable=False),
        col("database_id", pa.string(), "Parent database id."),
        col("title", pa.string(), "Title property as plain text."),
        _date("First date property of the page, else its creation day."),
        col("tags", STRINGS, "Names of multi-select options."),
        col("created_time", TS, "Created."),
        col("last_edited_time", TS, "Last edited (the incremental cursor)."),
        col("properties", pa.string(), "All properties as plain JSON values."),
        col("url", pa.string(), "Page URL."),
    ),
    ("page_id",),
    synonyms=("notion", "journal", "notes"),
)

NOTION_NUMBERS = _silver(
    "silver.notion_page_numbers",
    "Numeric properties of Notion pages in long form (page, property, value), for per-property series.",
    (
        col("page_id", pa.string(), "Notion page id.", nullable=False),
        col("property", pa.string(), "Property name.", nullable=False),
        col("database_id", pa.string(), "Parent database id."),
        _date("The page's date."),
        col("value", pa.float64(), "The number."),
    ),
    ("page_id", "property"),
)

# ------------------------------------------------------------------------------------------- ingest
INGEST_PARTITIONS = register(
    TableSpec(
        name="ops.ingest_partitions",
        description=(
            "Ingest job ledger, append-only: per partition (source x endpoint x key/date window) a 'started' "
            "event naming the bronze run it owns and a 'done' event once bronze and silver are committed; "
            "partition '*' marks the whole run done. A resumed or retried run skips what is done."
        ),
        columns=(
            col("run_key", pa.string(), "Ingest run the partition belongs to (resume reuses it).", nullable=False),
            col("partition_id", pa.string(), "source/endpoint/partition JSON, or '*' for the run.", nullable=False),
            col("event", pa.string(), "started | done.", nullable=False),
            col("source", pa.string(), "Connector.", nullable=False),
            col("endpoint", pa.string(), "Endpoint."),
            col("run_seq", pa.int64(), "Bronze run number of (source, endpoint, partition) this ingest owns."),
            col("records", pa.int64(), "Records landed in bronze by this partition."),
            col("silver_rows", pa.int64(), "Rows merged into silver."),
            col("pid", pa.int64(), "Worker process that wrote the event."),
            col("at", TS, "When (UTC).", nullable=False),
        ),
        keys=("run_key", "partition_id", "event"),
        track_loads=False,
    )
)

SILVER_TABLES: tuple[str, ...] = tuple(
    s.name
    for s in (
        GITHUB_REPOS,
        GITHUB_COMMITS,
        GITHUB_COMMIT_STATS,
        GITHUB_ISSUES,
        GITHUB_RELEASES,
        GITHUB_STARS,
        TMDB_MOVIES,
        LOCATIONS,
        WEATHER_DAILY,
        POKEMON,
        MUSIC_RELEASES,
        MUSIC_RECORDINGS,
        SPOTIFY_ALBUMS,
        SPOTIFY_TRACKS,
        ENTITY_LINKS,
        FRED_SERIES,
        FRED_OBSERVATIONS,
        NOTION_PAGES,
        NOTION_NUMBERS,
    )
)
