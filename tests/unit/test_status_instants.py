"""Instants in the status document: exact to the millisecond, and an instant RFC 3339
cannot write (a next check past the year 9999, put there by a bad clock or an old
bug) shown as the nearest one it can; it made `status` fail on every call."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from support.storage import seed_due_targets

from monitor.cli import cli
from monitor.observe.status.document import FIRST_MS, LAST_MS, rfc3339, whole_ms
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import DUE, TARGETS


@given(st.integers(min_value=FIRST_MS, max_value=LAST_MS))
def test_every_writable_instant_reads_back_to_its_millisecond(ms: int) -> None:
    text = rfc3339(ms)
    assert text is not None and text.endswith("Z")
    back = datetime.fromisoformat(text)
    assert back.tzinfo is not None
    assert (back - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1) == ms


@given(st.integers(min_value=LAST_MS + 1, max_value=10**30))
def test_past_the_last_writable_instant_reads_as_it(ms: int) -> None:
    assert rfc3339(ms) == "9999-12-31T23:59:59.999Z"
    assert rfc3339(-ms) == "0001-01-01T00:00:00.000Z"


def test_status_answers_with_a_next_check_past_the_year_9999(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'article-monitor.db'}")
    upgrade(engine)
    far = 10**17  # the year 3,170,843
    with engine.begin() as conn:
        seed_due_targets(conn, 2)
        conn.execute(update(TARGETS).values(next_due=far, last_checked_at=far))
        conn.execute(update(DUE).values(due=far))
    engine.dispose()
    out = CliRunner().invoke(cli, ["status", "--data-dir", str(tmp_path), "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["oldest_due"] == "9999-12-31T23:59:59.999Z"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_real_stored_by_hand_reads_as_an_instant_or_unknown(ms: float) -> None:
    """SQLite keeps whatever REAL is written into a BIGINT column (`1e999` is an
    infinity): int() of it made `history` fail with an internal error."""
    text = rfc3339(ms)  # type: ignore[arg-type]
    if ms != ms:
        assert text is None
    else:
        assert text is not None and FIRST_MS <= _ms_of(text) <= LAST_MS


def _ms_of(text: str) -> int:
    back = datetime.fromisoformat(text)
    return (back - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def test_history_answers_with_an_infinite_time_stored(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'article-monitor.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        seed_due_targets(conn, 1)
        conn.execute(update(TARGETS).values(next_due=float("inf"), last_checked_at=float("-inf")))
        url = conn.execute(select(TARGETS.c.url)).scalar_one()
    engine.dispose()
    out = CliRunner().invoke(cli, ["history", url, "--data-dir", str(tmp_path), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["targets"][0]["next_due"] == "9999-12-31T23:59:59.999Z"


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.none())
def test_a_stored_duration_is_json_any_reader_accepts(value: float | None) -> None:
    """`latency_ms` stored as 1e999 by hand was written as `Infinity` by history
    and the API: not JSON to jq or JSON.parse."""
    got = whole_ms(value)
    assert got is None or isinstance(got, int)
    json.loads(json.dumps(got), parse_constant=_refuse)
    if isinstance(value, int):
        assert got == value


def _refuse(name: str) -> None:
    raise ValueError(f"not JSON: {name}")


def test_history_json_is_strict_with_an_infinite_latency_stored(tmp_path: Path) -> None:
    corpus = tmp_path / "a.jsonl"
    corpus.write_text('{"webUrl": "http://127.0.0.1:9/a"}\n')
    flags = ["--data-dir", str(tmp_path), "--listen", "127.0.0.1:0"]
    ran = CliRunner().invoke(cli, ["run", str(corpus), "--once", *flags])
    assert ran.exit_code == 0, ran.output
    engine = make_engine(f"sqlite:///{tmp_path / 'article-monitor.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE check_results SET latency_ms = 1e999"))
    engine.dispose()
    out = CliRunner().invoke(
        cli, ["history", "http://127.0.0.1:9/a", "--data-dir", str(tmp_path), "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output, parse_constant=_refuse)
    assert [r["latency_ms"] for r in doc["targets"][0]["results"]] == [None]
