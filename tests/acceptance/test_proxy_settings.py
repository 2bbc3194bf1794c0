"""`proxy` settings through `config show`: a user name holding a colon
(`%3A`) is refused, without the value in the message; a user without a
password is shown without `***` (which claimed a password that was not given).

Basic authentication joins the user name and the password with a colon and
the proxy splits at the first one (RFC 7617: a user-id holding a colon is
invalid), so `http://dom%3Auser:pw@proxy:3128` was sent as user `dom` with
the password `user:pw`: a 407 for credentials the operator never wrote.
"""

from __future__ import annotations

import json
import subprocess

from daemon_harness import CLI, user_env


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
        ("http://monitor:@proxy.example:3128", "http://monitor@proxy.example:3128"),
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
