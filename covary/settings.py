"""Typed settings: explicit args > ``COVARY_*`` env (nested with ``__``) > ``covary.yaml`` > defaults."""

from __future__ import annotations

import os
import re
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

# Storage-option keys whose values are secrets (masked when shown, never shipped to Ray or logs).
SECRET_OPTION = re.compile(r"secret|token|password|passwd|credential|sas|signature|private", re.IGNORECASE)


def mask_storage_options(options: dict[str, str]) -> dict[str, str]:
    """Storage options safe to print: values of secret-looking keys replaced by ``**********``."""
    return {k: ("**********" if SECRET_OPTION.search(k) else v) for k, v in options.items()}


class LakeSettings(BaseModel):
    """Where the Delta tables live and how they are maintained."""

    root: str | None = Field(None, description="Lake root URI; default COVARY_HOME/lake. s3:// works.")
    storage_options: dict[str, str] = Field(default_factory=dict, description="delta-rs storage options.")
    vacuum_retention_hours: int = Field(168, ge=0, description="Default vacuum retention.")
    min_vacuum_retention_hours: int = Field(1, ge=0, description="Vacuum refuses a shorter retention unless forced.")
    commit_retries: int = Field(8, ge=0, description="Retries of a conflicting commit, with backoff.")
    secret_storage_options: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Secret delta-rs storage options (aws_secret_access_key, ...): put them in the secrets file "
        "as COVARY_LAKE__SECRET_STORAGE_OPTIONS__<KEY>; merged over storage_options, never printed or shipped.",
    )
    single_writer: bool = Field(
        False, description="Accept object storage without safe concurrent commits: you promise one writer."
    )
    shared_storage: bool | None = Field(
        None,
        description="A local-path lake on a multi-node Ray cluster: true = shared (NFS/RWX) at the same path on "
        "every node; false = not shared (refused); unset = verified with a marker file on every node.",
    )


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
    port: int = Field(8000, ge=1, le=65535, description="Port of `covary serve up` (1-65535).")
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
    replay_host: str = Field(
        "127.0.0.1", description="Interface the replay server binds (0.0.0.0 when Ray workers run on other hosts)."
    )
    replay_advertise_host: str | None = Field(
        None, description="Host name workers use to reach the replay server; default: the bound host."
    )
    upload_max_rows: int = Field(1_000_000, ge=1, description="Most rows an upload may decode to (over: 413).")
    upload_max_columns: int = Field(1_000, ge=1, description="Most columns an upload may have (over: 413).")
    upload_max_field_bytes: int = Field(1024 * 1024, ge=1, description="Largest single field of an upload.")
    upload_max_decoded_bytes: int = Field(
        512 * 1024 * 1024, ge=1, description="Most bytes an upload's rows may decode to, as JSON (over: 413)."
    )
    upload_min_encoding_confidence: float = Field(
        0.8, ge=0, le=1, description="Below this encoding-detection confidence an upload carries a warning."
    )
    allowed_private_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts, IPs or CIDRs connectors may reach although private, loopback or link-local "
        "(SSRF allow-list; e.g. 127.0.0.1 for a local replay server).",
    )


class AlertSettings(BaseModel):
    """Where alerts go besides the lake: a Slack-compatible webhook and/or e-mail over SMTP (both optional)."""

    webhook_url: SecretStr | None = Field(
        None, description="Incoming-webhook URL (Slack-compatible JSON {text, blocks}); secret: it embeds a token."
    )
    webhook_timeout_s: float = Field(10.0, gt=0, description="Timeout of one webhook POST.")
    smtp_host: str | None = Field(None, description="SMTP server for alert e-mail; unset: no e-mail.")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_ssl: bool = Field(False, description="Implicit TLS (SMTPS, usually port 465) instead of STARTTLS.")
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(15.0, gt=0)
    email_from: str = "covary@localhost"
    email_to: list[str] = Field(default_factory=list, description="Recipients of alert e-mail.")
    max_items: int = Field(20, ge=1, description="Most alerts listed in one message (the rest are counted).")


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
    alerts: AlertSettings = Field(default_factory=AlertSettings)

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
            secrets_file_source(settings_cls),
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

    def lake_storage_options(self) -> dict[str, str]:
        """delta-rs storage options of the lake: ``storage_options`` with the secret ones merged over them."""
        secret = {k: v.get_secret_value() for k, v in self.lake.secret_storage_options.items()}
        return {**self.lake.storage_options, **secret}

    def public_dict(self) -> dict[str, Any]:
        """Settings as JSON-ready data with every secret masked, plus the derived locations."""
        data = self.model_dump(mode="json")  # SecretStr dumps as '**********'
        data["lake"]["storage_options"] = mask_storage_options(self.lake.storage_options)
        data["derived"] = {
            "lake_root": self.lake_root,
            "mlflow_tracking_uri": self.mlflow_tracking_uri,
            "mlflow_artifact_root": self.mlflow_artifact_root,
            "milvus_uri": self.milvus_uri,
            "reports_dir": str(self.reports_dir),
            "api_keys_path": str(self.api_keys_path),
        }
        return data


# Validation of where settings come from: generic over whatever fields the models declare -------------
# COVARY_* variables that are not settings fields (read by the CLI or tests directly).
OTHER_ENV: frozenset[str] = frozenset(
    {"COVARY_CONFIG", "COVARY_DEBUG", "COVARY_URL", "COVARY_TOKEN", "COVARY_SECRETS_FILE"}
)
OTHER_ENV_PREFIXES: tuple[str, ...] = ("COVARY_TEST_",)
ENV_PREFIX = "COVARY_"


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (``Model`` or ``Model | None``), else None."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _is_mapping_field(annotation: Any) -> bool:
    """A free-form mapping (``dict[str, str]``, ``Any``): keys below it are data, not settings names."""
    import typing

    if annotation is Any or annotation is dict:
        return True
    origin = typing.get_origin(annotation)
    if origin is dict:
        return True
    return any(_is_mapping_field(a) for a in typing.get_args(annotation) if a is not type(None))


def _field_names(model: type[BaseModel]) -> dict[str, Any]:
    names: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        names[name] = info.annotation
        if info.alias:
            names[info.alias] = info.annotation
    return names


def setting_paths(model: type[BaseModel] | None = None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every settings path (sections and leaves), e.g. ``("serve", "port")``."""
    model = model or Settings
    out: list[tuple[str, ...]] = []
    for name, annotation in _field_names(model).items():
        path = (*prefix, name)
        out.append(path)
        sub = _section_model(annotation)
        if sub is not None:
            out.extend(setting_paths(sub, path))
    return out


def env_name(path: tuple[str, ...]) -> str:
    return ENV_PREFIX + "__".join(path).upper()


def _nearest(word: str, candidates: list[str]) -> str | None:
    import difflib

    lowered = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _unknown(message: str, nearest: str | None, valid: list[str]) -> ConfigError:
    hint = f"did you mean {nearest}? " if nearest else ""
    shown = ", ".join(sorted(valid)[:20]) + (", ..." if len(valid) > 20 else "")
    return ConfigError(message, hint=f"{hint}valid keys here: {shown}")


def _check_yaml_keys(data: dict[str, Any], model: type[BaseModel], prefix: tuple[str, ...], where: str) -> None:
    fields = _field_names(model)
    lowered = {n.lower(): n for n in fields} if not prefix else {}  # top level: case-insensitive like pydantic
    for key, value in data.items():
        name = str(key)
        annotation = fields.get(name, fields.get(lowered.get(name.lower(), ""), None))
        if name not in fields and name.lower() not in lowered:
            dotted = ".".join((*prefix, name))
            near = _nearest(name, list(fields))
            if near is None:  # maybe it belongs to another section: compare with every dotted path
                near = _nearest(dotted, [".".join(p) for p in setting_paths()])
            elif prefix:
                near = ".".join((*prefix, near))
            raise _unknown(f"unknown setting {dotted!r} in {where}", near and repr(near), list(fields))
        sub = _section_model(annotation)
        if sub is not None and isinstance(value, dict):
            _check_yaml_keys(value, sub, (*prefix, name), where)


def _check_env_names(environ: dict[str, str]) -> None:
    all_env = [env_name(p) for p in setting_paths()]
    for raw in environ:
        upper = raw.upper()
        if not upper.startswith(ENV_PREFIX) or upper in OTHER_ENV or upper.startswith(OTHER_ENV_PREFIXES):
            continue
        parts = upper[len(ENV_PREFIX) :].lower().split("__")
        model: type[BaseModel] | None = Settings
        for i, part in enumerate(parts):
            if model is None:
                break
            fields = {n.lower(): a for n, a in _field_names(model).items()}
            if part not in fields:
                near = _nearest(upper, all_env + sorted(OTHER_ENV))
                valid = [env_name((*parts[:i], n)) for n in fields]
                raise _unknown(f"unknown environment variable {raw} (no such setting)", near, valid)
            annotation = fields[part]
            model = _section_model(annotation)
            if model is None and i < len(parts) - 1 and not _is_mapping_field(annotation):
                dotted = ".".join(parts[: i + 1])
                raise ConfigError(
                    f"environment variable {raw}: setting {dotted} is a value, not a section",
                    hint=f"set {env_name(tuple(parts[: i + 1]))} instead",
                )


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise ConfigError(
            f"malformed YAML in {path}{where}: {problem}", hint="fix the file (YAML: key: value, nested by indentation)"
        ) from exc
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"cannot read {path}: {' '.join(str(exc).split())}", hint="fix or remove the file") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} must hold a mapping of settings (key: value), not a {type(data).__name__}",
            hint="e.g. `serve:\n  port: 8000`",
        )
    return data


def _source_of(loc: tuple[Any, ...], environ: dict[str, str], yaml_data: dict[str, Any], yaml_path: Path) -> str:
    env = {k.upper(): k for k in environ}
    for i in range(len(loc), 0, -1):
        name = env_name(tuple(str(p) for p in loc[:i]))
        if name in env:
            return f"environment variable {env[name]}"
    node: Any = yaml_data
    for part in loc:
        if not isinstance(node, dict) or str(part) not in node:
            return "explicit arguments or defaults"
        node = node[str(part)]
    return str(yaml_path)


def check_sources(environ: dict[str, str] | None = None) -> tuple[Path, dict[str, Any]]:
    """Fail on a missing COVARY_CONFIG, malformed YAML, unknown keys and misspelled COVARY_* variables."""
    environ = dict(os.environ if environ is None else environ)
    configured = environ.get("COVARY_CONFIG")
    path = Path(configured or "covary.yaml")
    if configured and not path.is_file():
        raise ConfigError(
            f"COVARY_CONFIG={configured}: no such file",
            hint="fix the path, create the file, or unset COVARY_CONFIG to read ./covary.yaml",
        )
    data = _read_yaml(path) if path.is_file() else {}
    _check_yaml_keys(data, Settings, (), str(path))
    _check_env_names(environ)
    return path, data


def secrets_file_path(environ: dict[str, str] | None = None) -> Path:
    """``COVARY_SECRETS_FILE``, else ``$COVARY_HOME/secrets.env`` (``.covary/secrets.env``)."""
    environ = dict(os.environ if environ is None else environ)
    if configured := environ.get("COVARY_SECRETS_FILE"):
        return Path(configured)
    return Path(environ.get("COVARY_HOME", ".covary")) / "secrets.env"


def secrets_file_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource:
    """``KEY=VALUE`` lines (``COVARY_LLM__API_KEY=...``) from the secrets file; it must be 0600 (owner only).

    Workers on a cluster read secrets from this file (or from their pod's environment, filled from a
    Kubernetes Secret), so they never travel in a Ray runtime env, a task argument or a log line.
    """
    from pydantic_settings import DotEnvSettingsSource

    path = secrets_file_path()
    if not path.is_file():
        if os.environ.get("COVARY_SECRETS_FILE"):
            raise ConfigError(
                f"COVARY_SECRETS_FILE={path}: no such file",
                hint="create it (chmod 600) or unset COVARY_SECRETS_FILE",
            )
        return DotEnvSettingsSource(settings_cls, env_file=None)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"secrets file {path} is readable by others (mode {mode:04o})",
            hint=f"chmod 600 {path}",
        )
    from dotenv import dotenv_values

    try:
        names = [k for k in dotenv_values(path, encoding="utf-8") if k]
        _check_env_names(dict.fromkeys(names, ""))  # names only: a value never reaches an error message
    except ConfigError as exc:
        raise ConfigError(f"secrets file {path}: {exc.message}", hint=exc.hint) from exc
    return DotEnvSettingsSource(settings_cls, env_file=path, env_file_encoding="utf-8")


def load_settings(**overrides: Any) -> Settings:
    """Read settings now (env + covary.yaml); errors name the bad key, where it came from and the nearest key."""
    yaml_path, yaml_data = check_sources()
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc) or "<root>"
            value = f" = {err['input']!r}" if not isinstance(err.get("input"), dict | list) else ""
            source = _source_of(loc, dict(os.environ), yaml_data, yaml_path)
            problems.append(f"{key}{value} (from {source}): {err['msg']}")
        raise ConfigError(
            f"invalid settings: {'; '.join(problems)}",
            hint="check COVARY_* environment variables (nested with __) and covary.yaml",
        ) from None  # from None: the validation error echoes every input, secrets included


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
