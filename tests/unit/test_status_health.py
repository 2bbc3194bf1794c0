"""The banner's parts from /readyz's detail (monitor/observe/status/health.py):
whatever makes the daemon unready is on the banner, and since when is kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.daemon.readiness import Health, judge
from monitor.observe.status.health import HealthBook, troubles

why = st.none() | st.text(min_size=1, max_size=20)


@given(
    database_error=why,
    damaged=why,
    scheduler_running=st.booleans(),
    writer_error=why,
    claim_error=why,
    scan_error=why,
    corpus=st.none() | st.lists(st.text(max_size=20).map(lambda p: f"corpus path missing: {p}")),
    by_leader=st.booleans(),
    stuck=why,
    checkers=why,
)
def test_an_unready_daemon_always_has_a_banner(
    database_error: str | None,
    damaged: str | None,
    scheduler_running: bool,
    writer_error: str | None,
    claim_error: str | None,
    scan_error: str | None,
    corpus: list[str] | None,
    by_leader: bool,
    stuck: str | None,
    checkers: str | None,
) -> None:
    health = Health(
        database_error=database_error,
        damaged=damaged,
        scheduler_running=scheduler_running,
        writer_error=writer_error,
        claim_error=claim_error,
        scan_error=scan_error,
        corpus_problems=None if corpus is None else tuple(corpus),
        corpus_by_leader=by_leader,
        stuck=stuck,
        checkers=checkers,
    )
    ready, detail = judge(health)
    found = troubles(detail)
    if not ready:
        assert found
    parts = {part for part, _ in found}
    assert ("writes" in parts) == (writer_error is not None)
    assert ("claims" in parts) == (claim_error is not None)
    assert ("corpus scan" in parts) == (scan_error is not None)
    assert ("database" in parts) == (database_error is not None or damaged is not None)
    assert ("progress" in parts) == (stuck is not None)
    assert ("checker processes" in parts) == (checkers is not None)
    missing = [] if by_leader or corpus is None else corpus
    assert [r for p, r in found if p == "corpus"] == missing


def test_a_healthy_detail_and_the_first_scan_are_no_trouble() -> None:
    assert troubles(judge(Health())[1]) == []
    assert troubles(judge(Health(corpus_problems=()))[1]) == []
    assert troubles(judge(Health(corpus_by_leader=True))[1]) == []


def test_starting_and_stopping_are_shown() -> None:
    assert troubles({"status": "stopping"}) == [("daemon", "stopping")]
    assert troubles({"status": "starting: migrating"}) == [("daemon", "starting: migrating")]


def test_since_is_kept_while_a_part_fails_and_forgotten_once_it_works() -> None:
    book = HealthBook()
    first = book.note([("writes", "failing: locked"), ("corpus", "corpus path missing: /a")], 100)
    assert [t.since for t in first] == ["1970-01-01T00:01:40Z"] * 2
    # the reason changes, the part still fails: the same since; another corpus line is new
    later = book.note([("writes", "failing: full"), ("corpus", "corpus path missing: /b")], 200)
    assert [(t.reason, t.since) for t in later] == [
        ("failing: full", "1970-01-01T00:01:40Z"),
        ("corpus path missing: /b", "1970-01-01T00:03:20Z"),
    ]
    assert book.note([], 300) == []
    again = book.note([("writes", "failing: full")], 400)
    assert again[0].since == "1970-01-01T00:06:40Z"  # a new failure, a new since
