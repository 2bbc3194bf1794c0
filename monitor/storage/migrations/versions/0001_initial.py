"""The first schema: articles, targets and their links, results, transitions,
signature verifications, rollups.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("path", sa.Text(), primary_key=True),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("scanned_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("web_url", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(255), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("problems", sa.String(), nullable=False),
        sa.Column("signature_status", sa.String(16), nullable=False),
        sa.Column("signature_fields", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_articles_source", "articles", ["source"])
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False, unique=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("provider", sa.String(255), nullable=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("fails", sa.Integer(), nullable=False),
        sa.Column("succs", sa.Integer(), nullable=False),
        sa.Column("next_due", sa.BigInteger(), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("last_checked_at", sa.BigInteger(), nullable=True),
        sa.Column("last_outcome", sa.String(24), nullable=True),
        sa.Column("last_status", sa.SmallInteger(), nullable=True),
        sa.Column("last_problems", sa.String(), nullable=False),
    )
    op.create_index("ix_targets_next_due", "targets", ["next_due"])
    op.create_table(
        "article_targets",
        sa.Column("article_id", sa.String(16), sa.ForeignKey("articles.id"), primary_key=True),
        sa.Column("path", sa.Text(), primary_key=True),
        sa.Column("target_id", sa.Integer(), sa.ForeignKey("targets.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("origin", sa.String(8), nullable=False),
        sa.Column("exp_canonical", sa.Text(), nullable=True),
        sa.Column("exp_amphtml", sa.Text(), nullable=True),
        sa.Column("exp_width", sa.Integer(), nullable=True),
        sa.Column("exp_height", sa.Integer(), nullable=True),
    )
    op.create_index("ix_article_targets_target", "article_targets", ["target_id"])
    op.create_table(
        "check_results",
        sa.Column("target_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("checked_at", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("outcome", sa.SmallInteger(), nullable=False),
        sa.Column("http_status", sa.SmallInteger(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("problems", sa.Text(), nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("from_state", sa.String(8), nullable=False),
        sa.Column("to_state", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("problems", sa.String(), nullable=False),
    )
    op.create_index("ix_transitions_target_at", "transitions", ["target_id", "at"])
    op.create_index("ix_transitions_at", "transitions", ["at"])
    op.create_table(
        "signature_verifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.String(16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("kid", sa.String(64), nullable=True),
        sa.Column("envelope", sa.String(16), nullable=True),
    )
    op.create_index(
        "ix_signature_verifications_article_at", "signature_verifications", ["article_id", "at"]
    )
    op.create_table(
        "rollups",
        sa.Column("target_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("day", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("counts", sa.String(), nullable=False),
        sa.Column("p50_ms", sa.Integer(), nullable=True),
        sa.Column("p95_ms", sa.Integer(), nullable=True),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "meta",
        "rollups",
        "signature_verifications",
        "transitions",
        "check_results",
        "article_targets",
        "targets",
        "articles",
        "documents",
    ):
        op.drop_table(table)
