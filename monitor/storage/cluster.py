"""The cluster's rows: members and heartbeats, the maintenance role, shared backoff.

Every time here is the database's clock (PostgreSQL `clock_timestamp()`),
read in the same transaction that writes it: members whose clocks disagree
still agree on who is alive, who leads and when a lease ends. SQLite is one
machine, so its clock is the local one (and its cluster is of one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.storage import dialect
from monitor.storage.store import Store, now_ms
from monitor.storage.tables import metadata

MEMBERS: Table = metadata.tables["cluster_members"]
ROLES: Table = metadata.tables["cluster_roles"]
BACKOFF: Table = metadata.tables["host_backoff"]

MAINTENANCE = "maintenance"
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


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What one heartbeat saw: the database's time, every member, the leader."""

    now: int
    members: tuple[Member, ...]
    leader: str | None

    @property
    def live(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.alive)


class ClusterStore(Store):
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
        self, row: Mapping[str, Any], timeout_ms: int, lead_ms: int | None
    ) -> ClusterView:
        """Write this member's row (heartbeat = now); with `lead_ms`, take or renew
        the maintenance lease for that long. Returns what the cluster looks like."""
        with self._write() as conn:
            now = self._now(conn)
            me = row["id"]
            leader = False
            if lead_ms is not None:
                leader = self._hold(conn, MAINTENANCE, me, now, lead_ms)
            values = {**row, "heartbeat_at": now, "leader": leader}
            keys = [k for k in values if k != "id"]
            conn.execute(dialect.upsert(self.dialect, MEMBERS, ["id"], keys), values)
            conn.execute(delete(MEMBERS).where(MEMBERS.c.heartbeat_at < now - FORGET_AFTER_MS))
            conn.execute(delete(BACKOFF).where(BACKOFF.c.until < now))
            return self._view(conn, now, timeout_ms)

    def _view(self, conn: Connection, now: int, timeout_ms: int) -> ClusterView:
        holder = conn.execute(
            select(ROLES.c.holder).where(ROLES.c.role == MAINTENANCE, ROLES.c.until >= now)
        ).scalar_one_or_none()
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
                alive=now - r.heartbeat_at <= timeout_ms,
            )
            for r in conn.execute(select(MEMBERS).order_by(MEMBERS.c.started_at, MEMBERS.c.id))
        )
        return ClusterView(now=now, members=members, leader=holder)

    def cluster(self, timeout_ms: int) -> ClusterView:
        """Read only (the `cluster` command)."""
        with self.engine.connect() as conn:
            return self._view(conn, self._now(conn), timeout_ms)

    def _hold(self, conn: Connection, role: str, me: str, now: int, ttl_ms: int) -> bool:
        """Take the role if it is free or its lease ran out, or renew it if ours."""
        conn.execute(
            dialect.insert_ignore(self.dialect, ROLES),
            {"role": role, "holder": None, "until": 0, "epoch": 0, "ran_at": None},
        )
        mine = ROLES.c.holder == me
        got = conn.execute(
            update(ROLES)
            .where(
                ROLES.c.role == role,
                mine | ROLES.c.holder.is_(None) | (ROLES.c.until < now),
            )
            .values(holder=me, until=now + ttl_ms)
            .returning(ROLES.c.holder)
        ).first()
        return got is not None

    def leave(self, me: str) -> None:
        """A clean stop: out of the membership, and the role free for the others now."""
        with self._write() as conn:
            conn.execute(update(ROLES).where(ROLES.c.holder == me).values(holder=None, until=0))
            conn.execute(delete(MEMBERS).where(MEMBERS.c.id == me))

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
                    ROLES.c.ran_at.is_(None) | (ROLES.c.ran_at <= now - period_ms),
                )
                .values(ran_at=now)
                .returning(ROLES.c.role)
            ).first()
            return done is not None

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

    def share_backoff(self, until_by_host: Mapping[str, int]) -> dict[str, int]:
        """Store the backoffs learned here (host -> end, database ms; the later end
        wins) and return every backoff still running in the cluster."""
        with self._write() as conn:
            now = self._now(conn)
            rows = [{"host": h, "until": u} for h, u in until_by_host.items() if u > now]
            if rows:
                conn.execute(self._later_backoff(), rows)
            found: Any = conn.execute(select(BACKOFF.c.host, BACKOFF.c.until)).all()
            return {str(h): int(u) for h, u in found if u > now}
