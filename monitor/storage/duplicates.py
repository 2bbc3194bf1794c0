"""Queries that find `duplicate_url` across corpus documents in the daemon's store.

An article row is keyed by its id (a digest of the normalised webUrl), so two
documents with one webUrl share one row and the last one stored owns it. The
store still shows the collision: a document whose `articles` count exceeds
the article rows whose `source` it is ("shadowed") holds an article another
document also holds (or holds one twice). The scanner re-reads only those
documents to learn which ids collide. Two *different* articles that claim
one ampWebUrl share a target through `article_targets` (path `ampWebUrl`).

The finding is kept where the other article-level problems are, in
`articles.problems`, so `status` and the `problems{code="duplicate_url"}`
gauge count it: one per article row involved.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, Table, bindparam, func, select, update

from monitor.storage.engine import WRITE_OPTION
from monitor.storage.tables import metadata
from monitor.storage.turns import write_connection
from monitor.vocabulary import ProblemCode

DOCUMENTS: Table = metadata.tables["documents"]
ARTICLES: Table = metadata.tables["articles"]
LINKS: Table = metadata.tables["article_targets"]

DUPLICATE = ProblemCode.DUPLICATE_URL.value
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Shadowed:
    """A document that holds more articles than it owns rows of."""

    path: str
    sha256: str
    articles: int
    owned: int


def shadowed_documents(engine: Engine) -> list[Shadowed]:
    owned = (
        select(ARTICLES.c.source, func.count().label("n")).group_by(ARTICLES.c.source).subquery()
    )
    n = func.coalesce(owned.c.n, 0)
    stmt = (
        select(DOCUMENTS.c.path, DOCUMENTS.c.sha256, DOCUMENTS.c.articles, n)
        .outerjoin(owned, owned.c.source == DOCUMENTS.c.path)
        .where(DOCUMENTS.c.articles > n)
        .order_by(DOCUMENTS.c.path)
    )
    with engine.connect() as conn:
        return [Shadowed(r[0], r[1], int(r[2]), int(r[3])) for r in conn.execute(stmt)]


def article_sources(engine: Engine, ids: Iterable[str]) -> dict[str, tuple[str, int]]:
    """The owning document (and line) of each id that has a row."""
    wanted = sorted(set(ids))
    out: dict[str, tuple[str, int]] = {}
    with engine.connect() as conn:
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            for r in conn.execute(
                select(ARTICLES.c.id, ARTICLES.c.source, ARTICLES.c.line).where(
                    ARTICLES.c.id.in_(chunk)
                )
            ):
                out[r.id] = (r.source, r.line)
    return out


def shared_amp_articles(engine: Engine) -> dict[str, int]:
    """Articles whose top-level ampWebUrl another article also claims → that target's id."""
    shared = (
        select(LINKS.c.target_id)
        .where(LINKS.c.path == "ampWebUrl")
        .group_by(LINKS.c.target_id)
        .having(func.count(func.distinct(LINKS.c.article_id)) > 1)
    )
    stmt = select(LINKS.c.article_id, LINKS.c.target_id).where(
        LINKS.c.path == "ampWebUrl", LINKS.c.target_id.in_(shared)
    )
    with engine.connect() as conn:
        return {r.article_id: r.target_id for r in conn.execute(stmt)}


def _with(codes: str, add: bool) -> str:
    have = set(codes.split())
    if add:
        have.add(DUPLICATE)
    else:
        have.discard(DUPLICATE)
    return " ".join(sorted(have))


def mark_duplicates(engine: Engine, ids: Collection[str]) -> tuple[set[str], set[str]]:
    """Make `duplicate_url` present on exactly `ids`; returns (newly marked, cleared)."""
    wanted = set(ids)
    with write_connection(engine) as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            marked = {
                r.id: r.problems
                for r in conn.execute(
                    select(ARTICLES.c.id, ARTICLES.c.problems).where(
                        ARTICLES.c.problems.contains(DUPLICATE)
                    )
                )
                if DUPLICATE in r.problems.split()
            }
            unmarked: dict[str, str] = {}
            todo = sorted(wanted - set(marked))
            for i in range(0, len(todo), _CHUNK):
                for r in conn.execute(
                    select(ARTICLES.c.id, ARTICLES.c.problems).where(
                        ARTICLES.c.id.in_(todo[i : i + _CHUNK])
                    )
                ):
                    unmarked[r.id] = r.problems
            changes = [{"b_id": k, "problems": _with(v, True)} for k, v in unmarked.items()]
            cleared = {k: v for k, v in marked.items() if k not in wanted}
            changes += [{"b_id": k, "problems": _with(v, False)} for k, v in cleared.items()]
            if changes:
                conn.execute(
                    update(ARTICLES)
                    .where(ARTICLES.c.id == bindparam("b_id"))
                    .values(problems=bindparam("problems")),
                    changes,
                )
    return set(unmarked), set(cleared)
