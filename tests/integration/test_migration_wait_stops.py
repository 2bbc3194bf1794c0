"""A start waiting for another process's migration (up to MIGRATION_WAIT_MS,
five minutes) stops when asked: the wait was one SQLite busy wait, a C call
that neither a stopping daemon (it runs in a thread asyncio.run joins) nor a
signal handler could end, so SIGTERM took up to five minutes."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from support.pg import pg_engine

from monitor.storage.engine import make_engine
from monitor.storage.migrate import HEAD, MIGRATION_LOCK, current_revision, upgrade
from monitor.storage.opening import DatabaseUnusable

CLI = str(Path(sys.executable).with_name("article-monitor"))


def _behind(db: Path) -> None:
    """A database one revision behind: the next start migrates it."""
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine, "0009")
    engine.dispose()


def _held(db: Path) -> sqlite3.Connection:
    """Another process's migration, as the start meets it: the write lock held."""
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def _waiting_upgrade(
    engine: Engine, stop: threading.Event
) -> tuple[threading.Thread, list[BaseException]]:
    """An upgrade in a thread, seen still waiting after a few slices/tries
    with the lock held; its error (if any) lands in the returned list."""
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            upgrade(engine, stop=stop)
        except BaseException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=migrate)
    waiter.start()
    threading.Event().wait(1.0)
    assert waiter.is_alive()
    return waiter, errors


def test_a_stop_ends_the_wait_for_another_migration(tmp_path: Path) -> None:
    db = tmp_path / "am.db"
    _behind(db)
    other = _held(db)
    engine = make_engine(f"sqlite:///{db}")
    stop = threading.Event()
    waiter, errors = _waiting_upgrade(engine, stop)
    stop.set()
    waiter.join(60)  # before: the whole MIGRATION_WAIT_MS (300 s)
    assert not waiter.is_alive()
    [error] = errors
    assert isinstance(error, DatabaseUnusable) and "stopped" in str(error)
    other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_the_wait_in_slices_still_migrates_once_the_lock_is_free(tmp_path: Path) -> None:
    db = tmp_path / "am.db"
    _behind(db)
    other = _held(db)
    engine = make_engine(f"sqlite:///{db}")
    waiter = threading.Thread(target=upgrade, args=(engine,))
    waiter.start()
    threading.Event().wait(1.0)  # several slices (MIGRATION_SLICE_MS) pass locked
    other.execute("ROLLBACK")
    other.close()
    waiter.join(60)
    assert not waiter.is_alive()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    engine.dispose()


def test_sigterm_stops_run_while_it_waits_for_another_migration(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text('---\nwebUrl: "http://news.test/a/"\n---\n')
    _behind(data / "article-monitor.db")
    other = _held(data / "article-monitor.db")
    address = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(str(address))
        manager.settimeout(60)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
        proc = subprocess.Popen(
            [CLI, "run", str(corpus), "--data-dir", str(data), "--listen", "127.0.0.1:0"],
            env={**env, "NOTIFY_SOCKET": str(address)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            manager.recv(4096)  # the check's ask for more start time
            manager.recv(4096)  # the migration's: it waits for the lock now
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)  # before: up to 300 s
        finally:
            proc.kill()
            proc.wait()
            other.execute("ROLLBACK")
            other.close()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "was destroyed" not in err, err


@pytest.fixture
def pg() -> Iterator[Engine]:
    yield from pg_engine()


@pytest.mark.postgres
def test_a_stop_ends_the_wait_for_another_postgres_migration(pg: Engine) -> None:
    """pg_advisory_xact_lock waited as long as the other's migration lasted."""
    with pg.connect() as other:
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        stop = threading.Event()
        waiter, errors = _waiting_upgrade(pg, stop)
        stop.set()
        waiter.join(60)  # before: until the other's transaction ended
        alive = waiter.is_alive()
        other.rollback()  # the lock goes: a waiter still there would end now
        waiter.join(60)
    assert not alive
    [error] = errors
    assert isinstance(error, DatabaseUnusable) and "stopped" in str(error)
    upgrade(pg)  # free again: the migration runs
    assert current_revision(pg) == HEAD
