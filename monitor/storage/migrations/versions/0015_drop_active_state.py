"""Drop `ix_targets_active_state`: half of a first start's database writes.

The index on (state, kind, provider) of active targets was made for the
metrics' counts, but SQLite's planner reads those through the other status
indexes (the count by state and kind scans `ix_targets_list_kind`, the down
targets by provider seek `ix_targets_list_state`), and PostgreSQL's does as
fast without it (1.3-1.7 against 1.5-2.0 ms at 50,000 targets); a listing
filtered by state, kind and provider seeks `ix_targets_list_provider`. What it cost: a target's
first result moves its entry among ~150 runs of equal keys, so on a first
start (`run --once` on a fresh database, 50,000 targets) it was half of the
parent's database I/O (~490 against ~250 MB written) and ~0.7 CPU-s of its
result writes (bench/README.md, the twenty-second session). No row changes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index("ix_targets_active_state", table_name="targets")


def downgrade() -> None:
    where = sa.text("active IS NOT NULL")
    op.create_index(
        "ix_targets_active_state",
        "targets",
        ["state", "kind", "provider"],
        sqlite_where=where,
        postgresql_where=where,
    )
