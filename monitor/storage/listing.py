"""Reads for the status API and pages: keyset pages of targets, one target, one article.

Pages are in target id order (stable: ids never change) and continue after
the last id seen, so a page costs the same at any depth. Only active targets
(`active IS NOT NULL`, as the metrics count them) are listed; a retired
target is still found by its id. Each filter has a partial index ending in
`id` (migration 0004); `problem` and `q` narrow a range scan of those.

`problem` and `q` have no index that ends in `id` (a substring cannot
have one), so one request scans at most `SCAN_WINDOW` ids past the cursor:
such a page may hold fewer than `limit` items, even none, and still have a
next page. That bounds what any one request costs, whatever is asked.

An item's articles are capped (`ARTICLES_PER_ITEM`): a provider's logo may
be referenced by every article of the corpus, and one page must stay small.
For the same reason a target's list of articles reads their titles cut to
`LINK_TITLE_CHARS`, and one article's read to `ARTICLE_TITLE_CHARS` (a corpus
title has no size limit, and an answer to a client that reads nothing stays in
its socket's buffer).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    TextClause,
    bindparam,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from monitor.storage import dialect, pages
from monitor.storage.store import (
    ARTICLES,
    LINKS,
    RESULTS,
    SIGNATURES,
    TARGETS,
    TRANSITIONS,
    Store,
    chunks,
)
from monitor.storage.tables import OUTCOME_BY_CODE
from monitor.text_clip import clip

ARTICLES_PER_ITEM = 50
# an article's targets read by /api/v1/articles/{id}, its page and `history ARTICLE`, in
# field order: a record with thousands of images or related links is listed in part, and
# each says how many there are (`targets_total`)
TARGETS_PER_ARTICLE = 500
SCAN_WINDOW = 100_000
MAX_ID = 2**63 - 1  # the largest target id (BIGINT); cursors stay within it
# targets.id is an INTEGER on PostgreSQL (migration 0001: a SERIAL), whose bound
# parameters are cast to it: an id past it was "integer out of range", the status API's
# 503 "the database could not be read" (and a warning) where SQLite answered 404 or an
# empty page, for a target id in a URL or a cursor (its checksum is no secret)
PG_MAX_ID = 2**31 - 1


def max_target_id(dialect_name: str) -> int:
    """The largest id a target can have on this database: none is past it."""
    return PG_MAX_ID if dialect_name == "postgresql" else MAX_ID


COUNT_CAP = 10_000  # a list page says "10,000+" rather than count a million entries
LINK_TITLE_CHARS = 300  # an article's title as a target lists it; longer ones end in "…"
ARTICLE_TITLE_CHARS = 10_000  # an article's title in its own document (far beyond a headline)


# An article's targets in field order, its own top-level fields first (webUrl,
# ampWebUrl, cdnAmpWebUrl: no dot in their path): in plain path order "webUrl" came
# after every "images.N.url" and "related.N…", so a record with more than
# TARGETS_PER_ARTICLE images listed its own page in none of the article's views.
FIELD_ORDER = (LINKS.c.path.contains("."), LINKS.c.path)


def article_targets(article_id: str) -> Select[Any]:
    """An article's first TARGETS_PER_ARTICLE targets (with the field and origin that
    link them), in FIELD_ORDER."""
    return (
        select(TARGETS, LINKS.c.path, LINKS.c.origin)
        .join(LINKS, LINKS.c.target_id == TARGETS.c.id)
        .where(LINKS.c.article_id == article_id)
        .order_by(*FIELD_ORDER)
        .limit(TARGETS_PER_ARTICLE)
    )


def targets_total(conn: Connection, article_id: str) -> int:
    """How many targets the article links (a seek on article_targets' key), so that
    a list cut at TARGETS_PER_ARTICLE can say it was."""
    count = select(func.count()).select_from(LINKS).where(LINKS.c.article_id == article_id)
    return int(conn.scalar(count) or 0)


def recent_results(target_id: int, limit: int) -> Select[Any]:
    """A target's `limit` newest results whose outcome this version knows: one coded
    otherwise (by a newer member sharing the database, OUTCOME_CODES being append-only,
    or by hand) is left out, as a rollup's unknown code is, rather than fail `history`
    and the target's page and API call (KeyError); the availability still counts it as
    a check that was not up."""
    return (
        select(RESULTS)
        .where(RESULTS.c.target_id == target_id, RESULTS.c.outcome.in_(sorted(OUTCOME_BY_CODE)))
        .order_by(RESULTS.c.checked_at.desc())
        .limit(limit)
    )


def _clipped(title: str | None, longest: int = LINK_TITLE_CHARS) -> str | None:
    return None if title is None else clip(title, longest)


def _title_read(longest: int) -> ColumnElement[str]:
    """The title as read for a page: one character more than shown says it was cut."""
    return func.substr(ARTICLES.c.title, 1, longest + 1).label("title")


@dataclass(frozen=True, slots=True)
class TargetQuery:
    """A validated filter and page position (see monitor/observe/status/filters.py)."""

    state: str | None = None
    kind: str | None = None
    provider: str | None = None
    outcome: str | None = None
    problem: str | None = None
    q: str | None = None
    after: int = 0
    limit: int = 100


def _fields(q: TargetQuery) -> dict[str, Any]:
    return {name: getattr(q, name) for name in TargetQuery.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class TargetPage:
    items: list[dict[str, Any]]
    last_id: int | None  # the id to continue after, None on the last page


def _since(target_id: Any) -> Any:
    """When the target last changed state: a seek on (target_id, at)."""
    return (
        select(func.max(TRANSITIONS.c.at))
        .where(TRANSITIONS.c.target_id == target_id)
        .scalar_subquery()
    )


_ITEM_COLUMNS = (
    TARGETS.c.id,
    TARGETS.c.url,
    TARGETS.c.kind,
    TARGETS.c.provider,
    TARGETS.c.state,
    TARGETS.c.next_due,
    TARGETS.c.last_outcome,
    TARGETS.c.last_status,
    TARGETS.c.last_checked_at,
    TARGETS.c.last_problems,
    TARGETS.c.last_error,
)


def _conditions(q: TargetQuery, dialect_name: str) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = [TARGETS.c.active.is_not(None), TARGETS.c.id > q.after]
    if q.state is not None:
        cond.append(TARGETS.c.state == q.state)
    if q.kind is not None:
        cond.append(TARGETS.c.kind == q.kind)
    if q.provider is not None:
        cond.append(TARGETS.c.provider == q.provider)
    if q.outcome is not None:
        cond.append(TARGETS.c.last_outcome == q.outcome)
    if q.problem is not None:
        # codes are space-separated words of a closed vocabulary (validated before here)
        padded = literal(" ") + TARGETS.c.last_problems + literal(" ")
        cond.append(TARGETS.c.last_problems != "")
        cond.append(dialect.contains(dialect_name, padded, f" {q.problem} "))
    if q.q is not None:
        cond.append(dialect.contains(dialect_name, TARGETS.c.url, q.q))
    return cond


@lru_cache(maxsize=128)
def _refs_statement(n: int) -> TextClause:
    """One bounded seek per target, as one statement (built once per page size: building
    100 SQLAlchemy selects per page cost more than running them)."""
    part = (
        "SELECT t, a FROM (SELECT DISTINCT target_id AS t, article_id AS a FROM article_targets"
        " WHERE target_id = :t{i} LIMIT :cap) AS s{i}"
    )
    return text(" UNION ALL ".join(part.format(i=i) for i in range(n)))


# PostgreSQL: the same bounded seeks as one lateral join over the page's ids. Planning
# the UNION ALL of 100 seeks cost it more than running them: a page of 1,000 took
# 235 ms, the lateral join 30 (SQLite has neither LATERAL nor arrays; its UNION ALL
# of 1,000 seeks takes ~24 ms). Without DISTINCT in the join: its generic plan
# aggregated all of a target's references before the LIMIT (a logo in 200,000
# articles: 67 ms), where a bare LIMIT stops at the first rows (0.3 ms). The ids are
# made distinct here, and a target whose REF_ROWS rows held fewer than the cap of
# distinct articles (one article naming it in many places) is read again by its seek.
REF_ROWS = ARTICLES_PER_ITEM * 4
_PG_REFS = text(
    "SELECT t.id, s.a FROM unnest(:ids) AS t(id) CROSS JOIN LATERAL"
    " (SELECT article_id AS a FROM article_targets WHERE target_id = t.id LIMIT :rows) AS s"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def _by_target(rows: Iterable[Sequence[Any]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for row in rows:
        out.setdefault(int(row[0]), []).append(str(row[1]))
    return {tid: sorted(ids) for tid, ids in out.items()}


def refs_united(conn: Connection, target_ids: list[int]) -> dict[int, list[str]]:
    """The targets' article ids by UNION ALLs of 100 seeks (any database)."""
    rows: list[Sequence[Any]] = []
    for part in chunks(target_ids, 100):  # SQLite allows 500 terms in a compound SELECT
        params: dict[str, Any] = {f"t{i}": tid for i, tid in enumerate(part)}
        params["cap"] = ARTICLES_PER_ITEM
        rows.extend(conn.execute(_refs_statement(len(part)), params))
    return _by_target(rows)


def refs_joined(conn: Connection, target_ids: list[int]) -> dict[int, list[str]]:
    """The targets' article ids by one lateral join (PostgreSQL): the first
    ARTICLES_PER_ITEM distinct ones met, as refs_united's DISTINCT ... LIMIT."""
    rows: dict[int, int] = {}
    found: dict[int, dict[str, None]] = {}  # insertion-ordered sets
    for row in conn.execute(_PG_REFS, {"ids": target_ids, "rows": REF_ROWS}):
        tid = int(row[0])
        rows[tid] = rows.get(tid, 0) + 1
        found.setdefault(tid, {})[str(row[1])] = None
    out = {tid: sorted(list(ids)[:ARTICLES_PER_ITEM]) for tid, ids in found.items()}
    again = [t for t, ids in found.items() if rows[t] == REF_ROWS and len(ids) < ARTICLES_PER_ITEM]
    if again:
        out.update(refs_united(conn, again))
    return out


class Listing(Store):
    """The status API's reads; every one bounded in rows."""

    def list_targets(self, q: TargetQuery) -> TargetPage:
        top_id = max_target_id(self.dialect)
        if q.after >= top_id:  # no target after it (and past it, an overflow)
            return TargetPage([], None)
        cond = _conditions(q, self.dialect)
        window = q.q is not None or q.problem is not None
        # never past the largest id the column holds: a cursor near it would overflow
        end = min(q.after + SCAN_WINDOW, top_id)
        if window:
            cond.append(TARGETS.c.id <= end)
        stmt = (
            select(*_ITEM_COLUMNS, _since(TARGETS.c.id).label("since"))
            .where(*cond)
            .order_by(TARGETS.c.id)
            .limit(q.limit + 1)
        )
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
            more = len(rows) > q.limit
            rows = rows[: q.limit]
            refs = self._article_ids_of(conn, [row["id"] for row in rows])
            for row in rows:
                row["articles"] = refs.get(row["id"], [])
            last: int | None = rows[-1]["id"] if more else None
            if window and not more:
                top = conn.scalar(select(func.max(TARGETS.c.id))) or 0
                last = end if top > end else None
        return TargetPage(rows, last)

    def count_targets(self, q: TargetQuery, cap: int | None = None) -> int | None:
        """How many active targets match `q`'s filters (its position ignored), counting
        at most `cap + 1` index entries: more than `cap` is returned as `cap + 1`.
        None for `problem` and `q`, which no index can count."""
        if q.q is not None or q.problem is not None:
            return None
        cap = COUNT_CAP if cap is None else cap
        cond = _conditions(TargetQuery(**{**_fields(q), "after": 0}), self.dialect)
        matching = select(TARGETS.c.id).where(*cond).limit(cap + 1).subquery()
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(matching)) or 0)

    @staticmethod
    def _article_ids_of(conn: Connection, target_ids: list[int]) -> dict[int, list[str]]:
        """Each target's article ids (capped), for a whole page in one statement: one
        bounded seek per target (a UNION ALL of them, a lateral join on PostgreSQL),
        so a logo referenced by every article costs ARTICLES_PER_ITEM rows, not all
        of its references."""
        if conn.dialect.name == "postgresql":
            return refs_joined(conn, target_ids)
        return refs_united(conn, target_ids)

    def target(
        self, target_id: int, *, transitions: int = 100, results: int = 100
    ) -> dict[str, Any] | None:
        """One target (active or retired) with its articles, transitions and results."""
        if not 1 <= target_id <= max_target_id(self.dialect):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_ITEM_COLUMNS, _since(TARGETS.c.id).label("since")).where(
                    TARGETS.c.id == target_id
                )
            ).first()
            if row is None:
                return None
            item = dict(row._mapping)
            item["articles"] = self._article_ids_of(conn, [target_id]).get(target_id, [])
            links = [
                {**r._mapping, "title": _clipped(r.title)}
                for r in conn.execute(
                    select(
                        LINKS.c.article_id,
                        LINKS.c.path,
                        LINKS.c.origin,
                        ARTICLES.c.web_url,
                        _title_read(LINK_TITLE_CHARS),
                    )
                    .join(ARTICLES, ARTICLES.c.id == LINKS.c.article_id)
                    .where(LINKS.c.target_id == target_id)
                    .limit(ARTICLES_PER_ITEM + 1)
                )
            ]
            # one row past the cap says whether there are more, at no count's cost (a
            # logo may be linked by every article of the corpus)
            item["links"] = links[:ARTICLES_PER_ITEM]
            item["links_more"] = len(links) > ARTICLES_PER_ITEM
            item["transitions"] = [
                dict(r._mapping)
                for r in conn.execute(
                    select(TRANSITIONS)
                    .where(TRANSITIONS.c.target_id == target_id)
                    .order_by(TRANSITIONS.c.at.desc(), TRANSITIONS.c.id.desc())
                    .limit(transitions)
                )
            ]
            out = []
            for r in conn.execute(recent_results(target_id, results)):
                res = dict(r._mapping)
                res["outcome"] = OUTCOME_BY_CODE[res["outcome"]].value
                out.append(res)
            item["results"] = out
            item["events"] = pages.target_events(conn, target_id, transitions)
        return item

    def article(self, article_id: str) -> dict[str, Any] | None:
        """One article with its targets (capped) and its latest signature verification."""
        with self.engine.connect() as conn:
            columns = [c for c in ARTICLES.c if c.name != "title"]
            row = conn.execute(
                select(*columns, _title_read(ARTICLE_TITLE_CHARS)).where(
                    ARTICLES.c.id == article_id
                )
            ).first()
            if row is None:
                return None
            art = dict(row._mapping)
            art["title"] = _clipped(art["title"], ARTICLE_TITLE_CHARS)
            art["targets"] = [
                dict(r._mapping)
                for r in conn.execute(
                    select(*_ITEM_COLUMNS, LINKS.c.path, LINKS.c.origin)
                    .join(LINKS, LINKS.c.target_id == TARGETS.c.id)
                    .where(LINKS.c.article_id == article_id)
                    .order_by(*FIELD_ORDER)
                    .limit(TARGETS_PER_ARTICLE)
                )
            ]
            art["targets_total"] = targets_total(conn, article_id)
            sig = conn.execute(
                select(SIGNATURES.c.at, SIGNATURES.c.kid, SIGNATURES.c.envelope)
                .where(SIGNATURES.c.article_id == article_id)
                .order_by(SIGNATURES.c.at.desc(), SIGNATURES.c.id.desc())
                .limit(1)
            ).first()
            art["verified"] = None if sig is None else dict(sig._mapping)
        return art
