"""A schema at its head is recognised without Alembic; anything else goes through it.

Every daemon start asks for the head; importing Alembic and loading the
migration scripts to learn that nothing was to be done cost ~0.3 s a start.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from monitor.storage.migrate import HEAD, at_head, current_revision, head_revision, upgrade
from monitor.storage.opening import DatabaseUnusable


def test_head_is_the_migration_scripts_own_head() -> None:
    # a new migration without HEAD moved on would be skipped on every database at the old head
    assert head_revision() == HEAD


def test_only_a_schema_at_head_is_at_head(engine: Engine) -> None:
    assert not at_head(engine)  # no schema at all
    upgrade(engine, "0008")
    assert not at_head(engine)
    upgrade(engine)
    assert at_head(engine) and current_revision(engine) == HEAD


def test_a_schema_behind_is_still_upgraded(engine: Engine) -> None:
    upgrade(engine, "0008")
    upgrade(engine)
    assert current_revision(engine) == HEAD


def test_a_newer_schema_is_still_refused(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    assert not at_head(engine)
    with pytest.raises(DatabaseUnusable, match="newer than this"):
        upgrade(engine)


def test_two_version_rows_are_not_read_as_head(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:  # branches, or a damaged table: Alembic's to judge
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0008')"))
    assert not at_head(engine)


def test_a_start_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    db = tmp_path / "am.db"
    code = (
        "import sys\n"
        "from monitor.storage.engine import make_engine\n"
        "from monitor.storage.migrate import upgrade\n"
        f"engine = make_engine('sqlite:///{db}')\n"
        "upgrade(engine)\n"
        "print('alembic' in sys.modules)\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "True"  # the first creates the schema through Alembic
    assert again.stdout.strip() == "False"
