"""Dependencies: the only place that reads the clock, the request and the token.

Order for a write: ``get_actor`` (own short read) → ``take_write_turn`` (SQLite: one writer at a time) →
``claim_idempotency`` (own short write, when an Idempotency-Key is sent) → ``get_session`` (the request's one
transaction, committed before the response).

A thread hop only where there is database I/O (docs/performance.md): the token lookup, the endpoint, the commit;
on a SQLite file the token lookup and the end of a read run on the event loop, and bounded reads too
(``inline_on_sqlite``), through connections reserved for the loop (``app.state.inline_sessions``).

A request's connection is held across hops only from the endpoint (its first statement) to the commit, and the
commit runs on threads of its own (``commit_limiter``): it never waits for a worker thread that may itself be
waiting for a connection or for SQLite's write lock, so a full thread pool cannot deadlock on a full pool.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db.engine import transaction
from service.db.idempotency import IdempotencyRepo
from service.db.raw import reader
from service.db.tables import IdempotencyRecord
from service.db.tokens import hash_token, live_token
from service.domain import errors as d
from service.domain.access import Actor, Role
from service.domain.context import Ctx

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def factory_of(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def now_utc() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- auth


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    # Calendar apps cannot send headers: the .ics feed alone takes ?token= (redacted from logs).
    if request.url.path.endswith(".ics"):
        return request.query_params.get("token")
    return None


def actor_by_token_hash(engine: Engine, token_hash: str) -> Actor | None:
    """The actor of a live token (None when unknown or revoked); the web frontend's sessions use it too."""
    with reader(engine) as r:
        row = live_token(r, token_hash)
    if row is None:
        return None
    return Actor(name=row.name, role=Role(row.role), chains=frozenset(json.loads(row.chains)), token_id=row.id)


def _lookup(engine: Engine, token: str) -> Actor:
    actor = actor_by_token_hash(engine, hash_token(token))
    if actor is None:
        raise d.Unauthenticated("Unknown or revoked token.")
    return actor


def read_limiter(request: Request) -> anyio.CapacityLimiter:
    """The turns of the single-statement reads that run in worker threads (the token lookup, ``inline_on_sqlite``
    endpoints off a SQLite file): ``LEDGER_READ_CONCURRENCY`` at a time. Each is a fraction of a millisecond of
    CPU around a network round trip; more of them at once than there are cores only add runnable threads that
    wait for the CPU and then for the GIL (docs/performance.md, 2026-12-04)."""
    return request.app.state.read_limiter


def reads_engine(request: Request) -> Engine:
    """The engine of a single-statement read (service/db/raw.py) by code that runs on the event loop on a SQLite
    file — ``get_actor``, ``inline_on_sqlite`` endpoints — and in a worker thread elsewhere: on a SQLite file the
    loop's own connections (``app.state.inline_engine``), so the loop never waits for one a thread holds; on
    PostgreSQL autocommit connections (one round trip per read instead of three)."""
    return request.app.state.reads_engine


def read_transaction(request: Request) -> AbstractContextManager[Session]:
    """A read-only session for such code (the loop's connections on a SQLite file, as ``reads_engine``)."""
    return transaction(request.app.state.inline_sessions or factory_of(request), write=False)


async def get_actor(request: Request) -> Actor:
    """The token's actor. On a SQLite file the lookup (one indexed read of a local file, which WAL never makes
    wait for a writer) runs right here on the event loop, through the connections reserved for the loop:
    cheaper than the thread hop around it. Elsewhere it runs in a worker thread, in its turn (``read_limiter``)."""
    token = _bearer(request)
    if not token:
        raise d.Unauthenticated("Send 'Authorization: Bearer <token>'.")
    if request.app.state.inline_engine is not None:
        actor = _lookup(request.app.state.inline_engine, token)
    else:
        actor = await anyio.to_thread.run_sync(_lookup, reads_engine(request), token, limiter=read_limiter(request))
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_roles(*roles: Role, action: str):  # noqa: ANN201
    """A dependency that admits only ``roles`` (403 otherwise); chain scope is checked by the use case."""

    async def dependency(actor: ActorDep) -> Actor:
        actor.require(*roles, action=action)
        return actor

    return Depends(dependency)


# ---------------------------------------------------------------- idempotency


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first response of an Idempotency-Key, copied out of its row (the row's session is gone by the
    time the replay is rendered: raising rolls the claim's transaction back, which expires ORM objects)."""

    response_status: int | None
    response_body: str | None
    response_headers: str | None


class IdempotentReplay(Exception):
    """Raised to answer with the stored first response of an Idempotency-Key."""

    def __init__(self, record: IdempotencyRecord | StoredResponse):
        self.record = StoredResponse(
            response_status=record.response_status,
            response_body=record.response_body,
            response_headers=record.response_headers,
        )


def _claim(request: Request, actor: Actor, key: str, body_hash: str) -> int:
    settings = settings_of(request)
    now = now_utc()
    path = request.url.path
    try:
        with transaction(factory_of(request), write=True) as session:
            repo = IdempotencyRepo(session)
            record = repo.get(actor.token_id or 0, key, for_update=True)
            if record is not None and record.created_at < now - timedelta(hours=settings.idempotency_ttl_hours):
                repo.delete(record.id)  # expired: the key is fresh again
                session.flush()
                record = None
            if record is None:
                record = IdempotencyRecord(
                    token_id=actor.token_id or 0, key=key, method=request.method, path=path, body_hash=body_hash,
                    state="in_flight", created_at=now,
                    locked_until=now + timedelta(seconds=settings.idempotency_lease_seconds),
                )
                repo.add(record)
                return record.id  # type: ignore[return-value]
            same = record.method == request.method and record.path == path and record.body_hash == body_hash
            if record.state == "done":
                if not same:
                    raise d.IdempotencyMismatch(
                        "This Idempotency-Key was first used with a different request; use a new key.",
                    )
                raise IdempotentReplay(record)
            if record.locked_until > now:
                raise d.IdempotencyConflict("A request with this Idempotency-Key is still in progress; retry later.")
            # The first attempt died mid-flight (its lease ran out without a commit): take the key over.
            record.method, record.path, record.body_hash = request.method, path, body_hash
            record.locked_until = now + timedelta(seconds=settings.idempotency_lease_seconds)
            session.flush()
            return record.id  # type: ignore[return-value]
    except IntegrityError as exc:  # a concurrent first use of the same key won the insert
        raise d.IdempotencyConflict("A request with this Idempotency-Key is still in progress; retry later.") from exc


def _release(request: Request, record_id: int) -> None:
    with transaction(factory_of(request), write=True) as session:
        record = session.get(IdempotencyRecord, record_id)
        if record is not None and record.state == "in_flight":
            IdempotencyRepo(session).delete(record_id)


async def take_write_turn(request: Request) -> AsyncIterator[None]:
    """SQLite has one writer: write requests take turns here, waiting on the event loop, instead of in SQLite's
    busy handler on worker threads (which sleeps and retries: seconds of p99 under load, and threads that readers
    need). The turn covers the idempotency claim, the write and its commit. PostgreSQL locks rows: no turns."""
    gate = request.app.state.write_gate
    if gate is None or request.method in SAFE_METHODS:
        yield
        return
    async with gate:
        yield


async def claim_idempotency(
    request: Request, actor: ActorDep, _turn: Annotated[None, Depends(take_write_turn, scope="function")]
) -> AsyncIterator[int | None]:
    key = request.headers.get("idempotency-key")
    if request.method != "POST" or not key:
        yield None
        return
    if len(key) > 255 or not key.isprintable():
        raise d.InvalidInput.at(["header", "Idempotency-Key"], "Idempotency-Key must be 1–255 printable characters.")
    body = await request.body()
    body_hash = hashlib.sha256(body).hexdigest()
    record_id = await run_in_threadpool(_claim, request, actor, key, body_hash)
    request.state.idempotency_record = record_id
    try:
        yield record_id
    except BaseException:
        # The request failed: nothing was written, so the key may be used again.
        await run_in_threadpool(_release, request, record_id)
        raise
    else:
        if not getattr(request.state, "idempotency_done", False):
            await run_in_threadpool(_release, request, record_id)


# ---------------------------------------------------------------- session


@asynccontextmanager
async def _request_transaction(request: Request, *, write: bool) -> AsyncIterator[Session]:
    """The request's transaction. Entering does no I/O (it begins at its first statement, in the endpoint's
    thread); the commit — or the rollback after an exception — runs on the commit threads
    (``app.state.commit_limiter``), never waiting for a worker thread while it holds a connection. A read on a
    SQLite file ends on the event loop: releasing its snapshot does no I/O worth a hop; an endpoint that runs on
    the loop there (``inline_on_sqlite``) reads through the loop's own connections (``app.state.inline_sessions``),
    so it never waits for one that a worker thread holds."""
    inline_sessions = request.app.state.inline_sessions
    on_loop = not write and inline_sessions is not None and getattr(request.scope.get("endpoint"), "inline_read", False)
    scope = transaction(inline_sessions if on_loop else factory_of(request), write=write)
    session = scope.__enter__()

    async def close(*exc_info: object) -> None:
        if not write and inline_sessions is not None:
            scope.__exit__(*exc_info)  # SQLite: ending a read transaction is a local no-op, no hop for it
        else:
            await anyio.to_thread.run_sync(scope.__exit__, *exc_info, limiter=request.app.state.commit_limiter)

    try:
        yield session
    except BaseException as exc:
        await close(type(exc), exc, exc.__traceback__)
        raise
    await close(None, None, None)


async def get_session(
    request: Request, _claimed: Annotated[int | None, Depends(claim_idempotency, scope="function")]
) -> AsyncIterator[Session]:
    async with _request_transaction(request, write=request.method not in SAFE_METHODS) as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    async with _request_transaction(request, write=False) as session:
        yield session


async def report_turn(request: Request) -> AsyncIterator[None]:
    """A turn among the ledger's reports (``LEDGER_REPORT_CONCURRENCY`` at a time), held until the endpoint
    returns: each aggregates every project of its period, and more of them at once than there are cores only
    share the CPU and SQLite's page cache worse (docs/performance.md). A waiting request holds no thread and no
    connection: the turn comes before the session's first statement."""
    async with request.app.state.report_turns:
        yield


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


async def get_ctx(request: Request, actor: ActorDep) -> Ctx:
    now = now_utc()
    return Ctx(
        actor=actor,
        request_id=getattr(request.state, "request_id", None),
        now=now,
        today=now.astimezone(settings_of(request).tz).date(),
    )


CtxDep = Annotated[Ctx, Depends(get_ctx)]


def purge_expired_keys(factory: sessionmaker[Session], settings: Settings) -> None:
    with transaction(factory, write=True) as session:
        IdempotencyRepo(session).purge_older_than(now_utc() - timedelta(hours=settings.idempotency_ttl_hours))
