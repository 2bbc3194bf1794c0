"""`documents.recheck_at`: when a file's stored findings change with the clock alone.

An article dated ahead of the clock (beyond the allowed skew) is stored with
`published_in_future`; a file whose mtime and size do not move was never read
again, so the finding stayed after the date had passed, for as long as the
file was left alone. The scan now stores, per file, the first instant its
findings change with the clock (a date less the skew) and reads the file again
from then on. A file stored before this revision with such a finding is due at
once (0): the first pass after the upgrade audits it again and stores its
instant.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("recheck_at", sa.BigInteger(), nullable=True))
    # the documents of the articles stored with the clock's finding (problems holds
    # the codes joined by spaces): read again by the first pass
    op.execute(
        "UPDATE documents SET recheck_at = 0 WHERE path IN (SELECT source FROM articles"
        " WHERE problems LIKE '%published_in_future%')"
    )


def downgrade() -> None:
    op.drop_column("documents", "recheck_at")
