"""A `--db` URL whose port is not a number (second hostile review).

SQLAlchemy's URL parser raises ValueError there, not ArgumentError, so
`status`, `history`, `run` and `db upgrade` ended in a traceback and exit 70
(an internal error) instead of `Error: …` and exit 2. The password stays out.
"""

from __future__ import annotations

import subprocess

import pytest
from daemon_harness import CLI

URLS = ["postgresql+psycopg://u:S3cret@127.0.0.1:x/db", "postgresql+psycopg://u:S3cret@[::1:1/db"]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("command", [["status"], ["history", "1"], ["db", "upgrade"]])
def test_a_port_that_is_not_a_number_is_a_usage_error(url: str, command: list[str]) -> None:
    done = subprocess.run([CLI, *command, "--db", url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: ") and "not a database URL" in done.stderr
    assert "Traceback" not in done.stderr and "S3cret" not in done.stderr


@pytest.mark.parametrize("command", [["status"], ["cluster"], ["db", "upgrade"]])
def test_a_server_url_that_is_not_utf8_is_a_usage_error(command: list[str]) -> None:
    """Bytes that are not UTF-8 in a server's URL (a Latin-1 database name) reached
    psycopg as a lone surrogate: its encode() raised, an internal error (exit 70)."""
    url = b"postgresql+psycopg://u:S3cret@127.0.0.1:1/caf\xe9"
    args = [CLI.encode(), *(c.encode() for c in command), b"--db", url]
    done = subprocess.run(args, capture_output=True, timeout=60)
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, stderr
    assert stderr.startswith("Error: ") and "not a database URL" in stderr, stderr
    assert "UTF-8" in stderr
    assert "Traceback" not in stderr and "S3cret" not in stderr
