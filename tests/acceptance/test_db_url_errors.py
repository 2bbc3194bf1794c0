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
