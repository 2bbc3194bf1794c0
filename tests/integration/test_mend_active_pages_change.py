"""mend_active_flags' keyset pages while the rows change between them (a retire, a
new document, a result settling one): page size 1, gaps in the ids. Every row
out of step when the walk reaches its id is mended, each once, and the walk
ends. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from test_mend_active_reads_first import flags
from test_storage import FP, T0, record

from monitor.storage.repository import Repository


def gone(conn: Any, tid: int) -> None:
    for table in ("due_queue", "article_targets"):
        conn.execute(text(f"DELETE FROM {table} WHERE target_id = :t"), {"t": tid})
    conn.execute(text("DELETE FROM targets WHERE id = :t"), {"t": tid})


def test_rows_that_change_between_pages_of_one(repo: Repository) -> None:
    repo.store_document("a.txt", FP, [record(f"https://n.test/{i}/") for i in range(5)], 0, T0)
    ids = sorted(flags(repo))
    with repo.engine.begin() as conn:  # every target out of step, and a gap in the ids
        conn.execute(text("UPDATE targets SET active = NULL"))
        gone(conn, ids[3])
    pages: list[int] = []
    changed: dict[str, Any] = {}

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith("SELECT TARGETS.ID"):
            return
        pages.append(1)
        if len(pages) == 2 and not changed:  # between the pages: one settles, one goes
            changed["settled"], changed["gone"] = ids[5], ids[6]
            with repo.engine.begin() as other:
                other.execute(text("UPDATE targets SET active = 1 WHERE id = :t"), {"t": ids[5]})
                gone(other, ids[6])

    event.listen(repo.engine, "after_cursor_execute", after)
    try:
        mended = repo.mend_active_flags(chunk=1, page=1)
    finally:
        event.remove(repo.engine, "after_cursor_execute", after)
    left = len(ids) - 3  # the gap, the settled one, the one gone
    assert mended == left
    assert len(pages) == left + 1  # one page a row, plus the one that came back empty
    assert all((active == 1) == due for active, due in flags(repo).values())
    assert repo.mend_active_flags(chunk=1, page=1) == 0
