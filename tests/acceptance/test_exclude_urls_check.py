"""`exclude_urls` through `check` as a user runs it, against a loopback server
that counts the requests it gets (every made-up host connects to it).

A matching target is never requested and is not in the report;
`summary.excluded` counts the references left out; the flag, the environment
and the config file give the same patterns; an invalid pattern is `Error:`,
exit 2, before anything is requested; `config show` prints the setting.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import CLI, LinkServer, refused, user_env
from support.report_schema import assert_valid_report

# article a: its image is a tracking pixel and its related article a partner's;
# article b's own webUrl is on the ad host: its web target goes, the article stays
CORPUS_A = """---
webUrl: "http://news.test/a/"
title: "A story"
images:
  - url: "http://ads.test/pixel.gif"
    width: 1
    height: 1
provider: {name: News, domain: news.test}
related:
  - webUrl: "http://partner.test/r/"
    title: "Elsewhere"
---
"""
CORPUS_B = """---
webUrl: "http://ads.test/landing/"
title: "B story"
related:
  - webUrl: "http://news.test/b/"
    title: "Another"
---
"""
PATTERNS = [r"^http://ads\.", r"partner\.test"]
EXCLUDED = {"http://ads.test/pixel.gif", "http://partner.test/r/", "http://ads.test/landing/"}
KEPT = {"http://news.test/a/", "http://news.test/b/"}


def corpus(tmp: Path) -> Path:
    folder = tmp / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(CORPUS_A)
    (folder / "b.txt").write_text(CORPUS_B)
    return folder


def check(
    tmp: Path, port: int, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`check` with every host connected to the loopback server on `port`."""
    return subprocess.run(
        [CLI, "check", str(tmp / "corpus"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_env(
            ARTICLE_MONITOR_CONNECT_TO=f"::127.0.0.1:{port}",
            ARTICLE_MONITOR_ALLOW_NETWORK="127.0.0.0/8",
            ARTICLE_MONITOR_KINDS="web,image",
            ARTICLE_MONITOR_RETRIES="0",
            ARTICLE_MONITOR_SOFT_404_PROBE="false",
            **(env or {}),
        ),
    )


def report_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert_valid_report(report)
    return report


def reported_urls(report: dict[str, Any]) -> set[str]:
    return {t["url"] for art in report["articles"] for t in art["targets"]}


def hosts_hit(site: LinkServer) -> set[str]:
    with site.lock:
        return {key.split("/", 1)[0] for key in site.url_hits}


def test_without_patterns_every_target_is_requested(tmp_path: Path) -> None:
    """The control: the same corpus with no pattern requests all five targets,
    so the server's count and the report would show an exclusion that failed."""
    corpus(tmp_path)
    with LinkServer() as site:
        report = report_of(check(tmp_path, site.port, "--format", "json"))
        assert hosts_hit(site) == {"news.test", "ads.test", "partner.test"}
    assert reported_urls(report) == EXCLUDED | KEPT
    assert report["summary"]["excluded"] == 0
    assert report["summary"]["targets"] == 5


def _flag(tmp: Path) -> tuple[list[str], dict[str, str]]:
    return [a for p in PATTERNS for a in ("--exclude-url", p)], {}


def _env(tmp: Path) -> tuple[list[str], dict[str, str]]:
    # one pattern as written, its comma its own: split on it, the variable gave two
    # patterns that matched nothing (`...{1` and `2}\.`), and every target was requested
    return [], {"ARTICLE_MONITOR_EXCLUDE_URLS": r"^http://(ads|partner){1,2}\."}


def _env_bracket(tmp: Path) -> tuple[list[str], dict[str, str]]:
    # one pattern that begins with `[` and is not JSON: was refused as invalid JSON
    return [], {"ARTICLE_MONITOR_EXCLUDE_URLS": r"[ap][a-z]*\.test/"}


def _env_json(tmp: Path) -> tuple[list[str], dict[str, str]]:
    return [], {"ARTICLE_MONITOR_EXCLUDE_URLS": json.dumps(PATTERNS)}


def _toml(tmp: Path) -> tuple[list[str], dict[str, str]]:
    config = tmp / "monitor.toml"
    # literal strings: the pattern's backslash as written
    config.write_text("exclude_urls = [" + ", ".join(f"'{p}'" for p in PATTERNS) + "]\n")
    return ["--config", str(config)], {}


@pytest.mark.parametrize(
    "given", [_flag, _env, _env_bracket, _env_json, _toml], ids=lambda f: f.__name__[1:]
)
def test_excluded_urls_get_no_request_and_are_not_reported(tmp_path: Path, given: Any) -> None:
    """Each form of the setting (the flag repeated, the variable as one pattern or
    a JSON list, the file) leaves the three matching targets out: no request
    reaches their hosts, the report lists only the two others, `excluded` counts
    3, and article b, whose webUrl matches, is still reported (its related page
    checked)."""
    corpus(tmp_path)
    args, env = given(tmp_path)
    with LinkServer() as site:
        report = report_of(check(tmp_path, site.port, "--format", "json", *args, env=env))
        assert hosts_hit(site) == {"news.test"}
        with site.lock:
            assert set(site.url_hits) == {"news.test/a/", "news.test/b/"}
    assert reported_urls(report) == KEPT
    assert report["summary"]["excluded"] == 3
    assert report["summary"]["targets"] == 2
    assert {a["webUrl"] for a in report["articles"]} == {
        "http://news.test/a/",
        "http://ads.test/landing/",
    }


def test_the_table_and_markdown_summaries_say_how_many_were_excluded(tmp_path: Path) -> None:
    corpus(tmp_path)
    with LinkServer() as site:
        for fmt in ("table", "markdown"):
            done = check(tmp_path, site.port, "--format", fmt, "--exclude-url", PATTERNS[0])
            assert done.returncode in (0, 1), done.stderr
            assert "2 excluded by exclude_urls" in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("args", "env", "origin"),
    [
        (["--exclude-url", r"^http://ads\.", "--exclude-url", "(ads"], {}, "flag --exclude-url"),
        ([], {"ARTICLE_MONITOR_EXCLUDE_URLS": '["(ads"]'}, "ARTICLE_MONITOR_EXCLUDE_URLS"),
        (["--config", "{config}"], {}, "monitor.toml"),
    ],
    ids=["flag", "env", "toml"],
)
def test_an_invalid_pattern_is_an_error_before_any_request(
    tmp_path: Path, args: list[str], env: dict[str, str], origin: str
) -> None:
    corpus(tmp_path)
    config = tmp_path / "monitor.toml"
    config.write_text("exclude_urls = ['(ads']\n")
    args = [a.replace("{config}", str(config)) for a in args]
    with LinkServer() as site:
        done = check(tmp_path, site.port, "--format", "json", *args, env=env)
        assert site.hits == 0
    refused(
        done,
        "exclude_urls",
        origin,
        "pattern '(ads' is not a valid regular expression",
        "missing ), unterminated subpattern",
        first=False,
    )
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ('["^http://ads\\."]', "not valid JSON (Invalid \\escape"),
        ('["^http://ads\\\\.", 1]', "an item is not a string"),
    ],
    ids=["single-backslash", "not-a-string"],
)
def test_a_broken_json_list_in_the_environment_is_an_error_not_one_pattern(
    tmp_path: Path, value: str, why: str
) -> None:
    """Written as a JSON list of strings but not one, the variable was taken as a
    single pattern: `["^http://ads\\."]` is then a character class matching
    nearly every URL, so every target was silently left out (exit 0)."""
    corpus(tmp_path)
    with LinkServer() as site:
        done = check(
            tmp_path, site.port, "--format", "json", env={"ARTICLE_MONITOR_EXCLUDE_URLS": value}
        )
        assert site.hits == 0
    refused(done, "exclude_urls", "ARTICLE_MONITOR_EXCLUDE_URLS", why, first=False)
    assert done.stdout == ""


def test_config_show_prints_the_patterns(tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "config", "show"],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_env(ARTICLE_MONITOR_EXCLUDE_URLS=json.dumps(PATTERNS)),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["exclude_urls"] == PATTERNS


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--exclude-url", r"^http://ads\.", "--exclude-url", ""], {}),
        ([], {"ARTICLE_MONITOR_EXCLUDE_URLS": '["^http://ads\\\\.", ""]'}),
    ],
    ids=["flag", "env"],
)
def test_an_empty_pattern_is_an_error_not_every_url_left_out(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    """`--exclude-url "$UNSET"` (or a `""` in the list) matched every URL: each
    target was left out, nothing requested, and check exited as on a clean run."""
    corpus(tmp_path)
    with LinkServer() as site:
        done = check(tmp_path, site.port, "--format", "json", *args, env=env)
        assert site.hits == 0
    refused(done, "exclude_urls", "an empty pattern matches every URL", first=False)
    assert done.stdout == ""


PATTERNS_ANY = ("--exclude-url", "(?i).*doubleclick", "--exclude-url", ".*?never-there")


def test_a_leading_any_does_not_make_the_search_quadratic_in_a_long_url(tmp_path: Path) -> None:
    """`(?i).*doubleclick` (the docs' `(?i)`, a habit of `.*`) was tried from
    every position of the URL, each try running to its end: ~39 s for one
    60,000-character URL (a record may hold 65,536), so this check of four of
    them ran for minutes. The timeout is a hang's bound, not a timing: the
    search now takes microseconds. A URL of the pattern is still left out."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    long_urls = "".join(
        f'  - url: "http://img.test/{n}/{"a" * 60_000}"\n    width: 1\n    height: 1\n'
        for n in range(4)
    )
    ad = '  - url: "http://img.test/DoubleClick/p.gif"\n    width: 1\n    height: 1\n'
    (folder / "a.txt").write_text(
        f'---\nwebUrl: "http://news.test/a/"\ntitle: "A"\nimages:\n{long_urls}{ad}---\n'
    )
    done = subprocess.run(
        [CLI, "check", str(folder), "--offline", "--format", "json", *PATTERNS_ANY],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_env(),
    )
    report = report_of(done)
    assert report["summary"]["excluded"] == 1
