"""Storing a document costs a few statements per batch of articles, not several per
article (issue 16: the daemon's corpus write was a third of `run --once`'s CPU)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from test_storage import FP, T0, record

from monitor.storage.corpus import PENDING, STORE_BATCH
from monitor.storage.repository import ARTICLES, DUE, LINKS, TARGETS, Repository


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile (an executemany is one)."""
    sent: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_big_document_is_stored_in_a_bounded_number_of_statements(repo: Repository) -> None:
    arts = [record(f"https://site{i % 7}.example/a{i}/", images=2) for i in range(300)]
    with statements(repo.engine) as sent:
        repo.store_document("big.jsonl", FP, arts, 0, T0)
    assert len(sent) <= 25, len(sent)  # was ~8 per article: 2,400
    with repo.engine.connect() as conn:
        assert len(conn.execute(select(ARTICLES.c.id)).all()) == 300
        assert len(conn.execute(select(TARGETS.c.id)).all()) == 300 * 4
        assert len(conn.execute(select(DUE.c.target_id)).all()) == 300 * 4
        assert len(conn.execute(select(LINKS.c.target_id)).all()) == 300 * 4
    # stored again unchanged: the same rows, nothing queued twice
    with statements(repo.engine) as sent:
        repo.store_document("big.jsonl", FP, arts, 0, T0 + 1)
    assert len(sent) <= 25, len(sent)
    with repo.engine.connect() as conn:
        assert len(conn.execute(select(DUE.c.target_id)).all()) == 300 * 4


def test_an_article_held_twice_in_one_document_keeps_its_last_copy(repo: Repository) -> None:
    first = record("https://dup.example/a/", images=1)
    second = replace(record("https://dup.example/a/", images=3), title="the last copy")
    other = record("https://other.example/b/")
    repo.store_document("d.jsonl", FP, [first, other, second], 0, T0)
    with repo.engine.connect() as conn:
        title = conn.scalar(select(ARTICLES.c.title).where(ARTICLES.c.id == first.id))
        paths = sorted(conn.scalars(select(LINKS.c.path).where(LINKS.c.article_id == first.id)))
        active = conn.scalars(select(TARGETS.c.url).where(TARGETS.c.next_due.is_not(None))).all()
    assert title == "the last copy"
    assert paths == sorted(ref.path for _, ref in second.refs)
    # the first copy's only image is also the last copy's first: still watched
    assert {u for u, _ in second.refs} | {u for u, _ in other.refs} == set(active)


def test_a_target_dropped_by_every_article_of_a_batch_is_retired(repo: Repository) -> None:
    a = record("https://r.example/a/", images=2)
    repo.store_document("r.jsonl", FP, [a], 0, T0)
    fewer = record("https://r.example/a/", images=1)
    repo.store_document("r.jsonl", FP, [fewer], 0, T0 + 1)
    with repo.engine.connect() as conn:
        active = set(conn.scalars(select(TARGETS.c.url).where(TARGETS.c.next_due.is_not(None))))
        queued = len(conn.execute(select(DUE.c.target_id)).all())
    assert active == {u for u, _ in fewer.refs}
    assert queued == len(active)


def test_a_big_document_is_claimable_before_it_is_stored_whole(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first batch is committed on its own: claims get its targets (and the
    one writer) while the rest is written."""
    arts = [record(f"https://big.example/a{i}/") for i in range(2 * STORE_BATCH + 10)]
    write = Repository._write
    opened: list[int] = []
    claimed: list[int] = []

    @contextmanager
    def spy(self: Repository) -> Iterator[Any]:
        if len(opened) == 1 and not claimed:  # between the first and second batch
            opened.append(0)
            claimed.extend(c.id for c in self.claim_due(T0 + 10, 10_000, 60_000))
        opened.append(1)
        with write(self) as conn:
            yield conn

    monkeypatch.setattr(Repository, "_write", spy)
    repo.store_document("big.jsonl", FP, arts, 0, T0)
    per_article = len(arts[0].refs)
    assert len(claimed) == STORE_BATCH * per_article
    assert "big.jsonl" in repo.documents()


def test_a_document_stored_halfway_is_read_again_and_stored_whole(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    arts = [record(f"https://half.example/a{i}/") for i in range(2 * STORE_BATCH + 10)]
    store_round = Repository._store_round
    rounds: list[int] = []

    def failing(self: Repository, conn: Any, batch: Any, now: int) -> None:
        rounds.append(1)
        if len(rounds) == 2:
            raise RuntimeError("stopped midway")
        store_round(self, conn, batch, now)

    monkeypatch.setattr(Repository, "_store_round", failing)
    with pytest.raises(RuntimeError):
        repo.store_document("half.jsonl", FP, arts, 0, T0)
    # no real fingerprint (a row a cut-short store can be retired by): the next pass reads it
    assert repo.documents()["half.jsonl"] == PENDING
    monkeypatch.undo()
    repo.store_document("half.jsonl", FP, arts, 0, T0 + 1)
    with repo.engine.connect() as conn:
        stored = len(conn.execute(select(ARTICLES.c.id)).all())
        active = len(
            conn.scalars(select(TARGETS.c.id).where(TARGETS.c.next_due.is_not(None))).all()
        )
        queued = len(conn.execute(select(DUE.c.target_id)).all())
    assert stored == len(arts)
    assert active == queued == len(arts) * len(arts[0].refs)


def _schedule(repo: Repository) -> tuple[dict[str, int | None], list[int]]:
    """Every target's due time by URL, and the queue's target ids."""
    with repo.engine.connect() as conn:
        due = {r.url: r.next_due for r in conn.execute(select(TARGETS.c.url, TARGETS.c.next_due))}
        active = {r.url: r.active for r in conn.execute(select(TARGETS.c.url, TARGETS.c.active))}
        queued = sorted(conn.scalars(select(DUE.c.target_id)))
    assert all((active[u] is not None) == (d is not None) for u, d in due.items())
    return due, queued


def test_a_batch_of_new_known_and_retired_targets_queues_each_active_one_once(
    repo: Repository,
) -> None:
    """New targets, targets already scheduled and retired ones revived, in one batch
    (on SQLite the new ones are found past the highest id: corpus.py)."""
    kept = record("https://m.example/kept/", source="m.jsonl", images=2)
    gone = record("https://m.example/gone/", source="m.jsonl", images=1)
    repo.store_document("m.jsonl", FP, [kept, gone], 0, T0)
    repo.store_document("m.jsonl", FP, [kept], 0, T0 + 1)  # `gone`'s targets retired
    retired = {u for u, _ in gone.refs} - {u for u, _ in kept.refs}
    assert retired and all(d is None for u, d in _schedule(repo)[0].items() if u in retired)
    new = record("https://m.example/new/", source="m.jsonl", images=3)
    repo.store_document("m.jsonl", FP, [kept, gone, new], 0, T0 + 2)
    due, queued = _schedule(repo)
    assert set(due) == {u for a in (kept, gone, new) for u, _ in a.refs}
    assert all(d is not None for d in due.values())
    assert {u: d for u, d in due.items() if u in retired} == dict.fromkeys(retired, T0 + 2)
    fresh = {u for u, _ in new.refs} - {u for a in (kept, gone) for u, _ in a.refs}
    assert {u: d for u, d in due.items() if u in fresh} == dict.fromkeys(fresh, T0 + 2)
    with repo.engine.connect() as conn:
        ids = sorted(conn.scalars(select(TARGETS.c.id)))
    assert queued == ids  # each target queued once, none twice


def test_new_targets_numbered_below_the_highest_id_are_queued_too(repo: Repository) -> None:
    """SQLite numbers a new row at random once the largest rowid is taken, so a new
    target may fall below the highest id the write saw before its INSERT."""
    if repo.dialect != "sqlite":
        pytest.skip("SQLite's rowids")
    with repo.engine.begin() as conn:
        conn.execute(
            TARGETS.insert().values(
                id=2**63 - 1, url="https://old.example/x", kind="web", state="unknown", bucket=0
            )
        )
    arts = [record(f"https://low.example/a{i}/", images=2) for i in range(40)]
    repo.store_document("low.jsonl", FP, arts, 0, T0)
    due, queued = _schedule(repo)
    urls = {u for a in arts for u, _ in a.refs}
    assert {u: d for u, d in due.items() if u in urls} == dict.fromkeys(urls, T0)
    with repo.engine.connect() as conn:
        ids = sorted(conn.scalars(select(TARGETS.c.id).where(TARGETS.c.url.in_(sorted(urls)))))
    assert max(ids) < 2**63 - 1
    assert queued == ids
