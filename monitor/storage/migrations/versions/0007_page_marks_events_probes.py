"""Issue 15 in the daemon: a page's text mark, target events, the probe's answers.

`page_marks` keeps the simhash of each web/AMP page's text (content/simhash.py)
and a digest of its title; a later check whose text moved beyond the tolerance
under the same title adds a `text_changed` row to `target_events`, which
`history` and the status API show. `probe_answers` keeps the soft-404 probe's
answer per host and directory until it expires (a day), so a restart does not
probe again, and a host that answered with a real 404 is left alone until then.
All three start empty: the first check of each page is its first sighting.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "page_marks",
        sa.Column("target_id", sa.Integer(), primary_key=True),
        sa.Column("text_hash", sa.BigInteger(), nullable=False),
        sa.Column("title_key", sa.String(length=16), nullable=False),
        sa.Column("seen_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "target_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_target_events_target_at", "target_events", ["target_id", "at"])
    op.create_table(
        "probe_answers",
        sa.Column("site", sa.Text(), primary_key=True),
        sa.Column("directory", sa.Text(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("h1", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("expires", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_probe_answers_expires", "probe_answers", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_probe_answers_expires", table_name="probe_answers")
    op.drop_table("probe_answers")
    op.drop_index("ix_target_events_target_at", table_name="target_events")
    op.drop_table("target_events")
    op.drop_table("page_marks")
