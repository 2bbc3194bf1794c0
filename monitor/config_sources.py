"""The three layers of the settings as pydantic-settings sources (see monitor/config.py).

pydantic-settings is used through its public sources; the one internal hook
(`EnvSettingsSource._load_env_vars`, to read a given mapping rather than
`os.environ`) is overridden here and nowhere else, tested from 2.2.0 (the
first release with the TOML source) to 2.16. Which fields hold paths or
lists is read from the model's annotations, never listed by hand.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, TomlConfigSettingsSource

ENV_PREFIX = "ARTICLE_MONITOR_"
ENV_NESTED = "__"  # ARTICLE_MONITOR_INTERVALS__WEB=60


class ConfigError(Exception):
    """A usage or configuration error: exit code 2, nothing was checked."""


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


@dataclass(slots=True)
class Load:
    """What one `load_settings` call reads, and what each layer gave (for messages)."""

    config_file: Path | None
    environ: Mapping[str, str]
    file_keys: set[str] = field(default_factory=set)
    flag_keys: set[str] = field(default_factory=set)


LOADING: ContextVar[Load | None] = ContextVar("article_monitor_settings_load", default=None)


def annotation_args(annotation: Any) -> tuple[Any, ...]:
    """The members of `X | None` / `list[X]`, flattened one level."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def is_number(info: FieldInfo) -> bool:
    return any(a in (int, float) for a in annotation_args(info.annotation))


def is_list(info: FieldInfo) -> bool:
    return any(typing.get_origin(a) is list for a in annotation_args(info.annotation))


def holds_paths(info: FieldInfo) -> bool:
    """A `Path`, `Path | None` or `list[Path]` field: relative to the file that sets it."""
    for arg in annotation_args(info.annotation):
        if arg is Path or (typing.get_origin(arg) is list and typing.get_args(arg) == (Path,)):
            return True
    return False


class FileSource(TomlConfigSettingsSource):
    """The TOML file, with relative paths taken from the file's folder."""

    def __init__(self, settings_cls: type[BaseSettings], load: Load) -> None:
        assert load.config_file is not None
        self._load = load
        try:
            super().__init__(settings_cls, toml_file=load.config_file)
        except RecursionError:  # tomllib recurses once per level of [[[...]]] or {a={...}}
            raise ConfigError(f"{load.config_file}: invalid TOML: nested too deeply") from None

    def __call__(self) -> dict[str, Any]:
        data = dict(super().__call__())
        base = self._load.config_file.parent if self._load.config_file else Path()
        for name, info in self.settings_cls.model_fields.items():
            value = data.get(name)
            if not holds_paths(info):
                continue
            if isinstance(value, str):
                data[name] = str(base / value)
            elif isinstance(value, list):
                data[name] = [str(base / v) if isinstance(v, str) else v for v in value]
        self._load.file_keys = set(data)
        return data


class EnvSource(EnvSettingsSource):
    """ARTICLE_MONITOR_* from the given mapping; lists split, not JSON (unless they are JSON).

    `paths` and `key_file` split on the path separator (`:`), other lists on
    commas; a value that starts with `[` is read as a JSON list.
    """

    def __init__(self, settings_cls: type[BaseSettings], load: Load) -> None:
        self._environ = load.environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # surrounding whitespace is never meant (` true`, a pasted path)
        return {
            (name if self.case_sensitive else name.lower()): value.strip()
            for name, value in self._environ.items()
            if not (self.env_ignore_empty and not value.strip())
        }

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        if isinstance(value, str) and is_list(field) and not value.lstrip().startswith("["):
            sep = os.pathsep if holds_paths(field) else ","
            return [v.strip() for v in value.split(sep) if v.strip()]
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except (ValueError, RecursionError) as exc:  # JSON of a nested setting (intervals)
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise ConfigError(
                f"invalid configuration:\n  {field_name} (from environment "
                f"{env_name(field_name)}): not valid JSON ({why})"
            ) from None
