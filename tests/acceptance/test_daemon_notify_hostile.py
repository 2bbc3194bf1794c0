"""$NOTIFY_SOCKET as an unlucky host sets it: `run` starts whatever it names,
a manager whose queue is full does not hang the start (sendall waited for it
forever, in the event loop), and the checker processes do not inherit it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from daemon_harness import (
    CLI,
    DaemonProcess,
    LinkServer,
    article,
    said_until_ready,
    wait_for,
    write_config,
)
from support.procs import children

from monitor.daemon import notify as notify_module
from monitor.daemon.notify import notify


def _full(manager: socket.socket, address: str) -> socket.socket:
    """A sender connected to `manager` whose queue is full (bounded: the kernel's qlen)."""
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.connect(address)
    sender.setblocking(False)
    for _ in range(100_000):
        try:
            sender.send(b"x")
        except BlockingIOError:
            return sender
    raise AssertionError("the queue never filled")


def test_a_manager_with_a_full_queue_does_not_hang_notify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(address)
        with _full(manager, address):
            monkeypatch.setattr(notify_module, "SEND_TIMEOUT", 0.05, raising=False)
            monkeypatch.setenv("NOTIFY_SOCKET", address)
            assert not notify("READY=1")  # before: blocked until the test's timeout


@pytest.mark.parametrize("kind", ["missing", "directory", "unbound", "long", "empty_abstract"])
def test_notify_never_raises_on_a_hostile_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    (tmp_path / "dir").mkdir()
    unbound = tmp_path / "unbound.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(str(unbound))  # then closed: the path stays, nobody reads it
    address = {
        "missing": str(tmp_path / "none.sock"),
        "directory": str(tmp_path / "dir"),
        "unbound": str(unbound),
        "long": "/" + "x" * 300,
        "empty_abstract": "@",
    }[kind]
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    assert notify("READY=1") is False  # nobody to tell: no error, no raise


def test_the_checker_processes_do_not_inherit_notify_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager, LinkServer() as site:
        manager.bind(str(address))
        manager.settimeout(60)
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0, workers=2)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(address))
        daemon = DaemonProcess(cfg)
        try:
            said_until_ready(manager)
            checkers = wait_for(lambda: children(daemon.proc.pid), what=daemon.text)
            for child in checkers:
                environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
                assert not [v for v in environ if v.startswith(b"NOTIFY_SOCKET=")], child
            daemon.signal(signal.SIGTERM)
            assert manager.recv(4096) == b"STOPPING=1"  # still said: it was claimed
            assert daemon.wait(30) == 0, daemon.text()
        finally:
            daemon.kill()
        assert os.environ["NOTIFY_SOCKET"] == str(address)


def test_run_once_says_nothing_to_a_manager(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run --once` is no service's main process: it never said READY=1, and its
    start's EXTEND_TIMEOUT_USEC and STATUS reached a manager that named it (a
    wrapper of a Type=notify unit with NotifyAccess=all), changing that unit's
    start timeout and status line."""
    address = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager, LinkServer() as site:
        manager.bind(str(address))
        manager.setblocking(False)
        cfg = write_config(tmp_path, site.port)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(address))
        done = subprocess.run(
            [CLI, "run", "--once", "--config", str(cfg)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        with pytest.raises(BlockingIOError):  # nothing was sent
            manager.recv(4096)
