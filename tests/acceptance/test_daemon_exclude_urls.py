"""`exclude_urls` in the daemon, through a real `run` and SIGHUP, against a
loopback server that counts the requests it gets.

An excluded target is never stored, requested, counted or listed; a SIGHUP
that adds a pattern retires the targets it now matches at the reload's rescan
(no request for them after that, nothing recorded for them); a SIGHUP with an
invalid pattern is refused and the running patterns kept.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import DaemonProcess, LinkServer, article, metric, query, wait_for, write_config

A, B, C = "http://news.test/a/", "http://ads.test/b/", "http://news.test/c/"
ADS = r"^http://ads\."


def hits(site: LinkServer, url: str, after: float = 0.0) -> int:
    key = url.removeprefix("http://")
    with site.lock:
        return sum(1 for t in site.url_hits.get(key, []) if t > after)


def listed(daemon: DaemonProcess) -> set[str]:
    status, body = daemon.get("/api/v1/targets?limit=1000")
    assert status == 200, body
    return {item["url"] for item in json.loads(body)["items"]}


def web_targets_counted(daemon: DaemonProcess) -> float:
    _, text = daemon.get("/metrics")
    states = (
        metric(text, "article_monitor_targets", kind="web", state=s)
        for s in ("up", "down", "unknown")
    )
    return sum(v or 0.0 for v in states)


def test_excluded_targets_are_never_requested_and_a_reload_retires_newly_matched_ones(
    tmp_path: Path,
) -> None:
    """One daemon through three configurations (a start costs ~2 s, so the
    phases share it; each phase waits on events, bounded): the ad host's target
    is never stored nor requested; a SIGHUP adding a pattern for /a/ retires it
    (no request, no result after the retirement, gone from the API and the
    gauge) while /c/ is still checked; a SIGHUP with an invalid pattern is
    refused and the running patterns kept."""
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, exclude_urls=[ADS], rescan_interval=3600.0)
        for name, url in (("a", A), ("b", B), ("c", C)):
            (tmp_path / "corpus" / f"{name}.txt").write_text(article(url))
        db = tmp_path / "data" / "article-monitor.db"
        results_of_a = (
            "select count(*) from check_results r join targets t on t.id = r.target_id"
            " where t.url = ?"
        )
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_listening()
            # phase 1: a and c checked again and again, b never stored nor requested
            wait_for(lambda: hits(site, A) >= 2 and hits(site, C) >= 2, what=daemon.text)
            assert hits(site, B) == 0
            assert query(db, "select url from targets order by url") == [(A,), (C,)]
            assert listed(daemon) == {A, C}
            wait_for(lambda: web_targets_counted(daemon) == 2, what=daemon.text)

            # phase 2: a reload adds a pattern for /a/: retired at the reload's rescan
            write_config(tmp_path, site.port, exclude_urls=[ADS, r"/a/$"], rescan_interval=3600.0)
            daemon.signal(signal.SIGHUP)
            retired = "select count(*) from targets where url = ? and next_due is null"
            wait_for(lambda: query(db, retired, A) == [(1,)], what=daemon.text)
            assert "configuration reloaded" in daemon.text()
            retired_at = time.monotonic()
            # a check of a already in flight at the retirement may still end: let it
            wait_for(lambda: hits(site, C, retired_at) >= 2, what=daemon.text)
            recorded = query(db, results_of_a, A)
            settled = time.monotonic()
            wait_for(lambda: hits(site, C, settled) >= 2, what=daemon.text)
            assert hits(site, A, retired_at) == 0
            assert query(db, results_of_a, A) == recorded
            assert listed(daemon) == {C}
            wait_for(lambda: web_targets_counted(daemon) == 1, what=daemon.text)

            # phase 3: an invalid pattern: refused, the running patterns kept
            (tmp_path / "monitor.toml").write_text(
                (tmp_path / "monitor.toml").read_text().replace("/a/$", "(a")
            )
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: "reload refused" in daemon.text(), what=daemon.text)
            refused_at = time.monotonic()
            wait_for(lambda: hits(site, C, refused_at) >= 2, what=daemon.text)
            assert hits(site, A, retired_at) == 0
            assert hits(site, B) == 0
            assert query(db, retired, A) == [(1,)]
            assert daemon.stopped(30) == 0
        finally:
            daemon.kill()
    text = daemon.text()
    assert "reload refused, keeping the running configuration: invalid configuration:" in text, text
    assert "pattern '(a' is not a valid regular expression" in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("change", "still_checked"),
    [({"exclude_urls": [r"/c/$"]}, [A]), ({"kinds": ["image"]}, [])],
    ids=["exclude_urls", "kinds"],
)
def test_a_restart_with_new_rules_retires_what_they_leave_out(
    tmp_path: Path, change: dict[str, Any], still_checked: list[str]
) -> None:
    """Two `run --once` passes over one database and an unchanged corpus: the
    second, given a pattern for /c/ (or kinds without web), retires what it
    leaves out and never requests it. The start's scan skipped the files whose
    size and mtime had not moved, so the targets of the last run's rules stayed,
    and a restart with a new pattern (or new `kinds`, or `related`) went on
    checking what it now left out."""
    with LinkServer() as site:
        for name, url in (("a", A), ("c", C)):
            (tmp_path / "corpus").mkdir(exist_ok=True)
            (tmp_path / "corpus" / f"{name}.txt").write_text(article(url))
        db = tmp_path / "data" / "article-monitor.db"
        first = DaemonProcess(write_config(tmp_path, site.port), "--once")
        try:
            assert first.wait(60) == 0, first.text()
        finally:
            first.kill()
        assert hits(site, A) == 1 and hits(site, C) == 1
        second_started = time.monotonic()
        second = DaemonProcess(write_config(tmp_path, site.port, **change), "--once")
        try:
            assert second.wait(60) == 0, second.text()
        finally:
            second.kill()
        for url in (A, C):
            assert hits(site, url, second_started) == (1 if url in still_checked else 0)
    active = "select url from targets where next_due is not null order by url"
    assert query(db, active) == [(url,) for url in still_checked]
    assert "every document is read again" in second.text()


def test_a_path_missing_at_a_restart_with_new_rules_is_read_with_them_when_back(
    tmp_path: Path,
) -> None:
    """Three `run --once` passes over one database: the second, given a pattern
    for /c/, starts while c's folder is missing (its documents kept); the third,
    with the folder back unchanged, retires c and never requests it. The
    second stored the rules' digest though it had not read c's file, so the
    third skipped the unchanged file: c stayed a target of the old rules,
    listed and due, never checked nor retired, for good."""
    corpus, other, away = (tmp_path / n for n in ("corpus", "other", "away"))
    for folder, url in ((corpus, A), (other, C)):
        folder.mkdir()
        (folder / "doc.txt").write_text(article(url))
    db = tmp_path / "data" / "article-monitor.db"

    def once(port: int, **change: Any) -> DaemonProcess:
        cfg = write_config(tmp_path, port, paths=[str(corpus), str(other)], **change)
        daemon = DaemonProcess(cfg, "--once")
        try:
            daemon.wait(60)
        finally:
            daemon.kill()
        return daemon

    with LinkServer() as site:
        first = once(site.port)
        assert first.proc.returncode == 0, first.text()
        assert hits(site, C) == 1
        other.rename(away)
        second = once(site.port, exclude_urls=[r"/c/$"])
        assert f"corpus path {other} is missing" in second.text()
        away.rename(other)
        third_started = time.monotonic()
        third = once(site.port, exclude_urls=[r"/c/$"])
        assert third.proc.returncode == 0, third.text()
        assert hits(site, C, third_started) == 0
        assert hits(site, A, third_started) == 1
    active = "select url from targets where next_due is not null order by url"
    assert query(db, active) == [(A,)]
    assert "Traceback" not in second.text() + third.text()
