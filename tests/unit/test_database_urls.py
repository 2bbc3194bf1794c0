"""Database URLs refused before any connection (hostile review of the database's
life): a password holding an unencoded `@` never reaches an error message
(SQLAlchemy splits such a URL at its first `@`, the rest of the password became
the host, and the driver's "failed to resolve host 'S3cret@127.0.0.1'" showed
it, after a lookup of that name); a database in memory is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.storage.opening import DatabaseUnusable, open_database

SECRET = "S3cret-not-shown"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://am:p@{SECRET}@127.0.0.1:1/x",
        f"postgresql+psycopg://am:{SECRET}@x@127.0.0.1:1/x",
    ],
)
def test_a_password_with_an_unencoded_at_is_refused_unseen(url: str) -> None:
    with pytest.raises(DatabaseUnusable, match="percent-encoded") as caught:
        open_database(url, create=False, verify=False)  # before any connection
    assert SECRET not in str(caught.value)


def test_an_encoded_at_is_a_password_like_any_other() -> None:
    engine = open_database(
        f"postgresql+psycopg://am:p%40{SECRET}@127.0.0.1:1/x", create=False, verify=False
    )
    assert engine.url.password == f"p@{SECRET}"
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///", "sqlite:///file:x?mode=memory&uri=true"],
)
@pytest.mark.parametrize("create", [True, False])
def test_a_database_in_memory_is_refused(url: str, create: bool) -> None:
    # run failed with `no such table: cluster_roles` (each connection its own database),
    # and db upgrade said "upgraded from empty to 0009" of a database gone at its exit
    with pytest.raises(DatabaseUnusable, match="in memory"):
        open_database(url, create=create, verify=False)


@pytest.mark.parametrize("url", ["sqlite:///file::memory:?cache=shared&uri=true"])
def test_a_shared_cache_memory_uri_is_refused_too(url: str) -> None:
    with pytest.raises(DatabaseUnusable, match="in memory"):
        open_database(url, create=True, verify=False)


def test_a_file_under_a_folder_named_mode_memory_is_a_file(tmp_path: Path) -> None:
    # "in memory" was judged by the text `mode=memory` anywhere in the URL
    db = tmp_path / "mode=memory" / "monitor.db"
    engine = open_database(f"sqlite:///{db}", create=True, verify=False)
    engine.dispose()
    assert db.is_file()
