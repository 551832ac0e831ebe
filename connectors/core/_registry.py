"""Type-tagged registries (``{type: name, **options}`` -> instance) shared by auth and paginators."""

from __future__ import annotations

from typing import Any, TypeVar

from connectors.errors import SpecError

T = TypeVar("T")


def register_type(registry: dict[str, type[T]], base: type[T], name: str, cls: type[T]) -> None:
    """Make ``{type: name}`` build ``cls(**rest_of_the_config)``."""
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"{cls!r} is not a subclass of connectors.core.{base.__name__}")
    registry[name] = cls


def build_from_registry(
    registry: dict[str, type[T]],
    base: type[T],
    config: T | dict[str, Any] | str | None,
    *,
    default: type[T],
    where: str,
    label: str,
    register_fn: str,
) -> T:
    """An instance from an instance (used as is), None (``default()``), a type name or ``{type: ..., **options}``."""
    if config is None:
        return default()
    if isinstance(config, base):
        return config
    options = {"type": config} if isinstance(config, str) else dict(config)  # type: ignore[arg-type]
    kind = options.pop("type", None)
    if kind not in registry:
        raise SpecError(
            f"{where}.type: unknown {label} {kind!r}",
            hint=f"valid choices: {', '.join(sorted(registry))} (or {register_fn} a custom one)",
        )
    try:
        return registry[kind](**options)
    except TypeError as exc:
        raise SpecError(f"{where}: bad options for {label} {kind!r}: {exc}") from exc
