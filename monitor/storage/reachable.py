"""Is a PostgreSQL server there yet? Asked of its socket, for `run`'s exit code.

`run` exits 75 (EX_TEMPFAIL) for a database a later try may reach, which the
systemd unit restarts, and 2 for configuration, which no restart mends
(docs/deploy.md). libpq's message cannot tell them apart: the server's locale
translates it, and a TCP proxy whose server is not up looks like a server that
hung up. So, after libpq has failed, the address it tried is asked directly: a
connection, PostgreSQL's SSLRequest, and a startup naming only the user and
the database (never a password), whose error's SQLSTATE says "not ready" in
every language. psycopg cannot give that SQLSTATE: a failed connection has no
result to read it from.
"""

from __future__ import annotations

import contextlib
import os
import socket

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# what a server says when it is there but not yet (or no longer) taking connections;
# anything else it says (FATAL: password authentication failed, database "x" does
# not exist, role "x" does not exist) is the configuration's to mend
_SERVER_NOT_READY = (
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "too many clients already",
    "remaining connection slots are reserved",
    "terminating connection due to administrator command",  # a server stopping
    "pgbouncer cannot connect to server",  # a pooler up, its server not (yet)
)


def server_not_up(orig: BaseException, url: str) -> bool:
    """`orig` (libpq's error, through psycopg) says the server could not be reached,
    or not yet: nothing accepts a connection at its address (refused, timed out, a
    name not resolved), or the server said it is not ready. Anything else (a
    password refused, a database that does not exist, no password given, a TLS
    failure) is the configuration's."""
    # psycopg's, through SQLAlchemy's, or one of its subclasses: its own
    # ConnectionTimeout (connect_timeout passed), a server's CannotConnectNow
    if not any(kind.__name__ == "OperationalError" for kind in type(orig).__mro__):
        return False
    if any(phrase in str(orig) for phrase in _SERVER_NOT_READY):
        return True
    return not accepts_connections(_address(orig, url), _who(orig, url))


def _address(orig: BaseException, url: str) -> tuple[str, str] | None:
    """The host (or Unix socket folder) and port libpq tried: read from the failed
    connection psycopg keeps (`pgconn`: its hostaddr, else its host, and its port,
    as libpq resolved them from the URL, its `?host=`, `?hostaddr=`, `?port=`, the
    PGHOST and PGPORT variables or a service file); without it, the URL's own. None
    when there is no single address to ask (several hosts)."""
    pgconn = getattr(orig, "pgconn", None)
    if pgconn is not None:
        try:
            host = (pgconn.hostaddr or pgconn.host or b"").decode()
            port = (pgconn.port or b"").decode()
        except (AttributeError, UnicodeDecodeError):
            host = port = ""
        if host:
            return host, port or "5432"
    try:
        parts = make_url(url)
    except (ArgumentError, ValueError):
        return None
    host = parts.host or parts.query.get("host") or os.environ.get("PGHOST") or ""
    port = parts.port or parts.query.get("port") or os.environ.get("PGPORT") or "5432"
    if not isinstance(host, str) or not isinstance(port, (str, int)) or "," in host:
        return None
    return host or "/var/run/postgresql", str(port)


def _who(orig: BaseException, url: str) -> tuple[str, str]:
    """The user and database libpq asked for (its failed connection's, else the
    URL's, PGUSER and PGDATABASE, the login name): what the probe's own startup
    names, so that the server answers it as it answered libpq. No password."""
    pgconn = getattr(orig, "pgconn", None)
    try:
        user = (getattr(pgconn, "user", b"") or b"").decode()
        database = (getattr(pgconn, "db", b"") or b"").decode()
    except UnicodeDecodeError:
        user = database = ""
    if not user or not database:
        with contextlib.suppress(ArgumentError, ValueError):
            parts = make_url(url)
            user = user or parts.username or ""
            database = database or parts.database or ""
    if not user:
        import getpass

        with contextlib.suppress(Exception):  # no login name (a container's uid)
            user = os.environ.get("PGUSER") or getpass.getuser()
    return user or "postgres", database or os.environ.get("PGDATABASE") or user or "postgres"


# SQLSTATEs of a server there but not taking connections yet (or no longer), as
# its ErrorResponse gives them whatever its lc_messages: cannot_connect_now
# (starting up, shutting down, in recovery), too_many_connections, admin_shutdown
_NOT_READY_CODES = frozenset({"57P03", "53300", "57P01"})
_STARTUP_REPLY_MAX = 16384  # bytes of a server's first reply the probe reads

# PostgreSQL's SSLRequest (its length, then the code 1234 5679): a server answers
# it with one byte ('S', 'N', or an error's 'E') before it looks at anything else,
# starting up or not; a proxy whose server is not up answers nothing
_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


def accepts_connections(
    address: tuple[str, str] | None, who: tuple[str, str] | None = None, timeout: float = 3.0
) -> bool:
    """Whether a server answers at the address: its host and port, or its Unix
    socket (a folder: `?host=/run/postgresql`), takes a connection and answers an
    SSLRequest within `timeout`. A connection taken and then closed, or left
    unanswered (a TCP proxy or a tunnel whose server is not up, a server stuck),
    is no server there: libpq's "server closed the connection unexpectedly" and
    "connection timeout expired" are a later try's to mend. `who` (user, database):
    a startup naming them follows, and a server answering it with a SQLSTATE of
    not ready (57P03 starting up, 53300 too many clients) is not there yet either,
    whatever the language of its message. True when there is no single address
    to ask (several hosts): said as configuration."""
    if address is None:
        return True
    host, port = address
    if not port.isdigit():  # libpq's own refusal ("invalid port number"): configuration
        return True
    try:
        # a Unix socket's folder, as libpq takes it; `@name`, one in Linux's abstract
        # namespace (libpq 14): asked of the DNS, it was never found, and a server
        # there refusing the monitor was exit 75, restarted for ever
        if host.startswith(("/", "@")):
            path = os.path.join(host, f".s.PGSQL.{port}")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
                unix.settimeout(timeout)
                unix.connect("\0" + path[1:] if host.startswith("@") else path)
                return _answers(unix, who)
        with socket.create_connection((host, int(port)), timeout=timeout) as tcp:
            return _answers(tcp, who)
    except PermissionError:  # the socket's mode, a sandbox's IPAddressDeny=: for
        return True  # configuration to mend, and restarted it looped for ever
    except OSError:  # refused, timed out, no such name, no socket file, reset
        return False


def _answers(conn: socket.socket, who: tuple[str, str] | None) -> bool:
    """The server at the other end of `conn` answers an SSLRequest (a byte), rather
    than closing the connection (its timeout raises), and, asked to start a session
    for `who`, does not say it is not ready. Whatever fails after its first byte is
    a server there: configuration, as before."""
    conn.sendall(_SSL_REQUEST)
    answer = conn.recv(1)
    if answer == b"":
        return False
    if who is None or answer not in (b"N", b"S"):
        return True
    try:
        return _startup_code(conn, answer, who) not in _NOT_READY_CODES
    except (OSError, ValueError):  # TLS refused, cut, a reply not PostgreSQL's
        return True


def _startup_code(conn: socket.socket, answer: bytes, who: tuple[str, str]) -> str | None:
    """The SQLSTATE of the error the server answers a startup for `who` with, or
    None (it asked for a password, or let the session in). Over TLS when it said
    'S' to the SSLRequest, unverified: nothing secret is sent, only the names."""
    import ssl

    if answer == b"S":
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        with tls.wrap_socket(conn) as wrapped:
            return _startup_code(wrapped, b"N", who)
    user, database = who
    body = (196608).to_bytes(4, "big")  # protocol 3.0
    body += b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
    conn.sendall((len(body) + 4).to_bytes(4, "big") + body)
    head = _read(conn, 5)
    length = int.from_bytes(head[1:], "big")
    if head[:1] != b"E" or not 4 <= length <= _STARTUP_REPLY_MAX:
        return None
    for field in _read(conn, length - 4).split(b"\0"):
        if field[:1] == b"C":
            return field[1:].decode("ascii", "replace")
    return None


def _read(conn: socket.socket, size: int) -> bytes:
    """Exactly `size` bytes from `conn`; ValueError when it closes first."""
    got = b""
    while len(got) < size:
        chunk = conn.recv(size - len(got))
        if not chunk:
            raise ValueError("closed")
        got += chunk
    return got
