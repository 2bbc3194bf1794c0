"""A PostgreSQL server (or a proxy before it) that accepts connections and never
answers: connecting gives up after PG_CONNECT_TIMEOUT_S instead of waiting for
good (libpq's default). A daemon's start held in its database check by such a
server ignored SIGTERM until Kubernetes' SIGKILL. Loopback only; the wait is
bounded by a thread join, and the verdict is the error, not a duration."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from monitor.storage import engine as engine_module
from monitor.storage.engine import make_engine

pytest.importorskip("psycopg")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener that accepts (the kernel's backlog) and never says a word."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def _connect(url: str, outcome: list[BaseException | None]) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        outcome.append(None)
    except BaseException as exc:
        outcome.append(exc)
    finally:
        engine.dispose()


@pytest.mark.parametrize("query", ["", "?connect_timeout=1"])
def test_connecting_to_a_server_that_never_answers_gives_up(
    silent_port: int, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "PG_CONNECT_TIMEOUT_S", 1)
    url = f"postgresql+psycopg://u@127.0.0.1:{silent_port}/db{query}"
    outcome: list[BaseException | None] = []
    worker = threading.Thread(target=_connect, args=(url, outcome), daemon=True)
    worker.start()
    worker.join(30)  # a bound for the test, far above the timeouts; never reached
    assert outcome, "still connecting: no connect timeout"
    assert isinstance(outcome[0], OperationalError), outcome
