"""Every setting through every layer, generated from the model so none can drift.

The field lists used to be kept by hand beside the model and drifted
(`metrics_allow_unauthenticated` could not be set from the environment):
these tests walk `Settings.model_fields`, so a new field is covered the day it
is added, or fails here until it gets a sample value.
"""

from __future__ import annotations

import json
import os
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic.fields import FieldInfo

from monitor.config import ENV_PREFIX, ConfigError, Settings, load_settings
from monitor.config_sources import env_json, env_whole

# Fields whose values must mean something (a CIDR, an address, a rule).
_MEANINGFUL: dict[str, Any] = {
    "allow_network": ["10.0.0.0/8", "::1/128"],
    "listen": "0.0.0.0:9000",
    "connect_to": ["a.example:443:127.0.0.1:8443", "::127.0.0.2:"],
    "request_headers": [
        {"hosts": ["staging.example", "*.img.example"], "name": "X-Team", "value": "news"}
    ],
    "kinds": ["web", "image"],
    "intervals": {"web": 5.0, "image": 7.5},
    "exclude_fields": ["title", "provider.name"],
    "exclude_urls": [r"^https?://ads\.", r"(?i)pixel\.gif$"],
    "public_url": "https://status.example/monitor",
    "proxy": "http://ops:pw@proxy.example:3128",
    "no_proxy": ["intranet.example", "*.corp.example"],
}


def _bound(info: FieldInfo, name: str) -> float | None:
    return next((getattr(m, name) for m in info.metadata if hasattr(m, name)), None)


def _number(info: FieldInfo, kind: type) -> Any:
    default = info.get_default(call_default_factory=True)
    low = _bound(info, "ge")
    low = low if low is not None else _bound(info, "gt")
    high = _bound(info, "le")
    base = default if isinstance(default, int | float) else (low or 0) + 1
    value = base + 1 if kind is int else base + 0.25
    if high is not None and value > high:
        value = (low or 0) + (high - (low or 0)) / 2 if kind is float else int(high) - 1
    return kind(value)


def sample(name: str, info: FieldInfo) -> Any:
    """A valid value for `name` that differs from its default."""
    if name in _MEANINGFUL:
        return _MEANINGFUL[name]
    args = [a for a in typing.get_args(info.annotation) if a is not type(None)]
    kind = info.annotation if not args or typing.get_origin(info.annotation) is list else args[0]
    if typing.get_origin(kind) is typing.Annotated:  # `Seconds | None`: its float
        kind = typing.get_args(kind)[0]
    if typing.get_origin(info.annotation) is typing.Literal:
        choices = typing.get_args(info.annotation)
        return next(c for c in choices if c != info.default)
    if typing.get_origin(kind) is typing.Literal:
        return typing.get_args(kind)[-1]
    if kind is bool:
        return not info.default
    if kind in (int, float):
        return _number(info, kind)
    if kind is str:
        return "sample-value"
    if kind is Path:
        return "sub/file.pem"
    if typing.get_origin(kind) is list and typing.get_args(kind) == (Path,):
        return ["one", "two/three"]
    pytest.fail(f"Settings.{name}: give this field a sample value in {__file__}")


def toml_text(name: str, value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):  # [[tables]]
        return "".join(f"[[{name}]]\n" + toml_text("", v).split("\n", 1)[1] for v in value)
    if isinstance(value, dict):
        body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
        return f"[{name}]\n{body}\n"
    return f"{name} = {json.dumps(value)}\n"


def env_vars(name: str, value: Any) -> dict[str, str]:
    key = ENV_PREFIX + name.upper()
    if isinstance(value, dict):
        return {f"{key}__{k.upper()}": str(v) for k, v in value.items()}
    if isinstance(value, bool):
        return {key: "true" if value else "false"}
    if isinstance(value, list) and env_json(Settings.model_fields[name]):
        return {key: json.dumps(value)}  # a JSON list and nothing else (request_headers)
    if isinstance(value, list) and env_whole(Settings.model_fields[name]):
        return {key: json.dumps(value)}  # one item unless a JSON list (exclude_urls)
    if isinstance(value, list):
        sep = os.pathsep if name in ("paths", "key_file") else ","
        return {key: sep.join(value)}
    return {key: str(value)}


def relative_to(base: Path, name: str, value: Any) -> Any:
    """What a file value means: a path relative to the file's folder."""
    info = Settings.model_fields[name]
    holds_path = Path in typing.get_args(info.annotation) or info.annotation in (
        Path,
        list[Path],
    )
    if not holds_path:
        return value
    if isinstance(value, list):
        return [str(base / v) for v in value]
    return str(base / value)


FIELDS = sorted(Settings.model_fields)


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("layer", ["file", "env", "flag"])
def test_every_setting_is_settable_from_every_layer(tmp_path: Path, layer: str, name: str) -> None:
    value = sample(name, Settings.model_fields[name])
    default = getattr(Settings(), name)
    config = None
    env: dict[str, str] = {}
    flags: dict[str, Any] = {}
    expected_input = value
    if layer == "file":
        config = tmp_path / "am.toml"
        config.write_text(toml_text(name, value))
        expected_input = relative_to(tmp_path, name, value)
    elif layer == "env":
        env = env_vars(name, value)
    else:
        flags = {name: value}
    got = getattr(load_settings(config, flags, environ=env), name)
    expected = getattr(Settings(**{name: expected_input}), name)
    assert got == expected
    assert got != default, f"{name}: the sample must differ from the default"


BOOLEANS = sorted(n for n, f in Settings.model_fields.items() if f.annotation is bool)
TRUE = ("1", "true", "True", "TRUE", "yes", "Yes", "on", "ON", "t", "y", " true ")
FALSE = ("0", "false", "False", "FALSE", "no", "No", "off", "OFF", "f", "n")
SPELLINGS = [*[(s, True) for s in TRUE], *[(s, False) for s in FALSE]]


def test_the_boolean_settings_include_the_one_that_drifted() -> None:
    assert "metrics_allow_unauthenticated" in BOOLEANS


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize(("spelling", "meaning"), SPELLINGS)
def test_booleans_from_env_in_every_spelling(name: str, spelling: str, meaning: bool) -> None:
    env = {ENV_PREFIX + name.upper(): spelling}
    assert getattr(load_settings(None, {}, environ=env), name) is meaning


@pytest.mark.parametrize("name", BOOLEANS)
def test_a_boolean_that_is_no_boolean_is_an_error_not_false(name: str) -> None:
    var = ENV_PREFIX + name.upper()
    with pytest.raises(ConfigError, match=f"{name} \\(from environment {var}\\)"):
        load_settings(None, {}, environ={var: "maybe"})


def test_an_empty_variable_is_unset() -> None:
    s = load_settings(None, {}, environ={ENV_PREFIX + "RELATED": "", ENV_PREFIX + "PER_HOST": " "})
    assert s.related is True and s.per_host == 4


def test_errors_name_the_key_and_the_layer(tmp_path: Path) -> None:
    config = tmp_path / "am.toml"
    config.write_text("per_host = 0\n")
    with pytest.raises(ConfigError, match=f"per_host \\(from file {config}\\)"):
        load_settings(config, {}, environ={})
    from_env = "per_host \\(from environment ARTICLE_MONITOR_PER_HOST\\)"
    with pytest.raises(ConfigError, match=from_env):
        load_settings(config, {}, environ={"ARTICLE_MONITOR_PER_HOST": "-1"})
    with pytest.raises(ConfigError, match="per_host \\(from flag --per-host\\)"):
        load_settings(config, {"per_host": 0}, environ={"ARTICLE_MONITOR_PER_HOST": "2"})


def test_unknown_keys_in_the_file_are_named(tmp_path: Path) -> None:
    config = tmp_path / "am.toml"
    config.write_text("concurrency = 2\nconcurency = 10\n[intervals]\nwbe = 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config, {}, environ={})
    assert "concurency (from file" in str(info.value)
    assert "intervals.wbe" in str(info.value)


@pytest.mark.parametrize("key", ["key", "aes_key", "secret", "private_key", "keys", "token"])
def test_key_material_is_never_taken_from_the_file(tmp_path: Path, key: str) -> None:
    secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    config = tmp_path / "am.toml"
    config.write_text(f'{key} = "{secret}"\n')
    with pytest.raises(ConfigError, match="key material is never read from the config file") as e:
        load_settings(config, {}, environ={})
    assert secret not in str(e.value)
    assert key in str(e.value)


@pytest.mark.parametrize(
    "text",
    ["per_host = true", "timeout = false", "[intervals]\nweb = true", "concurrency = 'ten'"],
)
def test_wrong_types_in_the_file_are_errors(tmp_path: Path, text: str) -> None:
    config = tmp_path / "am.toml"
    config.write_text(text + "\n")
    key = text.split("=")[0].strip().replace("[intervals]\n", "intervals.")
    with pytest.raises(ConfigError, match=f"{key} \\(from file"):
        load_settings(config, {}, environ={})


@pytest.mark.parametrize(
    "text", ["[intervals]\nweb = 1\n[intervals]\namp = 2", "a = 1\na = 2", "\xff = 1"]
)
def test_malformed_toml_is_a_config_error(tmp_path: Path, text: str) -> None:
    config = tmp_path / "am.toml"
    config.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(config, {}, environ={})


def test_a_folder_or_unreadable_bytes_as_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a file"):
        load_settings(tmp_path, {}, environ={})
    binary = tmp_path / "am.toml"
    binary.write_bytes(b"per_host = \xff\xfe\n")
    with pytest.raises(ConfigError, match=str(binary)):
        load_settings(binary, {}, environ={})


def test_bad_json_in_a_nested_variable_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="intervals \\(from environment"):
        load_settings(None, {}, environ={ENV_PREFIX + "INTERVALS": "{web: 1"})
    s = load_settings(None, {}, environ={ENV_PREFIX + "INTERVALS": '{"web": 9}'})
    assert s.intervals.web == 9


def test_nested_layers_merge(tmp_path: Path) -> None:
    config = tmp_path / "am.toml"
    config.write_text("[intervals]\nweb = 5\namp = 6\n")
    s = load_settings(config, {}, environ={ENV_PREFIX + "INTERVALS__AMP": "60"})
    assert (s.intervals.web, s.intervals.amp) == (5, 60)


def test_settings_built_in_code_never_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PREFIX + "PER_HOST", "9")
    assert Settings().per_host == 4
    assert load_settings(None, {}).per_host == 9


@pytest.mark.parametrize("spec", ["a:-1:b:2", "a:1:b:70000", "a:0:b:2", "a:1:b:+2", "a:1:b:\uff12"])
def test_connect_to_ports_out_of_range_are_errors(spec: str) -> None:
    with pytest.raises(ConfigError, match=r"connect_to \(from flag --connect-to\).*1 to 65535"):
        load_settings(None, {"connect_to": [spec]}, environ={})


@pytest.mark.parametrize(
    "text",
    ["paths = " + "[" * 100_000 + "]" * 100_000, "x = " + "{a=" * 5000 + "1" + "}" * 5000],
    ids=["arrays", "tables"],
)
def test_a_file_nested_too_deeply_is_a_config_error(tmp_path: Path, text: str) -> None:
    config = tmp_path / "am.toml"
    config.write_text(text + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_settings(config, {}, environ={})


def test_an_env_value_nested_too_deeply_is_a_config_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ConfigError, match=r"INTERVALS.*nested too deeply"):
        load_settings(None, {}, environ={ENV_PREFIX + "INTERVALS": deep})


@pytest.mark.parametrize("key", ["paths", "key_file", "data_dir", "ca_bundle", "db"])
def test_a_nul_in_a_setting_is_an_error(tmp_path: Path, key: str) -> None:
    value = '["a\\u0000b"]' if key in ("paths", "key_file") else '"a\\u0000b"'
    config = tmp_path / "am.toml"
    config.write_text(f"{key} = {value}\n")
    with pytest.raises(ConfigError, match=f"{key}.*NUL"):
        load_settings(config, {}, environ={})


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ftp://admin:hunter2@status.example/", "ftp: scheme"),
        ("https://admin:hunter2@status.example:0/", "port 0"),
        ("https://admin:hunter2@status.example/", "no credentials"),
        ("https://@status.example/", "no credentials"),
        ("https://status.example/ monitor", "whitespace"),
    ],
)
def test_public_url_is_judged_by_the_url_rule_and_never_echoes_a_password(
    value: str, why: str
) -> None:
    with pytest.raises(ConfigError, match="public_url") as info:
        load_settings(None, {"public_url": value}, environ={})
    assert why in str(info.value) and "hunter2" not in str(info.value)


def test_a_bad_path_argument_is_named_as_the_argument() -> None:
    with pytest.raises(ConfigError, match=r"paths \(from argument PATH\)"):
        load_settings(None, {"paths": ["a\x00b"]}, environ={})
