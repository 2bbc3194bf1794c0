"""`cluster_members.rules`: the digest of the rules each member reads the corpus with.

Members on one PostgreSQL share the targets, but each one reads the corpus and
claims with its own `kinds`, `related`, `exclude_urls`, keys and
`exclude_fields`. A member started with others claimed targets its rules leave
out (left to their leases, never checked) and stored a changed file's targets
and verdicts by its own rules, the other member's by theirs, and nobody was
told. Each member now publishes the digest (`AuditRules.records_key`: a
SHA-256 of the rules and of the keys' identities, never a key) with its
heartbeat; a row of an earlier version has none (NULL), and is not compared.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("cluster_members", sa.Column("rules", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("cluster_members", "rules")
