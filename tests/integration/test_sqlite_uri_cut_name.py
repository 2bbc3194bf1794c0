"""A `?` or `#` in a `file:` URL's path (written %3F or %23, or a bare `#`):
SQLite ends the name there, and the parameters pysqlite appends after it
(`?mode=ro`) were read as part of the name or dropped. `db upgrade` with
`file:/x/k%3Fx.db?mode=ro&uri=true` created and migrated a file named `k`,
read-write; with `m.db%23` one named `m.db`. Refused, saying to write %253F or
%2523; a path quoted twice opens the very file."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import run_cli

from monitor.storage.sqlite_uri import URL_DATABASE_DECODED, file_url

# SQLAlchemy 2.0 gives SQLite %3F and %23 as written: SQLite decodes them into the name
DECODED_TWICE = [("k%3Fx.db", "k"), ("m.db%23", "m.db")] if URL_DATABASE_DECODED else []


@pytest.mark.parametrize(("name", "opened"), [*DECODED_TWICE, ("j.db#a", "j.db")])
@pytest.mark.parametrize("params", ["mode=ro", "mode=rwc", "cache=private"])
def test_sqlite_parameters_after_a_cut_name_are_refused(
    tmp_path: Path, name: str, opened: str, params: str
) -> None:
    url = f"sqlite:///file:{tmp_path}/{name}?{params}&uri=true"
    done = run_cli("db", "upgrade", "--db", url, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith("Error: "), done.stderr
    assert "Traceback" not in done.stderr
    assert "where SQLite ends the name" in done.stderr, done.stderr
    assert not (tmp_path / opened).exists()


def test_a_question_mark_quoted_as_said_opens_the_file_named(tmp_path: Path) -> None:
    url = file_url(f"{tmp_path}/n?x.db", {"mode": "rwc"})
    done = run_cli("db", "upgrade", "--db", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".db")] == ["n?x.db"]
