"""Dependencies: the only place that reads the clock, the request and the token.

A request reaches the database through ``app.state.db`` (``service/db/database.py``), which knows what SQLite and
PostgreSQL need; nothing here or in the routers does. For a write the one dependency ``get_session`` takes the
write turn (SQLite), claims the ``Idempotency-Key`` when one is sent (``service/usecases/idempotency.py``) and opens
the request's transaction, committed before the response is sent.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from service.config import Settings
from service.db.database import Database
from service.domain import errors as d
from service.domain.access import Actor, Role
from service.domain.context import Ctx
from service.signing import signer_for
from service.usecases import auth
from service.usecases import idempotency as keys

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def db_of(request: Request) -> Database:
    return request.app.state.db


def now_utc() -> datetime:
    return datetime.now(UTC)


async def _database(request: Request) -> Database:
    """The dependency form of ``db_of``: ``async`` so that FastAPI calls it on the loop (a plain ``def`` dependency
    would cost every request a hop to a worker thread and back)."""
    return request.app.state.db


DatabaseDep = Annotated[Database, Depends(_database)]


# ---------------------------------------------------------------- auth


#: The one route that also takes its token as ``?token=``: calendar apps subscribe to a URL and send no headers.
ICS_FEED_PATH = "/api/v1/schedule.ics"


def request_now(request: Request) -> datetime:
    """The request's clock: ``app.state.clock`` when one is set (tests move time with it), else the system's."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else now_utc()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    # Calendar apps cannot send headers: GET of the .ics feed alone takes ?token= (never logged: the log line
    # carries the route template, not the query). Any other route, or another method, ignores it.
    if request.method in ("GET", "HEAD") and request.url.path == ICS_FEED_PATH:
        return request.query_params.get("token")
    return None


async def get_actor(request: Request) -> Actor:
    """The token's actor (one indexed read: on the event loop on a SQLite file, in its turn elsewhere). No cache:
    a revoked or expired token answers 401 on its next request. The first use of a day records ``last_used_on``
    (one short write a day per token). Read once per request, whichever dependency asks first (``get_ctx`` asks
    itself rather than through a nested dependency: each level FastAPI solves costs every request)."""
    known = request.scope.get("state", {}).get("actor")
    if known is not None:
        return known
    token = _bearer(request)
    if not token:
        raise d.Unauthenticated("Send 'Authorization: Bearer <token>'.")
    now = request_now(request)
    today = now.astimezone(settings_of(request).tz).date()
    db = db_of(request)
    actor, first_use_today = await db.read(auth.use_token, token=token, now=now, today=today)
    if first_use_today:
        await db.run_write(functools.partial(auth.record_use, token_id=actor.token_id, today=today))
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_roles(*roles: Role, action: str):  # noqa: ANN201
    """A dependency that admits only ``roles`` (403 otherwise); chain scope is checked by the use case."""

    async def dependency(actor: ActorDep) -> Actor:
        actor.require(*roles, action=action)
        return actor

    return Depends(dependency)


# ---------------------------------------------------------------- the request's transaction


async def claim_key(request: Request, actor: Actor) -> int | None:
    """Claim the request's ``Idempotency-Key`` (POST only), or None when it sends none. Raises ``keys.Replay``
    when the key's first response is to be replayed."""
    key = request.headers.get("idempotency-key")
    if request.method != "POST" or not key:
        return None
    keys.check_key(key)
    settings = settings_of(request)
    k = keys.Key(token_id=actor.token_id or 0, key=key, method=request.method, path=request.url.path,
                 body_hash=hashlib.sha256(await request.body()).hexdigest())
    record_id = await anyio.to_thread.run_sync(
        lambda: keys.claim(db_of(request), k, now=now_utc(), ttl=timedelta(hours=settings.idempotency_ttl_hours),
                           lease=timedelta(seconds=settings.idempotency_lease_seconds)))
    request.state.idempotency_record = record_id
    return record_id


async def release_key(request: Request, record_id: int | None) -> None:
    """Free the claimed key unless the response was stored with the write (``respond``)."""
    if record_id is not None and not getattr(request.state, "idempotency_done", False):
        await anyio.to_thread.run_sync(keys.release, db_of(request), record_id)


async def get_session(request: Request, actor: ActorDep) -> AsyncIterator[Session]:
    """The request's one transaction. A write takes its turn (SQLite), claims its Idempotency-Key, then opens the
    transaction; its commit runs before the response is sent. A read on a SQLite file whose endpoint runs on the
    event loop reads through the loop's own connections."""
    db = db_of(request)
    if request.method in SAFE_METHODS:
        async with db.request_transaction(write=False) as session:
            yield session
        return
    async with db.write_turn():
        record_id = await claim_key(request, actor)
        try:
            async with db.request_transaction(write=True) as session:
                yield session
        finally:
            await release_key(request, record_id)


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    async with db_of(request).request_transaction(write=False) as session:
        yield session


async def report_turn(request: Request) -> AsyncIterator[None]:
    """A turn among the ledger's reports (``LEDGER_REPORT_CONCURRENCY`` at a time), held until the endpoint
    returns. A waiting request holds no thread and no connection: the turn comes before the session's first
    statement."""
    async with db_of(request).report_turn():
        yield


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


def ctx_of(request: Request, actor: Actor) -> Ctx:
    """Who acts, under which request, at what moment (the web's pages build theirs here too)."""
    now = request_now(request)
    settings = settings_of(request)
    return Ctx(actor=actor, request_id=getattr(request.state, "request_id", None), now=now,
               today=now.astimezone(settings.tz).date(),
               client_request_id=getattr(request.state, "client_request_id", None), signer=signer_for(settings))


async def get_ctx(request: Request) -> Ctx:
    return ctx_of(request, await get_actor(request))


CtxDep = Annotated[Ctx, Depends(get_ctx)]
