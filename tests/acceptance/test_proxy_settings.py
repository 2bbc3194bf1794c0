"""`proxy` settings through `config show`: a user name holding a colon
(`%3A`) is refused, without the value in the message; a user without a
password is shown without `***` (which claimed a password that was not given);
a user with an empty password (`http://APIKEY:@proxy:8011`, as proxy services
taking an API key document it) is that key, shown as `***`, and still sent.

Basic authentication joins the user name and the password with a colon and
the proxy splits at the first one (RFC 7617: a user-id holding a colon is
invalid), so `http://dom%3Auser:pw@proxy:3128` was sent as user `dom` with
the password `user:pw`: a 407 for credentials the operator never wrote.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from daemon_harness import CLI, user_env

API_KEY = "zk-7f2c91d04be3"


def test_a_user_name_with_a_colon_is_refused_without_showing_it() -> None:
    refused = subprocess.run(
        [CLI, "config", "show"],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_env(ARTICLE_MONITOR_PROXY="http://dom%3Auser:pw-0b5e@proxy.example:3128"),
    )
    assert refused.returncode == 2, refused.stdout
    assert "proxy (from environment ARTICLE_MONITOR_PROXY)" in refused.stderr
    assert "the user name (not shown) holds a colon" in refused.stderr, refused.stderr
    assert "pw-0b5e" not in refused.stderr and "dom%3Auser" not in refused.stderr


def test_a_user_without_a_password_is_shown_without_stars() -> None:
    for given, shown in (
        ("http://monitor@proxy.example:3128", "http://monitor@proxy.example:3128"),
        # an API key as the user, the password empty (as proxy services document it)
        (f"http://{API_KEY}:@proxy.example:8011", "http://***:@proxy.example:8011"),
        ("http://monitor:pw-4d2a@proxy.example:3128", "http://monitor:***@proxy.example:3128"),
    ):
        done = subprocess.run(
            [CLI, "config", "show"],
            capture_output=True,
            text=True,
            timeout=60,
            env=user_env(ARTICLE_MONITOR_PROXY=given),
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["proxy"] == shown
        assert "pw-4d2a" not in done.stdout + done.stderr
        assert API_KEY not in done.stdout + done.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_api_key_as_the_user_is_still_sent_to_the_proxy(tmp_path: Path, workers: str) -> None:
    """`check` in-process and with a checker process (whose settings frame carries
    the key): the proxy gets `Basic base64(KEY:)`; no output shows the key."""
    seen: list[str | None] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Proxy-Authorization"))
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        folder = tmp_path / "corpus"
        folder.mkdir()
        (folder / "a.md").write_text('---\nwebUrl: "http://news.test/a"\ntitle: "Story"\n---\n')
        env = user_env(
            ARTICLE_MONITOR_PROXY=f"http://{API_KEY}:@127.0.0.1:{server.server_address[1]}",
            ARTICLE_MONITOR_KINDS="web",
            ARTICLE_MONITOR_RETRIES="0",
            ARTICLE_MONITOR_SOFT_404_PROBE="false",
        )
        cmd = [CLI, "check", str(folder), "--workers", workers, "--allow-network", "127.0.0.0/8"]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    assert out.returncode == 1, out.stderr  # the proxy's 404
    assert API_KEY not in out.stdout + out.stderr
    basic = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert seen and set(seen) == {basic}, seen
