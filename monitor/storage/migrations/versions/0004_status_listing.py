"""The status API's reads: `articles.title`, and indexes for keyset pages of targets.

`/api/v1/targets` pages through active targets in id order, filtered by
state, kind, provider or last outcome. Each filter gets a partial index
(active targets only, as the snapshot's) ending in `id`, so a page of 100
down targets is a seek and a 101-row range scan at any table size, where
without them SQLite sorted every down target for each page. The state index
carries `provider` too: without statistics (the daemon runs no ANALYZE) SQLite
takes it for the metrics snapshot's "down targets by provider", which it then
answers from the index alone instead of ~50,000 row lookups at 1M targets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

ACTIVE = "next_due IS NOT NULL"
INDEXES = {
    "ix_targets_list_state": ["state", "id", "provider"],  # provider: covers the snapshot
    "ix_targets_list_kind": ["kind", "state", "id"],
    "ix_targets_list_provider": ["provider", "state", "id"],
    "ix_targets_list_outcome": ["last_outcome", "id"],
}


def upgrade() -> None:
    op.add_column("articles", sa.Column("title", sa.Text(), nullable=True))
    where = sa.text(ACTIVE)
    for name, columns in INDEXES.items():
        op.create_index(name, "targets", columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="targets")
    op.drop_column("articles", "title")
