"""`check_results` partitioned by UTC day on PostgreSQL (monitor/storage/partitions.py).

The table is rebuilt as a range-partitioned one with the same columns and
primary key: a partition for every day its rows span (at most the last
`SPAN_DAYS`; older rows go to the DEFAULT partition and leave with retention),
and for the days ahead; then the rows are copied over. The copy rewrites the
table once: 2M rows took 5.9 s on the test server (PostgreSQL 15, fsync off,
2 shared cores at load 7), ~3 s per million, so ~4 h for the 4.8 billion rows
of 30 days at 10M targets: plan a window for a large history, or lower
`retention_days` and let maintenance run first. SQLite is left as it is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import time

from alembic import op

from monitor.storage import partitions

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

OLD = "check_results_unpartitioned"
SPAN_DAYS = 400


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or partitions.partitioned(conn):
        return
    op.execute(f"ALTER TABLE check_results RENAME TO {OLD}")
    op.execute(f"ALTER INDEX check_results_pkey RENAME TO {OLD}_pkey")
    op.execute(
        f"CREATE TABLE check_results (LIKE {OLD} INCLUDING DEFAULTS)"
        " PARTITION BY RANGE (checked_at)"
    )
    op.execute("ALTER TABLE check_results ADD PRIMARY KEY (target_id, checked_at)")
    op.execute(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF check_results DEFAULT")
    now = int(time.time() * 1000)
    first = op.get_bind().exec_driver_sql(f"SELECT min(checked_at) FROM {OLD}").scalar()
    today = now // partitions.DAY_MS
    start = today - 1
    if first is not None:
        start = max(min(int(first) // partitions.DAY_MS, start), today - SPAN_DAYS)
    partitions.ensure(conn, now, first_day=start)
    op.execute(f"INSERT INTO check_results SELECT * FROM {OLD}")
    op.execute(f"DROP TABLE {OLD}")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or not partitions.partitioned(conn):
        return
    op.execute(f"CREATE TABLE {OLD} (LIKE check_results INCLUDING DEFAULTS)")
    op.execute(f"INSERT INTO {OLD} SELECT * FROM check_results")
    op.execute("DROP TABLE check_results")  # and every partition with it
    op.execute(f"ALTER TABLE {OLD} RENAME TO check_results")
    op.execute("ALTER TABLE check_results ADD PRIMARY KEY (target_id, checked_at)")
