"""The schema, as SQLModel tables. Alembic migrations (migrations/versions) create it.

Times are integer milliseconds since the Unix epoch: compact (6 bytes in
SQLite), exact, and the same on SQLite and PostgreSQL. Enumerations (kind,
state, outcome, signature status) are stored as their contract strings
except in `check_results`, the one table that grows with time, where the
outcome is a small integer (OUTCOME_CODES) and the table has no rowid: its
primary key (target_id, checked_at) is the only index it needs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Index, SmallInteger, Text, text
from sqlmodel import Field, SQLModel

from monitor.vocabulary import Outcome

# Stable integer codes of outcomes in check_results and rollups. Append only.
OUTCOME_CODES: dict[Outcome, int] = {
    Outcome.OK: 0,
    Outcome.MOVED: 1,
    Outcome.NOT_FOUND: 2,
    Outcome.HTTP_ERROR: 3,
    Outcome.RATE_LIMITED: 4,
    Outcome.TIMEOUT: 5,
    Outcome.DNS_ERROR: 6,
    Outcome.CONNECTION_ERROR: 7,
    Outcome.TLS_ERROR: 8,
    Outcome.TOO_MANY_REDIRECTS: 9,
    Outcome.BLOCKED: 10,
    Outcome.INVALID_URL: 11,
}
OUTCOME_BY_CODE: dict[int, Outcome] = {v: k for k, v in OUTCOME_CODES.items()}


class DocumentRow(SQLModel, table=True):
    """One corpus file as last read: the rescan compares path, mtime and size."""

    __tablename__ = "documents"

    path: str = Field(sa_type=Text, primary_key=True)
    mtime_ns: int = Field(sa_type=BigInteger)
    size: int = Field(sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    articles: int = 0
    invalid: int = 0
    scanned_at: int = Field(sa_type=BigInteger)
    # when its findings change with the clock alone (ms; NULL: never): the rescan
    # audits the file again from then on, though it did not change (migration 0011)
    recheck_at: int | None = Field(default=None, sa_type=BigInteger)
    # the references `exclude_urls` left out of it as read (migration 0013): summed,
    # the daemon's count of what its patterns leave out
    excluded: int = 0


# Partial indexes that make the metrics snapshot an index-only GROUP BY. Their
# predicate is `active`, not `next_due`: every result moves next_due, and a
# column in an index's WHERE clause makes each update rewrite the index (0010).
ACTIVE = "active IS NOT NULL"
HAS_PROBLEMS = "last_problems <> ''"
ARTICLE_PROBLEMS = "problems <> ''"


def _partial(where: str) -> dict[str, Any]:
    return {"sqlite_where": text(where), "postgresql_where": text(where)}


class ArticleRow(SQLModel, table=True):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_signature_status", "signature_status"),
        Index("ix_articles_problems", "problems", **_partial(ARTICLE_PROBLEMS)),
    )

    id: str = Field(max_length=16, primary_key=True)
    source: str = Field(sa_type=Text, index=True)
    line: int = 0
    web_url: str = Field(sa_type=Text)
    title: str | None = Field(default=None, sa_type=Text)
    provider: str | None = Field(default=None, max_length=255)
    # sha256 of the record as parsed: a change means re-verify `secured`
    content_hash: str = Field(max_length=64)
    # space-separated article-level problem codes (static checks, signature)
    problems: str = ""
    signature_status: str = Field(max_length=16)
    signature_fields: str = Field(default="", sa_type=Text)
    updated_at: int = Field(sa_type=BigInteger)


class TargetRow(SQLModel, table=True):
    """One distinct URL, its state and its schedule.

    `next_due` is the schedule (NULL: no article references the target any
    more; it keeps its history but is not checked). `active` is 1 exactly
    when `next_due` is set, NULL otherwise: the status indexes' predicate,
    which changes only when the corpus retires or revives the target. The
    schedule is the truth: a daemon of the previous version still running on
    a migrated database writes `next_due` alone, so claims and result writes
    go by it, and the maintenance mends the flag. The claim queue is not
    here but in `due_queue` and `leases`: a claim on this wide table rewrote
    ~1,000 scattered rows (see DueRow). `next_due` mirrors the target's
    `due_queue` key while it is queued, and keeps its last due time while it
    is leased.
    """

    __tablename__ = "targets"
    __table_args__ = (
        # no index on (state, kind, provider): the snapshot's GROUP BYs read the
        # ones below, and it was half a first start's writes (migration 0015)
        Index("ix_targets_problems", "last_problems", **_partial(f"{HAS_PROBLEMS} AND {ACTIVE}")),
        # keyset pages of the status API (storage/listing.py): one per filter, ending in id
        Index("ix_targets_list_state", "state", "id", "provider", **_partial(ACTIVE)),
        Index("ix_targets_list_kind", "kind", "state", "id", **_partial(ACTIVE)),
        Index("ix_targets_list_provider", "provider", "state", "id", **_partial(ACTIVE)),
        Index("ix_targets_list_outcome", "last_outcome", "id", **_partial(ACTIVE)),
    )

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=Text, unique=True)
    kind: str = Field(max_length=8)
    provider: str | None = Field(default=None, max_length=255)
    state: str = Field(default="unknown", max_length=8)
    fails: int = 0
    succs: int = 0
    next_due: int | None = Field(default=None, sa_type=BigInteger)
    last_checked_at: int | None = Field(default=None, sa_type=BigInteger)
    last_outcome: str | None = Field(default=None, max_length=24)
    last_status: int | None = Field(default=None, sa_type=SmallInteger)
    last_problems: str = ""
    # the target host's placement bucket (monitor/daemon/placement.py): in a
    # cluster each member claims only the buckets rendezvous hashing gives it
    bucket: int | None = Field(default=None, sa_type=SmallInteger)
    active: int | None = Field(default=None, sa_type=SmallInteger)  # 1 or NULL: see above
    # the last result's error, redacted and clipped (values.stored_error; migration 0014)
    last_error: str | None = Field(default=None, sa_type=Text)


class DueRow(SQLModel, table=True):
    """The claim queue: one row per active target that is not leased, by due time.

    Narrow and ordered by (due, target_id) (no rowid in SQLite), so a claim
    deletes one contiguous run at its front: a handful of pages, where the
    same claim on `targets` dirtied one page per row. No index on target_id
    (it would be written at ~1,000 scattered places per claim): whoever needs
    a target's row finds its key in `targets.next_due`.
    """

    __tablename__ = "due_queue"
    __table_args__ = {"sqlite_with_rowid": False}

    due: int = Field(sa_type=BigInteger, primary_key=True)
    target_id: int = Field(primary_key=True)
    # targets.bucket, copied: a cluster member filters the queue's front in the row
    # itself (a join to targets made PostgreSQL hash all of targets per claim)
    bucket: int | None = Field(default=None, sa_type=SmallInteger)


class LeaseRow(SQLModel, table=True):
    """Claimed targets, by lease end: a lease that runs out is claimable again.

    Small (the checks in flight, and those of a daemon that died), so finding
    a target's lease by id is a scan of a few thousand rows at most. A result
    is written only by the holder of the lease (`until`, `target_id`).
    """

    __tablename__ = "leases"
    __table_args__ = {"sqlite_with_rowid": False}

    until: int = Field(sa_type=BigInteger, primary_key=True)
    target_id: int = Field(primary_key=True)


class ArticleTargetRow(SQLModel, table=True):
    """An article's reference to a target, with what the article claims about it."""

    __tablename__ = "article_targets"
    __table_args__ = (Index("ix_article_targets_target", "target_id"),)

    article_id: str = Field(max_length=16, primary_key=True, foreign_key="articles.id")
    path: str = Field(sa_type=Text, primary_key=True)
    target_id: int = Field(foreign_key="targets.id")
    kind: str = Field(max_length=8)
    origin: str = Field(max_length=8)
    exp_canonical: str | None = Field(default=None, sa_type=Text)
    exp_amphtml: str | None = Field(default=None, sa_type=Text)
    exp_width: int | None = None
    exp_height: int | None = None
    exp_title: str | None = Field(default=None, sa_type=Text)  # web/amp: content_drift
    exp_excerpt: str | None = Field(default=None, sa_type=Text)


class CheckResultRow(SQLModel, table=True):
    """One check, compactly: ~24 bytes a row in SQLite (see bench/daemon_claims.py)."""

    __tablename__ = "check_results"
    __table_args__ = {"sqlite_with_rowid": False}

    target_id: int = Field(primary_key=True)
    checked_at: int = Field(sa_type=BigInteger, primary_key=True)
    outcome: int = Field(sa_type=SmallInteger)
    http_status: int | None = Field(default=None, sa_type=SmallInteger)
    latency_ms: int | None = None
    problems: str | None = Field(default=None, sa_type=Text)


class TransitionRow(SQLModel, table=True):
    __tablename__ = "transitions"
    __table_args__ = (Index("ix_transitions_target_at", "target_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    target_id: int
    at: int = Field(sa_type=BigInteger, index=True)
    from_state: str = Field(max_length=8)
    to_state: str = Field(max_length=8)
    outcome: str = Field(max_length=24)
    problems: str = ""
    error: str | None = Field(default=None, sa_type=Text)  # its result's (migration 0014)


class SignatureRow(SQLModel, table=True):
    __tablename__ = "signature_verifications"
    __table_args__ = (Index("ix_signature_verifications_article_at", "article_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=16)
    at: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=16)
    fields: str = Field(default="", sa_type=Text)
    kid: str | None = Field(default=None, max_length=64)
    envelope: str | None = Field(default=None, max_length=16)


class RollupRow(SQLModel, table=True):
    """One target's day: counts by outcome code ("0:23 3:1") and latency percentiles."""

    __tablename__ = "rollups"

    target_id: int = Field(primary_key=True)
    day: int = Field(primary_key=True)  # days since the epoch (UTC)
    checks: int
    counts: str
    p50_ms: int | None = None
    p95_ms: int | None = None


class MetaRow(SQLModel, table=True):
    """Small daemon bookkeeping (e.g. the last day rolled up)."""

    __tablename__ = "meta"

    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(sa_type=Text)


class ClusterMemberRow(SQLModel, table=True):
    """One daemon of a cluster on one database (CONTRACT section 8); its heartbeat
    (database time) says it is alive, `view` the membership it has drained to."""

    __tablename__ = "cluster_members"

    id: str = Field(max_length=32, primary_key=True)
    host: str = Field(sa_type=Text)
    pid: int
    version: str = Field(max_length=64)
    started_at: int = Field(sa_type=BigInteger)
    heartbeat_at: int = Field(sa_type=BigInteger)
    view: str | None = Field(default=None, max_length=32)
    checks: int = Field(default=0, sa_type=BigInteger)
    rate: float = 0.0
    leader: bool = False
    # the digest of the rules it reads the corpus and claims with (AuditRules.records_key:
    # hashes, never a key); None from a version before 0012, not compared
    rules: str | None = Field(default=None, max_length=64)


class ClusterRoleRow(SQLModel, table=True):
    """A role one member holds at a time under a lease (`maintenance`): taken over
    once `until` (database time) has passed; `ran_at` makes a period's run once."""

    __tablename__ = "cluster_roles"

    role: str = Field(max_length=32, primary_key=True)
    holder: str | None = Field(default=None, max_length=32)
    until: int = Field(default=0, sa_type=BigInteger)
    epoch: int = Field(default=0, sa_type=BigInteger)
    ran_at: int | None = Field(default=None, sa_type=BigInteger)


class HostBackoffRow(SQLModel, table=True):
    """A Retry-After (or 429/503 backoff) learned by one member, honoured by all."""

    __tablename__ = "host_backoff"

    host: str = Field(sa_type=Text, primary_key=True)
    until: int = Field(sa_type=BigInteger)


class PageMarkRow(SQLModel, table=True):
    """A web/AMP page's text baseline (content/simhash.py): taken at its first check,
    then at each text_changed event or new title (storage/pages.py); the checks in
    between are compared with it. A failed check never touches it."""

    __tablename__ = "page_marks"

    target_id: int = Field(primary_key=True)
    text_hash: int = Field(sa_type=BigInteger)  # the 64-bit simhash, as a signed BIGINT
    title_key: str = Field(max_length=16)
    seen_at: int = Field(sa_type=BigInteger)  # when the baseline was taken


class TargetEventRow(SQLModel, table=True):
    """Something worth a line in a target's history that is neither a state change
    nor a problem: the page's text changed while its title stayed (`text_changed`)."""

    __tablename__ = "target_events"
    __table_args__ = (Index("ix_target_events_target_at", "target_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    target_id: int
    at: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=24)
    detail: str = Field(default="", sa_type=Text)


class ProbeAnswerRow(SQLModel, table=True):
    """The soft-404 probe's answer for one host and directory (http/probe.py), kept
    until `expires` so a restart does not probe again; a 404 or 410 here means the
    host answers real 404s, and it is not probed again until then."""

    __tablename__ = "probe_answers"
    __table_args__ = (Index("ix_probe_answers_expires", "expires"),)

    site: str = Field(sa_type=Text, primary_key=True)  # "scheme host port" (port may be "")
    directory: str = Field(sa_type=Text, primary_key=True)
    url: str = Field(sa_type=Text)  # the probe's URL (credentials redacted)
    status: int | None = Field(default=None, sa_type=SmallInteger)
    final_url: str | None = Field(default=None, sa_type=Text)
    title: str | None = Field(default=None, sa_type=Text)
    h1: str | None = Field(default=None, sa_type=Text)
    description: str | None = Field(default=None, sa_type=Text)
    expires: int = Field(sa_type=BigInteger)


metadata = SQLModel.metadata
