"""One daemon per SQLite file (hostile review, session 16): a second `run` on the
database of a live daemon (a systemd unit, and `run --once` typed in a shell)
started with no warning, and the two applied the per-host limits each on its
own: with `per_host = 1` a host got two requests at once. Now the second start
is refused (exit 2, `Error: ...`) having written nothing, and a daemon killed
with SIGKILL does not keep its database locked."""

from __future__ import annotations

import hashlib
import signal
import subprocess
from pathlib import Path

from daemon_harness import (
    CLI,
    DaemonProcess,
    LinkServer,
    article,
    query,
    user_env,
    wait_for,
    write_config,
)

BOUND = 60.0  # seconds: a bound on a hang, never a timing


def _files(data: Path) -> dict[str, tuple[str, int]]:
    """Every file of the data directory: its digest and mtime (ns)."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(data.iterdir())
    }


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env=user_env(),
        timeout=BOUND,
        check=False,
    )


def test_a_second_run_on_a_live_daemons_file_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    with LinkServer() as server:
        config = write_config(tmp_path, server.port, workers=2)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        db = tmp_path / "data" / "article-monitor.db"
        first = DaemonProcess(config)
        try:
            first.wait_listening()
            wait_for(lambda: query(db, "SELECT count(*) FROM check_results")[0][0] > 0, BOUND)
            # held still: whatever changes in the data directory now is the second's
            first.signal(signal.SIGSTOP)
            try:
                before = _files(tmp_path / "data")
                for args in (("run", "--once"), ("run", "--listen", "127.0.0.1:0")):
                    out = _cli(config, *args)
                    assert out.returncode == 2, out.stderr
                    assert out.stderr.startswith("Error: another article-monitor run "), out.stderr
                    assert f"(pid {first.proc.pid}, since 20" in out.stderr, out.stderr
                    assert f"is using {db}; stop it first, or use PostgreSQL" in out.stderr
                    assert "Traceback" not in out.stderr
                assert _files(tmp_path / "data") == before
                status = _cli(config, "status", "--format", "json")  # readers are welcome
                assert status.returncode == 0, status.stderr
            finally:
                first.signal(signal.SIGCONT)
            assert first.proc.poll() is None  # the first went on
            assert first.stopped(BOUND) == 0
        finally:
            first.kill()
        # stopped: the file is free again
        again = _cli(config, "run", "--once")
        assert again.returncode == 0, again.stderr


def test_a_daemon_killed_with_sigkill_leaves_its_file_free(tmp_path: Path) -> None:
    with LinkServer() as server:
        config = write_config(tmp_path, server.port, workers=2)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        db = tmp_path / "data" / "article-monitor.db"
        first = DaemonProcess(config)
        try:
            first.wait_listening()
            wait_for(lambda: query(db, "SELECT count(*) FROM check_results")[0][0] > 0, BOUND)
            first.proc.kill()  # SIGKILL to the daemon alone: no stop, no cleanup
            assert first.wait(BOUND) == -signal.SIGKILL
        finally:
            first.kill()
        # a new article: due at once, whatever the dead daemon's claims and leases
        (tmp_path / "corpus" / "b.txt").write_text(article("http://news.test/b/"))
        out = _cli(config, "run", "--once")
        assert out.returncode == 0, out.stderr
        new = "SELECT count(*) FROM check_results r JOIN targets t ON t.id = r.target_id"
        assert query(db, new + " WHERE t.url = ?", "http://news.test/b/")[0][0] == 1


def test_claims_of_a_killed_daemon_are_checked_at_the_next_start(tmp_path: Path) -> None:
    """Alone on its file (the lock above), a start knows every lease it finds is a
    dead run's: a target claimed by a daemon killed with SIGKILL waited out
    `lease_seconds` (5 min at the default) after the restart, overdue and shown
    nowhere as such; `run --once` left it unchecked."""
    with LinkServer(hang=True) as server:
        config = write_config(
            tmp_path,
            server.port,
            lease_seconds=300.0,
            connect_to=[f"stuck.test:80:127.0.0.1:{server.hang_port}"],
        )
        (tmp_path / "corpus" / "a.txt").write_text(article("http://stuck.test/a/"))
        db = tmp_path / "data" / "article-monitor.db"
        first = DaemonProcess(config)
        try:
            first.wait_listening()
            wait_for(lambda: server.hung > 0, BOUND, what=lambda: "no claim in flight")
            assert query(db, "SELECT count(*) FROM leases")[0][0] == 1
            first.proc.kill()  # holding the claim, for 300 s
            assert first.wait(BOUND) == -signal.SIGKILL
        finally:
            first.kill()
        # the host answers now; the restart checks the target at once
        write_config(
            tmp_path,
            server.port,
            lease_seconds=300.0,
            connect_to=[f"stuck.test:80:127.0.0.1:{server.port}"],
        )
        out = _cli(config, "run", "--once")
        assert out.returncode == 0, out.stderr
        assert "claimed by a run that ended without giving them back" in out.stderr, out.stderr
        done = "SELECT count(*) FROM check_results r JOIN targets t ON t.id = r.target_id"
        assert query(db, done + " WHERE t.url = ?", "http://stuck.test/a/")[0][0] == 1


def test_a_lock_file_removed_under_a_live_daemon_is_made_again(tmp_path: Path) -> None:
    """Hostile review R19: `rm DB.lock` (a clean-up of `*.lock` files) while a
    daemon ran, and a second `run --once` started beside it, wrote to the file
    and freed the live daemon's claims. The daemon makes it again at its next
    checkpoint, and the second start is refused as before."""
    with LinkServer() as server:
        config = write_config(tmp_path, server.port, workers=2)
        (tmp_path / "corpus" / "a.txt").write_text(article("http://news.test/a/"))
        lock = tmp_path / "data" / "article-monitor.db.lock"
        first = DaemonProcess(config)
        try:
            first.wait_listening()
            lock.unlink()
            wait_for(lock.exists, BOUND)
            wait_for(lambda: f"{first.proc.pid}\t" in lock.read_text(), BOUND)
            out = _cli(config, "run", "--once")
            assert out.returncode == 2, out.stderr
            assert out.stderr.startswith("Error: another article-monitor run "), out.stderr
            assert first.stopped(BOUND) == 0
            assert "article-monitor.db.lock was removed while the daemon ran; made again" in (
                first.log.read_text()
            )
        finally:
            first.kill()
