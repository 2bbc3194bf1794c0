"""`grafana push` never sends the token unencrypted across a network unless told:
plain http beyond loopback is refused before any request, or, with
--allow-insecure, goes with a warning on stderr. respx stands in for Grafana."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from click.testing import CliRunner

from monitor.cli import cli
from monitor.grafana.push import in_clear

TOKEN = "glsa_secret_token_value_123"


def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def invoke(tmp_path: Path, url: str, *extra: str) -> tuple[int, str, str, int]:
    """Exit code, stdout, stderr, and how many requests reached the mock."""
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(return_value=httpx.Response(401, json={"message": "no"}))
        args = ["grafana", "push", "--url", url, "--token-file", str(token_file(tmp_path))]
        result = CliRunner().invoke(cli, [*args, *extra])
        return result.exit_code, result.stdout, result.stderr, len(router.calls)


@pytest.mark.parametrize(
    ("url", "clear"),
    [
        ("http://grafana.example.com", True),
        ("HTTP://grafana.example.com:3000/", True),
        ("http://10.0.0.5:3000", True),
        ("http://127.0.0.1.nip.io", True),  # a name: whatever it resolves to now
        ("http://localhost:3000", False),
        ("http://127.0.0.1:3000", False),
        ("http://127.9.9.9", False),
        ("http://[::1]:3000", False),
        ("https://grafana.example.com", False),
        ("https://10.0.0.5", False),
    ],
)
def test_in_clear_is_plain_http_beyond_loopback(url: str, clear: bool) -> None:
    assert in_clear(url) is clear


def test_plain_http_beyond_loopback_is_refused_before_any_request(tmp_path: Path) -> None:
    code, out, err, calls = invoke(tmp_path, "http://grafana.example.com")
    assert (code, calls, out) == (2, 0, "")
    assert err.startswith("Error: --url 'http://grafana.example.com' is plain http beyond")
    assert "--allow-insecure" in err and TOKEN not in err


@pytest.mark.parametrize("url", ["http://127.0.0.1:3000", "http://localhost:3000"])
def test_plain_http_to_loopback_goes_without_a_word(tmp_path: Path, url: str) -> None:
    code, _out, err, calls = invoke(tmp_path, url)
    assert calls == 1 and code == 2  # the mock's 401: the push was made
    assert err.startswith("Error: reading the Grafana version: HTTP 401")
    assert "warning" not in err


def test_allow_insecure_sends_but_warns_on_stderr(tmp_path: Path) -> None:
    code, out, err, calls = invoke(tmp_path, "http://grafana.example.com", "--allow-insecure")
    assert calls == 1 and code == 2
    assert out == ""
    first, second = err.splitlines()[:2]
    assert first.startswith("warning: sending the Grafana token unencrypted to ")
    assert second.startswith("Error: reading the Grafana version: HTTP 401")
    assert TOKEN not in err


def test_the_help_says_so() -> None:
    result = CliRunner().invoke(cli, ["grafana", "push", "--help"])
    assert "--allow-insecure " in result.output
    assert "plain http to any other host is refused" in " ".join(result.output.split())
