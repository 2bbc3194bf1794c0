"""`article-monitor run` as a user runs it: a subprocess against a loopback site."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from click.testing import CliRunner
from daemon_harness import (
    CLI,
    DaemonProcess,
    LinkServer,
    article,
    metric,
    query,
    wait_for,
    write_config,
)

from monitor.cli import cli

URL = "http://news.test/a/"


def db_of(tmp: Path) -> Path:
    return tmp / "data" / "article-monitor.db"


def transitions(db: Path) -> list[tuple[str, str]]:
    return [
        (a, b) for a, b in query(db, "select from_state, to_state from transitions order by id")
    ]


def results(db: Path) -> int:
    rows = query(db, "select count(*) from check_results")
    return int(rows[0][0]) if rows else 0


def test_a_target_goes_down_and_up_and_everything_shows_it(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            db = db_of(tmp_path)
            wait_for(lambda: ("unknown", "up") in transitions(db), what=daemon.text)
            site.status = 500
            wait_for(lambda: ("up", "down") in transitions(db), what=daemon.text)
            # gauges come from a snapshot of the database taken in the background:
            # they follow the transition shortly, not at once
            wait_for(
                lambda: (
                    metric(
                        daemon.get("/metrics")[1],
                        "article_monitor_targets",
                        kind="web",
                        state="down",
                    )
                    == 1
                ),
                what=daemon.text,
            )
            _, body = daemon.get("/metrics")
            assert metric(body, "article_monitor_provider_targets_down", provider="news.test") == 1
            assert (
                metric(body, "article_monitor_checks_total", kind="web", outcome="http_error") or 0
            ) >= 2
            site.status = 200
            wait_for(lambda: transitions(db)[-1:] == [("down", "up")], what=daemon.text)
            # gauges are read from the database at scrape time (cached for 2 s)
            wait_for(
                lambda: (
                    metric(
                        daemon.get("/metrics")[1], "article_monitor_targets", kind="web", state="up"
                    )
                    == 1
                ),
                what=daemon.text,
            )
            _, body = daemon.get("/metrics")
            assert metric(body, "article_monitor_articles") == 1
            assert metric(body, "article_monitor_build_info", version="0.1.0") == 1
            status, ready = daemon.get("/readyz")
            assert status == 200 and json.loads(ready)["database"] == "ok"
            assert daemon.get("/healthz")[0] == 200
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
    assert "target up → down" in daemon.text()
    # one daemon on SQLite is no cluster: its log does not speak of leaders
    assert "leader" not in daemon.text(), daemon.text()
    # no claim left dangling: a graceful stop gives back or finishes everything
    leases = query(db, "select target_id, until from leases")
    assert leases == [], (leases, query(db, "select * from targets"), daemon.text()[-4000:])
    # ...and every active target is queued again, exactly once
    assert query(db, "select count(*) from due_queue") == query(
        db, "select count(*) from targets where next_due is not null"
    )
    runner = CliRunner()
    out = runner.invoke(
        cli, ["history", URL, "--data-dir", str(tmp_path / "data"), "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    hist = json.loads(out.output)
    timeline = [(t["from"], t["to"]) for t in reversed(hist["targets"][0]["transitions"])]
    assert timeline == [("unknown", "up"), ("up", "down"), ("down", "up")]
    recent = [r["outcome"] for r in hist["targets"][0]["results"]]
    assert recent[0] == "ok" and "http_error" in recent
    table = runner.invoke(
        cli, ["status", "--data-dir", str(tmp_path / "data"), "--format", "table"]
    )
    assert table.exit_code == 0 and "down → up" in table.output


def test_kill_9_loses_no_committed_result_and_a_restart_resumes(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        for i in range(3):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        db = db_of(tmp_path)
        first = DaemonProcess(cfg)
        try:
            first.wait_listening()
            wait_for(lambda: results(db) >= 15, what=first.text)
            first.proc.kill()  # SIGKILL: no chance to flush
            first.wait(5)
        finally:
            first.kill()
        assert query(db, "pragma integrity_check") == [("ok",)]
        committed = results(db)
        assert committed >= 15
        states = dict(query(db, "select url, state from targets"))
        assert set(states.values()) == {"up"}
        second = DaemonProcess(cfg)
        try:
            second.wait_listening()
            wait_for(lambda: results(db) >= committed + 15, what=second.text)
            second.signal(signal.SIGTERM)
            assert second.wait(10) == 0
        finally:
            second.kill()
    # the schedule and the states carried on: no target started over as unknown
    assert transitions(db).count(("unknown", "up")) == 3
    per_target = query(db, "select target_id, count(*) from check_results group by target_id")
    assert len(per_target) == 3 and all(n >= 5 for _, n in per_target)


def test_sighup_rereads_a_changed_corpus(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        db = db_of(tmp_path)
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: results(db) >= 1, what=daemon.text)
            (tmp_path / "corpus" / "a.txt").unlink()
            (tmp_path / "corpus" / "b.txt").write_text(article("http://news.test/b/"))
            daemon.signal(signal.SIGHUP)
            wait_for(
                lambda: (
                    query(db, "select url from targets where next_due is not null")
                    == [("http://news.test/b/",)]
                ),
                what=daemon.text,
            )
            wait_for(
                lambda: (
                    query(
                        db,
                        "select count(*) from check_results r join targets t on t.id = r.target_id "
                        "where t.url = 'http://news.test/b/'",
                    )[0][0]
                    >= 1
                ),
                what=daemon.text,
            )
            wait_for(
                lambda: metric(daemon.get("/metrics")[1], "article_monitor_articles") == 1,
                what=daemon.text,
            )
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
    assert "configuration reloaded" in daemon.text()


def test_sighup_refuses_an_exclusion_the_start_would_refuse(tmp_path: Path) -> None:
    """A reload goes through the same checks as a start: a malformed `exclude_fields`
    keeps the running configuration instead of silently excluding nothing."""
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, rescan_interval=3600.0)
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            cfg.write_text(cfg.read_text() + 'exclude_fields = ["images..url"]\n')
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: "reload refused" in daemon.text(), what=daemon.text)
            assert daemon.get("/healthz")[0] == 200
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
    assert "configuration reloaded" not in daemon.text()
    assert "exclude field 'images..url'" in daemon.text()


def test_a_vanished_corpus_keeps_the_daemon_up_and_readyz_says_why(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        corpus = tmp_path / "corpus"
        (corpus / "a.txt").write_text(article(URL))
        (corpus / "bad.txt").write_text("---\nwebUrl: [not, a, url\n---\n")
        db = db_of(tmp_path)
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            wait_for(lambda: results(db) >= 2, what=daemon.text)
            # gauges come from a background snapshot of the database: they follow shortly
            wait_for(
                lambda: metric(daemon.get("/metrics")[1], "article_monitor_invalid_documents") == 1,
                what=daemon.text,
            )
            (corpus / "a.txt").rename(tmp_path / "a.txt")
            (corpus / "bad.txt").unlink()
            corpus.rmdir()

            def says_missing() -> bool:
                _, text = daemon.get("/readyz")
                return any("corpus path missing" in p for p in json.loads(text)["corpus"])

            wait_for(says_missing, what=daemon.text)
            before = results(db)
            # the documents are kept and their targets still checked
            wait_for(lambda: results(db) > before + 2, what=daemon.text)
            assert daemon.proc.poll() is None
            daemon.signal(signal.SIGINT)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
    assert "is missing; keeping its documents" in daemon.text()


def test_run_once_checks_what_is_due_records_and_exits(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, interval=3600.0)
        for i in range(4):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        # the interval is an hour: only exiting once the due checks are done ends it
        # within the subprocess timeout
        out = subprocess.run(
            [CLI, "run", "--config", str(cfg), "--once"], capture_output=True, text=True, timeout=30
        )
        assert out.returncode == 0, out.stderr
        assert site.hits == 4
    db = db_of(tmp_path)
    assert results(db) == 4
    assert query(db, "select count(*) from targets where state = 'up'") == [(4,)]
    assert query(db, "select count(*) from leases") == [(0,)]


def test_metrics_behind_a_bearer_token(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, metrics_token_file=str(token))
        (tmp_path / "corpus" / "a.txt").write_text(article(URL))
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            assert daemon.get("/metrics")[0] == 401
            assert daemon.get("/healthz")[0] == 200
            import urllib.request

            req = urllib.request.Request(
                f"{daemon.metrics_url}/metrics", headers={"Authorization": "Bearer s3cret-token"}
            )
            with urllib.request.urlopen(req, timeout=5) as resp:
                assert b"article_monitor_targets" in resp.read()
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(10) == 0
        finally:
            daemon.kill()
    assert "s3cret-token" not in daemon.text()


def test_the_example_config_loads_and_config_show_hides_secrets(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "config.toml"
    out = CliRunner().invoke(
        cli,
        [
            "config",
            "show",
            "--config",
            str(example),
            "--db",
            "postgresql+psycopg://u:hunter2@db/am",
        ],
    )
    assert out.exit_code == 0, out.output
    shown = json.loads(out.output)
    assert shown["down_after"] == 3 and shown["intervals"]["image"] == 21600
    assert "hunter2" not in out.output and shown["db"] == "postgresql+psycopg://***@db/am"


def test_db_upgrade_creates_the_schema_once(tmp_path: Path) -> None:
    from monitor.storage.migrate import head_revision

    head = head_revision()
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "upgrade", "--data-dir", str(tmp_path)])
    assert first.exit_code == 0 and f"upgraded from empty to {head}" in first.output
    again = runner.invoke(cli, ["db", "upgrade", "--data-dir", str(tmp_path)])
    assert again.exit_code == 0 and f"already at revision {head}" in again.output
    status = runner.invoke(cli, ["status", "--data-dir", str(tmp_path), "--format", "json"])
    assert status.exit_code == 0 and json.loads(status.output)["articles"] == 0
