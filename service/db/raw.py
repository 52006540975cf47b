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
(``app.state.db.reads_engine``); on any other engine the pool rolls the connection back when it is returned.
``session_reader(session)``: several statements inside a session's transaction (its snapshot, its isolation
level), on that transaction's own connection — the ledger's aggregates and items. A statement whose constants vary
between calls (a moment baked into a subquery) is read with no key: compiled for that call only, since a compiled
statement keeps the constants it was compiled with.

Rows come back as records typed like Core rows (``all``, ``first``) or, for answers that go straight to JSON, as
dicts of JSON values (``json``): each value converted by ``json_processor`` from what the driver returned to what
the API writes, with no typed value in between (``Money`` → its text, not ``Decimal`` then text; a date SQLite
stores as its ISO text stays that text). The typed path costs 3–4 µs a row more on a ledger item, and a month's
ledger answers up to 2,000 of them (docs/performance.md).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import Date, TypeEngine

from service.db.engine import RETRY_READS
from service.logging import get_logger

log = get_logger(__name__)


class Compiled:
    """One SELECT compiled for one dialect: its SQL text, how to order and convert its parameters, how to type
    its result columns."""

    __slots__ = ("_binders", "_constants", "_convert", "_dialect", "_json", "_keys", "_names", "_types", "sql")

    def __init__(self, stmt: Executable, dialect: Dialect):
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
        self._dialect = dialect
        selected = getattr(stmt, "selected_columns", ())  # an INSERT/UPDATE/DELETE selects nothing
        self._keys = tuple(c.key for c in selected)
        self._types = tuple(c.type for c in selected)
        self._json: Callable[[tuple[Any, ...]], dict[str, Any]] | None = None
        processors = [t.dialect_impl(dialect).result_processor(dialect, None) for t in self._types]
        make = _record_class(self._keys)._make
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

    def json(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """The row as ``{column key: JSON value}`` (``json_processor`` of each column's type)."""
        if self._json is None:
            self._json = _json_row(self._keys, [json_processor(t, self._dialect) for t in self._types])
        return self._json(values)


def json_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How a value of ``type_`` as ``dialect``'s driver returns it becomes the value the API's JSON writer (orjson,
    ``json_response``) takes, None when it already is one. A type may say so itself (``Money.json_processor``); a
    date the dialect stores as its ISO text is that text, which is what the writer makes of the date; any other
    value is typed by its result processor, as a Core row's, and written as such."""
    own = getattr(type_, "json_processor", None)
    if own is not None:
        return own(dialect)
    impl = type_.dialect_impl(dialect)
    if isinstance(impl, Date):
        bind = impl.bind_processor(dialect)
        if bind is not None and bind(_PROBE_DAY) == _PROBE_DAY.isoformat():
            return None
    return impl.result_processor(dialect, None)


_PROBE_DAY = date(2001, 2, 3)


def _json_row(keys: tuple[str, ...], processors: list[Callable[[Any], Any] | None]
              ) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """A converter of a driver row into ``{key: JSON value}``: one dict display with the row's values in place,
    each through its processor where it has one (None stays None). Generated once per statement, as
    ``namedtuple`` and ``dataclasses`` generate theirs: a generic loop over the columns cost 50 % more a row."""
    names: dict[str, Any] = {}
    fields = []
    for i, (key, processor) in enumerate(zip(keys, processors, strict=True)):
        if processor is None:
            fields.append(f"{key!r}: v[{i}]")
        else:
            names[f"p{i}"] = processor
            fields.append(f"{key!r}: None if v[{i}] is None else p{i}(v[{i}])")
    exec(f"def row(v):\n    return {{{', '.join(fields)}}}", names)  # noqa: S102 - keys by repr, processors by name
    return names["row"]


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
    runs only the first time a dialect sees that key. With ``key=None`` the statement is compiled for this call
    only (its constants vary between calls)."""

    def __init__(self, connection: Any, dialect: Dialect, statements: dict[Hashable, Compiled], *,
                 reconnect: Engine | None = None):
        self._connection = connection
        self._dialect = dialect
        self._statements = statements
        self._reconnect = reconnect

    def _compiled(self, key: Hashable | None, build: Callable[[], Select]) -> Compiled:
        if key is None:
            return Compiled(build(), self._dialect)
        compiled = self._statements.get(key)
        if compiled is None:
            compiled = self._statements[key] = Compiled(build(), self._dialect)
        return compiled

    def _execute(self, compiled: Compiled, values: dict[str, Any], fetch: Callable[[Any], Any]) -> Any:
        """``fetch(cursor)`` after running ``compiled``; on a ``reconnect`` engine, again on a fresh connection
        when the connection turns out to be gone — as often as the pool has connections that may be gone too."""
        attempts = 1 if self._reconnect is None else self._reconnect.pool.size() + 2
        for attempt in range(attempts):
            cursor = self._connection.cursor()
            try:
                cursor.execute(compiled.sql, compiled.parameters(values))
                return fetch(cursor)
            except self._dialect.loaded_dbapi.Error as exc:
                gone = self._dialect.is_disconnect(exc, self._connection.dbapi_connection, cursor)
                if not gone or attempt == attempts - 1:
                    raise
                log.warning("read_reconnect", error=type(exc).__name__, attempt=attempt + 1)
                self._connection.invalidate(exc)
                self._connection.close()
                self._connection = self._reconnect.raw_connection()  # type: ignore[union-attr]
            finally:
                cursor.close()
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _rows(self, compiled: Compiled, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self._execute(compiled, values, _fetchall)

    def all(self, key: Hashable | None, build: Callable[[], Select], **values: Any) -> list[Any]:
        compiled = self._compiled(key, build)
        return [compiled.record(row) for row in self._rows(compiled, values)]

    def json(self, key: Hashable | None, build: Callable[[], Select], **values: Any) -> list[dict[str, Any]]:
        """The rows as dicts of JSON values (``Compiled.json``), for answers written straight to JSON."""
        compiled = self._compiled(key, build)
        return [compiled.json(row) for row in self._rows(compiled, values)]

    def first(self, key: Hashable, build: Callable[[], Select], **values: Any) -> Any | None:
        compiled = self._compiled(key, build)
        row = self._execute(compiled, values, _fetchone)
        return None if row is None else compiled.record(row)


class Writer(Reader):
    """A ``Reader`` that also changes rows: INSERT, UPDATE and DELETE statements compiled once per shape, run on
    the connection of a session's transaction (``session_writer``), so they commit or roll back with it and
    with whatever the session's ORM flushed before them. The write path of the hot use cases (a project's
    transition) runs its eight statements here: through the ORM's unit of work they cost several times the SQL
    (docs/performance.md). The driver's integrity errors are raised as SQLAlchemy's ``IntegrityError``, as the
    ORM would raise them."""

    def execute(self, key: Hashable, build: Callable[[], Executable], **values: Any) -> int:
        """Run one statement; the number of rows it changed."""
        compiled = self._compiled(key, build)  # type: ignore[arg-type]
        return self._run(compiled, lambda cursor: cursor.execute(compiled.sql, compiled.parameters(values)))

    def execute_many(self, key: Hashable, build: Callable[[], Executable], rows: list[dict[str, Any]]) -> int:
        """Run one statement once per item of ``rows`` (``executemany``)."""
        if not rows:
            return 0
        compiled = self._compiled(key, build)  # type: ignore[arg-type]
        return self._run(compiled, lambda cursor: cursor.executemany(
            compiled.sql, [compiled.parameters(values) for values in rows]))

    def _run(self, compiled: Compiled, run: Callable[[Any], Any]) -> int:
        cursor = self._connection.cursor()
        try:
            run(cursor)
            return cursor.rowcount
        except self._dialect.loaded_dbapi.IntegrityError as exc:
            raise sa_exc.IntegrityError(compiled.sql, None, exc) from exc
        finally:
            cursor.close()


def _fetchall(cursor: Any) -> list[tuple[Any, ...]]:
    return cursor.fetchall()


def _fetchone(cursor: Any) -> tuple[Any, ...] | None:
    return cursor.fetchone()


def statements(dialect: Dialect) -> dict[Hashable, Compiled]:
    """The compiled statements of ``dialect`` (one cache per engine's dialect, shared by its option engines)."""
    cache = getattr(dialect, "_ledger_compiled", None)
    if cache is None:
        cache = dialect._ledger_compiled = {}  # type: ignore[attr-defined]
    return cache


@contextmanager
def reader(engine: Engine) -> Iterator[Reader]:
    """A ``Reader`` on a connection of ``engine``'s pool, returned (and rolled back) on exit.

    On an engine made without pre-ping (``make_engine(autocommit=True)``: PostgreSQL's single-statement reads), a
    statement that finds its connection gone (the server restarted, or closed an idle session) is run again on
    another connection: each is one autocommit statement, so running it twice is running it once."""
    reconnect = engine if getattr(engine, RETRY_READS, False) else None
    r = Reader(engine.raw_connection(), engine.dialect, statements(engine.dialect), reconnect=reconnect)
    try:
        yield r
    finally:
        r._connection.close()


def session_writer(session: Session) -> Writer:
    """A ``Writer`` on the connection of ``session``'s transaction (begun here if it has not been yet)."""
    connection = session.connection()
    return Writer(connection.connection, connection.dialect, statements(connection.dialect))


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A SAVEPOINT around statements run on the session's connection (``session.begin_nested()`` emits it only
    when the session itself asks for a connection inside it): a failing statement in it is rolled back to it, and
    the transaction goes on (PostgreSQL would otherwise refuse every later statement)."""
    with session.begin_nested():
        session.connection()
        yield


def session_reader(session: Session) -> Reader:
    """A ``Reader`` on the connection of ``session``'s transaction (begun here if it has not been yet): its
    statements see that transaction's snapshot and end with it."""
    connection = session.connection()
    return Reader(connection.connection, connection.dialect, statements(connection.dialect))
