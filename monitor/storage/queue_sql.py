"""The queue's statements, built once per dialect with their values left to the
execution: rebuilding them (and their cache keys) at every claim and result
write was ~5% of the daemon parent's CPU (issue 16). A cluster member's claim
by buckets is still built each time (queue.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Text,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    select,
    tuple_,
)
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
