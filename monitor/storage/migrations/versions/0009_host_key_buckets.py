"""Placement buckets recomputed from one host key (`urls.host_key`).

`targets.bucket` (copied to `due_queue.bucket`) was the hash of the host as
`urlsplit` spelled it: a Unicode name and its punycode, or two spellings of
one IPv6 literal, fell in different buckets, so two cluster members could
check one host at once (CONTRACT section 8). The corpus write only inserts
new targets, so the rows written before are recomputed here; only the rows
whose bucket changes are written (a plain lower-case ASCII host keeps its
bucket: lower case and a trailing dot were already ignored). One read of
`targets` in batches, like 0006. The downgrade leaves the buckets as they are:
the old rule spread the same hosts, only less consistently.

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
    fix_due = sa.text("UPDATE due_queue SET bucket = :b WHERE target_id = :i")
    last = 0
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
            conn.execute(fix_due, moved)
        last = rows[-1][0]


def downgrade() -> None:
    pass
