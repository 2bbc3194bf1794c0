"""`targets.last_error` and `transitions.error`: why a target is down.

`check`'s report carries each target's error ("connection refused",
"certificate rejected: ...", "name does not resolve: ..."), but the daemon kept
the outcome alone: a status page saying `connection_error` or `tls_error` could
not tell refused from reset, an expired certificate from a wrong host name,
without a `check` by hand. Each target now keeps its last result's error, and
each transition the error of the result that made it, redacted and clipped as
stored (monitor/storage/values.py, `stored_error`). Not per result: the
results table is the one that grows. Rows stored before this revision have
none (NULL), as a result without an error.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("targets", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("transitions", sa.Column("error", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("transitions", "error")
    op.drop_column("targets", "last_error")
