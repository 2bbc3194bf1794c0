"""`request_headers` rules: the host-pattern match (a property against a model of
it), the table's precedence, each kind of bad rule as a configuration error
that never shows the value, the value file's rules, the flags' spec, and what
a dump shows (`***`) against what a checker process's frame carries."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import ConfigError, Settings, load_settings
from monitor.daemon.reload_scope import kept_until_restart
from monitor.request_headers import (
    HeaderRule,
    HeaderRuleError,
    HeaderTable,
    matches,
    parse_pattern,
    parse_spec,
    revealed_json,
)

SECRET = "s3cr3t-value-91ab"

LABELS = st.sampled_from(["a", "b", "img", "xn--bcher-kva", "bücher", "x-1", "0"])
NAMES = st.lists(LABELS, min_size=1, max_size=4).map(".".join)


def spellings(name: str) -> st.SearchStrategy[str]:
    """Other spellings of one host: case, a trailing dot, its IDN form."""
    idn = name.replace("xn--bcher-kva", "bücher")
    return st.sampled_from([name, name.upper(), name + ".", idn, idn.upper()])


def _model(wild: bool, suffix: list[str], host: list[str]) -> bool:
    """The rule in labels: the very host, or for `*.` a strict subdomain."""
    if not wild:
        return host == suffix
    return len(host) > len(suffix) and host[-len(suffix) :] == suffix


def _labels(name: str) -> list[str]:
    return name.lower().rstrip(".").replace("bücher", "xn--bcher-kva").split(".")


@settings(max_examples=300, deadline=None)
@given(st.booleans(), NAMES, NAMES, st.data())
def test_a_pattern_matches_its_host_or_its_subdomains_in_any_spelling(
    wild: bool, suffix: str, host: str, data: st.DataObject
) -> None:
    if not wild and data.draw(st.booleans()):
        host = suffix  # the very host, often enough to matter
    if wild and data.draw(st.booleans()):
        host = data.draw(NAMES) + "." + suffix
    pattern_text = ("*." if wild else "") + data.draw(spellings(suffix))
    try:
        pattern = parse_pattern(pattern_text)
    except HeaderRuleError:  # `*.0`: an address's last label, or a numeric TLD
        return
    asked = data.draw(spellings(host))
    assert matches(pattern, asked) == _model(wild, _labels(suffix), _labels(host))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Staging.Example.com.", (False, "staging.example.com")),
        ("*.img.example.com", (True, "img.example.com")),
        ("bücher.example", (False, "xn--bcher-kva.example")),
        ("[::1]", (False, "::1")),
        ("0:0:0:0:0:0:0:1", (False, "::1")),
        ("127.0.0.2", (False, "127.0.0.2")),
    ],
)
def test_a_pattern_is_kept_as_the_engine_keys_hosts(text: str, expected: Any) -> None:
    assert parse_pattern(text) == expected


def rule(**fields: Any) -> HeaderRule:
    rule = HeaderRule(**fields)
    rule.resolve({}, allow_insecure=False)
    return rule


def test_the_most_specific_pattern_wins_and_the_apex_is_no_subdomain() -> None:
    table = HeaderTable(
        [
            rule(hosts=["*.example.com"], name="X-A", value="wide"),
            rule(hosts=["*.img.example.com"], name="x-a", value="narrow"),
            rule(hosts=["a.img.example.com"], name="X-A", value="exact"),
            rule(hosts=["*.example.com"], name="X-B", value="b"),
        ]
    )
    assert table.for_host("example.com") is None
    assert table.for_host("news.example.com") == {"X-A": "wide", "X-B": "b"}
    # one header, in the winning rule's spelling
    assert table.for_host("b.img.example.com") == {"x-a": "narrow", "X-B": "b"}
    assert table.for_host("A.IMG.example.com.") == {"X-A": "exact", "X-B": "b"}
    assert table.for_host("example.org") is None
    base = {"Accept": "text/html"}
    assert table.merged("example.org", base) is base  # nothing copied for another host


def test_user_agent_and_accept_take_the_engines_spelling_so_they_replace_its() -> None:
    table = HeaderTable(
        [
            rule(hosts=["a.test"], name="user-agent", value="UA/1"),
            rule(hosts=["a.test"], name="ACCEPT", value="image/webp"),
        ]
    )
    assert table.merged("a.test", {"Accept": "*/*", "Range": "bytes=0-1"}) == {
        "Accept": "image/webp",
        "Range": "bytes=0-1",
        "User-Agent": "UA/1",
    }


BAD_RULES = [
    ({"hosts": ["a.test"], "name": "Host", "value": "x"}, "header Host cannot be set"),
    ({"hosts": ["a.test"], "name": "Content-Length", "value": "1"}, "the client sets it"),
    ({"hosts": ["a.test"], "name": "transfer-encoding", "value": "x"}, "the client sets it"),
    ({"hosts": ["a.test"], "name": "Connection", "value": "x"}, "the client sets it"),
    ({"hosts": ["a.test"], "name": "Upgrade", "value": "x"}, "the client sets it"),
    ({"hosts": ["a.test"], "name": "TE", "value": "x"}, "the client sets it"),
    ({"hosts": ["a.test"], "name": "Keep-Alive", "value": "x"}, "the client sets it"),
    ({"hosts": ["a.test"], "name": "Proxy-Authorization", "value": "x"}, "meant for a proxy"),
    ({"hosts": ["a.test"], "name": "Range", "value": "bytes=0-1"}, "ranged image reads"),
    ({"hosts": ["a.test"], "name": "Accept-Encoding", "value": "br"}, "decoded under a cap"),
    ({"hosts": ["a.test"], "name": "If-None-Match", "value": "x"}, "a conditional request"),
    ({"hosts": ["a.test"], "name": "Bad Name", "value": "x"}, "is not an HTTP token"),
    ({"hosts": ["a.test"], "name": "X:Y", "value": "x"}, "is not an HTTP token"),
    ({"hosts": ["a.test"], "name": "X", "value": SECRET + "\r\nX-Evil: 1"}, "header injection"),
    ({"hosts": ["a.test"], "name": "X", "value": SECRET + "\n"}, "header injection"),
    ({"hosts": ["a.test"], "name": "X", "value": SECRET + "\x00"}, "header injection"),
    ({"hosts": ["a.test"], "name": "X", "value": SECRET + "\x7f"}, "a control character"),
    ({"hosts": ["a.test"], "name": "X", "value": SECRET + "é"}, "not ASCII"),
    ({"hosts": ["a.test"], "name": "X", "value": ""}, "the value is empty"),
    ({"hosts": ["a.test"], "name": "X"}, "exactly one of value, value_file and value_env"),
    (
        {"hosts": ["a.test"], "name": "X", "value": SECRET, "value_env": "V"},
        "exactly one of value, value_file and value_env (2 given)",
    ),
    ({"hosts": ["a.test"], "name": "X", "value_env": "NOT SET"}, "is not a variable name"),
    ({"hosts": ["a.test"], "name": "X", "value_env": "UNSET_HERE"}, "UNSET_HERE is not set"),
    ({"hosts": ["a.test"], "name": "X", "value_env": "EMPTY_HERE"}, "the value is empty"),
    ({"hosts": [], "name": "X", "value": "x"}, "names no host"),
    ({"hosts": ["a.test:8080"], "name": "X", "value": "x"}, "is not a host"),
    ({"hosts": ["https://a.test/"], "name": "X", "value": "x"}, "is not a host"),
    ({"hosts": ["a..test"], "name": "X", "value": "x"}, "is not a host"),
    ({"hosts": ["*"], "name": "X", "value": "x"}, "only as a whole first label"),
    ({"hosts": ["a.*.test"], "name": "X", "value": "x"}, "only as a whole first label"),
    ({"hosts": ["*.10.0.0.1"], "name": "X", "value": "x"}, "for names, not addresses"),
    ({"hosts": ["*.[::1]"], "name": "X", "value": "x"}, "for names, not addresses"),
    ({"hosts": ["a.test"], "name": "X", "value": "x", "valu": "y"}, "unknown setting"),
]


@pytest.mark.parametrize(("fields", "needle"), BAD_RULES)
def test_a_bad_rule_is_a_configuration_error_naming_it_and_never_its_value(
    fields: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"request_headers": [fields]}, environ={"EMPTY_HERE": " "})
    said = str(caught.value)
    assert needle in said and "request_headers" in said, said
    assert SECRET not in said, said


def test_two_rules_setting_one_header_for_one_pattern_are_refused() -> None:
    rules = [
        {"hosts": ["a.test", "b.test"], "name": "X-Team", "value": "one"},
        {"hosts": ["B.test."], "name": "x-team", "value": "two"},
    ]
    with pytest.raises(ConfigError, match=r"request_headers.0 and request_headers.1 both set"):
        load_settings(None, {"request_headers": rules}, environ={})


def secret_file(tmp: Path, mode: int, text: str = SECRET + "\n") -> Path:
    path = tmp / "value"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("mode", "text", "needle"),
    [
        (0o644, SECRET, "are too open: a secret must not be readable by group or others"),
        (0o604, SECRET, "chmod 600"),
        (0o620, SECRET, "group or others could replace it"),
        (0o600, " \n\n", "is empty"),
        (0o600, SECRET + "\nX-Evil: 1\n", "header injection"),
        (0o600, "\udcff", "is not UTF-8 text"),
    ],
)
def test_a_value_file_is_read_as_a_secret_key_file_is(
    tmp_path: Path, mode: int, text: str, needle: str
) -> None:
    path = tmp_path / "value"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    path.chmod(mode)
    fields = {"hosts": ["a.test"], "name": "Authorization", "value_file": str(path)}
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"request_headers": [fields]}, environ={})
    said = str(caught.value)
    assert needle in said and str(path) in said, said
    assert "header Authorization for a.test" in said, said
    assert SECRET not in said


def test_a_value_file_is_stripped_and_taken_open_when_insecure_permissions_are_allowed(
    tmp_path: Path,
) -> None:
    path = secret_file(tmp_path, 0o644, f"\ufeff  {SECRET} \r\n")
    fields = {"hosts": ["a.test"], "name": "Authorization", "value_file": str(path)}
    flags = {"request_headers": [fields], "allow_insecure_key_permissions": True}
    settings = load_settings(None, flags, environ={})
    assert HeaderTable(settings.request_headers).for_host("a.test") == {"Authorization": SECRET}


def test_a_dump_shows_no_value_and_the_checker_frame_carries_each_one(tmp_path: Path) -> None:
    path = secret_file(tmp_path, 0o600, "from-file-" + SECRET)
    rules = [
        {"hosts": ["a.test"], "name": "Authorization", "value_file": str(path)},
        {"hosts": ["b.test"], "name": "X-Env", "value_env": "THE_VAR"},
        {"hosts": ["c.test"], "name": "X-Plain", "value": "plain-" + SECRET},
    ]
    settings = load_settings(None, {"request_headers": rules}, environ={"THE_VAR": SECRET})
    for shown in (
        repr(settings),
        str(settings),
        repr(settings.request_headers),
        settings.model_dump_json(),
        str(settings.redacted()),
        str(settings.model_dump()),
        repr(HeaderTable(settings.request_headers)),
    ):
        assert SECRET not in shown, shown
    shown_rules = settings.redacted()["request_headers"]
    assert [r["value"] for r in shown_rules] == [None, None, "***"]
    assert shown_rules[0]["value_file"] == str(path)
    assert shown_rules[1]["value_env"] == "THE_VAR"
    # a checker process validates the frame with no file and no variable to read
    frame = revealed_json(settings)
    theirs = Settings.model_validate_json(frame)
    table = HeaderTable(theirs.request_headers)
    assert table.for_host("a.test") == {"Authorization": "from-file-" + SECRET}
    assert table.for_host("b.test") == {"X-Env": SECRET}
    assert table.for_host("c.test") == {"X-Plain": "plain-" + SECRET}


def test_a_reload_reads_the_value_file_again_and_names_the_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Read again at each load (a SIGHUP's): a changed value is a changed setting,
    which applies on restart, as the checker's other settings do; named, not shown."""
    path = secret_file(tmp_path, 0o600, "old-" + SECRET)
    rules = [{"hosts": ["a.test"], "name": "Authorization", "value_file": str(path)}]
    running = load_settings(None, {"request_headers": rules}, environ={})
    assert kept_until_restart(running, load_settings(None, {"request_headers": rules})) is not None
    secret_file(tmp_path, 0o600, "new-" + SECRET)
    new = load_settings(None, {"request_headers": rules}, environ={})
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        kept = kept_until_restart(running, new)
    assert "request_headers" in caplog.text and SECRET not in caplog.text, caplog.text
    assert HeaderTable(kept.request_headers).for_host("a.test") == {
        "Authorization": "old-" + SECRET
    }
    path.unlink()
    with pytest.raises(ConfigError, match="not found"):  # a reload is refused
        load_settings(None, {"request_headers": rules}, environ={})


@pytest.mark.parametrize(
    ("spec", "source", "expected"),
    [
        (
            "a.test, *.b.test=Authorization: Bearer x:y=z",
            "value",
            {"hosts": ["a.test", "*.b.test"], "name": "Authorization", "value": "Bearer x:y=z"},
        ),
        (
            "a.test=X:/run/secrets/a:b",
            "value_file",
            {"hosts": ["a.test"], "name": "X", "value_file": "/run/secrets/a:b"},
        ),
        ("a.test=X:VAR", "value_env", {"hosts": ["a.test"], "name": "X", "value_env": "VAR"}),
    ],
)
def test_a_flag_spec_splits_at_the_first_equals_and_the_first_colon(
    spec: str, source: str, expected: dict[str, Any]
) -> None:
    assert parse_spec(spec, source) == expected


@pytest.mark.parametrize("spec", ["X-Team: news", "a.test=X-Team", "a.test"])
def test_a_flag_spec_without_hosts_or_name_says_the_shape(spec: str) -> None:
    with pytest.raises(HeaderRuleError, match=r"--header expects HOSTS=NAME: VALUE, e.g."):
        parse_spec(spec, "value")
