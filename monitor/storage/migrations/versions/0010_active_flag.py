"""`targets.active`: the status indexes' predicate, so a result write leaves them alone.

The five partial indexes of active targets (the metrics snapshot's and the
status API's keyset pages) and the problems index were `WHERE next_due IS
NOT NULL`. Every result moves `next_due`, so SQLite rewrote all six for each
check (a column of an index's WHERE clause counts as one of its columns), and
PostgreSQL could never make the update HOT. `active` (1, or NULL for a
target no article references) changes only when the corpus retires or
revives a target: a recheck whose state, outcome and problems did not change
now writes the row alone (`bench/result_writes.py`: ~90 µs of CPU a result
at 100,000 targets in random order, ~30 without the rewrites).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

OLD = "next_due IS NOT NULL"
NEW = "active IS NOT NULL"
HAS_PROBLEMS = "last_problems <> ''"
# name -> columns, for both predicates (the problems index is told apart below)
INDEXES = {
    "ix_targets_active_state": ["state", "kind", "provider"],
    "ix_targets_list_state": ["state", "id", "provider"],
    "ix_targets_list_kind": ["kind", "state", "id"],
    "ix_targets_list_provider": ["provider", "state", "id"],
    "ix_targets_list_outcome": ["last_outcome", "id"],
}


def _index(name: str, columns: list[str], where: str) -> None:
    clause = sa.text(where)
    op.create_index(name, "targets", columns, sqlite_where=clause, postgresql_where=clause)


def upgrade() -> None:
    op.add_column("targets", sa.Column("active", sa.SmallInteger(), nullable=True))
    op.execute(f"UPDATE targets SET active = 1 WHERE {OLD}")
    for name in [*INDEXES, "ix_targets_problems"]:
        op.drop_index(name, table_name="targets")
    for name, columns in INDEXES.items():
        _index(name, columns, NEW)
    # the problem codes of active targets: `active` in the predicate, not a column,
    # so that a result moving next_due does not rewrite it either
    _index("ix_targets_problems", ["last_problems"], f"{HAS_PROBLEMS} AND {NEW}")


def downgrade() -> None:
    for name in [*INDEXES, "ix_targets_problems"]:
        op.drop_index(name, table_name="targets")
    for name, columns in INDEXES.items():
        _index(name, columns, OLD)
    _index("ix_targets_problems", ["last_problems", "next_due"], HAS_PROBLEMS)
    op.drop_column("targets", "active")
