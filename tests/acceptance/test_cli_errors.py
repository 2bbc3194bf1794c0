"""Issue 10 item 6: what the environment gets wrong is `Error: …` and exit 2, never a
traceback, in every command: a file that is not a database, a read-only data
directory, PostgreSQL down, the listen port taken or out of range, bad paths.
Each case runs the installed CLI as a user would (a subprocess).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, one_article_corpus, refused

SECRET = "hunter2-not-shown"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: refused from now on)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "ARTICLE_MONITOR_LISTEN": "127.0.0.1:0"},
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return one_article_corpus(tmp_path)


def not_a_database(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "article-monitor.db").write_text("this is a text file, not a database\n" * 200)
    return data


@pytest.mark.parametrize(
    "command",
    [("run", "--once"), ("run",), ("status",), ("history", "http://news.test/a/")],
)
def test_a_file_that_is_not_a_database(
    tmp_path: Path, corpus: Path, command: tuple[str, ...]
) -> None:
    data = not_a_database(tmp_path)
    before = (data / "article-monitor.db").read_bytes()
    paths = [corpus] if command[0] == "run" else []
    out = cli(*command, *paths, "--data-dir", data)
    refused(out, str(data / "article-monitor.db"), "is not a SQLite database", "move this file")
    assert (data / "article-monitor.db").read_bytes() == before  # left as it was


class read_only:
    """The folder cannot be written by this process while inside: chmod for a
    user; for root, whom permissions do not stop, a read-only bind mount."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mounted = False

    def _chmod(self, mode: int) -> None:
        for p in (self.folder, *self.folder.iterdir()):
            p.chmod(mode)

    def __enter__(self) -> None:
        if os.geteuid() != 0:
            self._chmod(0o555)
            return
        if shutil.which("mount") is None:
            pytest.skip("root without mount(8): cannot make a read-only directory")
        f = str(self.folder)
        if subprocess.run(["mount", "--bind", f, f], capture_output=True).returncode != 0:
            pytest.skip("cannot bind-mount here")
        self.mounted = True
        if subprocess.run(["mount", "-o", "remount,ro,bind", f], capture_output=True).returncode:
            pytest.skip("cannot remount read-only here")

    def __exit__(self, *exc: object) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.folder)], check=False)
        elif os.geteuid() != 0:
            self._chmod(0o755)


def test_a_read_only_data_directory(tmp_path: Path, corpus: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    data = ro / "data"
    with read_only(ro):
        for command in (("run", corpus, "--once"), ("run", corpus), ("db", "upgrade")):
            refused(
                cli(*command, "--data-dir", data), "cannot create the data directory", str(data)
            )


def test_a_read_only_data_directory_holding_the_database(tmp_path: Path, corpus: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert cli("db", "upgrade", "--data-dir", data).returncode == 0
    assert sorted(p.name for p in data.iterdir()) == ["article-monitor.db"]  # closed cleanly
    with read_only(data):  # SQLite must create -wal and -shm beside it to write it
        for command in (("run", corpus, "--once"), ("db", "upgrade")):
            refused(cli(*command, "--data-dir", data), "cannot write", "must be writable")
        # only reads: the file itself, all there is with no -wal beside it
        # (test_status_read_only_folder.py)
        assert cli("status", "--data-dir", data).returncode == 0


@pytest.mark.parametrize(
    "command",
    [("run", "--once"), ("run",), ("status",), ("history", "x"), ("db", "upgrade")],
)
def test_postgresql_unreachable_at_start(corpus: Path, command: tuple[str, ...]) -> None:
    port = closed_port()
    url = f"postgresql+psycopg://monitor:{SECRET}@127.0.0.1:{port}/monitor"
    paths = [corpus] if command[0] == "run" else []
    out = cli(*command, *paths, "--db", url)
    # `run`: EX_TEMPFAIL (75), which a service manager restarts (docs/deploy.md)
    assert out.returncode == (75 if command[0] == "run" else 2), out.stderr
    err = out.stderr
    assert "Traceback" not in err and err.splitlines()[0].startswith("Error:"), err
    assert f"127.0.0.1:{port}" in err and "refused" in err, err
    assert SECRET not in err


def test_the_listen_port_in_use(tmp_path: Path, corpus: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = cli("run", corpus, "--data-dir", tmp_path / "data", "--listen", f"127.0.0.1:{port}")
    err = out.stderr.splitlines()
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert err[-1].startswith(f"Error: cannot listen on 127.0.0.1:{port}: Address already in use")
    # what to do next, not only what happened (r5 review: it stopped at the errno)
    assert "--listen HOST:PORT" in err[-1] and "another process" in err[-1], err[-1]


def test_a_listen_port_out_of_range(tmp_path: Path, corpus: Path) -> None:
    out = cli("run", corpus, "--data-dir", tmp_path / "data", "--listen", "127.0.0.1:99999")
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "Error:" in out.stderr and "out of range 0-65535" in out.stderr, out.stderr
    assert not (tmp_path / "data").exists()  # refused as configuration: nothing was touched


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("status", "--db", "mysql://u@127.0.0.1:1/x"), "SQLite and PostgreSQL"),
        (("status", "--db", "nonsense"), "not a database URL"),
        (("db", "upgrade", "--db", "sqlite:////proc/self/no/such.db"), "/proc/self/no"),
        (("check", "{corpus}", "--ca-bundle", "{missing}"), "ca_bundle"),
        (("check", "{corpus}", "--ca-bundle", "{corpus}/a.txt"), "no PEM certificate"),
        (("run", "{corpus}", "--once", "--ca-bundle", "{missing}"), "ca_bundle"),
    ],
)
def test_every_command_says_what_is_wrong(
    tmp_path: Path, corpus: Path, args: tuple[str, ...], needle: str
) -> None:
    values = {"corpus": str(corpus), "missing": str(tmp_path / "missing.pem")}
    data = [] if args[0] == "check" else ["--data-dir", str(tmp_path / "data")]
    refused(cli(*(a.format(**values) for a in args), *data), needle)


@pytest.mark.parametrize(
    "args",
    [
        ("check", "{missing}"),
        ("verify", "{missing}"),
        ("sign", "{missing}", "--key-file", "{missing}"),
        # a missing folder is made (d38db4e); a file where the folder should be is not
        ("keygen", "--type", "aes256", "--out", "{corpus}/a.txt/k.key"),
        ("keygen", "--type", "ed25519", "--out", "{corpus}/a.txt/k.pem"),
        ("config", "show", "--config", "{missing}"),
        ("config", "show", "--config", "{corpus}/a.txt"),
        ("verify", "{corpus}", "--key-file", "{corpus}"),
    ],
)
def test_no_command_shows_a_traceback_for_bad_paths(
    tmp_path: Path, corpus: Path, args: tuple[str, ...]
) -> None:
    values = {"corpus": str(corpus), "missing": str(tmp_path / "missing")}
    out = cli(*(a.format(**values) for a in args))
    assert "Traceback" not in out.stderr, out.stderr
    assert out.returncode in (1, 2), out.stderr
    assert "Error:" in out.stderr or out.returncode == 1, out.stderr
