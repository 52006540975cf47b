"""The service's one handle on its database: engines, pools, turns, and every choice that differs between
SQLite and PostgreSQL. Routers, pages and dependencies ask it for a transaction or a read; none of them knows
which database serves them.

What differs, and why (docs/performance.md has the measurements):
- **Writes on SQLite take turns** (``write_turn``): SQLite has one writer, and write requests waiting here on the
  event loop cost nothing, while waiting in SQLite's busy handler on worker threads cost seconds of p99 and the
  threads readers need. PostgreSQL locks rows: no turns.
- **Single-statement reads** (every request's token, a project, a page of projects: ``read``): on a SQLite file
  they run right on the event loop, through connections reserved for the loop (the query takes a fraction of a
  millisecond and a thread hop costs more than that); on PostgreSQL they wait on the network, so they run in
  worker threads, as many at a time as there are cores (``read_concurrency``), on autocommit connections of their
  own (one round trip per read instead of three).
- **Commits** (and rollbacks) of request transactions run on threads of their own (``commit_limiter``): a request
  holding a connection never waits for a worker thread that may itself be waiting for a connection or for
  SQLite's write lock.
- **Reports** (the ledger's aggregates over every project of a period) take turns, ``report_concurrency`` at a
  time: more at once than there are cores only share the CPU and the page cache worse.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db.engine import is_sqlite, is_sqlite_file, make_engine, make_sessionmaker, transaction
from service.db.raw import Reader, reader

T = TypeVar("T")


class Database:
    def __init__(self, settings: Settings):
        url = settings.database_url
        self.url = url
        self.engine: Engine = make_engine(url, pool_size=settings.db_pool_size)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.is_sqlite = is_sqlite(self.engine)
        self.commit_limiter = anyio.CapacityLimiter(settings.thread_limit)
        self.read_limiter = anyio.CapacityLimiter(settings.read_concurrency)
        self.report_turns = anyio.Semaphore(settings.report_concurrency)
        # Imports read and check their file one at a time per process (LEDGER_IMPORT_CONCURRENCY).
        self.import_turns = anyio.CapacityLimiter(settings.import_concurrency)
        self.write_gate: anyio.Lock | None = anyio.Lock() if self.is_sqlite else None
        # A SQLite file: the event loop's own connections (only the loop uses them, so they never wait; overflow is
        # unbounded so that they never could). PostgreSQL: autocommit connections for single-statement reads, used
        # only from worker threads.
        self.inline_engine: Engine | None = (make_engine(url, pool_size=2, max_overflow=-1)
                                             if is_sqlite_file(url) else None)
        self.inline_sessions = make_sessionmaker(self.inline_engine) if self.inline_engine is not None else None
        self._reads_engine: Engine | None = None
        if self.inline_engine is None and not self.is_sqlite:
            self._reads_engine = make_engine(url, pool_size=settings.thread_limit, max_overflow=0, autocommit=True)
        self.reads_engine: Engine = self.inline_engine or self._reads_engine or self.engine

    @property
    def reads_inline(self) -> bool:
        """Single-statement reads run on the event loop (a SQLite file)."""
        return self.inline_engine is not None

    def dispose(self) -> None:
        for engine in (self.engine, self.inline_engine, self._reads_engine):
            if engine is not None:
                engine.dispose()

    # ---------------------------------------------------------------- transactions

    def transaction(self, *, write: bool) -> AbstractContextManager[Session]:
        """One transaction: commits on success, rolls back on any exception (``service.db.engine.transaction``)."""
        return transaction(self.sessions, write=write)

    def read_transaction(self, *, on_loop: bool = False) -> AbstractContextManager[Session]:
        """A read-only transaction; ``on_loop``: for code running on the event loop (the loop's connections on a
        SQLite file)."""
        return transaction(self.inline_sessions if on_loop and self.inline_sessions else self.sessions, write=False)

    @asynccontextmanager
    async def request_transaction(self, *, write: bool, on_loop: bool = False) -> AsyncIterator[Session]:
        """A request's transaction. Entering does no I/O (it begins at its first statement, in the endpoint's
        thread); the commit — or the rollback after an exception — runs on the commit threads. A read on SQLite
        ends on the event loop: releasing its snapshot does no I/O worth a hop."""
        scope = self.read_transaction(on_loop=on_loop) if not write else self.transaction(write=True)
        session = scope.__enter__()

        async def close(*exc_info: object) -> None:
            if not write and self.is_sqlite:
                scope.__exit__(*exc_info)
            else:
                await anyio.to_thread.run_sync(scope.__exit__, *exc_info, limiter=self.commit_limiter)

        try:
            yield session
        except BaseException as exc:
            await close(type(exc), exc, exc.__traceback__)
            raise
        await close(None, None, None)

    @asynccontextmanager
    async def write_turn(self) -> AsyncIterator[None]:
        """SQLite: one write request at a time, waiting on the event loop. PostgreSQL: no turns."""
        if self.write_gate is None:
            yield
            return
        async with self.write_gate:
            yield

    async def run_write(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in one write transaction, in its write turn, in a worker thread."""
        async with self.write_turn():
            return await anyio.to_thread.run_sync(self._in_write_transaction, work)

    def _in_write_transaction(self, work: Callable[[Session], T]) -> T:
        with self.transaction(write=True) as session:
            return work(session)

    # ---------------------------------------------------------------- single-statement reads

    @contextmanager
    def reader(self, *, on_loop: bool = False) -> Iterator[Reader]:
        """A ``Reader`` for single-statement reads (``service/db/raw.py``): ``on_loop``, for code running on the
        event loop (``read``), on the reads' connections; from a worker thread on PostgreSQL's autocommit reads
        connections or SQLite's own pool (the loop's connections are the loop's alone)."""
        engine = self.reads_engine if on_loop else (self._reads_engine or self.engine)
        with reader(engine) as r:
            yield r

    async def read(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        """``work(reader, **kwargs)``: on the event loop on a SQLite file, in a worker thread in its turn
        elsewhere."""
        if self.reads_inline:
            return self._read(work, kwargs, on_loop=True)
        return await anyio.to_thread.run_sync(functools.partial(self._read, work, kwargs, on_loop=False),
                                              limiter=self.read_limiter)

    def _read(self, work: Callable[..., T], kwargs: dict[str, Any], *, on_loop: bool) -> T:
        with self.reader(on_loop=on_loop) as r:
            return work(r, **kwargs)

    async def read_session(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        """``work(session, **kwargs)`` in a read transaction, placed as ``read`` places its reads (for a bounded
        read that needs a session, such as a project as of a moment)."""
        if self.reads_inline:
            return self._read_session(work, kwargs, on_loop=True)
        return await anyio.to_thread.run_sync(functools.partial(self._read_session, work, kwargs, on_loop=False),
                                              limiter=self.read_limiter)

    def _read_session(self, work: Callable[..., T], kwargs: dict[str, Any], *, on_loop: bool) -> T:
        with self.read_transaction(on_loop=on_loop) as session:
            return work(session, **kwargs)

    # ---------------------------------------------------------------- operations

    def ping(self) -> None:
        """One trivial statement (the readiness probe); raises when the database does not answer."""
        with self.sessions() as session:
            session.execute(text("SELECT 1"))

    @asynccontextmanager
    async def report_turn(self) -> AsyncIterator[None]:
        async with self.report_turns:
            yield
