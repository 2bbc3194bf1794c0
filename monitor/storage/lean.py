"""Many rows through one statement, straight to the driver's executemany.

The daemon writes every check's rows (its result, its target's new state,
its due row): SQLAlchemy's per-row parameter handling (`construct_params`,
one dict per row checked against the statement) was over a third of a result
write's CPU (issue 16). Here a statement is compiled once per dialect and the
rows go to the driver as they are (tuples for SQLite's `?`, the dicts for
psycopg's `%(name)s`). A statement whose columns need a bind processor (a type
that converts values on the way in) is not eligible and goes the general way,
so the lean path can never store a value differently from `conn.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

# (dialect name, statement, its parameter names) -> (SQL, positional order or None),
# or None when the statement cannot take the lean path
_Compiled = tuple[str, Callable[[Mapping[str, Any]], Any] | None] | None
_CACHE: dict[tuple[str, int, tuple[str, ...]], tuple[UpdateBase, _Compiled]] = {}


def _compile(dialect: Dialect, stmt: UpdateBase, keys: tuple[str, ...]) -> _Compiled:
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    if compiled._bind_processors or compiled.literal_execute_params or compiled.post_compile_params:
        return None  # values converted or SQL rewritten per execution: the general way
    if compiled.positional:
        order = list(compiled.positiontup or ())
        if len(order) == 1:
            one = order[0]
            return compiled.string, lambda row: (row[one],)
        return compiled.string, itemgetter(*order)  # a tuple in the statement's order
    if dialect.paramstyle != "pyformat":
        return None
    return compiled.string, None


def execute_many(conn: Connection, stmt: UpdateBase, rows: Sequence[Mapping[str, Any]]) -> None:
    """`conn.execute(stmt, rows)` for a constant INSERT/UPDATE/DELETE whose rows all
    have the same keys, without SQLAlchemy's per-row parameter handling. `stmt`
    must be a module-level constant (the cache holds it by identity)."""
    if not rows:
        return
    keys = tuple(rows[0])
    key = (conn.dialect.name, id(stmt), keys)
    entry = _CACHE.get(key)
    if entry is None or entry[0] is not stmt:
        entry = (stmt, _compile(conn.dialect, stmt, keys))
        _CACHE[key] = entry
    compiled = entry[1]
    if compiled is None:
        conn.execute(stmt, list(rows))
        return
    sql, values = compiled
    if values is None:
        conn.exec_driver_sql(sql, list(rows))
    else:
        conn.exec_driver_sql(sql, list(map(values, rows)))
