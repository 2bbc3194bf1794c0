"""`status` and `history` tables print corpus text as text: a provider domain, URL or
source path holding rich markup (`[/]`, `[bold]`) neither crashes them nor styles them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import status_db

from monitor.cli import cli


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(status_db, "PROVIDERS", ("[/]", "[bold red]Beta", "[link=x]y"))
    known = status_db.build(tmp_path / "am.db", n_targets=30)
    return str(known.engine.url)


def test_status_table_prints_markup_as_text(db: str) -> None:
    result = CliRunner().invoke(cli, ["status", "--db", db, "--format", "table"])
    assert result.exit_code == 0, result.output
    assert "[/]" in result.output


def test_history_table_prints_markup_as_text(db: str, tmp_path: Path) -> None:
    from sqlalchemy import text

    from monitor.storage.engine import make_engine

    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE targets SET url = 'https://news.test/[/]x' WHERE id = 6"))
        conn.execute(
            text("UPDATE articles SET source = '[bold]s[/]' WHERE id = '0000000000000007'")
        )
    engine.dispose()
    for query in ("6", "0000000000000007"):
        result = CliRunner().invoke(cli, ["history", query, "--db", db, "--format", "table"])
        assert result.exit_code == 0, result.output
    assert "[/]" in result.output and "[bold]s[/]" in result.output


def test_terminal_controls_are_spelled_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_db, "PROVIDERS", ("\x1b[31mred\u202e",) * 3)
    db = str(status_db.build(tmp_path / "am.db", n_targets=30).engine.url)
    result = CliRunner().invoke(cli, ["status", "--db", db, "--format", "table"])
    assert result.exit_code == 0, result.output
    assert "\x1b[31m" not in result.output and "\u202e" not in result.output
    assert "\\x1b[31mred\\u202e" in result.output


def test_outcome_codes_are_printed_whole_on_a_narrow_terminal(db: str) -> None:
    """On 80 columns the recent transitions' outcome was folded to the column
    ("connection_erro" / "r"), as were the URL and the time: the code is kept whole."""
    from sqlalchemy import text

    from monitor.storage.engine import make_engine

    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE transitions SET outcome = 'connection_error', from_state = 'unknown'")
        )
        long = "/2021/11/01/a-story-with-a-long-slug-as-news-sites-write-them/"
        conn.execute(text(f"UPDATE targets SET url = 'https://www.news.test' || id || '{long}'"))
    engine.dispose()
    result = CliRunner().invoke(
        cli, ["status", "--db", db, "--format", "table"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    assert "Recent transitions" in result.output
    assert "connection_error" in result.output, result.output


def test_the_recent_transitions_say_why(db: str) -> None:
    """The error a transition was made with is in the table as in the JSON (it was
    in `status --format json` and the API only), as text: markup is not read."""
    from sqlalchemy import text

    from monitor.storage.engine import make_engine

    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE transitions SET error = 'refused [bold]here[/]'"))
    engine.dispose()
    result = CliRunner().invoke(
        cli, ["status", "--db", db, "--format", "table"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "refused [bold]here[/]" in result.output, result.output
