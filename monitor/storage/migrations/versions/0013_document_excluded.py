"""`documents.excluded`: the targets `exclude_urls` left out of each file as read.

`check` counts them (`summary.excluded`); the daemon did not, so an operator
could not tell how much a pattern leaves out of the corpus it watches. A file
is read only when it changes, so the count is kept with the file and summed:
the daemon logs the total when a pass changes it, and `status` shows it. Rows
stored before this revision count 0; a daemon with `exclude_urls` reads every
file again once at its first start (the rules' digest now notes the count,
`AuditRules.records_key`), so none of them stays uncounted.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "documents",
        sa.Column("excluded", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("documents", "excluded")
