"""The cluster (CONTRACT section 8): members, roles, shared host backoff, buckets.

`cluster_members` holds each daemon's heartbeat; `cluster_roles` the
maintenance leader's lease; `host_backoff` a Retry-After learned by one
member for all; `targets.bucket` (copied to `due_queue`) the placement bucket of the target's host
(monitor/daemon/placement.py), filled here for existing targets in batches
(one pass over `targets`: ~10 s per million rows).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.daemon.placement import url_bucket

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "cluster_members",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=False),
        sa.Column("view", sa.String(length=32), nullable=True),
        sa.Column("checks", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("leader", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "cluster_roles",
        sa.Column("role", sa.String(length=32), primary_key=True),
        sa.Column("holder", sa.String(length=32), nullable=True),
        sa.Column("until", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("ran_at", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "host_backoff",
        sa.Column("host", sa.Text(), primary_key=True),
        sa.Column("until", sa.BigInteger(), nullable=False),
    )
    op.add_column("targets", sa.Column("bucket", sa.SmallInteger(), nullable=True))
    conn = op.get_bind()
    targets = sa.table("targets", sa.column("id", sa.Integer), sa.column("url", sa.Text))
    fill = sa.text("UPDATE targets SET bucket = :b WHERE id = :i")
    last = 0
    while True:
        rows: Any = conn.execute(
            sa.select(targets.c.id, targets.c.url)
            .where(targets.c.id > last)
            .order_by(targets.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(fill, [{"b": url_bucket(url), "i": tid} for tid, url in rows])
        last = rows[-1][0]
    op.add_column("due_queue", sa.Column("bucket", sa.SmallInteger(), nullable=True))
    op.execute(
        "UPDATE due_queue SET bucket = (SELECT bucket FROM targets WHERE targets.id = target_id)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE due_queue DROP COLUMN bucket")
    op.execute("ALTER TABLE targets DROP COLUMN bucket")
    op.drop_table("host_backoff")
    op.drop_table("cluster_roles")
    op.drop_table("cluster_members")
