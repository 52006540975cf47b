"""Hot reads on the driver's cursor: Core SELECTs compiled once per dialect, their rows typed by SQLAlchemy.

Every request reads its token, and the most frequent requests read a project or a page of projects. Through a
``Session`` each of those statements cost 0.3–0.6 ms on SQLite and about 2 ms on PostgreSQL on the benchmark
machine, for a query that takes 15 µs on the driver (docs/performance.md): the session, its transaction, the
connection wrapper, the cache key of the statement and the result object, all per statement.

Here the statement is still SQLAlchemy's — a Core ``Select`` built from the same tables, compiled by the same
dialect, so the SQL cannot drift from the models — but it is compiled once (per dialect and shape) and run on a
DBAPI connection checked out of the engine's pool, and each value is converted by its column type's own result
processor (``Money`` → ``Decimal``, ``UTCDateTime`` → aware UTC ``datetime``, SQLite's dates and booleans), so a
``Record`` holds exactly what a Core row would.

Two ways in. ``reader(engine)``: single reads with no transaction of their own — one statement reads one
snapshot, on SQLite's autocommit connections and on the autocommit engine PostgreSQL reads use
(``app.state.reads_engine``); on any other engine the pool rolls the connection back when it is returned.
``session_reader(session)``: several statements inside a session's transaction (its snapshot, its isolation
level), on that transaction's own connection — the ledger's aggregates and items. Statements whose constants vary
between calls (a moment baked into a subquery) stay on the session: a compiled statement keeps the constants it was
compiled with.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


class Compiled:
    """One SELECT compiled for one dialect: its SQL text, how to order and convert its parameters, how to type
    its result columns."""

    __slots__ = ("_binders", "_constants", "_convert", "_names", "sql")

    def __init__(self, stmt: Select, dialect: Dialect):
        compiled = stmt.compile(dialect=dialect)
        self.sql: str = compiled.string
        # qmark (SQLite) wants a tuple in the order of the placeholders; pyformat (psycopg) a mapping.
        self._names: tuple[str, ...] | None = tuple(compiled.positiontup) if compiled.positional else None
        # Constants of the statement (anonymous binds, e.g. a threshold); every named bind is the caller's.
        self._constants = {name: bind.effective_value for name, bind in compiled.binds.items() if bind.unique}
        self._binders = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in stmt.selected_columns]
        make = _record_class(tuple(c.key for c in stmt.selected_columns))._make
        if not any(processors):
            self._convert: Callable[[tuple[Any, ...]], Any] = make
        else:
            typed = tuple(processors)

            def convert(values: tuple[Any, ...]) -> Any:
                return make([v if p is None or v is None else p(v) for p, v in zip(typed, values, strict=True)])

            self._convert = convert

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        if self._constants:
            values = {**self._constants, **values}
        if self._binders:
            values = {name: (self._binders[name](v) if name in self._binders and v is not None else v)
                      for name, v in values.items()}
        if self._names is None:
            return dict(values)
        return tuple(values[name] for name in self._names)

    def record(self, values: tuple[Any, ...]) -> Any:
        """A named tuple of the row's values, typed as a Core row's (``_fields`` and attributes by column key)."""
        return self._convert(values)


def _record_class(keys: tuple[str, ...]) -> type:
    """A named tuple of ``keys`` that answers like a Core row: ``_fields`` are the column keys themselves (a key
    that is no identifier, such as ``on``, is renamed only as an attribute) and ``_mapping`` maps key → value."""
    base = namedtuple("Record", keys, rename=True)  # type: ignore[misc]

    def mapping(self: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(keys, self, strict=True))

    return type("Record", (base,), {"__slots__": (), "_fields": keys, "_mapping": property(mapping)})


class Reader:
    """A DBAPI connection checked out of an engine's pool for a few single-statement reads.

    ``key`` names a statement's shape; ``build`` makes its ``Select`` (with ``bindparam``s for every value) and
    runs only the first time a dialect sees that key."""

    def __init__(self, connection: Any, dialect: Dialect, statements: dict[Hashable, Compiled]):
        self._connection = connection
        self._dialect = dialect
        self._statements = statements

    def _compiled(self, key: Hashable, build: Callable[[], Select]) -> Compiled:
        compiled = self._statements.get(key)
        if compiled is None:
            compiled = self._statements[key] = Compiled(build(), self._dialect)
        return compiled

    def all(self, key: Hashable, build: Callable[[], Select], **values: Any) -> list[Any]:
        compiled = self._compiled(key, build)
        cursor = self._connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(values))
            return [compiled.record(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, key: Hashable, build: Callable[[], Select], **values: Any) -> Any | None:
        compiled = self._compiled(key, build)
        cursor = self._connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(values))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else compiled.record(row)


def statements(dialect: Dialect) -> dict[Hashable, Compiled]:
    """The compiled statements of ``dialect`` (one cache per engine's dialect, shared by its option engines)."""
    cache = getattr(dialect, "_ledger_compiled", None)
    if cache is None:
        cache = dialect._ledger_compiled = {}  # type: ignore[attr-defined]
    return cache


@contextmanager
def reader(engine: Engine) -> Iterator[Reader]:
    """A ``Reader`` on a connection of ``engine``'s pool, returned (and rolled back) on exit."""
    connection = engine.raw_connection()
    try:
        yield Reader(connection, engine.dialect, statements(engine.dialect))
    finally:
        connection.close()


def session_reader(session: Session) -> Reader:
    """A ``Reader`` on the connection of ``session``'s transaction (begun here if it has not been yet): its
    statements see that transaction's snapshot and end with it."""
    connection = session.connection()
    return Reader(connection.connection, connection.dialect, statements(connection.dialect))
