"""The corpus write's range activation on SQLite (c371bdd) against the body it
replaced: the targets a batch inserts found past the highest id before its INSERT,
the rest looked up by URL. Hypothesis draws corpus histories (articles moving
between documents and URLs, a URL twice in an article, documents removed, targets
retired and referenced again, claims, the largest rowid taken so SQLite numbers
new rows at random, batches of 1 and 2 articles) and both must leave the same
targets, queue, leases, links and articles (targets compared by URL: random
rowids differ between the two files)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select, update

from monitor.storage import corpus, dialect
from monitor.storage.engine import make_engine
from monitor.storage.lean import execute_many
from monitor.storage.migrate import upgrade
from monitor.storage.repository import (
    ARTICLES,
    DUE,
    LEASES,
    LINKS,
    TARGETS,
    ArticleRecord,
    Fingerprint,
    Repository,
)
from monitor.storage.store import chunks
from monitor.targets import TargetRef
from monitor.vocabulary import Kind, Origin, SignatureResult, SignatureStatus

T0 = 1_700_000_000_000
URLS = [f"https://h{i % 3}.example/u{i}" for i in range(7)]
TOP_URL = "https://top.example/"


class BeforeRange(Repository):
    """The corpus write as it was before c371bdd: every target looked up by URL
    and activated by id."""

    def _place_targets(
        self, conn: Connection, urls: dict[str, dict[str, object]], now: int
    ) -> dict[str, int]:
        if urls:
            execute_many(conn, corpus._insert_targets(self.dialect), list(urls.values()))
        target_of: dict[str, int] = {}
        for chunk in chunks(list(urls)):
            for r in conn.execute(
                select(TARGETS.c.id, TARGETS.c.url).where(TARGETS.c.url.in_(chunk))
            ):
                target_of[r.url] = r.id
        for chunk in chunks(sorted(set(target_of.values()))):
            activated = conn.execute(
                update(TARGETS)
                .where(
                    dialect.in_ids(self.dialect, TARGETS.c.id, chunk),
                    TARGETS.c.next_due.is_(None),
                )
                .values(next_due=now, active=1)
                .returning(TARGETS.c.id, TARGETS.c.bucket)
            ).all()
            if activated:
                due = [{"due": now, "target_id": i, "bucket": b} for i, b in activated]
                execute_many(conn, corpus.DUE_INSERT, due)
        return target_of


def article(aid: str, doc: str, urls: list[str], title: str) -> ArticleRecord:
    refs = [
        (u, TargetRef(aid, Kind.IMAGE if j else Kind.WEB, Origin.ARTICLE, path=f"images.{j}"))
        for j, u in enumerate(urls)
    ]
    return ArticleRecord(
        id=aid,
        source=doc,
        line=1,
        web_url=urls[0] if urls else "https://none.example/",
        provider="p.example",
        content_hash=title,
        problems=[],
        signature=SignatureResult(SignatureStatus.UNVERIFIED),
        refs=refs,
        title=title,
    )


ARTICLES_DRAWN = st.lists(
    st.tuples(
        st.sampled_from(["a0", "a1", "a2", "a3"]),
        st.lists(st.sampled_from(URLS), max_size=4),  # a URL twice in one article too
        st.sampled_from(["t1", "t2"]),
    ),
    max_size=5,
)
DOCS = st.sampled_from(["d0.jsonl", "d1.jsonl"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("store"), DOCS, ARTICLES_DRAWN),
        st.tuples(st.just("remove"), DOCS),
        st.tuples(st.just("claim")),
        st.tuples(st.just("top")),
    ),
    max_size=10,
)


def contents(repo: Repository) -> tuple[list[Any], ...]:
    """Every row a corpus write touches, targets named by URL."""
    with repo.engine.connect() as conn:
        url_of: dict[Any, str] = dict(conn.execute(select(TARGETS.c.id, TARGETS.c.url)).all())
        targets = conn.execute(select(*(c for c in TARGETS.c if c.name != "id"))).all()
        due = [(d, url_of[t], b) for d, t, b in conn.execute(select(DUE))]
        leases = [(u, url_of[t]) for u, t in conn.execute(select(LEASES))]
        link_cols = [c for c in LINKS.c if c.name != "target_id"]
        links = [
            (*r[:-1], url_of[r[-1]]) for r in conn.execute(select(*link_cols, LINKS.c.target_id))
        ]
        articles = conn.execute(select(ARTICLES)).all()
    return tuple(sorted(map(tuple, rows)) for rows in (targets, due, leases, links, articles))


def apply(repo: Repository, op: tuple[Any, ...], now: int) -> None:
    if op[0] == "store":
        arts = [article(a, op[1], urls, t) for a, urls, t in op[2]]
        repo.store_document(op[1], Fingerprint(now, 1, str(now)), arts, 0, now)
    elif op[0] == "remove":
        repo.remove_document(op[1])
    elif op[0] == "claim":
        repo.claim_due(now + 10**9, 1000, 60_000)  # every due target: the same on both
    else:  # the largest rowid taken: SQLite numbers the next new rows at random
        with repo.engine.begin() as conn:
            conn.execute(
                TARGETS.insert()
                .prefix_with("OR IGNORE")
                .values(id=2**63 - 1, url=TOP_URL, kind="web", state="unknown", bucket=0)
            )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("range") / "am.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def batch_of(size: int) -> Iterator[None]:
    saved, corpus.STORE_BATCH = corpus.STORE_BATCH, size
    try:
        yield
    finally:
        corpus.STORE_BATCH = saved


@settings(max_examples=50, deadline=None)
@given(ops=OPS, batch=st.sampled_from([1, 2, corpus.STORE_BATCH]))
def test_the_range_activation_leaves_the_rows_the_lookup_by_url_left(
    template: Path, tmp_path_factory: pytest.TempPathFactory, ops: list[Any], batch: int
) -> None:
    where = tmp_path_factory.mktemp("range")
    repos: list[Repository] = []
    for name, cls in (("range", Repository), ("before", BeforeRange)):
        shutil.copy(template, where / name)
        repos.append(cls(make_engine(f"sqlite:///{where / name}")))
    try:
        with batch_of(batch):
            for k, op in enumerate(ops):
                for repo in repos:
                    apply(repo, op, T0 + k)
                assert contents(repos[0]) == contents(repos[1]), (k, op)
    finally:
        for repo in repos:
            repo.engine.dispose()
