"""`run`: a host held back by its Retry-After does not hold every check slot, so
the other hosts are checked meanwhile (dispatch.py `held_back`).

End to end: the daemon as a subprocess, `--concurrency 4`, against a loopback
server that counts each host's requests. `cdn.test` answers its first
REFUSED requests `429 Retry-After: 2`, then serves; `news.test` serves pages.
Before the fix, each claimed check of `cdn.test` waited out the hold at the
host's gate holding one of the 4 slots, and the claims went on in due order,
so the pages added after the images were requested only once every image had
been (the host's 24 requests and more before the first page; with thousands of
images, hours). Now a claim of a held host is given back due at the hold's
end, not started, and the pages are requested at once. The assertions count
requests and rows, never time; the waits are bounds on a hang.

Run again with two checker processes (`workers = 2`), where the gates and
their holds live in the processes: before they told the daemon their holds
(S5), its claims of the held host went on to the process owning it, queued
there ahead of the pages, and each waited out the hold holding one of the
process's slots (the pages after 28 requests to the refusing host).

Then a host refusing everything for long (`429 Retry-After: 60`) with two
checker processes sharing the pages' host: the checks a process runs when the
hold begins no longer wait it out in its loops (R24): those that sent nothing
are given back, those between their tries wait aside, and the pages queued in
that process are requested at once, not after the hold.
"""

from __future__ import annotations

import json
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import PAGE, DaemonProcess, metric, query, wait_for, write_config
from support.images import png

from monitor.check.host_share import host_owner

IMAGES = 23  # and the story page: 24 targets on the refusing host
PER_HOST = 4  # the default
RETRIES = 1
# the refusing host's first round: PER_HOST targets, each tried RETRIES + 1 times
REFUSED = PER_HOST * (RETRIES + 1)
PAGES = ["/b/", "/c/", "/d/"]  # on news.test
HELD = "article_monitor_held_back_hosts"
DEFERRED = "article_monitor_deferred_checks_total"
IMAGE = png(10, 10)


class Site(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]  # by host
    paths: Counter[str]  # by host and path
    busy: Counter[str]  # requests of one host and path in flight now
    most_at_once = 0  # the most requests of one URL in flight together
    cdn_when_pages_done = -1  # cdn.test's requests when the last page was requested
    refuse_all = False  # cdn.test refuses every request, not its first REFUSED
    retry_after = "2"
    lock: threading.Lock


class Handler(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        site = self.server
        host = (self.headers.get("Host") or "").split(":")[0]
        url = host + self.path
        with site.lock:
            site.hits[host] += 1
            site.paths[url] += 1
            site.busy[url] += 1
            site.most_at_once = max(site.most_at_once, site.busy[url])
            refused = host == "cdn.test" and (site.refuse_all or site.hits[host] <= REFUSED)
            if host == "news.test" and all(site.paths[f"news.test{p}"] for p in PAGES):
                if site.cdn_when_pages_done < 0:
                    site.cdn_when_pages_done = site.hits["cdn.test"]
        headers = {"Content-Type": "text/html"}
        status, body = 200, PAGE.encode()
        if refused:
            status, body, headers["Retry-After"] = 429, b"slow down", site.retry_after
        elif host == "cdn.test" and self.path.startswith("/img/"):
            headers["Content-Type"], body = "image/png", IMAGE
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass
        finally:
            with site.lock:
                site.busy[url] -= 1


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site(("127.0.0.1", 0), Handler)
    server.hits, server.paths, server.busy = Counter(), Counter(), Counter()
    server.lock = threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def story(web_url: str, images: list[str]) -> str:
    return json.dumps(
        {
            "webUrl": web_url,
            "title": "A story",
            "provider": {"name": "News", "domain": "news.test"},
            "images": [{"url": u, "width": 10, "height": 10} for u in images],
        }
    )


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "checker-processes"])
def test_a_host_held_by_retry_after_leaves_the_slots_to_the_other_hosts(
    tmp_path: Path, site: Site, workers: int
) -> None:
    """The pages of another host, found while the refusing host's first checks
    wait out its Retry-After, are requested before any more of its images (its
    first round's REFUSED requests, not its 24 targets' and more); once the
    hold ends every image deferred is requested and recorded once: a deferral
    wrote no result, and no URL had two requests at once. ~8 s: the daemon's
    start and two Retry-After holds of 2 s (under 1 s, no hold is deferred);
    ~13 s with checker processes: their start, and a round more (claims
    queued ahead take 16 targets at a time, so the refusing host's targets
    beyond `per_host` after the hold are given back a backoff later, where
    in-process claims of 4 found it answering again)."""
    port = site.server_address[1]
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"cdn.test:80:127.0.0.1:{port}", f"news.test:80:127.0.0.1:{port}"],
        kinds=["web", "image"],
        # each checker process runs its share of it: 4, as in-process, so the
        # refusing host's first round is the same PER_HOST targets
        concurrency=PER_HOST * max(1, workers),
        retries=RETRIES,
        retry_after_max=10.0,
        interval=3600.0,
        retry_interval=3600.0,
        lease_seconds=60.0,
        workers=workers,
    )
    corpus = tmp_path / "corpus"
    images = [f"http://cdn.test/img/{n}.png" for n in range(IMAGES)]
    (corpus / "a.json").write_text(story("http://cdn.test/story/", images))
    daemon = DaemonProcess(config)
    try:
        daemon.wait_listening()
        # the refusing host's first requests: its hold has begun; the pages come now
        wait_for(lambda: site.hits["cdn.test"], 30, what=daemon.text)
        for n, path in enumerate(PAGES):
            (corpus / f"{'bcd'[n]}.json").write_text(story(f"http://news.test{path}", []))
        wait_for(lambda: site.cdn_when_pages_done >= 0, 60, what=lambda: str(site.hits))
        assert site.cdn_when_pages_done <= REFUSED, (site.cdn_when_pages_done, site.hits)

        db = tmp_path / "data" / "article-monitor.db"
        every = 1 + IMAGES + len(PAGES)

        def recorded() -> list[tuple[Any, ...]]:
            return query(db, "SELECT target_id, count(*) FROM check_results GROUP BY target_id")

        wait_for(lambda: len(recorded()) == every, 60, what=lambda: f"{recorded()} {site.hits}")
        # each target requested: the 4 refused ones twice (their retry), the others once
        assert site.paths["cdn.test/story/"] >= 1
        assert all(site.paths[f"cdn.test/img/{n}.png"] >= 1 for n in range(IMAGES)), site.paths
        assert site.hits["cdn.test"] == IMAGES + 1 + PER_HOST * RETRIES, site.hits
        assert site.most_at_once == 1, site.paths
        # one result each: a claim given back at the hold wrote none
        assert {n for _, n in recorded()} == {1}, recorded()
        outcomes = Counter(
            o for (o,) in query(db, "SELECT last_outcome FROM targets WHERE next_due IS NOT NULL")
        )
        assert sum(outcomes.values()) == every, outcomes
        # the claims given back are counted (a heartbeat, 2 s, puts them out),
        # as nothing else shows them: no result, no lag (they were due later)
        wait_for(
            lambda: (metric(daemon.get("/metrics")[1], DEFERRED) or 0) >= 1,
            30,
            what=lambda: daemon.get("/metrics")[1],
        )
    finally:
        daemon.kill()
    assert "Traceback" not in daemon.text(), daemon.text()


def test_a_long_hold_leaves_a_checker_processs_loops_to_its_other_hosts(
    tmp_path: Path, site: Site
) -> None:
    """`workers = 2`, `cdn.test` and `news.test` in the same process (its share of
    `concurrency`: PER_HOST loops), `cdn.test` answering every request `429
    Retry-After: 60`: the pages found after its first answers are requested
    within a bounded wait, well inside the hold, after at most its first round
    (PER_HOST requests). Before, the process's PER_HOST loops each waited out
    the hold at the host's gate (those answered 429 between their tries, the
    others queued behind them) and the pages queued in that process with them:
    the wait's 30 s bound ran out. Then a stop gives every claim back (no
    lease left), the held host's checks wrote no result, the pages one each,
    and no URL had two requests at once. ~7 s: the daemon's and its
    processes' start, the corpus rescans that find the pages, the stop."""
    site.refuse_all, site.retry_after = True, "60"
    # the point: the held host's checks and the pages share a process's loops
    assert host_owner("http://cdn.test/", 2, parent_weight=0.0) == host_owner(
        "http://news.test/", 2, parent_weight=0.0
    )
    port = site.server_address[1]
    config = write_config(
        tmp_path,
        port,
        connect_to=[f"cdn.test:80:127.0.0.1:{port}", f"news.test:80:127.0.0.1:{port}"],
        kinds=["web", "image"],
        concurrency=2 * PER_HOST,  # PER_HOST loops a process
        retries=RETRIES,
        retry_after_max=60.0,
        interval=3600.0,
        retry_interval=3600.0,
        lease_seconds=60.0,
        shutdown_grace=0.5,
        workers=2,
    )
    corpus = tmp_path / "corpus"
    images = [f"http://cdn.test/img/{n}.png" for n in range(40)]
    (corpus / "a.json").write_text(story("http://cdn.test/story/", images))
    daemon = DaemonProcess(config)
    db = tmp_path / "data" / "article-monitor.db"

    def recorded() -> list[tuple[Any, ...]]:
        return query(
            db,
            "SELECT t.url, count(*) FROM check_results r JOIN targets t ON t.id = r.target_id"
            " GROUP BY t.url",
        )

    try:
        daemon.wait_listening()
        wait_for(lambda: site.hits["cdn.test"], 30, what=daemon.text)  # its hold has begun
        for n, path in enumerate(PAGES):
            (corpus / f"{'bcd'[n]}.json").write_text(story(f"http://news.test{path}", []))
        # bounds on a hang, half the hold: after it, the pages would come anyway
        wait_for(lambda: site.cdn_when_pages_done >= 0, 30, what=lambda: str(site.hits))
        assert 1 <= site.cdn_when_pages_done <= PER_HOST, (site.cdn_when_pages_done, site.hits)
        wait_for(lambda: len(recorded()) == len(PAGES), 30, what=lambda: str(recorded()))
        # the operator sees the held host and its backlog given back (within a
        # heartbeat: 2 s), where cycle_lag_seconds shows nothing (due later)
        wait_for(
            lambda: metric(daemon.get("/metrics")[1], HELD) == 1.0,
            30,
            what=lambda: daemon.get("/metrics")[1],
        )
        assert (metric(daemon.get("/metrics")[1], DEFERRED) or 0) >= 1
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
    finally:
        daemon.kill()
    text = daemon.text()
    assert "Traceback" not in text, text
    assert query(db, "SELECT count(*) FROM leases") == [(0,)]  # every claim given back
    assert sorted(recorded()) == [(f"http://news.test{p}", 1) for p in PAGES]
    assert site.hits["cdn.test"] <= PER_HOST, site.hits  # its retries wait for the hold's end
    assert all(site.paths[f"news.test{p}"] == 1 for p in PAGES), site.paths
    assert site.most_at_once == 1, site.paths
