"""Drop `targets.lease_until`, unused since 0002 moved claims to `leases`.

0002 already moved every lease into `leases` and set the column to NULL;
nothing has read or written it since. A native `DROP COLUMN` (SQLite 3.35+,
PostgreSQL) rather than Alembic's batch mode: batch mode copies the table,
which at 1M targets is slow, and rebuilds its partial indexes from
reflection.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE targets DROP COLUMN lease_until")


def downgrade() -> None:
    op.add_column("targets", sa.Column("lease_until", sa.BigInteger(), nullable=True))
