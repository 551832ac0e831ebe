"""Typed settings: explicit args > ``COVARY_*`` env (nested with ``__``) > ``covary.yaml`` > defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from covary.errors import ConfigError


class LakeSettings(BaseModel):
    """Where the Delta tables live and how they are maintained."""

    root: str | None = Field(None, description="Lake root URI; default COVARY_HOME/lake. s3:// works.")
    storage_options: dict[str, str] = Field(default_factory=dict, description="delta-rs storage options.")
    vacuum_retention_hours: int = Field(168, ge=0, description="Default vacuum retention.")
    min_vacuum_retention_hours: int = Field(1, ge=0, description="Vacuum refuses a shorter retention unless forced.")
    commit_retries: int = Field(8, ge=0, description="Retries of a conflicting commit, with backoff.")


class RaySettings(BaseModel):
    """Local Ray (started on demand) or a cluster address."""

    address: str | None = Field(None, description="Ray address (ray://host:10001 or auto); none = local.")
    num_cpus: int | None = Field(None, ge=1, description="CPUs for a local Ray; default all cores.")
    namespace: str = "covary"
    dashboard_url: str | None = Field(None, description="Ray Jobs API URL for `covary job submit`.")
    auth_token: SecretStr | None = Field(None, description="Ray token auth (sent as a bearer token).")
    include_dashboard: bool = False


class MlflowSettings(BaseModel):
    tracking_uri: str | None = Field(None, description="Default sqlite:///COVARY_HOME/mlflow.db.")
    registry_uri: str | None = None
    artifact_root: str | None = Field(None, description="Default COVARY_HOME/mlartifacts.")
    experiment_prefix: str = "covary"


class MilvusSettings(BaseModel):
    uri: str | None = Field(None, description="Milvus server URI; default Milvus Lite file COVARY_HOME/milvus.db.")
    token: SecretStr | None = None
    collection: str = "covary_docs"


class LLMSettings(BaseModel):
    """An OpenAI-compatible endpoint (vLLM, ...). Unset = the deterministic/extractive CPU paths."""

    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    timeout_s: float = 30.0
    answer_backend: Literal["extractive", "openai", "vllm"] = Field(
        "extractive", description="`covary ask` / `/v1/ask` backend: extractive (CPU), openai (base_url) or vllm."
    )


class ServeSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys_file: str | None = Field(None, description="YAML of hashed API keys; default COVARY_HOME/keys.yaml.")


class ConnectorSettings(BaseModel):
    """Credentials for the built-in connectors; all optional, all secret."""

    github_token: SecretStr | None = None
    tmdb_token: SecretStr | None = None
    openweathermap_key: SecretStr | None = None
    fred_api_key: SecretStr | None = None
    spotify_client_id: SecretStr | None = None
    spotify_client_secret: SecretStr | None = None
    notion_token: SecretStr | None = None
    musicbrainz_user_agent: str = "covary/0.1 (https://github.com/covary/covary)"
    weather_provider: Literal["open-meteo", "openweathermap"] = Field(
        "open-meteo", description="Weather connector backend: Open-Meteo archive (no key) or OpenWeatherMap (key)."
    )
    base_urls: dict[str, str] = Field(
        default_factory=dict, description="Override a connector's base URL (e.g. the replay server)."
    )
    max_retry_after_s: float = 120.0
    retry_budget: int = 200
    upload_max_bytes: int = Field(256 * 1024 * 1024, ge=1, description="Largest file `covary source upload` accepts.")


class Settings(BaseSettings):
    """covary's effective settings. Nothing reads the environment at import time."""

    model_config = SettingsConfigDict(
        env_prefix="COVARY_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    home: Path = Field(Path(".covary"), description="Everything local lives under here.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    lake: LakeSettings = Field(default_factory=LakeSettings)
    ray: RaySettings = Field(default_factory=RaySettings)
    mlflow: MlflowSettings = Field(default_factory=MlflowSettings)
    milvus: MilvusSettings = Field(default_factory=MilvusSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    connectors: ConnectorSettings = Field(default_factory=ConnectorSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = os.environ.get("COVARY_CONFIG", "covary.yaml")
        return (
            init_settings,
            env_settings,
            YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file),
            file_secret_settings,
        )

    # Derived locations -------------------------------------------------------------------------
    @property
    def lake_root(self) -> str:
        return self.lake.root or str((self.home / "lake").resolve())

    @property
    def mlflow_tracking_uri(self) -> str:
        return self.mlflow.tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def mlflow_artifact_root(self) -> str:
        return self.mlflow.artifact_root or str((self.home / "mlartifacts").resolve())

    @property
    def milvus_uri(self) -> str:
        return self.milvus.uri or str((self.home / "milvus.db").resolve())

    @property
    def reports_dir(self) -> Path:
        return (self.home / "reports").resolve()

    @property
    def api_keys_path(self) -> Path:
        return Path(self.serve.api_keys_file) if self.serve.api_keys_file else (self.home / "keys.yaml").resolve()

    def ensure_home(self) -> Path:
        """Create COVARY_HOME and its standard sub-folders; return the absolute home."""
        home = self.home.resolve()
        for sub in ("lake", "reports"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        return home

    def public_dict(self) -> dict[str, Any]:
        """Settings as JSON-ready data with every secret masked, plus the derived locations."""
        data = self.model_dump(mode="json")  # SecretStr dumps as '**********'
        data["derived"] = {
            "lake_root": self.lake_root,
            "mlflow_tracking_uri": self.mlflow_tracking_uri,
            "mlflow_artifact_root": self.mlflow_artifact_root,
            "milvus_uri": self.milvus_uri,
            "reports_dir": str(self.reports_dir),
            "api_keys_path": str(self.api_keys_path),
        }
        return data


def load_settings(**overrides: Any) -> Settings:
    """Read settings now (env + covary.yaml); errors name the bad key and where it came from."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"invalid settings: {problems}",
            hint="check COVARY_* environment variables (nested with __) and covary.yaml",
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read on first use (never at import). ``reset_settings()`` re-reads."""
    return load_settings()


def reset_settings() -> None:
    get_settings.cache_clear()


__all__ = [
    "ConnectorSettings",
    "LLMSettings",
    "LakeSettings",
    "MilvusSettings",
    "MlflowSettings",
    "RaySettings",
    "ServeSettings",
    "Settings",
    "get_settings",
    "load_settings",
    "reset_settings",
]
