"""`user_agent_contact` goes into every request's User-Agent header. A CR or LF
in it (a variable pasted with its line end, a TOML `\\r\\n`) wrote headers of
its own into each request (`User-Agent: article-monitor/0.1.0 (+a` then
`X-Evil: 1)` on the wire), and a character Latin-1 lacks failed every request
as `connection_error: request failed: UnicodeEncodeError`: in the daemon,
every target down for a configuration's mistake. Refused at load, exit 2,
naming the setting and its layer, as a request header's value is."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, one_article_corpus
from daemon_harness import refused as harness_refused


def clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}


@pytest.mark.parametrize("contact", ["ops\r\nX-Evil: 1", "mailto:☃@news.example", "ops\x1b[31m"])
def test_a_contact_a_header_cannot_carry_is_refused_from_the_file(
    tmp_path: Path, contact: str
) -> None:
    corpus = one_article_corpus(tmp_path)
    config = tmp_path / "monitor.toml"
    escaped = contact.encode("unicode_escape").decode("ascii").replace("\\x1b", "\\u001b")
    config.write_text(f'user_agent_contact = "{escaped}"\n', encoding="utf-8")
    out = subprocess.run(
        [CLI, "check", corpus, "--offline", "--config", config],
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    err = harness_refused(
        out, f"user_agent_contact (from file {config})", "User-Agent", first=False
    )
    assert "X-Evil: 1\n" not in err  # shown escaped, on the error's one line


def test_a_contact_with_a_line_break_is_refused_from_the_environment(tmp_path: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    env = clean_env() | {"ARTICLE_MONITOR_USER_AGENT_CONTACT": "ops@news.example\nX-Evil: 1"}
    out = subprocess.run(
        [CLI, "check", corpus, "--offline"], capture_output=True, text=True, env=env
    )
    variable = "ARTICLE_MONITOR_USER_AGENT_CONTACT"
    harness_refused(out, f"user_agent_contact (from environment {variable})", first=False)


def test_a_plain_contact_is_taken(tmp_path: Path) -> None:
    env = clean_env() | {"ARTICLE_MONITOR_USER_AGENT_CONTACT": "mailto:ops@news.example"}
    out = subprocess.run(
        [CLI, "config", "show"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert '"user_agent_contact": "mailto:ops@news.example"' in out.stdout
