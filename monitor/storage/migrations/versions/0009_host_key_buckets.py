"""Placement buckets recomputed from one host key (`urls.host_key`).

`targets.bucket` (copied to `due_queue.bucket`) was the hash of the host as
`urlsplit` spelled it: a Unicode name and its punycode, or two spellings of
one IPv6 literal, fell in different buckets, so two cluster members could
check one host at once (CONTRACT section 8). The corpus write only inserts
new targets, so the rows written before are recomputed here; only the rows
whose bucket changes are written (a plain lower-case ASCII host keeps its
bucket: lower case and a trailing dot were already ignored). One read of
`targets` in batches, like 0006, then one pass over `due_queue`. The
downgrade leaves the buckets as they are: the old rule spread the same hosts,
only less consistently.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.daemon.placement import url_bucket

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 5000


def upgrade() -> None:
    conn = op.get_bind()
    targets = sa.table(
        "targets",
        sa.column("id", sa.Integer),
        sa.column("url", sa.Text),
        sa.column("bucket", sa.SmallInteger),
    )
    fix_target = sa.text("UPDATE targets SET bucket = :b WHERE id = :i")
    last = 0
    moved_any = False
    while True:
        rows: Any = conn.execute(
            sa.select(targets.c.id, targets.c.url, targets.c.bucket)
            .where(targets.c.id > last)
            .order_by(targets.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        moved = [{"b": new, "i": tid} for tid, url, old in rows if (new := url_bucket(url)) != old]
        if moved:
            conn.execute(fix_target, moved)
            moved_any = True
        last = rows[-1][0]
    if moved_any:
        # the queue copies its target's bucket in one pass: it has no index on
        # target_id, and a statement per moved target scanned it each time
        # (quadratic: 32,000 targets half moved took 13 CPU-s, a million hours)
        op.execute(
            "UPDATE due_queue SET bucket = "
            "(SELECT t.bucket FROM targets t WHERE t.id = due_queue.target_id) "
            "WHERE EXISTS (SELECT 1 FROM targets t WHERE t.id = due_queue.target_id "
            "AND (due_queue.bucket IS NULL OR t.bucket <> due_queue.bucket))"
        )


def downgrade() -> None:
    pass
