"""Dependencies: the only place that reads the clock, the request and the token.

Order for a write: ``get_actor`` (own short read) → ``claim_idempotency`` (own short write, when an
Idempotency-Key is sent) → ``get_session`` (the request's one transaction, committed before the response).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db.engine import transaction
from service.db.repositories import IdempotencyRepo, TokenRepo, hash_token
from service.db.tables import IdempotencyRecord
from service.domain import errors as d
from service.domain.access import Actor, Role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Ctx:
    """Who acts, under which request, at what moment."""

    actor: Actor
    request_id: str | None
    now: datetime
    today: date


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


def get_actor(request: Request) -> Actor:
    token = _bearer(request)
    if not token:
        raise d.Unauthenticated("Send 'Authorization: Bearer <token>'.")
    with transaction(factory_of(request), write=False) as session:
        row = TokenRepo(session).by_hash(hash_token(token))
        if row is None:
            raise d.Unauthenticated("Unknown or revoked token.")
        actor = Actor(
            name=row.name, role=Role(row.role), chains=frozenset(json.loads(row.chains)), token_id=row.id
        )
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_roles(*roles: Role, action: str):  # noqa: ANN201
    """A dependency that admits only ``roles`` (403 otherwise); chain scope is checked by the use case."""

    def dependency(actor: ActorDep) -> Actor:
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


async def claim_idempotency(request: Request, actor: ActorDep) -> AsyncIterator[int | None]:
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


def get_session(
    request: Request, _claimed: Annotated[int | None, Depends(claim_idempotency, scope="function")]
) -> Iterator[Session]:
    with transaction(factory_of(request), write=request.method not in SAFE_METHODS) as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    with transaction(factory_of(request), write=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


def get_ctx(request: Request, actor: ActorDep) -> Ctx:
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
