"""Typed job configs: every job's ``main(config)`` validates its dict against a :class:`JobConfig` first.

A key the job does not read fails before any work, naming the key, the job, the nearest valid key and
every valid key; a value of the wrong type fails naming the field. Each job declares its model in
``jobs/<name>/config.py``; :func:`config_model` finds it by the job's name (the runtime validates on
``covary job run`` and ``covary job submit`` before Ray starts).
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from covary.errors import ConfigError


def _iso_date(value: str) -> str:
    date.fromisoformat(value)  # ValueError -> pydantic names the field
    return value


# A YYYY-MM-DD day kept as text: the jobs parse it themselves (``date.fromisoformat``).
IsoDate = Annotated[str, AfterValidator(_iso_date)]


class JobConfig(BaseModel):
    """Base of every job's config model: unknown keys are refused, values are coerced to the field's type.

    Defaults document what the job does when a key is absent; :meth:`checked` hands the job only the
    keys the caller set (validated), so the job's own defaults stay the single behaviour.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)
    job: ClassVar[str] = ""

    @classmethod
    def parse(cls, config: Mapping[str, Any] | JobConfig | None) -> Self:
        """Validate ``config``; a :class:`ConfigError` names the bad key or field, the job and the valid keys."""
        if isinstance(config, cls):
            return config
        data = dict(config.model_dump(exclude_unset=True) if isinstance(config, JobConfig) else (config or {}))
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _config_error(cls, exc) from exc

    @classmethod
    def checked(cls, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """The keys set in ``config``, validated and coerced: what a job's ``main`` works on."""
        return cls.parse(config).model_dump(exclude_unset=True)

    @classmethod
    def keys(cls) -> list[str]:
        return sorted(cls.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``annotation`` (``Model | None``, ``dict[str, Model]`` ...), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if (found := _model_in(arg)) is not None:
            return found
    return None


def _where(cls: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The (sub-)model that holds the last element of ``loc``."""
    model = cls
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        if field is not None and (sub := _model_in(field.annotation)) is not None:
            model = sub
    return model


def _config_error(cls: type[JobConfig], exc: ValidationError) -> ConfigError:
    from covary.settings import _nearest

    errors = exc.errors()
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    first = errors[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and "[" in p))  # no union member tags
    dotted = ".".join(str(p) for p in loc)
    model = _where(cls, loc)
    if first["type"] == "extra_forbidden" and loc:
        valid = sorted(model.model_fields)
        if not valid:
            return ConfigError(f"unknown key {dotted!r}: the {cls.job} job takes no config keys{more}", hint="drop it")
        near = _nearest(str(loc[-1]), valid)
        guess = f"did you mean {near!r}? " if near else ""
        return ConfigError(
            f"unknown key {dotted!r} in the {cls.job} job's config{more}",
            hint=f"{guess}valid keys{' under ' + repr('.'.join(map(str, loc[:-1]))) if loc[:-1] else ''}: "
            f"{', '.join(valid)}",
        )
    field = model.model_fields.get(str(loc[-1])) if loc else None
    about = (
        f"{dotted}: {field.description}"
        if field is not None and field.description
        else f"valid keys: {', '.join(cls.keys())}"
    )
    got = f" (got {first.get('input')!r})" if loc else ""
    return ConfigError(
        f"bad value for {dotted or 'the config'!r} in the {cls.job} job's config: {first['msg']}{got}{more}",
        hint=about,
    )


def dataclass_fields(dc: type[Any], *, doc: str) -> dict[str, Any]:
    """Fields for :func:`pydantic.create_model` mirroring the dataclass ``dc`` (same names, types, defaults).

    Jobs that hand part of their config to an options dataclass (``DetectorConfig``, ``EngineConfig`` ...)
    accept exactly its fields, so a new knob there is a valid config key with no second list to keep.
    """
    hints = typing.get_type_hints(dc)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(dc):
        description = f"{doc}.{f.name}"
        if f.default_factory is not dataclasses.MISSING:
            out[f.name] = (hints[f.name], Field(default_factory=f.default_factory, description=description))
        else:
            out[f.name] = (hints[f.name], Field(f.default, description=description))
    return out


def extend(base: type[JobConfig], name: str, dc: type[Any], *, doc: str) -> type[JobConfig]:
    """``base`` plus the fields of dataclass ``dc`` (see :func:`dataclass_fields`), as model ``name``."""
    model: type[JobConfig] = create_model(
        name, __base__=base, __module__=base.__module__, **dataclass_fields(dc, doc=doc)
    )
    return model


def config_model(job: str) -> type[JobConfig]:
    """The config model of job ``job`` (the :class:`JobConfig` in ``jobs/<job>/config.py`` whose ``job`` matches)."""
    module = importlib.import_module(f"jobs.{job}.config")
    found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, JobConfig) and v.job == job]
    for model in found:  # the most derived one (a base plus an options dataclass's fields, see :func:`extend`)
        if all(issubclass(model, other) for other in found):
            return model
    raise LookupError(f"jobs/{job}/config.py defines no JobConfig with job = {job!r}")


def validate_config(job: str, config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config`` checked against job ``job``'s model (see :meth:`JobConfig.checked`)."""
    return config_model(job).checked(config)


__all__ = ["IsoDate", "JobConfig", "config_model", "dataclass_fields", "extend", "validate_config"]
