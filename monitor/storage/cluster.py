"""The cluster's rows: members and heartbeats, the maintenance role, shared backoff.

A stuck member (it heartbeats but records no result while it holds claims:
monitor/daemon/cluster.py) says so in `meta` under `cluster_stuck/<id>`
(`{"since": ms, "out_until": ms}`): a key-value row beside its member row,
so that no migration had to be numbered while 0007 and 0008 were in flight
(docs/scaling.md). It is written and dropped with the member's heartbeat.

Every time here is the database's clock (PostgreSQL `clock_timestamp()`),
read in the same transaction that writes it: members whose clocks disagree
still agree on who is alive, who leads and when a lease ends. SQLite is one
machine, so its clock is the local one (and its cluster is of one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.storage import dialect
from monitor.storage.store import META, Store, chunks, now_ms
from monitor.storage.tables import metadata

MEMBERS: Table = metadata.tables["cluster_members"]
ROLES: Table = metadata.tables["cluster_roles"]
BACKOFF: Table = metadata.tables["host_backoff"]

MAINTENANCE = "maintenance"
STUCK = "cluster_stuck/"  # + member id: that member's stuck mark, in `meta`
# + member id: the `cluster_timeout` (ms) that member runs with, in `meta`. Each member
# is judged alive by its own timeout (or the reader's, if longer): judged by a shorter
# one, a member configured differently was taken for dead between two of its beats,
# and its hosts were checked by two members at once.
TIMEOUT = "cluster_timeout/"
MEMBER_KEYS = (STUCK, TIMEOUT)
FORGET_AFTER_MS = 86_400_000  # a dead member's row is shown for a day, then dropped


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    host: str
    pid: int
    version: str
    started_at: int
    heartbeat_at: int
    view: str | None
    checks: int
    rate: float
    leader: bool
    alive: bool
    stuck_since: int | None = None  # it held claims and recorded nothing (database ms)
    out: bool = False  # placed out: its hosts are the others' until it tries again
    rules: str | None = None  # its rules' digest (AuditRules.records_key); None: not published

    @property
    def stuck(self) -> bool:
        return self.alive and self.stuck_since is not None


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What one heartbeat saw: the database's time, every member, the leader."""

    now: int
    members: tuple[Member, ...]
    leader: str | None

    @property
    def live(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.alive)

    @property
    def stuck(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.stuck)

    @property
    def rules_differ(self) -> bool:
        """Live members read the corpus and claim with rules of more than one digest
        (a member of a version that publishes none is not compared)."""
        return len({m.rules for m in self.live if m.rules is not None}) > 1


class ClusterStore(Store):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._runs_started: dict[tuple[str, str], int] = {}  # (role, member) -> its run's `ran_at`

    def _now(self, conn: Connection) -> int:
        if self.dialect == "postgresql":
            value: Any = conn.execute(
                text("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
            ).scalar_one()
            return int(value)
        return now_ms()

    def db_now(self) -> int:
        with self.engine.connect() as conn:
            return self._now(conn)

    def heartbeat(
        self,
        row: Mapping[str, Any],
        timeout_ms: int,
        lead_ms: int | None,
        stuck: tuple[int, int] | None = None,
    ) -> ClusterView:
        """Write this member's row (heartbeat = now); with `lead_ms`, take or renew
        the maintenance lease for that long; `stuck` (since, placed out until) marks
        it stuck, None clears the mark. Returns what the cluster looks like."""
        with self._write() as conn:
            now = self._now(conn)
            me = row["id"]
            leader = False
            if lead_ms is not None:
                leader = self._hold(conn, MAINTENANCE, me, now, lead_ms, timeout_ms)
            values = {**row, "heartbeat_at": now, "leader": leader}
            keys = [k for k in values if k != "id"]
            conn.execute(dialect.upsert(self.dialect, MEMBERS, ["id"], keys), values)
            # clearing up, every member at every beat: rows another member is changing
            # (or was, when it froze) are left for a later beat, not waited on
            self._clear(MEMBERS.c.id, MEMBERS.c.heartbeat_at < now - FORGET_AFTER_MS, conn)
            self._clear(BACKOFF.c.host, BACKOFF.c.until < now, conn)
            for prefix in MEMBER_KEYS:
                forgotten = META.c.key.not_in(select(literal(prefix) + MEMBERS.c.id))
                self._clear(
                    META.c.key, META.c.key.startswith(prefix, autoescape=True) & forgotten, conn
                )
            conn.execute(
                dialect.upsert(self.dialect, META, ["key"], ["value"]),
                {"key": TIMEOUT + me, "value": str(timeout_ms)},
            )
            key = STUCK + me
            if stuck is None:
                conn.execute(delete(META).where(META.c.key == key))
            else:
                mark = json.dumps({"since": stuck[0], "out_until": stuck[1]})
                conn.execute(
                    dialect.upsert(self.dialect, META, ["key"], ["value"]),
                    {"key": key, "value": mark},
                )
            return self._view(conn, now, timeout_ms)

    def _clear(self, key: Any, where: Any, conn: Connection) -> None:
        """DELETE the rows `where` picks that no other transaction holds (SKIP LOCKED
        on PostgreSQL): a member frozen mid-beat holds the rows its beat deleted,
        and every other member's beat waited on them for as long as it stayed frozen."""
        rows = dialect.lock_candidates(self.dialect, select(key).where(where))
        conn.execute(delete(key.table).where(key.in_(rows)))

    def _stuck_marks(self, conn: Connection, members: set[str]) -> dict[str, tuple[int, int]]:
        """Member id -> (stuck since, placed out until), for the members listed."""
        rows: Any = conn.execute(
            select(META.c.key, META.c.value).where(META.c.key.startswith(STUCK, autoescape=True))
        ).all()
        marks: dict[str, tuple[int, int]] = {}
        for key, value in rows:
            member = str(key)[len(STUCK) :]
            try:
                mark = json.loads(value)
                marks[member] = (int(mark["since"]), int(mark["out_until"]))
            except (ValueError, KeyError, TypeError, RecursionError):
                continue  # not a mark this version wrote: shown as not stuck
        return {m: v for m, v in marks.items() if m in members}

    def _timeouts(self, conn: Connection) -> dict[str, int]:
        """Member id -> the `cluster_timeout` (ms) it published with its heartbeat."""
        rows: Any = conn.execute(
            select(META.c.key, META.c.value).where(META.c.key.startswith(TIMEOUT, autoescape=True))
        ).all()
        found: dict[str, int] = {}
        for key, value in rows:
            try:
                found[str(key)[len(TIMEOUT) :]] = max(0, int(value))
            except (TypeError, ValueError):
                continue  # not a value this version wrote: the reader's timeout
        return found

    def _is_alive(self, conn: Connection, now: int, timeout_ms: int) -> Callable[[str, int], bool]:
        """Whether a member (id, heartbeat_at) is alive at `now`, judged by its own
        published timeout or ours if longer. A heartbeat from the future (a database
        clock since stepped back, a row written by hand) is not a sign of life: it
        kept a dead member's hosts from the others until that time came."""
        published = self._timeouts(conn)

        def alive(member: str, beat: int) -> bool:
            limit = max(timeout_ms, published.get(member, 0))
            return -limit <= now - beat <= limit

        return alive

    def _alive_ids(self, conn: Connection, now: int, timeout_ms: int) -> list[str]:
        """The members alive at `now` (_is_alive)."""
        alive = self._is_alive(conn, now, timeout_ms)
        rows: Any = conn.execute(select(MEMBERS.c.id, MEMBERS.c.heartbeat_at)).all()
        return [str(member) for member, beat in rows if alive(member, beat)]

    def _view(self, conn: Connection, now: int, timeout_ms: int) -> ClusterView:
        holder = conn.execute(
            select(ROLES.c.holder).where(ROLES.c.role == MAINTENANCE, ROLES.c.until >= now)
        ).scalar_one_or_none()
        rows: Any = conn.execute(select(MEMBERS).order_by(MEMBERS.c.started_at, MEMBERS.c.id)).all()
        marks = self._stuck_marks(conn, {r.id for r in rows})
        alive = self._is_alive(conn, now, timeout_ms)
        members = tuple(
            Member(
                id=r.id,
                host=r.host,
                pid=r.pid,
                version=r.version,
                started_at=r.started_at,
                heartbeat_at=r.heartbeat_at,
                view=r.view,
                checks=r.checks,
                rate=r.rate,
                leader=r.id == holder,
                alive=alive(r.id, r.heartbeat_at),
                stuck_since=marks[r.id][0] if r.id in marks else None,
                out=r.id in marks and marks[r.id][1] >= now,
                rules=r.rules,
            )
            for r in rows
        )
        return ClusterView(now=now, members=members, leader=holder)

    def cluster(self, timeout_ms: int) -> ClusterView:
        """Read only (the `cluster` command)."""
        with self.engine.connect() as conn:
            return self._view(conn, self._now(conn), timeout_ms)

    def _hold(
        self, conn: Connection, role: str, me: str, now: int, ttl_ms: int, timeout_ms: int
    ) -> bool:
        """Take the role if it is free or its lease ran out, or renew it if ours. A
        lease running further ahead than one granted now, held by a member not
        alive, is from a database clock since stepped back: taken over too (it
        kept the cluster leaderless until that time came)."""
        there = conn.execute(select(ROLES.c.role).where(ROLES.c.role == role)).first()
        if there is None:  # (an INSERT that meets the row waits while another holds it)
            conn.execute(
                dialect.insert_ignore(self.dialect, ROLES),
                {"role": role, "holder": None, "until": 0, "epoch": 0, "ran_at": None},
            )
        mine = ROLES.c.holder == me
        # alive by each member's own published timeout, as in _view: a holder with a
        # longer timeout than ours holds a lease running further ahead than ours would,
        # and between two of its beats it was taken for dead and its lease taken
        alive = self._alive_ids(conn, now, timeout_ms)
        from_the_future = (ROLES.c.until > now + ttl_ms) & ROLES.c.holder.not_in(alive)
        # SKIP LOCKED: the row is another member's while its beat runs. A holder frozen
        # mid-beat (SIGSTOP) kept it locked, and once its lease ran out every other
        # member's beat waited on it: no member was live, nothing was checked. It is
        # taken over once the server ends the frozen session (engine.py).
        free = dialect.lock_candidates(
            self.dialect,
            select(ROLES.c.role).where(
                ROLES.c.role == role,
                mine | ROLES.c.holder.is_(None) | (ROLES.c.until < now) | from_the_future,
            ),
        )
        got = conn.execute(
            update(ROLES)
            .where(ROLES.c.role.in_(free))
            .values(holder=me, until=now + ttl_ms)
            .returning(ROLES.c.holder)
        ).first()
        return got is not None

    def leave(self, me: str) -> None:
        """A clean stop: out of the membership, and the role free for the others now."""
        with self._write() as conn:
            conn.execute(update(ROLES).where(ROLES.c.holder == me).values(holder=None, until=0))
            conn.execute(delete(MEMBERS).where(MEMBERS.c.id == me))
            conn.execute(delete(META).where(META.c.key.in_([k + me for k in MEMBER_KEYS])))

    def start_run(self, role: str, me: str, period_ms: int) -> bool:
        """The holder of `role` claims this period's run: at most one per period,
        whoever holds the role, however often it asks."""
        with self._write() as conn:
            now = self._now(conn)
            done = conn.execute(
                update(ROLES)
                .where(
                    ROLES.c.role == role,
                    ROLES.c.holder == me,
                    ROLES.c.until >= now,
                    ROLES.c.ran_at.is_(None)
                    | (ROLES.c.ran_at <= now - period_ms)
                    # the clock went back past the last run (stepped a year ahead, then
                    # set right): waiting for `ran_at + period` skipped retention as long
                    | (ROLES.c.ran_at > now),
                )
                .values(ran_at=now)
                .returning(ROLES.c.role)
            ).first()
            if done is not None:
                self._runs_started[role, me] = now
            return done is not None

    def fail_run(self, role: str, me: str) -> None:
        """This period's run by `me` failed: it does not count, so the next tick
        (the holder's or a new one's) runs it again rather than a period later.
        Also once `me` lost the role meanwhile (a leader frozen past the server's
        idle timeout, its lease taken): the new holder waited a whole period, up to
        an hour of no retention, unless a run was started since (`ran_at` moved)."""
        started = self._runs_started.pop((role, me), None)
        mine = ROLES.c.holder == me
        if started is not None:
            mine = mine | (ROLES.c.ran_at == started)
        with self._write() as conn:
            conn.execute(update(ROLES).where(ROLES.c.role == role, mine).values(ran_at=None))

    # -- Retry-After shared by the cluster

    def _later_backoff(self) -> Any:
        """INSERT a host's backoff, or keep the later end of the two."""
        ins: Any = (
            postgresql.insert(BACKOFF) if self.dialect == "postgresql" else sqlite.insert(BACKOFF)
        )
        later = func.greatest if self.dialect == "postgresql" else func.max
        return ins.on_conflict_do_update(
            index_elements=["host"], set_={"until": later(BACKOFF.c.until, ins.excluded.until)}
        )

    def _writable(self, conn: Connection, until_by_host: Mapping[str, int]) -> list[dict[str, Any]]:
        """The backoffs among these that can be written without waiting: on PostgreSQL
        those whose row this transaction locks now (SKIP LOCKED) or that have none yet.
        Every member shares every backoff it knows at every beat (the others' too), so
        all write the same rows: one frozen inside its share (SIGSTOP) held up every
        other member's heartbeat until the server ended its session, 30 s, beyond the
        cluster's timeout. A row held is left for a later beat."""
        hosts = sorted(until_by_host)
        if self.dialect == "postgresql":
            held: set[str] = set()
            there: set[str] = set()
            for chunk in chunks(hosts):
                named = select(BACKOFF.c.host).where(BACKOFF.c.host.in_(chunk))
                held.update(conn.scalars(dialect.lock_candidates(self.dialect, named)))
                there.update(conn.scalars(named))  # after the lock: one since is skipped
            hosts = [h for h in hosts if h in held or h not in there]
        return [{"host": h, "until": until_by_host[h]} for h in hosts]

    def share_backoff(
        self,
        until_by_host: Mapping[str, int],
        horizon_ms: int | None = None,
        wait_ms: int | None = None,
    ) -> dict[str, int]:
        """Store the backoffs learned here (host -> end, database ms; the later end
        wins) and return every backoff still running in the cluster. One ending
        beyond `horizon_ms` from now was stored on a clock that ran ahead (no
        backoff lasts that long): dropped, or the host waited the whole step and
        no backoff of its own could replace it. A heartbeat skips the rows another
        transaction holds (`_writable`: a later beat writes them); with `wait_ms`
        (the leave, which has no later beat) each is waited for that long at most,
        then the statement fails (PostgreSQL's lock_timeout): skipped, a hold the
        stop found was lost whenever another member's beat was writing its row."""
        with self._write() as conn:
            now = self._now(conn)
            if horizon_ms is not None:
                self._clear(BACKOFF.c.host, BACKOFF.c.until > now + horizon_ms, conn)
            running = {h: u for h, u in until_by_host.items() if u > now}
            if wait_ms is None:
                rows = self._writable(conn, running)
            else:
                if self.dialect == "postgresql":
                    conn.execute(text(f"SET LOCAL lock_timeout = {int(wait_ms)}"))
                rows = [{"host": h, "until": running[h]} for h in sorted(running)]
            if rows:
                conn.execute(self._later_backoff(), rows)
            found: Any = conn.execute(select(BACKOFF.c.host, BACKOFF.c.until)).all()
            return {str(h): int(u) for h, u in found if u > now}
