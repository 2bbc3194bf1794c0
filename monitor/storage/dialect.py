"""The only SQL that differs between SQLite and PostgreSQL.

Everything else in the repository is dialect-neutral SQLAlchemy Core.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def insert_ignore(dialect_name: str, table: Table) -> Insert:
    """INSERT that skips rows whose primary or unique key already exists."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"unsupported database dialect: {dialect_name}")


def upsert(
    dialect_name: str,
    table: Table,
    keys: list[str],
    update: list[str],
    unless_larger: str | None = None,
) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET the `update` columns; with
    `unless_larger`, not where the row kept holds a larger value of that column."""
    stmt: Any
    if dialect_name == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect_name == "sqlite":
        stmt = sqlite.insert(table)
    else:
        raise NotImplementedError(f"unsupported database dialect: {dialect_name}")
    where = (
        None if unless_larger is None else table.c[unless_larger] <= stmt.excluded[unless_larger]
    )
    result: Insert = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in update}, where=where
    )
    return result


def lock_candidates(dialect_name: str, candidates: Select[Any]) -> Select[Any]:
    """Claim candidates without waiting for or double-taking another claimer's rows.

    PostgreSQL: FOR UPDATE SKIP LOCKED (procrastinate's shape). SQLite has one
    writer at a time, so the UPDATE ... WHERE id IN (SELECT ...) is atomic as is.
    """
    if dialect_name == "postgresql":
        return candidates.with_for_update(skip_locked=True)
    return candidates


def lock_rows(dialect_name: str, rows: Select[Any]) -> Select[Any]:
    """Read rows that this transaction is about to change (PostgreSQL: FOR UPDATE)."""
    if dialect_name == "postgresql":
        return rows.with_for_update()
    return rows


def contains(dialect_name: str, haystack: Any, needle: str) -> ColumnElement[bool]:
    """`needle` is a substring of `haystack`, case-sensitive and literal (no LIKE
    wildcards, so nothing to escape): SQLite's LIKE ignores ASCII case, PostgreSQL's
    does not, and the status API's `q` must mean the same on both."""
    if dialect_name == "sqlite":
        return func.instr(haystack, needle) > 0
    if dialect_name == "postgresql":
        return func.strpos(haystack, needle) > 0
    raise NotImplementedError(f"unsupported database dialect: {dialect_name}")


@cache
def _sqlite_has_json_each() -> bool:
    """JSON1 is built into SQLite since 3.38 and into most builds before; not all."""
    try:
        with sqlite3.connect(":memory:") as probe:
            probe.execute("SELECT value FROM json_each('[1]')").fetchall()
    except sqlite3.Error:
        return False
    return True


def _equals_any(column: ColumnElement[Any], array: Any) -> ColumnElement[bool]:
    """`column = ANY(array)` as an opaque comparison, so that its negation is
    `NOT (column = ANY(array))`: SQLAlchemy before 2.0.3x negated `==` into
    `column != ANY(array)`, true when any element differs (a different question)."""
    equals: ColumnElement[bool] = column.op("=", is_comparison=True)(func.any(array))
    return equals


def in_ids(
    dialect_name: str, column: ColumnElement[Any], ids: Sequence[int]
) -> ColumnElement[bool]:
    """`column IN ids` as one parameter (a JSON array on SQLite, an array on
    PostgreSQL) instead of one per id: SQLAlchemy's expansion of a 500-id IN list
    at every execution was a fifth of a result write's CPU (issue 16)."""
    if dialect_name == "postgresql":
        array = bindparam("ids", list(ids), type_=postgresql.ARRAY(Integer), unique=True)
        return _equals_any(column, array)
    if dialect_name == "sqlite" and _sqlite_has_json_each():
        values: Select[Any] = select(literal_column("value")).select_from(
            func.json_each(bindparam("ids", json.dumps(list(ids)), unique=True))
        )
        return column.in_(values.scalar_subquery())
    return column.in_(ids)


def in_ids_param(
    dialect_name: str, column: ColumnElement[Any], name: str = "ids"
) -> ColumnElement[bool]:
    """`in_ids` with the ids left to the execution (`ids_value` gives the value of
    parameter `name`): for a statement built once per dialect, not at every claim
    and write (building and keying it was ~5% of the daemon's CPU, issue 16)."""
    if dialect_name == "postgresql":
        return _equals_any(column, bindparam(name, type_=postgresql.ARRAY(Integer)))
    if dialect_name == "sqlite" and _sqlite_has_json_each():
        values: Select[Any] = select(literal_column("value")).select_from(
            func.json_each(bindparam(name))
        )
        return column.in_(values.scalar_subquery())
    return column.in_(bindparam(name, expanding=True))


def ids_value(dialect_name: str, ids: Sequence[int]) -> Any:
    """The value of `in_ids_param`'s parameter for these ids."""
    if dialect_name == "sqlite" and _sqlite_has_json_each():
        return json.dumps(list(ids))
    return list(ids)
