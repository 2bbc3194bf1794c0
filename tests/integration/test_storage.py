"""The repository against real databases: SQLite files, and PostgreSQL when available."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from monitor.corpus.article import Article, Document
from monitor.daemon.state import State, TargetState
from monitor.storage.migrate import current_revision, head_revision, upgrade
from monitor.storage.partitions import is_partition
from monitor.storage.repository import (
    DAY_MS,
    ArticleRecord,
    CheckRecord,
    Fingerprint,
    Repository,
)
from monitor.storage.tables import OUTCOME_CODES, metadata
from monitor.targets import document_refs
from monitor.vocabulary import Outcome, SignatureResult, SignatureStatus

T0 = 1_700_000_000_000


def record(
    web: str, *, source: str = "a.txt", images: int = 1, provider: str = "p.com"
) -> ArticleRecord:
    art = Article.model_validate(
        {
            "webUrl": web,
            "ampWebUrl": web + "amp/",
            "images": [
                {"url": f"{web}img{i}.jpg", "width": 10, "height": 10} for i in range(images)
            ],
        }
    )
    doc = Document(source=source, line=1, raw={}, article=art)
    return ArticleRecord(
        id=doc.id,
        source=source,
        line=1,
        web_url=web,
        provider=provider,
        content_hash=f"h-{web}-{images}",
        problems=[],
        signature=SignatureResult(SignatureStatus.UNVERIFIED),
        refs=document_refs(doc),
    )


FP = Fingerprint(1, 2, "x")


def done(
    claim_id: int, lease: int, at: int, outcome: Outcome, before: TargetState, after: TargetState
) -> CheckRecord:
    return CheckRecord(
        target_id=claim_id,
        lease=lease,
        checked_at=at,
        outcome=OUTCOME_CODES[outcome],
        outcome_name=outcome.value,
        http_status=200 if outcome is Outcome.OK else 500,
        latency_ms=12,
        problems=() if outcome is Outcome.OK else ("slow_response",),
        before=before,
        after=after,
        next_due=at + 60_000,
    )


def test_migrations_match_the_models_and_are_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0015"
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    # the day partitions of check_results (PostgreSQL) are made at run time
                    "include_name": lambda name, kind, _: (
                        not (kind == "table" and is_partition(str(name)))
                    ),
                },
            ),
            metadata,
        )
    assert diff == []


def test_storing_a_document_creates_due_targets_once(repo: Repository) -> None:
    rec = record("https://n.test/a/", images=2)
    repo.store_document("a.txt", FP, [rec], 0, T0)
    repo.store_document("a.txt", FP, [rec], 0, T0)  # idempotent
    claimed = repo.claim_due(T0, 100, 30_000)
    assert sorted(c.url for c in claimed) == sorted(
        [
            "https://n.test/a/",
            "https://n.test/a/amp/",
            "https://n.test/a/img0.jpg",
            "https://n.test/a/img1.jpg",
        ]
    )
    web = next(c for c in claimed if c.url == "https://n.test/a/")
    assert [r.path for r in web.refs] == ["webUrl"]
    assert web.refs[0].expectation.amphtml == "https://n.test/a/amp/"
    assert web.state == TargetState()
    assert repo.documents() == {"a.txt": FP}
    snap = repo.snapshot()
    assert snap.articles == 1 and snap.signatures == {"unverified": 1}
    assert sum(snap.targets.values()) == 4


def test_claims_respect_due_time_limit_and_lease(repo: Repository) -> None:
    repo.store_document(
        "a.txt", FP, [record(f"https://n.test/{i}/", images=0) for i in range(5)], 0, T0
    )
    assert repo.claim_due(T0 - 1, 100, 30_000) == []  # nothing due yet
    first = repo.claim_due(T0, 3, 30_000)
    assert len(first) == 3
    rest = repo.claim_due(T0 + 1000, 100, 30_000)
    assert len(rest) == 7  # 10 targets: leased ones are not handed out twice
    assert not {c.id for c in first} & {c.id for c in rest}
    assert repo.claim_due(T0 + 29_000, 100, 30_000) == []
    # the first checker died: its lease runs out and the targets come back
    again = repo.claim_due(T0 + 30_001, 100, 30_000)
    assert {c.id for c in again} == {c.id for c in first}


def test_recording_results_moves_state_schedule_and_transitions(repo: Repository) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    c = next(c for c in repo.claim_due(T0, 10, 30_000) if c.url == "https://n.test/a/")
    up = TargetState(State.UP, 0, 1)
    repo.record([done(c.id, c.lease, T0 + 5, Outcome.OK, c.state, up)])
    assert all(x.id != c.id for x in repo.claim_due(T0 + 59_000, 10, 30_000))
    again = next(x for x in repo.claim_due(T0 + 60_005, 10, 30_000) if x.id == c.id)
    assert again.state == up
    down = TargetState(State.DOWN, 3, 0)
    repo.record([done(c.id, again.lease, T0 + 60_010, Outcome.HTTP_ERROR, up, down)])
    trans, results = repo.target_history(c.id)
    assert [(t["from_state"], t["to_state"]) for t in trans] == [("up", "down"), ("unknown", "up")]
    assert [r["outcome"] for r in results] == ["http_error", "ok"]
    assert results[0]["problems"] == "slow_response"
    snap = repo.snapshot()
    assert snap.targets[("web", "down")] == 1
    assert snap.provider_down == {"p.com": 1}
    assert snap.problems == {"slow_response": 1}
    assert snap.last_check_ms == T0 + 60_010


def test_a_stale_claim_cannot_overwrite_the_new_holder(repo: Repository) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    old = {c.id: c for c in repo.claim_due(T0, 10, 1000)}
    new = {c.id: c for c in repo.claim_due(T0 + 2000, 10, 1000)}
    tid = next(iter(old))
    repo.record(
        [
            done(
                tid,
                old[tid].lease,
                T0 + 2500,
                Outcome.OK,
                TargetState(),
                TargetState(State.UP, 0, 1),
            )
        ]
    )
    _, results = repo.target_history(tid)
    assert len(results) == 1  # the result itself is kept: it happened
    # but the schedule still belongs to the new lease: nothing due before it ends
    assert repo.claim_due(T0 + 2900, 10, 1000) == []
    assert {c.id for c in repo.claim_due(T0 + 3001, 10, 1000)} == set(new)


def test_release_makes_claims_due_again(repo: Repository) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    claims = repo.claim_due(T0, 10, 600_000)
    repo.release([(c.id, c.lease) for c in claims], T0 + 10)
    assert len(repo.claim_due(T0 + 10, 10, 600_000)) == len(claims)


def test_removed_documents_retire_their_targets_but_keep_history(repo: Repository) -> None:
    a = record("https://n.test/a/", images=1)
    b = record("https://n.test/b/", source="b.txt", images=0)
    # both articles share the provider logo-like image of a
    b.refs.append(a.refs[-1])
    repo.store_document("a.txt", FP, [a], 0, T0)
    repo.store_document("b.txt", FP, [b], 0, T0)
    claims = repo.claim_due(T0, 100, 1000)
    img = next(c for c in claims if c.url.endswith("img0.jpg"))
    repo.record(
        [done(img.id, img.lease, T0 + 1, Outcome.OK, img.state, TargetState(State.UP, 0, 1))]
    )
    repo.remove_document("a.txt")
    assert repo.documents() == {"b.txt": FP}
    due = {c.url for c in repo.claim_due(T0 + 10**9, 100, 1000)}
    assert due == {"https://n.test/b/", "https://n.test/b/amp/", "https://n.test/a/img0.jpg"}
    repo.remove_document("b.txt")
    assert repo.claim_due(T0 + 10**10, 100, 1000) == []
    _, results = repo.target_history(img.id)
    assert len(results) == 1
    assert repo.snapshot().articles == 0


def test_changed_document_updates_links_and_records_signature_changes(repo: Repository) -> None:
    rec = record("https://n.test/a/", images=2)
    repo.store_document("a.txt", FP, [rec], 0, T0)
    smaller = record("https://n.test/a/", images=1)
    smaller.signature = SignatureResult(SignatureStatus.TAMPERED, ("webUrl",))
    smaller.problems = ["signature_invalid"]
    repo.store_document("a.txt", Fingerprint(2, 3, "y"), [smaller], 1, T0 + 5)
    due = {c.url for c in repo.claim_due(T0 + 10, 100, 1000)}
    assert "https://n.test/a/img1.jpg" not in due and "https://n.test/a/img0.jpg" in due
    probs = repo.signature_problems()
    assert [(p["status"], p["fields"]) for p in probs] == [("tampered", ["webUrl"])]
    snap = repo.snapshot()
    assert snap.invalid_documents == 1 and snap.problems == {"signature_invalid": 1}


def test_purge_removes_only_old_results(repo: Repository) -> None:
    repo.store_document("a.txt", FP, [record("https://n.test/a/", images=0)], 0, T0)
    c = repo.claim_due(T0, 1, 1000)[0]
    recs = [
        done(c.id, c.lease, T0 + i * DAY_MS, Outcome.OK, TargetState(), TargetState())
        for i in range(5)
    ]
    repo.record(recs)
    assert repo.purge_results(T0 + 2 * DAY_MS) == 2
    _, results = repo.target_history(c.id)
    assert len(results) == 3
    assert repo.oldest_result_ms() == T0 + 2 * DAY_MS


def test_concurrent_rescans_and_writes_wait_instead_of_failing(repo: Repository) -> None:
    """A rescan reads before it writes; with another writer committing meanwhile,
    SQLite would fail at once with "database is locked" unless write
    transactions take the lock up front (BEGIN IMMEDIATE)."""
    import threading

    repo.store_document(
        "a.txt", FP, [record(f"https://n.test/{i}/", images=0) for i in range(20)], 0, T0
    )
    errors: list[BaseException] = []
    other = Repository(repo.engine)

    def rescans() -> None:
        try:
            for i in range(30):
                other.store_document(
                    "b.txt", FP, [record(f"https://m.test/{i}/", source="b.txt")], 0, T0
                )
                other.remove_document("b.txt")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    t = threading.Thread(target=rescans)
    t.start()
    for step_ in range(30):
        claims = repo.claim_due(T0 + step_ * 100_000, 5, 1000)
        repo.record(
            [
                done(c.id, c.lease, T0 + step_ * 100_000 + 1, Outcome.OK, c.state, c.state)
                for c in claims
            ]
        )
    t.join(60)
    assert errors == []


def queue_rows(engine: Engine) -> list[tuple[str, int]]:
    """Every row of the claim queue, as (table, target_id)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT 'due', target_id FROM due_queue UNION ALL "
                "SELECT 'lease', target_id FROM leases"
            )
        )
        return sorted((r[0], r[1]) for r in rows)


def active_ids(engine: Engine) -> list[int]:
    """The scheduled targets, which must be exactly those flagged active."""
    with engine.connect() as conn:
        scheduled = sorted(conn.scalars(text("SELECT id FROM targets WHERE next_due IS NOT NULL")))
        flagged = sorted(conn.scalars(text("SELECT id FROM targets WHERE active IS NOT NULL")))
    assert flagged == scheduled
    return scheduled


def test_databases_of_the_first_schema_upgrade_with_their_schedule(engine: Engine) -> None:
    upgrade(engine, "0001")
    rows = [  # queued, leased under 0001 (next_due = lease_until), retired
        (1, "https://n.test/q", T0, None, T0 - 5),
        (2, "https://n.test/l", T0 + 30_000, T0 + 30_000, None),
        (3, "https://n.test/r", None, None, T0 - 9),
    ]
    with engine.begin() as conn:
        for tid, url, due, lease, checked in rows:
            conn.execute(
                text(
                    "INSERT INTO targets (id, url, kind, state, fails, succs, next_due,"
                    " lease_until, last_checked_at, last_problems)"
                    " VALUES (:id, :url, 'web', 'up', 0, 1, :due, :lease, :checked, '')"
                ),
                {"id": tid, "url": url, "due": due, "lease": lease, "checked": checked},
            )
    upgrade(engine)
    assert queue_rows(engine) == [("due", 1), ("lease", 2)]
    repo = Repository(engine)
    snap = repo.snapshot()
    assert snap.last_check_ms == T0 - 5 and snap.oldest_due_ms == T0
    assert [c.id for c in repo.claim_due(T0, 10, 100_000)] == [1]
    assert [c.id for c in repo.claim_due(T0 + 30_000, 10, 1000)] == [2]  # its lease ran out
    with engine.connect() as conn:  # 0003 dropped the column 0002 emptied
        assert "lease_until" not in {c["name"] for c in inspect(conn).get_columns("targets")}


def test_each_active_target_has_exactly_one_queue_row(repo: Repository) -> None:
    """Claims, results, releases, retiring a leased target and bringing it back."""
    engine = repo.engine
    a = record("https://n.test/a/", images=2)
    repo.store_document("a.txt", FP, [a], 0, T0)
    ids = active_ids(engine)
    assert queue_rows(engine) == [("due", i) for i in ids]
    claims = {c.id: c for c in repo.claim_due(T0, 2, 1000)}
    assert len(claims) == 2
    assert queue_rows(engine) == sorted(
        [("lease", i) for i in claims] + [("due", i) for i in ids if i not in claims]
    )
    # retired while leased, then referenced again: the old lease must not come back
    repo.remove_document("a.txt")
    assert active_ids(engine) == [] and queue_rows(engine) == []
    repo.store_document("a.txt", FP, [a], 0, T0 + 10)
    assert active_ids(engine) == ids
    first = claims[min(claims)]
    up = TargetState(State.UP, 0, 1)
    repo.record([done(first.id, first.lease, T0 + 20, Outcome.OK, first.state, up)])
    repo.release([(c.id, c.lease) for c in claims.values()], T0 + 30)
    assert queue_rows(engine) == [("due", i) for i in ids]
    # the stale holder's result is kept, but it moved neither state nor schedule
    assert len(repo.target_history(first.id)[1]) == 1
    assert repo.target_history(first.id)[0] == []
    taken = repo.claim_due(T0 + 10, 100, 1000)
    assert sorted(c.id for c in taken) == ids
    later = taken[0]
    repo.record([done(later.id, later.lease, T0 + 50, Outcome.OK, later.state, up)])
    assert queue_rows(engine) == sorted([("due", later.id)] + [("lease", c.id) for c in taken[1:]])
    snap = repo.snapshot()
    assert snap.last_check_ms == T0 + 50
    assert snap.oldest_due_ms == min(c.lease for c in taken)  # leases end before later is due
