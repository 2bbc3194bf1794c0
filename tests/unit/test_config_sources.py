"""The settings' layers are read as pydantic-settings read them (2.2 to 2.16).

`monitor.config_sources` stopped importing pydantic-settings (~55 ms of every
`check`'s start-up, issue 16); these tests hold its reading of the environment
and the file to the sources it replaced, which are kept here as the oracle
(pydantic-settings is a dev dependency for this test alone).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

pydantic_settings = pytest.importorskip("pydantic_settings")

from pydantic.fields import FieldInfo  # noqa: E402

from monitor.config import Settings, load_settings  # noqa: E402
from monitor.config_sources import (  # noqa: E402
    ENV_NESTED,
    ENV_PREFIX,
    ConfigError,
    Load,
    comma_list,
    env_json,
    env_name,
    env_values,
    env_whole,
    holds_paths,
    is_list,
    layered,
    whole_items,
)

FIELDS = Settings.model_fields


class OracleEnv(pydantic_settings.EnvSettingsSource):  # type: ignore[misc,name-defined]
    """The environment source `check` used until issue 16's start-up work."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(
            Settings,  # type: ignore[arg-type]
            case_sensitive=False,
            env_prefix=ENV_PREFIX,
            env_nested_delimiter=ENV_NESTED,
            env_ignore_empty=True,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            name.lower(): value.strip()
            for name, value in self._environ.items()
            if not (self.env_ignore_empty and not value.strip())
        }

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        if isinstance(value, str) and env_whole(field):  # ours: never split (exclude_urls)
            return whole_items(value)
        if isinstance(value, str) and env_json(field) and not value.startswith("["):
            raise ConfigError(  # ours: JSON or nothing (request_headers)
                f"invalid configuration:\n  {field_name} (from environment "
                f"{env_name(field_name)}): expected a JSON list of tables, e.g. "
                '[{"hosts": ["staging.example.com"], "name": "Authorization", '
                '"value_env": "STAGING_AUTH"}]'
            )
        if isinstance(value, str) and is_list(field) and comma_list(value.lstrip(), field):
            sep = os.pathsep if holds_paths(field) else ","
            return [v.strip() for v in value.split(sep) if v.strip()]
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except (ValueError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise ConfigError(
                f"invalid configuration:\n  {field_name} (from environment "
                f"{env_name(field_name)}): not valid JSON ({why})"
            ) from None


def oracle(environ: Mapping[str, str]) -> Any:
    try:
        return OracleEnv(environ)()
    except ConfigError as exc:
        return ("error", str(exc))
    except TypeError:
        # pydantic-settings 2.2 (the lowest the oracle may be) crashes on a nested key
        # below a plain one (INTERVALS__WEB and INTERVALS__WEB__X): no reading to hold
        # ours to; test_a_key_below_a_plain_one_is_ignored pins ours (2.16's reading)
        reject()


def ours(environ: Mapping[str, str]) -> Any:
    try:
        return env_values(FIELDS, Load(None, environ))
    except ConfigError as exc:
        return ("error", str(exc))


def _spelled(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.title()])


VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "1",
            " 7 ",
            "true",
            "a,b",
            " a , ,b ",
            "x:y",
            "[]",
            '["a", "b"]',
            "[1, 2",
            '{"web": 9}',
            '{"web": 9, "amp": 3}',
            "{web: 1",
            "null",
            '"s"',
            "127.0.0.0/8,::1/128",
            "web,image",
        ]
    ),
    st.text(alphabet=' ,:[]{}"0123456789abwe\t', max_size=12),
)
NAMES = st.one_of(
    st.sampled_from(sorted(FIELDS)).map(env_name).flatmap(_spelled),
    st.sampled_from(["web", "amp", "cdn", "image", "wbe", "web__x"]).map(
        lambda k: env_name("intervals") + ENV_NESTED + k.upper()
    ),
    st.sampled_from(["ARTICLE_MONITOR_KEY", "ARTICLE_MONITOR_CONFIG", "HOME", "PATHS"]),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(NAMES, VALUES, max_size=6))
def test_the_environment_is_read_as_pydantic_settings_read_it(environ: dict[str, str]) -> None:
    assert ours(environ) == oracle(environ)


@pytest.mark.parametrize(
    "environ",
    [
        {"ARTICLE_MONITOR_INTERVALS": '{"web": 9}', "ARTICLE_MONITOR_INTERVALS__AMP": "5"},
        {"article_monitor_intervals__web": "5", "ARTICLE_MONITOR_INTERVALS__Cdn": "6"},
        {"ARTICLE_MONITOR_PATHS": "a" + os.pathsep + " b ", "ARTICLE_MONITOR_KINDS": "web, amp"},
        {"ARTICLE_MONITOR_CONNECT_TO": '["a:1:b:2"]', "ARTICLE_MONITOR_PATHS__0": "x"},
        {"ARTICLE_MONITOR_INTERVALS": "[" * 5000 + "]" * 5000},
        # JSON null for a nested model is unset, its `__` keys with it (was an error)
        {"ARTICLE_MONITOR_INTERVALS": "null"},
        {"ARTICLE_MONITOR_INTERVALS": " null ", "ARTICLE_MONITOR_INTERVALS__WEB": "5"},
    ],
)
def test_examples_of_nested_and_listed_variables(environ: dict[str, str]) -> None:
    assert ours(environ) == oracle(environ)


def test_the_file_layer_is_read_as_the_toml_source_read_it(tmp_path: Path) -> None:
    config = tmp_path / "am.toml"
    config.write_text(
        'paths = ["corpus", "/abs"]\nca_bundle = "ca.pem"\nper_host = 3\nbogus = 1\n'
        "[intervals]\nweb = 5\n"
    )
    source = pydantic_settings.TomlConfigSettingsSource(Settings, toml_file=config)
    expected = dict(source())
    for name in ("paths", "ca_bundle"):
        value = expected[name]
        expected[name] = (
            [str(tmp_path / v) for v in value] if isinstance(value, list) else str(tmp_path / value)
        )
    load = Load(config, {})
    assert layered(FIELDS, load, {}) == expected
    assert load.file_keys == {"paths", "ca_bundle", "per_host", "bogus", "intervals"}


def test_flags_over_environment_over_file_with_nested_tables_merged(tmp_path: Path) -> None:
    config = tmp_path / "am.toml"
    config.write_text("per_host = 2\nconcurrency = 3\n[intervals]\nweb = 5\namp = 6\n")
    env = {"ARTICLE_MONITOR_PER_HOST": "7", "ARTICLE_MONITOR_INTERVALS__AMP": "60"}
    s = load_settings(config, {"concurrency": 9}, environ=env)
    assert (s.per_host, s.concurrency, s.intervals.web, s.intervals.amp) == (7, 9, 5, 60)


def test_a_key_below_a_plain_one_is_ignored() -> None:
    """As pydantic-settings 2.16 reads it (2.2 raised a TypeError: a traceback at start)."""
    environ = {"ARTICLE_MONITOR_INTERVALS__WEB": "1", "ARTICLE_MONITOR_INTERVALS__WEB__X": "1"}
    assert ours(environ) == {"intervals": {"web": "1"}}
