"""The three layers of the settings (see monitor/config.py): the TOML file, the
ARTICLE_MONITOR_* environment and the flags, read into one mapping of raw values
that the model then validates.

Read here rather than by pydantic-settings: importing it cost every `check`
~55 ms of its ~420 ms start-up CPU (issue 16), for two sources this module
already shaped by hand. The rules are pydantic-settings' (2.2 to 2.16), which
`tests/unit/test_config_sources.py` holds this reading to: names are the
field names upper-cased and prefixed, case-insensitive; an empty or blank
value is unset; a nested model's keys come as `…__KEY`; a list or a nested
model given whole is JSON; a higher layer's nested table is merged into a
lower one's. Ours on top: surrounding whitespace is stripped, and a list not
written as JSON (or opening with a bracketed IPv6 address) splits on commas
(`paths` and `key_file` on the path separator), but for a list marked
`ENV_WHOLE` (`exclude_urls`), whose items may hold commas: a JSON list of
strings, or else one item as written; and
one marked `ENV_JSON` (`request_headers`) is a JSON list or an error. Which
fields hold paths, lists or models is read from the model's annotations,
never listed by hand.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

ENV_PREFIX = "ARTICLE_MONITOR_"
ENV_NESTED = "__"  # ARTICLE_MONITOR_INTERVALS__WEB=60


class ConfigError(Exception):
    """A usage or configuration error: exit code 2, nothing was checked."""


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


class EnvWhole:
    """The mark of a list setting whose variable is never split
    (`Annotated[list[str], ENV_WHOLE]`): it is a JSON list of strings, or else
    its one item as written. Its items may hold commas or begin with `[` (a
    regular expression's `\\d{1,3}`, `[0-9]+`), which the comma split cut into
    items that meant nothing and JSON refused."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ENV_WHOLE"


ENV_WHOLE = EnvWhole()


class EnvJson:
    """The mark of a list setting whose variable is a JSON list and nothing else
    (`request_headers`: a list of tables, whose values may hold commas)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ENV_JSON"


ENV_JSON = EnvJson()


@dataclass(slots=True)
class Load:
    """What one `load_settings` call reads, and what each layer gave (for messages)."""

    config_file: Path | None
    environ: Mapping[str, str]
    file_keys: set[str] = field(default_factory=set)
    flag_keys: set[str] = field(default_factory=set)


def annotation_args(annotation: Any) -> tuple[Any, ...]:
    """The members of `X | None` / `list[X]`, flattened one level; an
    `Annotated[X, …]` member (a duration type: `Seconds | None`) as its X."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = tuple(a for a in typing.get_args(annotation) if a is not type(None))
    else:
        members = (annotation,)
    return tuple(
        typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a for a in members
    )


def is_number(info: FieldInfo) -> bool:
    return any(a in (int, float) for a in annotation_args(info.annotation))


def is_whole(info: FieldInfo) -> bool:
    """An integer field (`int` or `int | None`), not a float one."""
    args = annotation_args(info.annotation)
    return int in args and float not in args


def is_list(info: FieldInfo) -> bool:
    return any(typing.get_origin(a) is list for a in annotation_args(info.annotation))


def is_model(info: FieldInfo) -> bool:
    return any(
        isinstance(a, type) and issubclass(a, BaseModel) for a in annotation_args(info.annotation)
    )


def env_json(info: FieldInfo) -> bool:
    """A list whose variable must be a JSON list (EnvJson)."""
    return any(isinstance(m, EnvJson) for m in info.metadata)


def env_whole(info: FieldInfo) -> bool:
    """A list whose variable is one item unless it is a JSON list (EnvWhole)."""
    return any(isinstance(m, EnvWhole) for m in info.metadata)


# a value written as a JSON list of strings: `["` first and `]` last
_JSON_STRINGS = re.compile(r'\[\s*".*\]', re.DOTALL)
# an IPv6 address in brackets first (`[::1],localhost` in NO_PROXY, `[::1]:443:…` for
# connect_to): never JSON (a colon after `[`), so a comma-separated list
_BRACKETED_IPV6_FIRST = re.compile(r"\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[^\]]*)?\]")


def comma_list(value: str, info: FieldInfo) -> bool:
    """Whether a list variable's `value` splits on its separator: not written as
    JSON, or opening with a bracketed IPv6 address, which JSON cannot begin with;
    never an `ENV_JSON` one's (`[::1],…` in request_headers was split into rules
    that each said "Input should be a valid dictionary", not "not valid JSON")."""
    if env_json(info):
        return False
    return not value.startswith("[") or _BRACKETED_IPV6_FIRST.match(value) is not None


def whole_items(name: str, value: str) -> list[str]:
    """An ENV_WHOLE variable's items: those of a JSON list of strings, else
    the value itself as the one item, `[1]` and `[a-z,]+` included (whether an
    item is valid is the model's to say).

    One written as a JSON list of strings (`["...", ...]`) must be one: taken
    as a single pattern, `["^https?://ads\\."]` (a backslash JSON refuses) was a
    character class that matched nearly every URL, so every target was
    silently left out."""
    if value.startswith("["):
        try:
            items = json.loads(value)
        except (ValueError, RecursionError) as exc:
            if _JSON_STRINGS.fullmatch(value):
                why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise ConfigError(
                    f"invalid configuration:\n  {name} (from environment {env_name(name)}):"
                    f" written as a JSON list of strings but not valid JSON ({why}); in"
                    " JSON each backslash of a pattern is doubled (`\\\\.`), and one pattern"
                    ' that begins with `["` is given in a JSON list'
                ) from None
            items = None
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return items
        if isinstance(items, list) and _JSON_STRINGS.fullmatch(value):
            raise ConfigError(
                f"invalid configuration:\n  {name} (from environment {env_name(name)}):"
                " written as a JSON list of strings but an item is not a string"
            )
    return [value]


def is_complex(info: FieldInfo) -> bool:
    """A list or a nested model: given whole in the environment, it is JSON."""
    return is_list(info) or is_model(info)


def holds_paths(info: FieldInfo) -> bool:
    """A `Path`, `Path | None` or `list[Path]` field: relative to the file that sets it."""
    for arg in annotation_args(info.annotation):
        if arg is Path or (typing.get_origin(arg) is list and typing.get_args(arg) == (Path,)):
            return True
    return False


def _table_model(info: FieldInfo) -> type[BaseModel] | None:
    """The model of a list of tables (`list[HeaderRule]`), else None."""
    for arg in annotation_args(info.annotation):
        if typing.get_origin(arg) is list:
            (item,) = typing.get_args(arg) or (None,)
            if isinstance(item, type) and issubclass(item, BaseModel):
                return item
    return None


def deep_update(lower: Mapping[str, Any], higher: Mapping[str, Any]) -> dict[str, Any]:
    """`lower` with `higher`'s values over it; two tables under one key are merged."""
    merged = dict(lower)
    for key, value in higher.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, dict):
            merged[key] = deep_update(below, value)
        else:
            merged[key] = value
    return merged


# bytes of a config file: a config is some kB; 16 MiB lists 100,000 long corpus paths.
# A larger file is another file named by mistake (a log, a dump), not read into memory.
CONFIG_FILE_CAP = 16 << 20


def file_values(fields: Mapping[str, FieldInfo], load: Load) -> dict[str, Any]:
    """The TOML file's keys, all of them (an unknown one is the model's to refuse),
    with relative paths taken from the file's folder (and `~/` from the home folder)."""
    assert load.config_file is not None
    try:
        with load.config_file.open("rb") as f:
            raw = f.read(CONFIG_FILE_CAP + 1)
        if len(raw) > CONFIG_FILE_CAP:
            raise ConfigError(
                f"config file {load.config_file} is larger than {CONFIG_FILE_CAP} bytes: "
                "not the file meant? (--config, or ARTICLE_MONITOR_CONFIG)"
            )
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Notepad's "Unicode": said as such
            raise ConfigError(
                f"{load.config_file}: invalid TOML: the file is UTF-16 (a Windows editor's "
                '"Unicode"); TOML is UTF-8: save it as UTF-8'
            )
        text = raw.decode("utf-8")
        data = tomllib.loads(text.removeprefix("\ufeff"))  # a BOM (Windows editors) is no key
    except RecursionError:  # tomllib recurses once per level of [[[...]]] or {a={...}}
        raise ConfigError(f"{load.config_file}: invalid TOML: nested too deeply") from None
    except ValueError as exc:  # TOMLDecodeError, bytes not UTF-8, and an integer of over
        # 4,300 digits (int()'s limit, not the parser's: a bare ValueError named no file,
        # and a SIGHUP reload did not catch it): each in the words of an invalid TOML file
        raise ConfigError(f"{load.config_file}: invalid TOML: {exc}") from None
    base = load.config_file.parent
    home = os.path.expanduser
    for name, info in fields.items():
        value = data.get(name)
        table = _table_model(info)
        if table is not None and isinstance(value, list):  # [[request_headers]]' value_file
            inner = [k for k, i in table.model_fields.items() if holds_paths(i)]
            for item in value:
                for key in inner:
                    if isinstance(item, dict) and isinstance(item.get(key), str):
                        item[key] = str(base / home(item[key]))
        if not holds_paths(info):
            continue
        if isinstance(value, str):
            data[name] = str(base / home(value))
        elif isinstance(value, list):
            data[name] = [str(base / home(v)) if isinstance(v, str) else v for v in value]
    load.file_keys = set(data)
    return data


def env_values(fields: Mapping[str, FieldInfo], load: Load) -> dict[str, Any]:
    """The ARTICLE_MONITOR_* variables that name a field (others are ignored)."""
    # case-insensitive; surrounding whitespace is never meant (` true`, a pasted path)
    environ = {name.lower(): value.strip() for name, value in load.environ.items() if value.strip()}
    values: dict[str, Any] = {}
    for name, info in fields.items():
        key = env_name(name).lower()
        value = environ.get(key)
        complex_ = is_complex(info)
        if value is not None and env_whole(info):
            values[name] = whole_items(name, value)
        elif value is not None and env_json(info) and not value.startswith("["):
            raise ConfigError(
                f"invalid configuration:\n  {name} (from environment {env_name(name)}):"
                ' expected a JSON list of tables, e.g. [{"hosts": ["staging.example.com"],'
                ' "name": "Authorization", "value_env": "STAGING_AUTH"}]'
            )
        elif complex_ and is_list(info) and value is not None and comma_list(value, info):
            sep = os.pathsep if holds_paths(info) else ","
            values[name] = [v.strip() for v in value.split(sep) if v.strip()]
        elif complex_:
            nested = _exploded(key + ENV_NESTED, environ)
            if value is None:
                if nested:
                    values[name] = nested
                continue
            decoded = _json(name, value)
            if decoded is None:  # JSON null: unset, its `__` keys too (pydantic-settings)
                continue
            values[name] = deep_update(decoded, nested) if isinstance(decoded, dict) else decoded
        elif value is not None:
            values[name] = value
    return values


# read elsewhere: the key itself (monitor.secured.keys) and the config file's path
_OTHER_NAMES = frozenset({"key", "config"})


def env_near_misses(
    fields: Mapping[str, FieldInfo], environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(variable, the setting's variable) for each ARTICLE_MONITOR_* name one
    typo away from a setting: such a variable is ignored, which a user only
    notices when the setting does not take. Names far from every setting
    (another tool's, a deployment's) are not guessed at."""
    from difflib import get_close_matches

    models = [name for name, info in fields.items() if is_model(info)]
    known = [*fields, *_OTHER_NAMES]
    found = []
    for variable in environ:
        if not variable.upper().startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        head, nested, rest = name.partition(ENV_NESTED)
        if (head in models) if nested else (name in known):
            continue
        candidates = models if nested else known
        close = get_close_matches(head, candidates, n=1, cutoff=0.85) or _swapped(head, candidates)
        if close:
            meant = env_name(close[0]) + (ENV_NESTED + rest.upper() if nested else "")
            found.append((variable, meant))
    return sorted(found)


def _swapped(name: str, known: list[str]) -> list[str]:
    """The setting `name` spells with two neighbouring letters swapped: the typo
    difflib's ratio misses in a short name (ARTICLE_MONITOR_KYE for …_KEY: a key
    never read, every signature "unverified", exit 0)."""
    for i in range(len(name) - 1):
        swapped = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        if swapped != name and swapped in known:
            return [swapped]
    return []


def _exploded(prefix: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """`…__WEB=60` as {"web": "60"}; deeper `__` as deeper tables."""
    result: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(prefix):
            continue
        *keys, last = name[len(prefix) :].split(ENV_NESTED)
        table = result
        for key in keys:
            below = table.setdefault(key, {})
            if not isinstance(below, dict):
                break
            table = below
        else:
            table[last] = value
    return result


def _json(name: str, value: str) -> Any:
    try:
        return json.loads(value)
    except (ValueError, RecursionError) as exc:  # JSON of a nested setting (intervals)
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ConfigError(
            f"invalid configuration:\n  {name} (from environment "
            f"{env_name(name)}): not valid JSON ({why})"
        ) from None


def layered(
    fields: Mapping[str, FieldInfo], load: Load, flags: Mapping[str, Any]
) -> dict[str, Any]:
    """Flags over the environment over the file: the raw values to validate."""
    values = file_values(fields, load) if load.config_file is not None else {}
    values = deep_update(values, env_values(fields, load))
    return deep_update(values, flags)
