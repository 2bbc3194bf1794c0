"""The systemd unit restarts `run` when a restart can mend its exit, and only then.

`Restart=on-failure` restarted every failed exit after 5 s, exit 2 included: a bad
configuration (or a database that refused the monitor's role) restarted every 5 s
for ever, a log line each time. PostgreSQL not up yet at the start was exit 2 as
well, so the unit could not tell the two apart. Now `run` exits 75 (EX_TEMPFAIL)
for a database server it cannot reach, or not yet, and the unit restarts that
and never 2 (RestartPreventExitStatus=2).

No systemd PID 1 here: the real `run` gives its exit statuses (subprocesses on
loopback), and the unit is read as systemd reads it; `systemd-analyze verify`
accepts it (tests/integration/test_deploy.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from support.servers import accepting_port, closing_port

from monitor.cli import EXIT_USAGE
from monitor.cli.run import EXIT_TEMPFAIL

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "article-monitor.service"
CLI = str(Path(sys.executable).with_name("article-monitor"))
PG_URL = os.environ.get("ARTICLE_MONITOR_TEST_PG_URL")


def service() -> dict[str, list[str]]:
    """The [Service] assignments, every one of each key, in order."""
    section, values = "", dict[str, list[str]]()
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def restarted(code: int) -> bool:
    """Whether systemd restarts the unit after `run` exits `code` (systemd.service(5):
    on-failure is any unclean exit code, less RestartPreventExitStatus=)."""
    unit = service()
    assert unit["Restart"][-1] == "on-failure"
    success = {0} | {int(c) for v in unit.get("SuccessExitStatus", []) for c in v.split()}
    prevented = {int(c) for v in unit.get("RestartPreventExitStatus", []) for c in v.split()}
    return code not in success and code not in prevented


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(tmp: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    corpus = tmp / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / "a.txt").write_text("---\nwebUrl: http://news.test/a/\n---\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    env.update(env_extra)
    return subprocess.run(
        [CLI, "run", str(corpus), "--listen", "127.0.0.1:0", "--data-dir", str(tmp), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp,
    )


def test_postgresql_not_up_yet_is_restarted(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://monitor:pw@127.0.0.1:{closed_port()}/monitor"
    out = run(tmp_path, "--db", url)
    assert out.returncode == EXIT_TEMPFAIL, out.stderr
    assert "Error: cannot use the database" in out.stderr and "Traceback" not in out.stderr
    assert restarted(out.returncode)


def test_a_proxy_whose_server_is_not_up_is_restarted(tmp_path: Path) -> None:
    """A TCP proxy or tunnel in front of PostgreSQL (HAProxy, a cloud SQL proxy, an
    SSH tunnel) takes the connection and closes it while its server is not up: the
    socket probe saw a connection taken and said configuration, exit 2, and the
    unit stayed failed after a boot where the daemon came up first."""
    with closing_port() as port:
        out = run(tmp_path, "--db", f"postgresql+psycopg://monitor:pw@127.0.0.1:{port}/m")
    assert out.returncode == EXIT_TEMPFAIL, out.stderr
    assert "Traceback" not in out.stderr and "pw" not in out.stderr.replace("psycopg", "")
    assert restarted(out.returncode)


def error_response(code: str, message: str) -> bytes:
    """PostgreSQL's ErrorResponse: severity (localised, then not), SQLSTATE, text."""
    fields = f"SSCHWERWIEGEND\0VFATAL\0C{code}\0M{message}\0".encode() + b"\0"
    return b"E" + (len(fields) + 4).to_bytes(4, "big") + fields


@contextlib.contextmanager
def german_server(code: str, message: str) -> Iterator[int]:
    """A loopback PostgreSQL, as far as its start goes, whose lc_messages is German:
    no TLS ('N' to an SSLRequest), and every startup answered with `code`."""

    def answer(conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):  # a probe's close
            conn.settimeout(5)
            length = int.from_bytes(conn.recv(4), "big")
            first = conn.recv(length - 4)
            if first == (80877103).to_bytes(4, "big"):  # SSLRequest
                conn.sendall(b"N")
                length = int.from_bytes(conn.recv(4), "big")
                conn.recv(length - 4)
            conn.sendall(error_response(code, message))

    with accepting_port(answer) as port:
        yield port


@pytest.mark.parametrize(
    ("code", "message", "exits"),
    [
        ("57P03", "das Datenbanksystem startet", EXIT_TEMPFAIL),
        ("53300", "tut mir leid, schon zu viele Verbindungen", EXIT_TEMPFAIL),
        ("3D000", "Datenbank »m« existiert nicht", EXIT_USAGE),
    ],
    ids=["starting-up", "too-many-clients", "no-database"],
)
def test_a_server_speaking_german_is_read_by_its_sqlstate(
    tmp_path: Path, code: str, message: str, exits: int
) -> None:
    """A server whose lc_messages is not English says "the database system is starting
    up" in its language: read as a refusal of the monitor (exit 2), it left the unit
    failed after every boot where the daemon came up before PostgreSQL. Its SQLSTATE
    (57P03, 53300) is the same in every language."""
    with german_server(code, message) as port:
        out = run(tmp_path, "--db", f"postgresql+psycopg://monitor:pw@127.0.0.1:{port}/m")
    assert out.returncode == exits, out.stderr
    assert "Traceback" not in out.stderr


def test_a_sqlite_file_locked_by_another_process_is_restarted(tmp_path: Path) -> None:
    """Another process (a sqlite3 shell, a `db` command, a backup) holds the file's
    write lock past the start's wait: "try again once it is done", said with exit 2,
    which the unit does not restart; now 75. Another `run` on it stays 2. Two `run`
    processes (one to make the database, one refused after the lock's 0.5 s wait):
    ~3 s on an idle machine."""
    assert run(tmp_path, "--once").returncode == 0  # the database, made
    db = tmp_path / "article-monitor.db"
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        out = run(tmp_path, "--once", "--db", f"sqlite:///{db}?timeout=0.5")
    finally:
        holder.close()
    assert out.returncode == EXIT_TEMPFAIL, out.stderr
    assert "is locked by another process" in out.stderr and "Traceback" not in out.stderr
    assert restarted(out.returncode)


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="runs `run` as nobody: needs root"
)
def test_a_socket_the_monitor_may_not_open_is_not_restarted() -> None:
    """PostgreSQL's Unix socket is there, but its mode keeps the monitor's user out
    (libpq: "Permission denied"): the probe's own refusal was read as no server
    there, exit 75, restarted every 5 s for ever; no restart mends a mode."""
    with tempfile.TemporaryDirectory(prefix="r38-perm-") as folder:
        os.chmod(folder, 0o777)  # the data directory of `run` as nobody, and the socket's
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(os.path.join(folder, ".s.PGSQL.5432"))
            server.listen()
            os.chmod(os.path.join(folder, ".s.PGSQL.5432"), 0o600)  # root's only
            corpus = Path(folder) / "corpus"
            corpus.mkdir(mode=0o755)
            (corpus / "a.txt").write_text("---\nwebUrl: http://news.test/a/\n---\n")
            (corpus / "a.txt").chmod(0o644)
            env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
            out = subprocess.run(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CLI, "run",
                 str(corpus), "--once", "--listen", "127.0.0.1:0", "--data-dir", folder,
                 "--db", f"postgresql+psycopg://monitor@/m?host={folder}"],
                capture_output=True, text=True, timeout=60, env=env, cwd=folder,
            )  # fmt: skip
    assert out.returncode == EXIT_USAGE, out.stderr
    assert "Permission denied" in out.stderr and "Traceback" not in out.stderr
    assert not restarted(out.returncode)


def test_a_bad_configuration_is_not_restarted(tmp_path: Path) -> None:
    (tmp_path / "monitor.toml").write_text('concurrency = "many"\n')
    out = run(tmp_path, "--config", str(tmp_path / "monitor.toml"))
    assert out.returncode == EXIT_USAGE, out.stderr
    assert not restarted(out.returncode)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ARTICLE_MONITOR_TEST_PG_URL not set")
def test_a_database_the_server_refuses_is_not_restarted(tmp_path: Path) -> None:
    """The server is up and says no (a database that does not exist): configuration."""
    assert PG_URL
    url = PG_URL.rsplit("/", 1)[0] + "/no_such_database_l3"
    out = run(tmp_path, "--db", url)
    assert out.returncode == EXIT_USAGE, out.stderr
    assert "does not exist" in out.stderr
    assert not restarted(out.returncode)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ARTICLE_MONITOR_TEST_PG_URL not set")
@pytest.mark.parametrize("where", ["query", "environment"])
def test_a_refusal_at_an_address_not_in_the_urls_netloc_is_not_restarted(
    tmp_path: Path, where: str
) -> None:
    """The server's port given as `?host=...&port=` or by PGPORT (libpq reads both):
    the socket probe asked port 5432 instead, found nothing there, and a database
    that does not exist was exit 75, restarted every 5 s for ever."""
    assert PG_URL
    parts = make_url(PG_URL)
    if where == "query":
        url = f"postgresql+psycopg://{parts.username}@/no_such_database_r38"
        url += f"?host={parts.host}&port={parts.port}"
        out = run(tmp_path, "--db", url)
    else:
        url = f"postgresql+psycopg://{parts.username}@{parts.host}/no_such_database_r38"
        out = run(tmp_path, "--db", url, PGPORT=str(parts.port))
    assert out.returncode == EXIT_USAGE, out.stderr
    assert "does not exist" in out.stderr
    assert not restarted(out.returncode)


def test_the_other_exits_keep_their_meaning() -> None:
    """A bug (70) and a failed --once (1) are restarted as before; a stop (130) is none."""
    assert restarted(70) and restarted(1)
    assert not restarted(130) and not restarted(0)
