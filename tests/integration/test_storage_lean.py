"""The lean executemany (storage/lean.py) stores what SQLAlchemy's execute stores.

The result write sends its rows straight to the driver (issue 16); these hold
that path to the general one on SQLite and PostgreSQL: the same rows, written
both ways, read back equal, values of every shape the daemon writes (NULLs,
Unicode, quotes, big timestamps) included.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, TypeDecorator, Unicode, column, delete, select, table

from monitor.storage.dialect import in_ids
from monitor.storage.lean import execute_many
from monitor.storage.migrate import upgrade
from monitor.storage.queue import DUE_INSERT, TARGET_UPDATE, _insert_results
from monitor.storage.store import DUE, RESULTS, TARGETS

text_values = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\0"))
result_rows = st.lists(
    st.fixed_dictionaries(
        {
            "target_id": st.integers(1, 2**31 - 1),
            "checked_at": st.integers(0, 2**62),
            "outcome": st.integers(0, 30),
            "http_status": st.none() | st.integers(100, 599),
            "latency_ms": st.none() | st.integers(0, 2**31 - 1),
            "problems": st.none() | text_values,
        }
    ),
    min_size=1,
    max_size=20,
    unique_by=lambda r: (r["target_id"], r["checked_at"]),
)
lean_settings = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def results(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(RESULTS).order_by(*RESULTS.primary_key))]


@lean_settings
@given(rows=result_rows)
def test_result_rows_are_stored_as_execute_stores_them(
    engine: Engine, rows: list[dict[str, Any]]
) -> None:
    upgrade(engine)
    stmt = _insert_results(engine.dialect.name)
    stored = []
    for write in (
        lambda conn: execute_many(conn, stmt, rows),
        lambda conn: conn.execute(stmt, rows),
    ):
        with engine.begin() as conn:
            conn.execute(delete(RESULTS))
            write(conn)
            write(conn)  # a second time: the conflict is ignored either way
        stored.append(results(engine))
    assert stored[0] == stored[1]
    assert len(stored[0]) == len(rows)


@lean_settings
@given(
    states=st.lists(
        st.tuples(st.sampled_from(["up", "down", "unknown"]), st.integers(0, 9), text_values),
        min_size=1,
        max_size=10,
    )
)
def test_target_updates_and_due_rows_match_execute(
    engine: Engine, states: list[tuple[str, int, str]]
) -> None:
    upgrade(engine)
    ids = list(range(1, len(states) + 1))
    updates = [
        {
            "b_id": i,
            "b_lease": 0,  # unused by the statement, as in QueueStore.record
            "state": state,
            "fails": n,
            "succs": 9 - n,
            "next_due": 10**12 + i,
            "last_checked_at": 10**12,
            "last_outcome": "ok",
            "last_status": None if n % 2 else 200,
            "last_problems": problems,
            "active": 1,
            "last_error": None if n % 3 else f"refused {problems}",
        }
        for i, (state, n, problems) in zip(ids, states, strict=True)
    ]
    seen = []
    for lean in (True, False):
        with engine.begin() as conn:
            conn.execute(delete(DUE))
            conn.execute(delete(TARGETS))
            conn.execute(
                TARGETS.insert(),
                [{"id": i, "url": f"https://e.test/{i}", "kind": "web"} for i in ids],
            )
            due = [{"due": 5, "target_id": i, "bucket": None} for i in ids]
            if lean:
                execute_many(
                    conn, TARGET_UPDATE, [{k: u[k] for k in u if k != "b_lease"} for u in updates]
                )
                execute_many(conn, DUE_INSERT, due)
            else:
                conn.execute(
                    TARGET_UPDATE, [{k: u[k] for k in u if k != "b_lease"} for u in updates]
                )
                conn.execute(DUE_INSERT, due)
        with engine.connect() as conn:
            seen.append(
                (
                    [tuple(r) for r in conn.execute(select(TARGETS).order_by(TARGETS.c.id))],
                    [tuple(r) for r in conn.execute(select(DUE).order_by(DUE.c.target_id))],
                )
            )
    assert seen[0] == seen[1]


class Shouting(TypeDecorator[str]):
    """A type that converts values on the way in: the lean path must not skip it."""

    impl = Unicode
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.upper()


def test_a_type_with_a_bind_processor_takes_the_general_way(engine: Engine) -> None:
    notes = table("lean_notes", column("body", Shouting()))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE lean_notes (body TEXT)")
        execute_many(conn, notes.insert(), [{"body": "quiet"}, {"body": "calm"}])
    with engine.connect() as conn:
        assert sorted(conn.scalars(select(notes.c.body))) == ["CALM", "QUIET"]


@lean_settings
@given(
    present=st.sets(st.integers(1, 60), max_size=40),
    wanted=st.lists(st.integers(-5, 70), max_size=40),
)
# SQLAlchemy 2.0.29 (the lowest allowed) negated `= ANY` into `!= ANY`: 1 != ANY([0, 1]) is true
@example(present={1}, wanted=[0, 1])
def test_in_ids_selects_what_an_in_list_selects(
    engine: Engine, present: set[int], wanted: list[int]
) -> None:
    """dialect.in_ids (one array parameter) against SQLAlchemy's expanded IN list."""
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(delete(TARGETS))
        if present:
            rows = [{"id": i, "url": f"https://e.test/{i}", "kind": "web"} for i in present]
            conn.execute(TARGETS.insert(), rows)
    name = engine.dialect.name
    with engine.connect() as conn:
        one = set(conn.scalars(select(TARGETS.c.id).where(in_ids(name, TARGETS.c.id, wanted))))
        both = select(TARGETS.c.id).where(
            in_ids(name, TARGETS.c.id, wanted), ~in_ids(name, TARGETS.c.id, wanted[:3])
        )
        two = set(conn.scalars(both))
    assert one == present & set(wanted)
    assert two == present & set(wanted) - set(wanted[:3])
