"""`article_targets.exp_title` and `exp_excerpt`: what a web or AMP page should still be.

The daemon judges `content_drift` (CONTRACT section 3) from the record's
`title` and `excerpt`, stored with each reference as the other expectations
are. Existing references learn them when their document is read again: every
document's stored mtime and digest are cleared, so the first rescan after the
upgrade (daemon/scan.py) finds each file changed, reads it and rewrites its
articles' references. Until then the new columns are NULL and
no drift is judged (never a false finding).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("article_targets", sa.Column("exp_title", sa.Text(), nullable=True))
    op.add_column("article_targets", sa.Column("exp_excerpt", sa.Text(), nullable=True))
    op.execute("UPDATE documents SET mtime_ns = 0, sha256 = '' WHERE mtime_ns <> -1")


def downgrade() -> None:
    op.execute("ALTER TABLE article_targets DROP COLUMN exp_excerpt")
    op.execute("ALTER TABLE article_targets DROP COLUMN exp_title")
