"""A daemon on PostgreSQL stops (SIGTERM) while park.test holds it back (`429
Retry-After: 30`) and another transaction holds the row of one of the host's
queued targets (another member's write under way, a maintenance job, an
operator's session): the stop's put-off of the held host's queued targets
(dispatch.py `put_off_held`) waited on that row for as long as it was held,
on the database thread the give-backs and the results share, until the
stop's budget ran out, and then warned `stopping without giving back every
claim` though every claim was given back. It now waits a second, warns that
the held host's targets were not put off, and the stop ends as usual.

slow: a daemon's start and stop, ~5 s; the waits are bounds on a hang."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import DaemonProcess, wait_for
from sqlalchemy import text
from stop_site import park_config, stop_site
from support.pg import pg_schema_url

from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BOUND = 40  # seconds: a bound on a hang, never a timing
TARGETS = 6


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_schema_url("pl")


def test_a_stop_whose_put_off_meets_a_held_row_ends_saying_so(tmp_path: Path, pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    with stop_site(pause=0.1, retry_after=30) as site:
        config = park_config(
            tmp_path, site.port, TARGETS, db=pg_url, concurrency=1, shutdown_grace=2.0
        )
        daemon = DaemonProcess(config)
        try:
            daemon.wait_listening()
            wait_for(lambda: site.started(), BOUND, what=daemon.text)
            with engine.connect() as holding:
                # a queued target of the held host, due before the hold's end
                locked = holding.execute(
                    text(
                        "SELECT t.id FROM targets t JOIN due_queue q ON q.target_id = t.id"
                        " AND q.due = t.next_due WHERE t.url LIKE 'http://park.test/%'"
                        " AND q.due < (EXTRACT(EPOCH FROM now()) * 1000 + 20000)"
                        " ORDER BY t.id LIMIT 1 FOR UPDATE OF t"
                    )
                ).all()
                assert locked, "the setup: no queued target of the held host"
                daemon.signal(signal.SIGTERM)
                code = daemon.wait(BOUND)
                holding.rollback()
        finally:
            daemon.kill()
            engine.dispose()
    said = daemon.text()
    assert code == 0, said
    assert "Traceback" not in said, said
    assert "could not put off the queued targets of 1 held hosts" in said, said[-3000:]
    assert "stopping without giving back every claim" not in said, said[-3000:]
