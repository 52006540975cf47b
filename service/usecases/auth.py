"""Who a token is (SPEC §1): the actor of a live token, read on every request; and the web frontend's sessions.

There is no token cache: every request reads its token (one indexed statement), so a revocation or an expiry
answers 401 on the very next request, on every instance.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from service.db.raw import Reader, session_reader
from service.db.tokens import SessionRepo, TokenRepo, hash_token, live_token, session_token
from service.domain import errors as d
from service.domain import tokens as rules
from service.domain.access import Actor, Role


class TokenUse(NamedTuple):
    """The actor of a live token, and whether today's use is still to be recorded (``last_used_on``)."""

    actor: Actor
    first_use_today: bool


def token_hash(token: str) -> str:
    """What is stored of a token."""
    return hash_token(token)


def _actor(row: Any) -> Actor:
    return Actor(name=row.name, role=Role(row.role), chains=frozenset(json.loads(row.chains)), token_id=row.id)


def _live(row: Any, now: datetime) -> bool:
    return row is not None and rules.is_live(revoked_at=None, expires_at=row.expires_at, now=now)


def use_token(r: Reader, *, token: str, now: datetime, today: date) -> TokenUse:
    """The actor of a bearer token; 401 when it is unknown, revoked or expired."""
    row = live_token(r, hash_token(token))
    if not _live(row, now):
        raise d.Unauthenticated("Unknown, revoked or expired token.")
    return TokenUse(_actor(row), row.last_used_on is None or row.last_used_on < today)


def authenticate(r: Reader, *, token: str, now: datetime) -> Actor:
    """The actor of a bearer token; 401 when it is unknown, revoked or expired."""
    row = live_token(r, hash_token(token))
    if not _live(row, now):
        raise d.Unauthenticated("Unknown, revoked or expired token.")
    return _actor(row)


def record_use(session: Session, *, token_id: int, today: date) -> None:
    """``last_used_on = today`` (once a day per token; bookkeeping of the token itself, not an audited write)."""
    TokenRepo(session).touch(token_id, today)


# ---------------------------------------------------------------- web sessions


class SessionCheck(NamedTuple):
    """What a web session's cookie names: its actor (None: no live session, the cookie signs no one in), whether
    the row is to be deleted (ended by time) and whether its ``last_seen_at`` is to be moved on."""

    actor: Actor | None
    ended: bool
    seen: bool
    first_use_today: bool = False


#: ``last_seen_at`` is written at most this often per session (the idle timeout is counted in hours).
SEEN_EVERY = timedelta(minutes=1)


def session_id_hash(secret: str) -> str:
    """What is stored of a session's cookie secret."""
    return hash_token(secret)


def sign_in(session: Session, *, token: str, now: datetime) -> tuple[Actor, str] | None:
    """A new web session for a live token: ``(actor, cookie secret)``, or None when the token is unknown,
    revoked or expired. Only the secret's hash is stored."""
    row = live_token(session_reader(session), hash_token(token))
    if not _live(row, now):
        return None
    secret = secrets.token_urlsafe(32)
    SessionRepo(session).add(session_id_hash(secret), token_id=row.id, now=now)
    return _actor(row), secret


def check_session(r: Reader, *, secret: str, now: datetime, today: date, idle: timedelta,
                  absolute: timedelta) -> SessionCheck:
    """The actor of a web session: None when the session is unknown (signed out), its token is revoked or
    expired, or it has been idle for ``idle`` or lasted ``absolute``."""
    row = session_token(r, session_id_hash(secret))
    if row is None:
        return SessionCheck(None, ended=False, seen=False)
    if not _live(row, now) or rules.session_ended(created_at=row.session_created_at, last_seen_at=row.last_seen_at,
                                                  now=now, idle=idle, absolute=absolute):
        return SessionCheck(None, ended=True, seen=False)
    return SessionCheck(_actor(row), ended=False, seen=now - row.last_seen_at >= SEEN_EVERY,
                        first_use_today=row.last_used_on is None or row.last_used_on < today)


def session_seen(session: Session, *, secret: str, now: datetime) -> None:
    SessionRepo(session).seen(session_id_hash(secret), now)


def sign_out(session: Session, *, secret: str) -> None:
    """End the session: its cookie, even copied elsewhere, signs no one in any more."""
    SessionRepo(session).end(session_id_hash(secret))


def purge_sessions(session: Session, *, now: datetime, idle: timedelta, absolute: timedelta) -> int:
    return SessionRepo(session).purge(idle_before=now - idle, created_before=now - absolute)
