"""Which database errors at a start a later try may mend (`run` exits 75, which
the systemd unit restarts) and which it never will (exit 2, not restarted).

Whether the server is there is asked of the socket (a loopback listener, or a
closed loopback port), not read from libpq's message, which the locale
translates: a German `Verbindungsaufbau abgelehnt` is refused all the same.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.servers import accepting_port, closing_port

from monitor.storage.opening import DatabaseUnreachable, is_unreachable, unusable
from monitor.storage.reachable import accepts_connections

SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


class OperationalError(Exception):
    """Named as psycopg's is: the class `is_unreachable` knows by its name."""


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port where a server is up: it answers an SSLRequest with 'N', as
    PostgreSQL does when it has no TLS."""

    def answer(conn: socket.socket) -> None:
        conn.settimeout(2)
        with contextlib.suppress(OSError):
            if conn.recv(8) == SSL_REQUEST:
                conn.sendall(b"N")
                conn.recv(1)  # until the probe closes

    with accepting_port(answer) as port:
        yield port


@pytest.fixture
def silent() -> Iterator[int]:
    """A loopback port that takes connections and never answers (a TCP proxy or a
    tunnel whose server is not up, a server stuck): the kernel accepts them."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


@pytest.fixture
def closing() -> Iterator[int]:
    """A loopback port that takes connections and closes them at once (a proxy
    whose server is not up)."""
    with closing_port() as port:
        yield port


@pytest.fixture
def closed() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg(port: int) -> str:
    return f"postgresql+psycopg://monitor@127.0.0.1:{port}/monitor"


@pytest.mark.parametrize(
    "said",
    [
        "connection failed: Connection refused",
        "connection failed: Verbindungsaufbau abgelehnt",  # a translated libpq
        "connection timeout expired",
    ],
)
def test_nothing_listening_is_unreachable(closed: int, said: str) -> None:
    assert is_unreachable(OperationalError(said), pg(closed))
    assert isinstance(unusable(OperationalError(said), pg(closed)), DatabaseUnreachable)


@pytest.mark.parametrize(
    "said",
    [
        "FATAL:  the database system is starting up",
        "FATAL:  the database system is shutting down",
        "FATAL:  sorry, too many clients already",
        "FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute",
        "ERROR:  pgbouncer cannot connect to server",
    ],
)
def test_a_server_not_ready_yet_is_unreachable(listening: int, said: str) -> None:
    assert is_unreachable(OperationalError(said), pg(listening))


@pytest.mark.parametrize(
    "said",
    [
        'FATAL:  password authentication failed for user "monitor"',
        'FATAL:  database "monitor" does not exist',
        "fe_sendauth: no password supplied",
        "SSL error: certificate verify failed",
    ],
)
def test_a_server_that_refuses_the_monitor_is_configuration(listening: int, said: str) -> None:
    assert not is_unreachable(OperationalError(said), pg(listening))
    assert not isinstance(unusable(OperationalError(said), pg(listening)), DatabaseUnreachable)


def test_a_unix_socket_folder_without_its_socket_is_unreachable(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://monitor@/monitor?host={tmp_path}"
    assert is_unreachable(OperationalError("connection failed: No such file"), url)


def test_sqlite_and_other_errors_are_never_unreachable(closed: int) -> None:
    assert not is_unreachable(OperationalError("database is locked"), "sqlite:////tmp/x.db")
    assert not is_unreachable(ValueError("Connection refused"), pg(closed))


def test_the_port_in_the_query_is_the_one_asked(listening: int, closed: int) -> None:
    """`?host=127.0.0.1&port=N`: libpq connects to N; the probe asked 5432 and took a
    server's refusal at N for a server not up (exit 75, restarted for ever)."""
    url = f"postgresql+psycopg://monitor@/monitor?host=127.0.0.1&port={listening}"
    said = 'FATAL:  database "monitor" does not exist'
    assert not is_unreachable(OperationalError(said), url)
    url = f"postgresql+psycopg://monitor@/monitor?host=127.0.0.1&port={closed}"
    assert is_unreachable(OperationalError("connection failed: Connection refused"), url)


def test_pgport_is_the_port_asked(listening: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPORT", str(listening))
    url = "postgresql+psycopg://monitor@127.0.0.1/monitor"
    assert not is_unreachable(OperationalError('FATAL:  role "monitor" does not exist'), url)


def test_the_address_libpq_tried_is_the_one_asked(listening: int, closed: int) -> None:
    """psycopg keeps the failed connection (`pgconn`): its address is libpq's own
    (a hostaddr, a service file, PGHOST), whatever the URL says."""
    import psycopg

    url = f"postgresql+psycopg://monitor@/monitor?hostaddr=127.0.0.1&port={closed}"
    with pytest.raises(psycopg.OperationalError) as failed:
        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=5)
    assert getattr(failed.value, "pgconn", None) is not None
    # the URL below names a listening port; libpq tried the closed one
    assert is_unreachable(failed.value, pg(listening))


def test_psycopgs_connection_timeout_is_unreachable(closed: int) -> None:
    """psycopg raises its own ConnectionTimeout (an OperationalError's subclass) when
    connect_timeout passes, as at a black-holed address: it was taken for no
    OperationalError at all, configuration, exit 2, never restarted."""
    import psycopg

    timed_out = psycopg.errors.ConnectionTimeout("connection timeout expired")
    assert is_unreachable(timed_out, pg(closed))
    assert isinstance(unusable(timed_out, pg(closed)), DatabaseUnreachable)


def test_a_connection_closed_at_once_is_no_server(closing: int) -> None:
    """A proxy whose server is not up takes the connection and closes it (libpq:
    "server closed the connection unexpectedly"): a later try may work."""
    said = "connection failed: server closed the connection unexpectedly"
    assert is_unreachable(OperationalError(said), pg(closing))


def test_a_connection_never_answered_is_no_server(silent: int) -> None:
    assert not accepts_connections(("127.0.0.1", str(silent)), timeout=0.3)


def test_a_server_answering_the_ssl_request_is_there(listening: int) -> None:
    assert accepts_connections(("127.0.0.1", str(listening)), timeout=2)


def test_an_abstract_unix_socket_is_asked_as_one() -> None:
    """libpq takes `host=@name` as a socket in Linux's abstract namespace: the probe
    looked the name up in the DNS, found nothing, and said no server was there."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind("\0r38-probe/.s.PGSQL.5432")
        server.listen()

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(8)
                conn.sendall(b"N")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        assert accepts_connections(("@r38-probe", "5432"), timeout=2)
        thread.join(5)


class DiskFull(OperationalError):
    """psycopg's DiskFull carries its SQLSTATE as `sqlstate`."""

    sqlstate = "53100"


def test_a_server_whose_disk_is_full_is_unreachable(listening: int) -> None:
    """The server answers, but cannot write (a migration's or the write check's
    statement): space freed mends it with no change to the configuration, so a
    restart may; before, exit 2, which the unit does not restart."""
    said = 'could not extend file "base/16384/16385": No space left on device'
    assert is_unreachable(DiskFull(said), pg(listening))
    assert isinstance(unusable(DiskFull(said), pg(listening)), DatabaseUnreachable)
