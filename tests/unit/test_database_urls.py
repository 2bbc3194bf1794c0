"""A password holding an unencoded `@` never reaches an error message (hostile
review of the database's life): SQLAlchemy splits such a URL at its first `@`,
the rest of the password became the host, and the driver's "failed to resolve
host 'S3cret@127.0.0.1'" showed it, after a lookup of that name."""

from __future__ import annotations

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
