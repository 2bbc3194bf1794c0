"""A member frozen inside a transaction (SIGSTOP, a suspended VM) holds its row
locks until it resumes or the server ends its session. The live members must
go on beating: a full-suite run saw every member's heartbeat wait on the frozen
leader's `roles` row once its lease ran out, the cluster then had no live
member, and nothing was checked (test_cluster.py's paused member)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, insert, text
from sqlalchemy.exc import DBAPIError
from support.pg import pg_engine
from support.threads import in_thread
from test_cluster_storage import row

from monitor.storage.cluster import BACKOFF, MEMBERS, TIMEOUT, ClusterView
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository
from monitor.storage.store import LAST_CHECK_KEY, META

pytestmark = pytest.mark.postgres

BOUND_S = 20.0  # a liveness bound, far above any beat: a wait on a lock never ends
TIMEOUT_MS = 60_000


@pytest.fixture
def pg() -> Iterator[Engine]:
    yield from pg_engine()


def until_db_passes(repo: Repository, at: int) -> None:
    deadline = time.monotonic() + BOUND_S
    while repo.db_now() <= at and time.monotonic() < deadline:
        time.sleep(0.02)


def frozen_beat(
    engine: Engine, member: str, lead_ms: int
) -> tuple[threading.Thread, threading.Event]:
    """`member`'s heartbeat, stopped once all its writes are made and before its
    commit (as a SIGSTOP between two statements leaves it); set the event to
    let it go on."""
    repo = Repository(engine)
    reached, release = threading.Event(), threading.Event()
    view = repo._view

    def stopped(conn: Connection, now: int, timeout_ms: int) -> ClusterView:
        reached.set()
        release.wait(BOUND_S * 2)
        return view(conn, now, timeout_ms)

    repo._view = stopped  # type: ignore[method-assign]
    thread, _ = in_thread(lambda: repo.heartbeat(row(member), TIMEOUT_MS, lead_ms))
    assert reached.wait(BOUND_S), "the frozen beat never got to its last read"
    return thread, release


def test_a_leader_frozen_mid_beat_does_not_stop_the_others_beats(pg: Engine) -> None:
    upgrade(pg)
    repo = Repository(pg)
    assert repo.heartbeat(row("a"), TIMEOUT_MS, 60_000).leader == "a"
    now = repo.db_now()
    # what a beat clears, so the frozen one holds those rows too: an expired backoff,
    # a member silent for two days, the timeout a forgotten member published
    with pg.begin() as conn:
        conn.execute(insert(BACKOFF), {"host": "h.test", "until": now - 1000})
        conn.execute(insert(MEMBERS), {**row("gone"), "heartbeat_at": now - 2 * 86_400_000})
        conn.execute(insert(META), {"key": TIMEOUT + "ghost", "value": "1000"})
    lead_ms = 300
    frozen, release = frozen_beat(pg, "a", lead_ms)
    try:
        until_db_passes(repo, now + lead_ms + 50)  # its lease has run out
        for member in ("b", "c"):
            beat, seen = in_thread(lambda m=member: repo.heartbeat(row(m), TIMEOUT_MS, 60_000))
            beat.join(BOUND_S)
            assert not beat.is_alive(), f"{member}'s beat waited on the frozen member's locks"
            assert isinstance(seen[0], ClusterView), seen
            assert member in {m.id for m in seen[0].live}
    finally:
        release.set()
        frozen.join(BOUND_S)
    assert not frozen.is_alive()
    # once it resumes, a single leader again and nothing left behind
    view = repo.heartbeat(row("b"), TIMEOUT_MS, 60_000)
    assert view.leader in {"a", "b"}
    with pg.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM host_backoff")).scalar_one() == 0
        gone = text("SELECT count(*) FROM cluster_members WHERE id = 'gone'")
        assert conn.execute(gone).scalar_one() == 0


def test_a_member_frozen_holding_a_shared_row_is_ended_by_the_server(pg: Engine) -> None:
    """Other transactions that wait on a frozen member's rows (the last check's
    mark, which every member's result write sets) wait only until the server ends
    the frozen session: the daemon's engine sets PostgreSQL's
    idle_in_transaction_session_timeout."""
    upgrade(pg)
    url = pg.url.render_as_string(hide_password=False)
    daemon = make_engine(url, idle_in_transaction_ms=500)
    try:
        repo = Repository(daemon)
        repo.set_meta(LAST_CHECK_KEY, "1")
        with daemon.connect() as frozen:
            frozen.execute(text(f"UPDATE meta SET value = '2' WHERE key = '{LAST_CHECK_KEY}'"))
            write, seen = in_thread(lambda: repo.set_meta(LAST_CHECK_KEY, "3"))
            write.join(BOUND_S)
            assert not write.is_alive(), "the write waited on a frozen session for good"
            assert seen == [None], seen
            assert repo.get_meta(LAST_CHECK_KEY) == "3"
            with pytest.raises(DBAPIError, match="idle-in-transaction"):  # told on resuming
                frozen.execute(text("SELECT 1"))
            frozen.invalidate()
    finally:
        daemon.dispose()
    # not for the CLI's readers: a session of a plain engine stays
    with pg.connect() as reader:
        reader.execute(text("SELECT 1"))
        time.sleep(1.0)
        reader.execute(text("SELECT 1"))


def frozen_share(engine: Engine, hosts: dict[str, int]) -> tuple[threading.Thread, threading.Event]:
    """A member's share of its backoffs, stopped after its writes and before its
    commit (a SIGSTOP there): it holds those hosts' rows."""
    repo = Repository(engine)
    reached, release = threading.Event(), threading.Event()

    @event.listens_for(engine, "commit")
    def stopped(_conn: Any) -> None:
        reached.set()
        release.wait(BOUND_S * 2)

    thread, _ = in_thread(lambda: repo.share_backoff(hosts))
    assert reached.wait(BOUND_S), "the frozen share never got to its commit"
    event.remove(engine, "commit", stopped)
    return thread, release


def test_a_member_frozen_sharing_a_backoff_does_not_stall_the_others_beats(pg: Engine) -> None:
    """Every member shares every backoff it knows of at every beat (the ones it
    learned from the others too), so all of them write the same rows: one frozen
    inside its share held up every other member's heartbeat until the server ended
    its session, 30 s, three times the default cluster_timeout (each was taken
    for dead, stopped claiming and, back, dropped its checks in flight)."""
    upgrade(pg)
    repo = Repository(pg)
    now = repo.db_now()
    repo.share_backoff({"h.test": now + 60_000, "k.test": now + 60_000})
    url = pg.url.render_as_string(hide_password=False)
    frozen_engine = make_engine(url)  # no server timeout: only the test lets it go
    try:
        frozen, release = frozen_share(frozen_engine, {"h.test": now + 70_000})
        try:
            share, seen = in_thread(
                lambda: repo.share_backoff({"h.test": now + 90_000, "k.test": now + 90_000})
            )
            share.join(BOUND_S)
            assert not share.is_alive(), "the share waited on the frozen member's row"
            # what it could write is written; the row held is the one stored before
            assert seen == [{"h.test": now + 60_000, "k.test": now + 90_000}], seen
        finally:
            release.set()
            frozen.join(BOUND_S)
        assert not frozen.is_alive()
    finally:
        frozen_engine.dispose()
    # at a later beat, the row no longer held: the later end wins as ever
    shared = repo.share_backoff({"h.test": now + 90_000})
    assert shared == {"h.test": now + 90_000, "k.test": now + 90_000}


def _idle_timeout(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(text("SHOW idle_in_transaction_session_timeout")))


@pytest.mark.parametrize(
    "options",
    [
        "-c idle_in_transaction_session_timeout=0",
        "-c IDLE_IN_TRANSACTION_SESSION_TIMEOUT=0",  # setting names ignore case
        "--idle-in-transaction-session-timeout=0",  # PostgreSQL's other spelling
    ],
)
def test_the_operators_own_idle_timeout_wins(pg: Engine, options: str) -> None:
    """The `--db` URL's `options` setting it, however spelt, are not overridden
    (upper case and the --name form were: the daemon ended sessions at 30 s)."""
    url = pg.url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    daemon = make_engine(url, idle_in_transaction_ms=30_000)
    try:
        assert _idle_timeout(daemon) == "0"
    finally:
        daemon.dispose()
    plain = make_engine(pg.url.render_as_string(hide_password=False), idle_in_transaction_ms=30_000)
    try:
        assert _idle_timeout(plain) == "30s"
    finally:
        plain.dispose()


def test_pgoptions_idle_timeout_wins(pg: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq's PGOPTIONS is the URL's `options` for every connection: not overridden."""
    monkeypatch.setenv("PGOPTIONS", "-c idle_in_transaction_session_timeout=5min")
    bare = pg.url.difference_update_query(["options"])  # the URL's would replace PGOPTIONS
    daemon = make_engine(bare.render_as_string(hide_password=False), idle_in_transaction_ms=500)
    try:
        assert _idle_timeout(daemon) == "5min"
    finally:
        daemon.dispose()


def test_a_member_frozen_reading_a_long_answer_is_ended_by_the_server(pg: Engine) -> None:
    """Frozen while it read a long answer (a big document's article ids, read in
    the scan's last transaction after its row is written), a member's session is
    not idle: the server waits to send the rest, `active`, and holds its locks for
    as long as the member stays frozen; idle_in_transaction_session_timeout never
    ends it. The daemon's sessions set tcp_user_timeout too, so it is ended."""
    upgrade(pg)
    url = pg.url.render_as_string(hide_password=False)
    daemon = make_engine(url, idle_in_transaction_ms=500)
    raw = daemon.raw_connection()
    try:
        repo = Repository(daemon)
        repo.set_meta(LAST_CHECK_KEY, "1")
        driver: Any = raw.driver_connection
        with driver.cursor() as cur:  # a transaction: the row is this session's
            cur.execute(f"UPDATE meta SET value = '2' WHERE key = '{LAST_CHECK_KEY}'")
        # a long answer asked for and not read, as a process stopped mid-read leaves it
        driver.pgconn.send_query(b"SELECT repeat('x', 1000) FROM generate_series(1, 200000)")
        write, seen = in_thread(lambda: repo.set_meta(LAST_CHECK_KEY, "3"))
        write.join(BOUND_S)
        assert not write.is_alive(), "the write waited on a frozen session for good"
        assert seen == [None], seen
        assert repo.get_meta(LAST_CHECK_KEY) == "3"
    finally:
        raw.invalidate()
        daemon.dispose()


def test_a_checker_processs_probe_sessions_have_the_daemons_timeouts(pg: Engine) -> None:
    """The checker processes write the probe's answers through their own engine: a
    process frozen between its upsert and commit held the leader's purge of expired
    answers (and so its stop) for as long as it stayed frozen."""
    from monitor.check.worker import probe_engine

    engine = probe_engine(pg.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            shown = conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar_one()
        assert shown == "30s"
    finally:
        engine.dispose()
