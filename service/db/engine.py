"""Engine and session factory. SQLite: WAL, foreign keys, busy timeout, and ``BEGIN IMMEDIATE`` for writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

#: Execution option that makes a SQLite transaction take the write lock at BEGIN (no read→write upgrade).
WRITE = "ledger_write"
#: Set on an engine whose connections are not pinged at checkout: ``service.db.raw.reader`` runs a statement again
#: on another connection when it finds its own gone.
RETRY_READS = "_ledger_retry_reads"


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def is_sqlite_file(url: str) -> bool:
    return is_sqlite(url) and make_url(url).database not in (None, "", ":memory:")


def make_engine(url: str, *, pool_size: int = 8, max_overflow: int | None = None, autocommit: bool = False) -> Engine:
    """``pool_size`` connections, and as many again on demand (``max_overflow``). ``autocommit`` (PostgreSQL):
    connections for single-statement reads (service/db/raw.py), which then cost one round trip instead of
    three (no BEGIN, no ROLLBACK when returned to the pool); SQLite's raw connections are in autocommit mode
    already (``isolation_level=None``)."""
    overflow = pool_size if max_overflow is None else max_overflow
    if is_sqlite(url):
        pool_args = {"pool_size": pool_size, "max_overflow": overflow} if is_sqlite_file(url) else {}
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # pysqlite's own transaction handling is off; we emit BEGIN ourselves (see below).
            isolation_level=None,
            **pool_args,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # noqa: ANN001
            # Straight to the driver: BEGIN has no parameters and no result, and SQLAlchemy's execution context
            # around it cost as much as the query it opens (docs/performance.md).
            mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN"
            conn.connection.driver_connection.execute(mode)

        return engine
    if not autocommit:
        return create_engine(url, pool_size=pool_size, max_overflow=overflow, pool_pre_ping=True)
    # No pre-ping for the reads: it is a round trip (``SELECT 1``) before every statement, which doubled the round
    # trips of a get (token, project) for the rare connection that a restart or an idle timeout closed; instead
    # ``reader`` runs the statement again on another connection (docs/performance.md).
    engine = create_engine(url, pool_size=pool_size, max_overflow=overflow, isolation_level="AUTOCOMMIT")
    setattr(engine, RETRY_READS, True)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _writer(engine: Engine) -> Engine:
    """``engine`` with the WRITE option (made once per engine): its transactions open with BEGIN IMMEDIATE on
    SQLite."""
    writer = getattr(engine, "_ledger_writer", None)
    if writer is None:
        writer = engine.execution_options(**{WRITE: True})
        engine._ledger_writer = writer  # type: ignore[attr-defined]
    return writer


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool) -> Iterator[Session]:
    """One transaction: commits on success, rolls back on any exception.

    A write transaction takes SQLite's write lock at its first statement, not on entry: a request's session is
    entered by a dependency in one worker thread and used by the endpoint in another, and a lock held in between
    while every worker thread waits for it deadlocks until busy_timeout ("database is locked", a 500)."""
    bind = factory.kw.get("bind")
    lazy = write and isinstance(bind, Engine)
    with factory(**({"bind": _writer(bind)} if lazy else {})) as session:
        if write and not lazy:
            session.connection(execution_options={WRITE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
