"""Reads for the metrics snapshot, `status` and `history`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import (
    Connection,
    func,
    select,
)

from monitor.daemon.state import State
from monitor.storage import pages
from monitor.storage.listing import (
    article_targets,
    max_target_id,
    recent_results,
    targets_total,
)
from monitor.storage.marks import read_mark, stored_ms
from monitor.storage.store import (
    ARTICLES,
    DOCUMENTS,
    DUE,
    LAST_CHECK_KEY,
    LEASES,
    META,
    TARGETS,
    TRANSITIONS,
    Store,
)
from monitor.storage.tables import OUTCOME_BY_CODE
from monitor.storage.values import Snapshot
from monitor.vocabulary import SignatureStatus


class Reads(Store):
    """Read-only queries."""

    def snapshot(self) -> Snapshot:
        """The gauges' numbers: every query an index-only scan or a seek (see tables.py),
        ~0.2 s at 1M targets; the daemon takes it in the background, never per scrape."""
        snap = Snapshot()
        active = TARGETS.c.active.is_not(None)
        with self.engine.connect() as conn:
            row: Any
            for row in conn.execute(
                select(TARGETS.c.state, TARGETS.c.kind, func.count())
                .where(active)
                .group_by(TARGETS.c.state, TARGETS.c.kind)
            ):
                snap.targets[(row[1], row[0])] = row[2]
            for row in conn.execute(
                select(TARGETS.c.provider, func.count())
                .where(active, TARGETS.c.state == State.DOWN.value)
                .group_by(TARGETS.c.provider)
            ):
                snap.provider_down[row[0] or ""] = snap.provider_down.get(row[0] or "", 0) + row[1]
            problems: Counter[str] = Counter()
            for row in conn.execute(
                select(TARGETS.c.last_problems, func.count())
                .where(TARGETS.c.last_problems != "", active)
                .group_by(TARGETS.c.last_problems)
            ):
                for code in row[0].split():
                    problems[code] += row[1]
            for row in conn.execute(
                select(ARTICLES.c.problems, func.count())
                .where(ARTICLES.c.problems != "")
                .group_by(ARTICLES.c.problems)
            ):
                for code in row[0].split():
                    problems[code] += row[1]
            snap.problems = dict(problems)
            for row in conn.execute(
                select(ARTICLES.c.signature_status, func.count()).group_by(
                    ARTICLES.c.signature_status
                )
            ):
                snap.signatures[row[0]] = row[1]
            snap.articles = sum(snap.signatures.values())
            dues = [
                conn.scalar(select(func.min(DUE.c.due))),
                conn.scalar(select(func.min(LEASES.c.until))),
            ]
            # a time written by hand as text (SQLite keeps it) is no time: not a traceback
            snap.oldest_due_ms = min(
                (d for d in map(stored_ms, dues) if d is not None), default=None
            )
            last = conn.scalar(select(META.c.value).where(META.c.key == LAST_CHECK_KEY))
            # unreadable: unknown (the daemon's start says so), not a traceback here
            snap.last_check_ms = read_mark(last)
            snap.invalid_documents = int(
                conn.scalar(select(func.coalesce(func.sum(DOCUMENTS.c.invalid), 0))) or 0
            )
            snap.excluded_targets = self.excluded_targets(conn)
        return snap

    def excluded_targets(self, conn: Connection | None = None) -> int:
        """The references `exclude_urls` left out of the corpus as read, every file's."""
        total = select(func.coalesce(func.sum(DOCUMENTS.c.excluded), 0))
        if conn is not None:
            return int(conn.scalar(total) or 0)
        with self.engine.connect() as own:
            return int(own.scalar(total) or 0)

    def recent_transitions(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TRANSITIONS, TARGETS.c.url, TARGETS.c.kind)
                .join(TARGETS, TARGETS.c.id == TRANSITIONS.c.target_id)
                .order_by(TRANSITIONS.c.at.desc(), TRANSITIONS.c.id.desc())
                .limit(limit)
            )
            return [dict(r._mapping) for r in rows]

    def worst_providers(self, limit: int = 10) -> list[dict[str, Any]]:
        """The providers with most active targets down, with their active targets.

        Two seeks, not a GROUP BY of every target (~0.3 s at 1M): the down targets
        by provider (ix_targets_list_state), then the chosen providers' totals
        (ix_targets_list_provider)."""
        active = TARGETS.c.active.is_not(None)
        down = func.count().label("down")
        with self.engine.connect() as conn:
            worst = conn.execute(
                select(TARGETS.c.provider, down)
                .where(active, TARGETS.c.state == State.DOWN.value)
                .group_by(TARGETS.c.provider)
                # no provider ("") sorts first on both dialects
                .order_by(down.desc(), func.coalesce(TARGETS.c.provider, ""))
                .limit(limit)
            ).all()
            totals: dict[str | None, int] = {}
            named = [r.provider for r in worst if r.provider is not None]
            if named:
                for r in conn.execute(
                    select(TARGETS.c.provider, func.count())
                    .where(active, TARGETS.c.provider.in_(named))
                    .group_by(TARGETS.c.provider)
                ):
                    totals[r[0]] = int(r[1])
            if any(r.provider is None for r in worst):
                totals[None] = int(
                    conn.scalar(select(func.count()).where(active, TARGETS.c.provider.is_(None)))
                    or 0
                )
        return [
            {"provider": r.provider or "", "targets": totals[r.provider], "down": int(r.down)}
            for r in worst
        ]

    def signature_problems(self, limit: int = 50) -> list[dict[str, Any]]:
        bad = [s.value for s in SignatureStatus if s.is_problem]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    ARTICLES.c.id,
                    ARTICLES.c.web_url,
                    ARTICLES.c.source,
                    ARTICLES.c.signature_status,
                    ARTICLES.c.signature_fields,
                )
                .where(ARTICLES.c.signature_status.in_(bad))
                .order_by(ARTICLES.c.source, ARTICLES.c.line)
                .limit(limit)
            )
            return [
                {
                    "article": r.id,
                    "webUrl": r.web_url,
                    "source": r.source,
                    "status": r.signature_status,
                    "fields": r.signature_fields.split(),
                }
                for r in rows
            ]

    def find_targets(self, query: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Resolve a target URL, a target id, an article id or an article's webUrl.
        An article's targets are its first TARGETS_PER_ARTICLE, as the status API
        lists them; its `targets_total` says how many it has."""
        with self.engine.connect() as conn:
            art = conn.execute(
                select(ARTICLES).where((ARTICLES.c.id == query) | (ARTICLES.c.web_url == query))
            ).first()
            if art is not None:
                listed = [dict(r._mapping) for r in conn.execute(article_targets(art.id))]
                found = dict(art._mapping)
                found["targets_total"] = targets_total(conn, art.id)
                return found, listed
            cond = TARGETS.c.url == query
            # ASCII digits only ("²".isdigit() is true), within the id column
            # (an INTEGER on PostgreSQL: a larger number was "integer out of range");
            # measured before int(), which refuses more than 4,300 digits (a traceback)
            digits = query.lstrip("0") or "0"
            top = max_target_id(self.dialect)
            if query.isascii() and query.isdigit() and len(digits) <= len(str(top)):
                if int(digits) <= top:
                    cond = cond | (TARGETS.c.id == int(digits))
            rows = conn.execute(select(TARGETS).where(cond))
            return None, [dict(r._mapping) for r in rows]

    def target_history(
        self, target_id: int, *, transitions: int = 50, results: int = 20
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            trans = conn.execute(
                select(TRANSITIONS)
                .where(TRANSITIONS.c.target_id == target_id)
                .order_by(TRANSITIONS.c.at.desc(), TRANSITIONS.c.id.desc())
                .limit(transitions)
            )
            res = conn.execute(recent_results(target_id, results))
            trans_rows = [dict(r._mapping) for r in trans]
            result_rows = []
            for r in res:
                row = dict(r._mapping)
                row["outcome"] = OUTCOME_BY_CODE[row["outcome"]].value
                result_rows.append(row)
            return trans_rows, result_rows

    def target_events(self, target_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """A target's events (its page's text changed under the same title), newest first."""
        with self.engine.connect() as conn:
            return pages.target_events(conn, target_id, limit)
