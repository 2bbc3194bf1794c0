"""The daemon's PostgreSQL sessions say who they are in pg_stat_activity
(`article-monitor`), where a DBA looking for what holds a lock or a connection
slot saw an empty name; the URL's `application_name` and `$PGAPPNAME` still
win, as with any libpq client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from support.pg import pg_schema_url

from monitor.storage.engine import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> Iterator[str]:
    yield from pg_schema_url()


def name_of(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.scalar(text("SELECT current_setting('application_name')")))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("query", "env", "expected"),
    [
        ("", None, "article-monitor"),  # before: ""
        ("&application_name=reports", None, "reports"),
        ("", "from-env", "from-env"),
        ("&fallback_application_name=mine", None, "mine"),
    ],
)
def test_sessions_are_named(
    url: str, query: str, env: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is None:
        monkeypatch.delenv("PGAPPNAME", raising=False)
    else:
        monkeypatch.setenv("PGAPPNAME", env)
    assert name_of(url + query) == expected
