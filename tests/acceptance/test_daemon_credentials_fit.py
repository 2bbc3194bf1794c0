"""Credentials the listener could never read are refused at the start.

aiohttp reads an Authorization header value of at most `max_field_size` bytes
(guard.ConnectionLimits, 8190): a token file of 9 KB was taken, and the daemon
then answered every scrape bearing the token with a 400 before reading it, a
protected /metrics that nobody could read. `run` now stops at its start with an
error naming the limit (never the secret); a token of the longest size that fits
is read, so the bound is aiohttp's own, not a stricter one."""

from __future__ import annotations

import base64
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from daemon_harness import CLI, DaemonProcess, LinkServer, article, write_config

from monitor.observe.guard import ConnectionLimits

URL = "http://news.test/a/"
MAX = ConnectionLimits().max_field_size
# the header line, which aiohttp's pure-Python parser bounds (its C parser: the value)
LINE = MAX - len("Authorization: ")
LONGEST = LINE - len("Bearer ")


def _run(tmp_path: Path, port: int, **settings: str) -> subprocess.CompletedProcess[str]:
    config = write_config(tmp_path, port, **settings)
    (tmp_path / "corpus" / "a.txt").write_text(article(URL))
    return subprocess.run(
        [CLI, "run", "--config", str(config)], capture_output=True, text=True, timeout=60
    )


def test_a_token_longer_than_a_header_is_refused_at_the_start(tmp_path: Path) -> None:
    secret = "t" * (LONGEST + 1)
    (tmp_path / "token").write_text(secret + "\n")
    with LinkServer() as site:
        out = _run(tmp_path, site.port, metrics_token_file=str(tmp_path / "token"))
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"Error: metrics_token_file: the token is {LONGEST + 1:,} bytes")
    assert f"a token of at most {LONGEST:,} bytes" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and secret not in out.stderr + out.stdout


def test_a_basic_auth_pair_longer_than_a_header_is_refused_at_the_start(tmp_path: Path) -> None:
    password = "p" * MAX
    (tmp_path / "pair").write_text(f"scraper:{password}\n")
    with LinkServer() as site:
        out = _run(tmp_path, site.port, metrics_basic_auth_file=str(tmp_path / "pair"))
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("Error: metrics_basic_auth_file: `user:password` is "), out.stderr
    assert "Traceback" not in out.stderr and password not in out.stderr + out.stdout


@pytest.mark.parametrize("parser", ["c", "python"])
def test_the_longest_credentials_that_fit_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parser: str
) -> None:
    """Under either of aiohttp's parsers (the pure-Python one bounds the whole line)."""
    if parser == "python":
        monkeypatch.setenv("AIOHTTP_NO_EXTENSIONS", "1")
    secret = "t" * LONGEST
    (tmp_path / "token").write_text(secret + "\n")
    # `u:` and a password whose base64 fills the header line to within one quantum
    pair = "u:" + "p" * ((LINE - len("Basic ")) // 4 * 3 - 2)
    basic = "Basic " + base64.b64encode(pair.encode()).decode()
    assert LINE - 4 < len(basic) <= LINE
    (tmp_path / "pair").write_text(pair + "\n")
    with LinkServer() as site:
        config = write_config(
            tmp_path,
            site.port,
            metrics_token_file=str(tmp_path / "token"),
            metrics_basic_auth_file=str(tmp_path / "pair"),
        )
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        daemon = DaemonProcess(config)
        try:
            daemon.wait_listening()
            for header in (f"Bearer {secret}", basic):
                req = urllib.request.Request(
                    f"{daemon.metrics_url}/metrics", headers={"Authorization": header}
                )
                with urllib.request.urlopen(req, timeout=10) as resp:
                    assert b"article_monitor_targets" in resp.read()
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(20) == 0
        finally:
            daemon.kill()


def test_a_token_no_header_can_carry_is_refused_at_the_start(tmp_path: Path) -> None:
    """A token file of two lines (or a token with any control character but a tab)
    was taken whole, line break and all: no client can send a line break in a
    header, so every scrape was refused, as with a token too long for one."""
    for n, secret in enumerate(("first-Zq9\nsecond-Wk3", "nul-Zq9\x00Wk3", "cr-Zq9\rWk3")):
        run_dir = tmp_path / str(n)
        run_dir.mkdir()
        (run_dir / "token").write_text(secret + "\n", newline="")
        with LinkServer() as site:
            out = _run(run_dir, site.port, metrics_token_file=str(run_dir / "token"))
        assert out.returncode == 2, out.stderr
        assert out.stderr.startswith("Error: metrics_token_file: the token holds"), out.stderr
        assert "Traceback" not in out.stderr
        assert "Zq9" not in out.stderr + out.stdout and "Wk3" not in out.stderr + out.stdout
