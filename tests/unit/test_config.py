"""Settings precedence and validation: TOML < environment < flags."""

from pathlib import Path

import pytest

from monitor.config import ConfigError, ConnectTo, Settings, load_settings
from monitor.vocabulary import Kind


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "am.toml"
    path.write_text(text)
    return path


def test_defaults_without_any_layer() -> None:
    s = load_settings(None, {}, environ={})
    assert s.concurrency == 64 and s.per_host == 4 and s.retries == 2
    assert s.kinds == list(Kind)
    assert s.listen == "127.0.0.1:9464"
    assert s.interval_for(Kind.WEB) == 3600 and s.interval_for(Kind.IMAGE) == 21600


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    cfg = write(tmp_path, "concurrency = 10\nper_host = 2\ntimeout = 3.5\n")
    env = {"ARTICLE_MONITOR_CONCURRENCY": "20", "ARTICLE_MONITOR_PER_HOST": "3"}
    s = load_settings(cfg, {"concurrency": 30, "timeout": None}, environ=env)
    assert s.concurrency == 30  # flag beats env beats file
    assert s.per_host == 3  # env beats file
    assert s.timeout == 3.5  # file, since the flag was not given


def test_paths_in_config_are_relative_to_the_file(tmp_path: Path) -> None:
    cfg = write(tmp_path, 'paths = ["corpus"]\nkey_file = ["k.key"]\n')
    s = load_settings(cfg, {}, environ={})
    assert s.paths == [tmp_path / "corpus"]
    assert s.key_file == [tmp_path / "k.key"]


def test_bad_key_is_named(tmp_path: Path) -> None:
    cfg = write(tmp_path, "concurency = 10\n")
    with pytest.raises(ConfigError, match="concurency"):
        load_settings(cfg, {}, environ={})


def test_bad_value_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="per_host"):
        load_settings(write(tmp_path, "per_host = 0\n"), {}, environ={})
    with pytest.raises(ConfigError, match="allow_network"):
        load_settings(None, {"allow_network": ["10.0.0.0/33"]}, environ={})


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(write(tmp_path, "x = = 1"), {}, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", {}, environ={})


def test_env_lists_and_booleans() -> None:
    env = {
        "ARTICLE_MONITOR_ALLOW_NETWORK": "127.0.0.0/8,::1/128",
        "ARTICLE_MONITOR_OFFLINE": "true",
        "ARTICLE_MONITOR_KINDS": "web,image",
        "ARTICLE_MONITOR_KEY": "not-a-setting-and-never-read-here",
    }
    s = load_settings(None, {}, environ=env)
    assert s.allow_network == ["127.0.0.0/8", "::1/128"]
    assert s.offline is True
    assert s.kinds == [Kind.WEB, Kind.IMAGE]
    assert "not-a-setting" not in repr(s)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "a.example:443:127.0.0.1:8443",
            ConnectTo(host1="a.example", port1=443, host2="127.0.0.1", port2=8443),
        ),
        ("::127.0.0.2:", ConnectTo(host1="", port1=None, host2="127.0.0.2", port2=None)),
        ("[::1]:80:[::1]:8080", ConnectTo(host1="::1", port1=80, host2="::1", port2=8080)),
    ],
)
def test_connect_to_parse(spec: str, expected: ConnectTo) -> None:
    assert ConnectTo.parse(spec) == expected


def test_connect_to_matching_and_errors() -> None:
    rule = ConnectTo.parse("News.Example::127.0.0.1:9")
    assert rule.matches("news.example", 443) and rule.matches("NEWS.example", 80)
    assert not rule.matches("other.example", 443)
    with pytest.raises(ValueError, match="HOST1:PORT1:HOST2:PORT2"):
        ConnectTo.parse("a:b:c")
    with pytest.raises(ConfigError, match="connect_to"):
        load_settings(None, {"connect_to": ["a:x:b:1"]}, environ={})


def test_redacted_hides_database_password() -> None:
    s = load_settings(None, {"db": "postgresql+psycopg://u:s3cret@db.internal/am"}, environ={})
    shown = s.redacted()
    assert "s3cret" not in str(shown)
    assert shown["db"].endswith("db.internal/am")


@pytest.mark.parametrize("port", ["١٢٣", "²", "+80", " 80", "80 "])
def test_a_listen_port_is_ascii_digits(port: str) -> None:
    """`int("١٢٣")` is 123: a non-ASCII digit slipped through `isdigit` (third hostile review)."""
    with pytest.raises(ValueError, match="HOST:PORT"):
        Settings(listen=f"127.0.0.1:{port}")


@pytest.mark.parametrize("listen", ["[::1:9464", "::1]:9464", "[]:9464", "[localhost]:9464"])
def test_a_listen_address_in_brackets_is_a_whole_ipv6_address(listen: str) -> None:
    """`[::1:0` was taken as ::1 (the endpoints strip brackets): a typo listened (R35)."""
    with pytest.raises(ValueError, match=r"in brackets \(\[::1\]:9464\)"):
        Settings(listen=listen)


@pytest.mark.parametrize("listen", ["[::1]:9464", "[::]:0", "127.0.0.1:9464", "localhost:0"])
def test_a_listen_address_as_written_is_taken(listen: str) -> None:
    assert Settings(listen=listen).listen == listen
