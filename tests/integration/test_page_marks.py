"""The writer's page marks and target events (issue 15, the daemon's own-drift
check), on SQLite and PostgreSQL: first sighting, a change under the same
title, a failed check that keeps the mark, a stale holder's result ignored."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.status_db import Known
from support.status_http import DIALECTS, get, get_json, known_db, running
from test_storage import FP, T0, done, record

from monitor.content.simhash import PageMark, text_change_message
from monitor.daemon.state import State, TargetState
from monitor.storage.pages import EVENTS, MARKS
from monitor.storage.repository import Repository
from monitor.vocabulary import Outcome

UP = TargetState(State.UP, 0, 1)
A = 0xF0F0_F0F0_F0F0_F0F0  # top bit set: stored as a negative BIGINT
NEAR = A ^ 0b111  # 3 bits away
FAR = A ^ 0xFFFF_FFFF  # 32 bits away


def mark(text_hash: int, title: str = "k1") -> PageMark:
    return PageMark(text_hash, title, 14)


def test_text_changes_under_one_title_are_events_and_the_rest_is_not(repo: Repository) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    target = next(c for c in repo.claim_due(T0, 10, 30_000) if c.url == "https://n.test/a/")
    at = T0
    lease = target.lease

    def check(page: PageMark | None, outcome: Outcome = Outcome.OK) -> None:
        nonlocal at, lease
        at += 60_000
        rec = done(target.id, lease, at, outcome, UP, UP)
        repo.record([dataclasses.replace(rec, page=page)])
        (again,) = [c for c in repo.claim_due(at + 60_000, 10, 30_000) if c.id == target.id]
        lease = again.lease

    check(mark(A))  # first sighting: the baseline
    baseline = marks_of(repo)
    check(mark(NEAR))  # within the tolerance: no event, and no write
    assert repo.target_events(target.id) == []
    assert marks_of(repo) == baseline
    check(None, Outcome.HTTP_ERROR)  # a failed load: no mark, the old one stays
    check(mark(FAR))  # 32 bits from the baseline A: beyond the tolerance, same title
    (event,) = repo.target_events(target.id)
    assert event["kind"] == "text_changed" and event["at"] == at
    assert "32 of 64" in event["detail"]
    check(mark(A, "k2"))  # a new headline: a new baseline, no event
    check(mark(A, "k2"))
    assert len(repo.target_events(target.id)) == 1
    # the status API's one target carries them too
    item = repo.target(target.id)
    assert item is not None and [e["kind"] for e in item["events"]] == ["text_changed"]


def test_small_edits_add_up_against_the_baseline(repo: Repository) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    target = next(c for c in repo.claim_due(T0, 10, 30_000) if c.url == "https://n.test/a/")
    lease, at = target.lease, T0
    for step in range(4):  # 0, 8, 16, 24 bits from A: 8 at a time, each within 14
        at += 60_000
        rec = done(target.id, lease, at, Outcome.OK, UP, UP)
        repo.record([dataclasses.replace(rec, page=mark(A ^ ((1 << (8 * step)) - 1)))])
        (again,) = [c for c in repo.claim_due(at + 60_000, 10, 30_000) if c.id == target.id]
        lease = again.lease
    (event,) = repo.target_events(target.id)
    assert "16 of 64" in event["detail"]  # the third edit took it past the tolerance


def marks_of(repo: Repository) -> list[tuple[int, ...]]:
    with repo.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(MARKS.select())]


def test_a_stale_holders_mark_is_not_compared_or_kept(repo: Repository) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    first = next(c for c in repo.claim_due(T0, 10, 30_000) if c.url == "https://n.test/a/")
    repo.record(
        [dataclasses.replace(done(first.id, first.lease, T0 + 1, Outcome.OK, UP, UP), page=mark(A))]
    )
    late = next(c for c in repo.claim_due(T0 + 60_001, 10, 30_000) if c.id == first.id)
    # the lease ran out and another claim holds the target: this result is stale
    assert repo.claim_due(late.lease + 1, 10, 30_000)
    stale = dataclasses.replace(
        done(first.id, late.lease, T0 + 60_002, Outcome.OK, UP, UP), page=mark(FAR)
    )
    repo.record([stale])
    assert repo.target_events(first.id) == []


@pytest.fixture(
    params=[
        pytest.param(d, marks=[pytest.mark.postgres] if d == "postgres" else []) for d in DIALECTS
    ]
)
def known(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Known]:
    yield from known_db(request.param, tmp_path)


async def test_the_status_api_and_page_show_a_targets_events(known: Known) -> None:
    with known.engine.begin() as conn:
        conn.execute(
            EVENTS.insert(),
            [{"target_id": 3, "at": T0, "kind": "text_changed", "detail": text_change_message(30)}],
        )
    async with running(known) as srv:
        item = await get_json(srv, "/api/v1/targets/3")
        status, html, _ = await get(srv, "/targets/3")
        quiet = await get_json(srv, "/api/v1/targets/5")
    assert item["events"] == [
        {
            "at": "2023-11-14T22:13:20.000Z",
            "kind": "text_changed",
            "detail": text_change_message(30),
        }
    ]
    assert quiet["events"] == []
    assert status == 200 and '<h2 id="events">Events</h2>' in html
    assert "30 of 64 simhash bits differ" in html


def test_a_page_that_alternates_between_two_texts_is_one_event_a_day(repo: Repository) -> None:
    """A/B tests and rotating leads: a page that flips between two texts at every
    check was an event at every check (288 rows a day at a 5-minute interval, and
    history's newest 50 all flips); now at most one a day, and a change in the
    quiet day is reported when it ends if it still holds."""
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    target = next(c for c in repo.claim_due(T0, 10, 30_000) if c.url == "https://n.test/a/")
    lease, at = target.lease, T0
    step = 300_000

    def check(text_hash: int) -> None:
        nonlocal at, lease
        at += step
        rec = done(target.id, lease, at, Outcome.OK, UP, UP)
        repo.record([dataclasses.replace(rec, page=mark(text_hash))])
        (again,) = [c for c in repo.claim_due(at + step, 10, 30_000) if c.id == target.id]
        lease = again.lease

    for i in range(20):
        check(FAR if i % 2 else A)
    assert len(repo.target_events(target.id)) == 1
    first = at
    while at < first + 86_400_000:
        step = 3_600_000
        check(A)  # held far from the baseline (FAR, the first event's text)
    events = repo.target_events(target.id)
    assert len(events) == 2 and events[0]["at"] >= events[1]["at"] + 86_400_000


def test_an_event_stamped_in_the_future_quiets_nothing(repo: Repository) -> None:
    """A clock that ran a year ahead, then was put right, stamped an event in the
    future: the one-a-day rule must not read it as "an event within the day"
    for a year."""
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    target = next(c for c in repo.claim_due(T0, 10, 30_000) if c.url == "https://n.test/a/")
    with repo.engine.begin() as conn:
        conn.execute(
            EVENTS.insert(),
            [
                {
                    "target_id": target.id,
                    "at": T0 + 365 * 86_400_000,
                    "kind": "text_changed",
                    "detail": text_change_message(20),
                }
            ],
        )
    lease, at = target.lease, T0
    for text_hash in (A, FAR):
        at += 60_000
        rec = done(target.id, lease, at, Outcome.OK, UP, UP)
        repo.record([dataclasses.replace(rec, page=mark(text_hash))])
        (again,) = [c for c in repo.claim_due(at + 60_000, 10, 30_000) if c.id == target.id]
        lease = again.lease
    assert [e["at"] for e in repo.target_events(target.id)][-1] == at
