"""A `--db` that is not a URL says what one looks like (r5 review).

A new user's first guess is a file path (`--db /var/lib/am.db`): it got
"Could not parse SQLAlchemy URL from given URL string", and a port that is not
a number "invalid literal for int() with base 10", neither saying what to
write instead. The value itself is not echoed (it may hold a password).
"""

from __future__ import annotations

import subprocess

import pytest
from daemon_harness import CLI


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("/var/lib/article-monitor/am.db", "sqlite:////absolute/path"),
        ("data/am.db", "sqlite:////absolute/path"),
        ("nonsense", "sqlite:///PATH"),
        ("postgresql+psycopg://u:S3cret@127.0.0.1:x/db", "its port is not a number"),
    ],
)
def test_a_value_that_is_no_url_says_what_one_looks_like(url: str, said: str) -> None:
    done = subprocess.run([CLI, "status", "--db", url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: not a database URL"), done.stderr
    assert said in done.stderr, done.stderr
    assert "postgresql+psycopg://USER@HOST/NAME" in done.stderr, done.stderr
    assert "invalid literal" not in done.stderr and "S3cret" not in done.stderr
