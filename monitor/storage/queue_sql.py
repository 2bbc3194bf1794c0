"""The queue's statements, built once per dialect with their values left to the
execution: rebuilding them (and their cache keys) at every claim and result
write was ~5% of the daemon parent's CPU (issue 16). A cluster member's claim
by buckets is still built each time (queue.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    SmallInteger,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import Insert

from monitor.storage import dialect
from monitor.storage.store import DUE, LEASES, LINK_COLUMNS, LINKS, META, TARGETS


@cache
def take_statement(dialect_name: str, table_name: str) -> Any:
    """The front of a queue table up to :now, :lim rows, deleted and returned."""
    table = LEASES if table_name == LEASES.name else DUE
    key = table.c.until if table is LEASES else table.c.due
    front = (
        select(key, table.c.target_id)
        .where(key <= bindparam("now"))
        .order_by(key, table.c.target_id)
        .limit(bindparam("lim"))
    )
    candidates = dialect.lock_candidates(dialect_name, front)
    stmt = delete(table).where(tuple_(key, table.c.target_id).in_(candidates))
    if table is LEASES:
        return stmt.returning(table.c.target_id)
    return stmt.returning(key, table.c.target_id)


@cache
def claimed_rows(dialect_name: str) -> Any:
    """A claim's leases (:lease, :ids) joined to their targets and links."""
    return (
        select(
            TARGETS.c.id,
            TARGETS.c.next_due,
            TARGETS.c.url,
            TARGETS.c.kind,
            TARGETS.c.state,
            TARGETS.c.fails,
            TARGETS.c.succs,
            *LINK_COLUMNS,
        )
        .select_from(
            LEASES.join(TARGETS, TARGETS.c.id == LEASES.c.target_id).outerjoin(
                LINKS, LINKS.c.target_id == LEASES.c.target_id
            )
        )
        .where(
            LEASES.c.until == bindparam("lease"),
            dialect.in_ids_param(dialect_name, LEASES.c.target_id),
            # the schedule, not `active`: a member of the previous version (a rolling
            # upgrade) schedules targets without setting it; they are claimed all the
            # same, and their result write flags them (queue.py)
            TARGETS.c.next_due.is_not(None),
        )
    )


@cache
def leased(dialect_name: str) -> Any:
    """Which of :ids hold a lease."""
    return select(LEASES.c.target_id).where(dialect.in_ids_param(dialect_name, LEASES.c.target_id))


@cache
def end_lease(dialect_name: str) -> Any:
    """Delete the leases of :ids ending at :lease, returning whose were deleted."""
    return (
        delete(LEASES)
        .where(
            LEASES.c.until == bindparam("lease"),
            dialect.in_ids_param(dialect_name, LEASES.c.target_id),
        )
        .returning(LEASES.c.target_id)
    )


@cache
def active_buckets(dialect_name: str) -> Any:
    """The scheduled targets among :ids with their buckets and what the status indexes
    hold of them (state, last outcome, last problems, the `active` flag) and the last
    error (written only when it changes), locked for the write. Scheduled is
    `next_due`: see claimed_rows."""
    return dialect.lock_rows(
        dialect_name,
        select(
            TARGETS.c.id,
            TARGETS.c.bucket,
            TARGETS.c.state,
            TARGETS.c.last_outcome,
            TARGETS.c.last_problems,
            TARGETS.c.active,
            TARGETS.c.last_error,
        ).where(
            dialect.in_ids_param(dialect_name, TARGETS.c.id),
            TARGETS.c.next_due.is_not(None),
        ),
    )


# the database's clock (ms): `clock_timestamp()`, as storage/cluster.py reads it
_DB_CLOCK_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"


@cache
def last_check(dialect_name: str) -> Insert:
    """The last check's mark (:key, :value: the batch's newest check). On PostgreSQL
    never beyond the database's clock, the cluster's, which a start's step-back
    test reads it against: stamped with a member's own clock over a minute ahead,
    every start logged a false step back and read the due queue's far end. SQLite
    is one machine: the value given, on the clock the daemon reads."""
    stmt = dialect.upsert(dialect_name, META, ["key"], ["value"])
    if dialect_name == "postgresql":
        newest = func.least(cast(bindparam("value"), BigInteger), literal_column(_DB_CLOCK_MS))
        stmt = stmt.values(key=bindparam("key"), value=cast(newest, Text))
    return stmt


def due_keys(dialect_name: str, keys: Sequence[tuple[int, int]]) -> ColumnElement[bool]:
    """Due rows named by their keys, (due, target id): one array (PostgreSQL) or
    JSON list (SQLite) of them joined to the queue's key. An OR of key lookups
    was planned anew at every statement (~18 ms for 100 keys on PostgreSQL: a
    stop took 37 s to put off one held host's 200,000 queued targets), and a
    row-value IN list read the whole queue on SQLite. Without JSON1, the OR of
    at most `or_keys(dialect_name)` keys a statement (the caller's chunks)."""
    ident = tuple_(DUE.c.due, DUE.c.target_id)
    if dialect_name == "postgresql":
        dues = bindparam(
            "dues", [d for d, _ in keys], type_=postgresql.ARRAY(BigInteger), unique=True
        )
        ids = bindparam("tids", [t for _, t in keys], type_=postgresql.ARRAY(Integer), unique=True)
        pairs: Select[Any] = select(func.unnest(dues), func.unnest(ids))
        return ident.in_(pairs)
    if dialect_name == "sqlite" and dialect._sqlite_has_json_each():
        value: Any = literal_column("value")
        listed: Select[Any] = select(
            func.json_extract(value, "$[0]"), func.json_extract(value, "$[1]")
        ).select_from(
            func.json_each(bindparam("keys", json.dumps([list(k) for k in keys]), unique=True))
        )
        return ident.in_(listed)
    return or_(*(and_(DUE.c.due == d, DUE.c.target_id == t) for d, t in keys))


def keys_a_statement(dialect_name: str) -> int:
    """How many due rows `due_keys` names in one statement: an OR of key lookups
    well within SQLite's expression depth of 1,000 without JSON1."""
    if dialect_name == "postgresql" or dialect._sqlite_has_json_each():
        return 5_000
    return 100


def due_rows_at(dialect_name: str, due: int, rows: Sequence[tuple[int, int | None]]) -> Any:
    """`conn.execute` arguments queueing these (target id, bucket) at `due`: one
    INSERT of two arrays on PostgreSQL (an executemany of 200,000 rows took
    4.4 s, pipelined), an executemany on SQLite (fast there)."""
    if dialect_name == "postgresql":
        ids = bindparam("tids", [t for t, _ in rows], type_=postgresql.ARRAY(Integer), unique=True)
        buckets = bindparam(
            "buckets", [b for _, b in rows], type_=postgresql.ARRAY(SmallInteger), unique=True
        )
        pairs = select(
            cast(bindparam("due", due, unique=True), BigInteger),
            func.unnest(ids),
            func.unnest(buckets),
        )
        return (DUE.insert().from_select(["due", "target_id", "bucket"], pairs),)
    return (DUE.insert(), [{"due": due, "target_id": t, "bucket": b} for t, b in rows])
